package embeddings

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/go-cmp/cmp"
)

var meta = Meta{Model: "m+dual@0123", Dim: 8, ProductDim: 4, AttributeDim: 4}

func unit(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	var ss float64
	for i := range v {
		v[i] = float32(r.NormFloat64())
		ss += float64(v[i]) * float64(v[i])
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
	return v
}

func products(n int, seed uint64) []Product {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]Product, n)
	for i := range out {
		out[i] = Product{ID: "p" + strconv.Itoa(i), Vector: unit(r, meta.Dim), ProductVector: unit(r, meta.ProductDim)}
	}
	return out
}

func write(t *testing.T, dir string, m Meta, ps []Product, shard int) {
	t.Helper()
	w, err := NewWriter(dir, m, shard)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ps); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ps := products(25, 1)
	write(t, dir, meta, ps, 10)
	attrs := []Attribute{{Key: "color", Value: "red", Vector: unit(rand.New(rand.NewPCG(2, 2)), 4)}}
	if err := WriteAttributes(dir, meta, attrs); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, ProductsGlob))
	if len(files) != 3 {
		t.Fatalf("%d shard files, want 3 (25 rows by 10)", len(files))
	}
	s, err := Load(context.Background(), dir, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 25 || s.Files() != 3 {
		t.Fatalf("loaded %d products from %d files", s.Len(), s.Files())
	}
	for i, p := range ps {
		v, pv, ok := s.Lookup(p.ID)
		if !ok {
			t.Fatalf("%s missing", p.ID)
		}
		// Bit-exact: unit vectors come back unchanged.
		if diff := cmp.Diff(p.Vector, v); diff != "" {
			t.Fatalf("product %d vector (-want +got):\n%s", i, diff)
		}
		if diff := cmp.Diff(p.ProductVector, pv); diff != "" {
			t.Fatalf("product %d product vector (-want +got):\n%s", i, diff)
		}
		if s.IDs()[i] != p.ID {
			t.Fatalf("order: %s at %d", s.IDs()[i], i)
		}
	}
	if _, _, ok := s.Lookup("nope"); ok {
		t.Fatal("unknown id found")
	}
	if diff := cmp.Diff(attrs, s.Attributes); diff != "" {
		t.Fatalf("attributes (-want +got):\n%s", diff)
	}
}

func TestWithoutProductVectors(t *testing.T) {
	dir := t.TempDir()
	m := Meta{Model: "text", Dim: 8}
	ps := products(3, 3)
	for i := range ps {
		ps[i].ProductVector = nil
	}
	write(t, dir, m, ps, 0)
	s, err := Load(context.Background(), dir, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, pv, ok := s.Lookup("p1"); !ok || pv != nil {
		t.Fatalf("lookup: %v %v", pv, ok)
	}
	// A dual encoder needs the product vectors.
	if _, err := Load(context.Background(), dir, meta, nil); err == nil || !strings.Contains(err.Error(), "product_vector") {
		t.Fatalf("err = %v, want missing product_vector", err)
	}
}

func TestNearUnitIsRenormalised(t *testing.T) {
	dir := t.TempDir()
	ps := products(1, 4)
	for i := range ps[0].Vector {
		ps[0].Vector[i] *= 1.003 // an fp16 GPU's rounding
	}
	write(t, dir, meta, ps, 0)
	s, err := Load(context.Background(), dir, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := s.Lookup("p0")
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if math.Abs(math.Sqrt(ss)-1) > 1e-6 {
		t.Fatalf("norm %v after load", math.Sqrt(ss))
	}
}

func TestLoadRefuses(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		name  string
		meta  Meta // written
		want  Meta // expected at load
		edit  func([]Product) []Product
		error string
	}{
		{name: "other model", meta: Meta{Model: "other", Dim: 8, ProductDim: 4}, want: meta, error: `model "other"`},
		{name: "other dimension", meta: Meta{Model: meta.Model, Dim: 6, ProductDim: 4}, want: meta, edit: func(ps []Product) []Product {
			for i := range ps {
				ps[i].Vector = ps[i].Vector[:6]
			}
			return ps
		}, error: "vector has 6 values, want 8"},
		{name: "duplicate id", meta: meta, want: meta, edit: func(ps []Product) []Product {
			ps[2].ID = ps[1].ID
			return ps
		}, error: `id "p1" appears twice`},
		{name: "nan", meta: meta, want: meta, edit: func(ps []Product) []Product {
			ps[3].Vector[0] = nan
			return ps
		}, error: "is NaN"},
		{name: "not unit", meta: meta, want: meta, edit: func(ps []Product) []Product {
			for i := range ps[0].ProductVector {
				ps[0].ProductVector[i] *= 2
			}
			return ps
		}, error: "norm 2.0000 is not 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ps := products(5, 5)
			if tc.edit != nil {
				ps = tc.edit(ps)
			}
			write(t, dir, tc.meta, ps, 0)
			_, err := Load(context.Background(), dir, tc.want, nil)
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Fatalf("err = %v, want %q", err, tc.error)
			}
			if !strings.Contains(err.Error(), "products-00000.parquet") {
				t.Fatalf("err = %v does not name the file", err)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(context.Background(), filepath.Join(t.TempDir(), "none"), meta, nil); err == nil {
		t.Fatal("missing dir loaded")
	}
	if _, err := Load(context.Background(), t.TempDir(), meta, nil); err == nil || !strings.Contains(err.Error(), "no products-") {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestKilledWriterLeavesWholeShards(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, meta, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(products(10, 6)); err != nil { // two full shards, two rows buffered
		t.Fatal(err)
	}
	// No Close: the process "dies" here.
	s, err := Load(context.Background(), dir, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 8 {
		t.Fatalf("%d rows, want the 8 of the two complete shards", s.Len())
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

// TestCorruptShardIsAnError flips each byte of a valid shard in turn, all
// its bits and then its lowest: Load must answer an error or a consistent
// set, never panic or run out of memory. (arrow-go panics on some corrupt
// pages, which Load turns into an error, and would trust a damaged Arrow
// schema in the footer, which Load does not read.)
func TestCorruptShardIsAnError(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, meta, products(4, 7), 0)
	good, err := os.ReadFile(filepath.Join(dir, "products-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	d := t.TempDir()
	path := filepath.Join(d, "products-00000.parquet")
	bad := 0
	for i := range 2 * len(good) {
		at, x := i%len(good), byte(0xff)
		if i >= len(good) {
			x = 0x01 // one bit: the flip that once made arrow-go ask for 148 GB
		}
		b := append([]byte(nil), good...)
		b[at] ^= x
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(context.Background(), d, meta, nil)
		if err != nil {
			bad++
			continue
		}
		for _, id := range s.IDs() {
			if v, pv, ok := s.Lookup(id); !ok || len(v) != meta.Dim || len(pv) != meta.ProductDim {
				t.Fatalf("flip %#x at %d: inconsistent set for %q", x, at, id)
			}
		}
	}
	if bad == 0 {
		t.Fatal("no corruption was detected")
	}
}

// FuzzLoad writes well-formed Parquet files with fuzzed ids, values,
// models and dimensions: Load must accept exactly the valid ones.
func FuzzLoad(f *testing.F) {
	f.Add("p1", "p2", meta.Model, float32(0.5), 0, false)
	f.Add("", "p2", meta.Model, float32(0.5), 0, false)
	f.Add("p1", "p1", meta.Model, float32(0.5), 0, false)
	f.Add("p1", "p2", "x", float32(2), 1, true)
	f.Fuzz(func(t *testing.T, id1, id2, model string, x float32, dimDelta int, dropProduct bool) {
		dimDelta %= 3
		m := Meta{Model: model, Dim: meta.Dim + dimDelta, ProductDim: meta.ProductDim}
		if m.Model == "" || m.Dim <= 0 {
			return
		}
		if dropProduct {
			m.ProductDim = 0
		}
		r := rand.New(rand.NewPCG(9, 9))
		ps := []Product{{ID: id1, Vector: unit(r, m.Dim)}, {ID: id2, Vector: unit(r, m.Dim)}}
		for i := range ps {
			if m.ProductDim > 0 {
				ps[i].ProductVector = unit(r, m.ProductDim)
			}
		}
		ps[1].Vector[0] = x
		dir := t.TempDir()
		w, err := NewWriter(dir, m, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ps); err != nil {
			if id1 == "" || id2 == "" {
				return
			}
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := Load(context.Background(), dir, meta, nil)
		var ss float64
		for _, v := range ps[1].Vector {
			ss += float64(v) * float64(v)
		}
		valid := id1 != "" && id2 != "" && id1 != id2 && model == meta.Model && dimDelta == 0 && !dropProduct &&
			math.Abs(math.Sqrt(ss)-1) <= normTolerance
		if valid != (err == nil) {
			t.Fatalf("valid = %v, err = %v", valid, err)
		}
		if err == nil && s.Len() != 2 {
			t.Fatalf("%d products", s.Len())
		}
	})
}

// TestLoadPlainLists reads vectors stored as list<float32>, as Spark and
// other writers without fixed-size lists store them.
func TestLoadPlainLists(t *testing.T) {
	dir := t.TempDir()
	m := Meta{Model: "text", Dim: 8}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: ColVector, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: ColModel, Type: arrow.BinaryTypes.String},
	}, nil)
	ps := products(3, 8)
	err := writeFile(filepath.Join(dir, "products-00000.parquet"), sc, func(rb *array.RecordBuilder) {
		lb := rb.Field(1).(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		for _, p := range ps {
			rb.Field(0).(*array.StringBuilder).Append(p.ID)
			lb.Append(true)
			vb.AppendValues(p.Vector, nil)
			rb.Field(2).(*array.StringBuilder).Append(m.Model)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(context.Background(), dir, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, ok := s.Lookup("p2"); !ok || !cmp.Equal(v, ps[2].Vector) {
		t.Fatalf("p2 = %v, %v", v, ok)
	}
}

// TestRandomCorruption overwrites one to four random bytes of a valid
// shard, 2,000 times with a fixed seed: Load must return, with an error
// or a consistent set, every time. Before Load stopped reading the stored
// Arrow schema, the 350th of these ran out of memory.
func TestRandomCorruption(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, meta, products(4, 7), 0)
	good, err := os.ReadFile(filepath.Join(dir, "products-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	d := t.TempDir()
	path := filepath.Join(d, "products-00000.parquet")
	for range 2000 {
		b := append([]byte(nil), good...)
		for range 1 + r.IntN(4) {
			b[r.IntN(len(b))] = byte(r.IntN(256))
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if s, err := Load(context.Background(), d, meta, nil); err == nil {
			for _, id := range s.IDs() {
				if v, pv, ok := s.Lookup(id); !ok || len(v) != meta.Dim || len(pv) != meta.ProductDim {
					t.Fatalf("inconsistent set for %q", id)
				}
			}
		}
	}
}

// TestLoadKeep holds only the ids a shard asks for.
func TestLoadKeep(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, meta, products(10, 9), 0)
	s, err := Load(context.Background(), dir, meta, func(id string) bool { return id == "p3" || id == "p7" })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"p3", "p7"}, s.IDs()); diff != "" {
		t.Fatalf("ids (-want +got):\n%s", diff)
	}
	if _, _, ok := s.Lookup("p3"); !ok {
		t.Fatal("p3 missing")
	}
}
