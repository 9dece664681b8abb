// Package storetest is the contract suite that every lander vector store
// backend passes: the embedded store and the Milvus backend run the same tests
// against a brute-force reference.
package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"lander/store"
)

// Backend is the store contract the suite checks.
type Backend interface {
	Upsert(ctx context.Context, products []store.Product) error
	Delete(ctx context.Context, ids []string) error
	Get(ctx context.Context, ids []string) ([]store.Product, error)
	Search(ctx context.Context, q []float32, f store.Filter, k, offset int) ([]store.Hit, int, error)
	Count(ctx context.Context, f store.Filter) (int, error)
}

// Dim is the vector dimension the suite asks its backends for.
const Dim = 16

// scoreTol is how far a backend's score may be from the float64 reference.
const scoreTol = 1e-4

// Run runs the contract suite. open returns an empty backend for vectors of
// dimension dim; it registers its own cleanup with t.
func Run(t *testing.T, open func(t *testing.T, dim int) Backend) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open(t, Dim)) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, open(t, Dim)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open(t, Dim)) })
	t.Run("Empty", func(t *testing.T) { testEmpty(t, open(t, Dim)) })
	t.Run("Dimension", func(t *testing.T) { testDimension(t, open(t, Dim)) })
	t.Run("OddIDs", func(t *testing.T) { testOddIDs(t, open(t, Dim)) })
	t.Run("Secondary", func(t *testing.T) { testSecondary(t, open(t, Dim)) })
	// The search tests share one populated backend.
	t.Run("Search", func(t *testing.T) {
		b := open(t, Dim)
		ps := Catalog(300, Dim, 1)
		upsert(t, b, ps)
		ref := reference(ps)
		t.Run("Order", func(t *testing.T) { testOrder(t, b, ref) })
		t.Run("Filters", func(t *testing.T) { testFilters(t, b, ref) })
		t.Run("Paging", func(t *testing.T) { testPaging(t, b, ref) })
		t.Run("LargeK", func(t *testing.T) { testLargeK(t, b, ref) })
	})
}

// Vocabulary used by Catalog. Brand values hold quotes, backslashes and
// non-ASCII letters to exercise the backends' escaping.
var (
	colors = []string{"red", "blue", "green", "navy blue"}
	sizes  = []string{"s", "m", "l"}
	brands = []string{`o'neil`, `say "hi"`, `back\slash`, `ünïcødé 靴`, `a=b`}
)

// Catalog returns n deterministic products of dimension dim drawn from seed:
// unit vectors, a color, a size, a brand on some, and an integer price that is
// a multiple of 5 on four products out of five.
func Catalog(n, dim int, seed uint64) []store.Product {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ps := make([]store.Product, n)
	for i := range ps {
		p := store.Product{
			ID:     fmt.Sprintf("p%04d", i),
			Title:  fmt.Sprintf("product %d", i),
			Vector: UnitVector(r, dim),
			Attributes: []store.Attribute{
				{Key: "color", Value: colors[r.IntN(len(colors))], Score: r.Float32(), Source: "model"},
				{Key: "size", Value: sizes[r.IntN(len(sizes))], Score: 1, Source: "tag"},
			},
		}
		if r.IntN(2) == 0 {
			p.Attributes = append(p.Attributes, store.Attribute{Key: "brand", Value: brands[r.IntN(len(brands))], Score: 0.5, Source: "text"})
		}
		if r.IntN(5) != 0 {
			v := float64(5 * r.IntN(21))
			p.Price = &v
		}
		ps[i] = p
	}
	return ps
}

// UnitVector returns a random vector of length 1.
func UnitVector(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

func upsert(t *testing.T, b Backend, ps []store.Product) {
	t.Helper()
	if err := b.Upsert(t.Context(), ps); err != nil {
		t.Fatalf("upsert: %v", err)
	}
}

func price(v float64) *float64 { return &v }

func testRoundTrip(t *testing.T, b Backend) {
	ps := []store.Product{
		{ID: "a", Title: "Red Dress", Price: price(49.99), Vector: unit(Dim, 0),
			Attributes: []store.Attribute{
				{Key: "category", Value: "dress", Score: 0.97, Source: "model"},
				{Key: "color", Value: "red", Score: 1, Source: "tag"},
			}},
		{ID: "b", Title: "", Vector: unit(Dim, 1)},
		{ID: "c", Title: "Free", Price: price(0), Vector: unit(Dim, 2),
			Attributes: []store.Attribute{{Key: "color", Value: "navy blue", Score: 0.25, Source: "text"}}},
	}
	upsert(t, b, ps)
	got, err := b.Get(t.Context(), []string{"c", "missing", "a", "b"})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	want := []store.Product{ps[2], ps[0], ps[1]}
	if len(got) != len(want) {
		t.Fatalf("get returned %d products, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		checkProduct(t, got[i], want[i])
	}
	if n, err := b.Count(t.Context(), store.Filter{}); err != nil || n != 3 {
		t.Fatalf("count = %d, %v; want 3", n, err)
	}
}

// testSecondary checks that a secondary attribute is stored and returned but
// matches no filter: a "Blue & White" shirt is never in a strict white feed.
func testSecondary(t *testing.T, b Backend) {
	shirt := store.Product{ID: "s", Title: "Blue & White Shirt", Vector: unit(Dim, 0),
		Attributes: []store.Attribute{
			{Key: "color", Value: "blue", Score: 0.9, Source: "text"},
			{Key: "color", Value: "white", Score: 0.3, Source: store.SourceSecondary},
		}}
	white := store.Product{ID: "w", Title: "White Shirt", Vector: unit(Dim, 1),
		Attributes: []store.Attribute{{Key: "color", Value: "white", Score: 0.9, Source: "text"}}}
	upsert(t, b, []store.Product{shirt, white})
	for _, tc := range []struct {
		kv   store.KV
		want []string
	}{
		{store.KV{Key: "color", Value: "white"}, []string{"w"}},
		{store.KV{Key: "color", Value: "blue"}, []string{"s"}},
	} {
		hits, total, err := b.Search(t.Context(), unit(Dim, 0), store.Filter{All: []store.KV{tc.kv}}, 10, 0)
		if err != nil {
			t.Fatalf("search %s: %v", tc.kv, err)
		}
		var got []string
		for _, h := range hits {
			got = append(got, h.ID)
		}
		if total != len(tc.want) || !slices.Equal(got, tc.want) {
			t.Errorf("search %s = %v (total %d), want %v", tc.kv, got, total, tc.want)
		}
	}
	got, err := b.Get(t.Context(), []string{"s"})
	if err != nil || len(got) != 1 {
		t.Fatalf("get: %v, %v", got, err)
	}
	checkProduct(t, got[0], shirt)
}

func testReplace(t *testing.T, b Backend) {
	old := store.Product{ID: "x", Title: "old", Price: price(10), Vector: unit(Dim, 0),
		Attributes: []store.Attribute{{Key: "color", Value: "red", Score: 1, Source: "tag"}}}
	upsert(t, b, []store.Product{old})
	repl := store.Product{ID: "x", Title: "new", Vector: unit(Dim, 3),
		Attributes: []store.Attribute{{Key: "color", Value: "blue", Score: 0.5, Source: "model"}}}
	upsert(t, b, []store.Product{repl})
	got, err := b.Get(t.Context(), []string{"x"})
	if err != nil || len(got) != 1 {
		t.Fatalf("get = %v, %v", got, err)
	}
	checkProduct(t, got[0], repl)
	counts := []struct {
		f    store.Filter
		want int
	}{
		{store.Filter{}, 1},
		{store.Filter{All: []store.KV{{Key: "color", Value: "red"}}}, 0},
		{store.Filter{All: []store.KV{{Key: "color", Value: "blue"}}}, 1},
		{store.Filter{MinPrice: price(0)}, 0},
	}
	for _, c := range counts {
		if n, err := b.Count(t.Context(), c.f); err != nil || n != c.want {
			t.Errorf("count(%s) = %d, %v; want %d", describe(c.f), n, err, c.want)
		}
	}
	hits, total, err := b.Search(t.Context(), unit(Dim, 3), store.Filter{}, 5, 0)
	if err != nil || total != 1 || len(hits) != 1 || hits[0].ID != "x" || math.Abs(float64(hits[0].Score)-1) > scoreTol {
		t.Fatalf("search after replace = %v, %d, %v", hits, total, err)
	}
}

func testDelete(t *testing.T, b Backend) {
	ps := Catalog(20, Dim, 2)
	upsert(t, b, ps)
	if err := b.Delete(t.Context(), []string{"p0003", "p0007", "nope"}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	got, err := b.Get(t.Context(), []string{"p0002", "p0003", "p0007", "p0008"})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if ids := idsOf(got); !slices.Equal(ids, []string{"p0002", "p0008"}) {
		t.Fatalf("get after delete = %v", ids)
	}
	if n, err := b.Count(t.Context(), store.Filter{}); err != nil || n != 18 {
		t.Fatalf("count after delete = %d, %v; want 18", n, err)
	}
	hits, total, err := b.Search(t.Context(), ps[3].Vector, store.Filter{}, 100, 0)
	if err != nil || total != 18 || len(hits) != 18 {
		t.Fatalf("search after delete = %d hits, total %d, %v", len(hits), total, err)
	}
	for _, h := range hits {
		if h.ID == "p0003" || h.ID == "p0007" {
			t.Fatalf("deleted %s returned by search", h.ID)
		}
	}
	// Deleting everything leaves an empty, usable store.
	if err := b.Delete(t.Context(), idsOf(ps)); err != nil {
		t.Fatalf("delete all: %v", err)
	}
	if n, err := b.Count(t.Context(), store.Filter{}); err != nil || n != 0 {
		t.Fatalf("count after delete all = %d, %v", n, err)
	}
}

func testEmpty(t *testing.T, b Backend) {
	hits, total, err := b.Search(t.Context(), unit(Dim, 0), store.Filter{All: []store.KV{{Key: "color", Value: "red"}}}, 10, 0)
	if err != nil || len(hits) != 0 || total != 0 {
		t.Fatalf("search empty = %v, %d, %v", hits, total, err)
	}
	hits, total, err = b.Search(t.Context(), unit(Dim, 0), store.Filter{}, 10, 0)
	if err != nil || len(hits) != 0 || total != 0 {
		t.Fatalf("search empty, no filter = %v, %d, %v", hits, total, err)
	}
	if n, err := b.Count(t.Context(), store.Filter{}); err != nil || n != 0 {
		t.Fatalf("count empty = %d, %v", n, err)
	}
	if got, err := b.Get(t.Context(), []string{"a"}); err != nil || len(got) != 0 {
		t.Fatalf("get empty = %v, %v", got, err)
	}
	if got, err := b.Get(t.Context(), nil); err != nil || len(got) != 0 {
		t.Fatalf("get no ids = %v, %v", got, err)
	}
	if err := b.Delete(t.Context(), []string{"a"}); err != nil {
		t.Fatalf("delete from empty: %v", err)
	}
	if err := b.Upsert(t.Context(), nil); err != nil {
		t.Fatalf("upsert nothing: %v", err)
	}
}

func testDimension(t *testing.T, b Backend) {
	good := store.Product{ID: "good", Vector: unit(Dim, 0)}
	bad := store.Product{ID: "bad", Vector: make([]float32, Dim+1)}
	err := b.Upsert(t.Context(), []store.Product{good, bad})
	if err == nil {
		t.Fatal("upsert with a wrong dimension succeeded")
	}
	t.Logf("upsert error: %v", err)
	nan := store.Product{ID: "nan", Vector: unit(Dim, 0)}
	nan.Vector[1] = float32(math.NaN())
	if err := b.Upsert(t.Context(), []store.Product{nan}); err == nil {
		t.Fatal("upsert with NaN succeeded")
	}
	if n, err := b.Count(t.Context(), store.Filter{}); err != nil || n != 0 {
		t.Fatalf("count after failed upserts = %d, %v; want 0", n, err)
	}
	upsert(t, b, []store.Product{good})
	if _, _, err := b.Search(t.Context(), make([]float32, Dim-1), store.Filter{}, 10, 0); err == nil {
		t.Fatal("search with a wrong dimension succeeded")
	}
}

func testOddIDs(t *testing.T, b Backend) {
	ids := []string{`it's`, `say "hi"`, `back\slash`, `ünïcødé 靴`, `with space`, `a,b]`, `x" or id != "`}
	var ps []store.Product
	for i, id := range ids {
		ps = append(ps, store.Product{ID: id, Title: id, Vector: unit(Dim, i),
			Attributes: []store.Attribute{{Key: "brand", Value: id, Score: 1, Source: "tag"}}})
	}
	upsert(t, b, ps)
	got, err := b.Get(t.Context(), ids)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !slices.Equal(idsOf(got), ids) {
		t.Fatalf("get = %q, want %q", idsOf(got), ids)
	}
	for i, id := range ids {
		hits, total, err := b.Search(t.Context(), unit(Dim, i), store.Filter{All: []store.KV{{Key: "brand", Value: id}}}, 10, 0)
		if err != nil || total != 1 || len(hits) != 1 || hits[0].ID != id {
			t.Errorf("search brand=%q = %v, %d, %v", id, hits, total, err)
		}
		n, err := b.Count(t.Context(), store.Filter{None: []store.KV{{Key: "brand", Value: id}}})
		if err != nil || n != len(ids)-1 {
			t.Errorf("count not brand=%q = %d, %v", id, n, err)
		}
	}
	if err := b.Delete(t.Context(), ids[:3]); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if n, err := b.Count(t.Context(), store.Filter{}); err != nil || n != len(ids)-3 {
		t.Fatalf("count after delete = %d, %v", n, err)
	}
}

func testOrder(t *testing.T, b Backend, ref []store.Product) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 10 {
		q := UnitVector(r, Dim)
		hits, total, err := b.Search(t.Context(), q, store.Filter{}, 10, 0)
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		want, wantTotal := bruteForce(ref, q, store.Filter{}, 10, 0)
		if total != wantTotal {
			t.Errorf("query %d: total = %d, want %d", i, total, wantTotal)
		}
		checkHits(t, fmt.Sprintf("query %d", i), hits, want, ref, q)
	}
}

func testFilters(t *testing.T, b Backend, ref []store.Product) {
	cases := []struct {
		name string
		f    store.Filter
	}{
		{"none", store.Filter{}},
		{"all one", store.Filter{All: []store.KV{{Key: "color", Value: "red"}}}},
		{"all value with space", store.Filter{All: []store.KV{{Key: "color", Value: "navy blue"}}}},
		{"all two", store.Filter{All: []store.KV{{Key: "color", Value: "blue"}, {Key: "size", Value: "m"}}}},
		{"all same key twice", store.Filter{All: []store.KV{{Key: "color", Value: "blue"}, {Key: "color", Value: "red"}}}},
		{"all unknown", store.Filter{All: []store.KV{{Key: "color", Value: "mauve"}}}},
		{"all quoted", store.Filter{All: []store.KV{{Key: "brand", Value: `say "hi"`}}}},
		{"all apostrophe", store.Filter{All: []store.KV{{Key: "brand", Value: `o'neil`}}}},
		{"all backslash", store.Filter{All: []store.KV{{Key: "brand", Value: `back\slash`}}}},
		{"all unicode", store.Filter{All: []store.KV{{Key: "brand", Value: `ünïcødé 靴`}}}},
		{"all equals sign", store.Filter{All: []store.KV{{Key: "brand", Value: `a=b`}}}},
		{"none one", store.Filter{None: []store.KV{{Key: "color", Value: "red"}}}},
		{"none two", store.Filter{None: []store.KV{{Key: "color", Value: "red"}, {Key: "size", Value: "s"}}}},
		{"none unknown", store.Filter{None: []store.KV{{Key: "color", Value: "mauve"}}}},
		{"all and none", store.Filter{All: []store.KV{{Key: "size", Value: "l"}}, None: []store.KV{{Key: "color", Value: "green"}, {Key: "brand", Value: `say "hi"`}}}},
		{"min price", store.Filter{MinPrice: price(50)}},
		{"max price", store.Filter{MaxPrice: price(50)}},
		{"price range inclusive", store.Filter{MinPrice: price(20), MaxPrice: price(40)}},
		{"price zero", store.Filter{MaxPrice: price(0)}},
		{"price empty range", store.Filter{MinPrice: price(60), MaxPrice: price(40)}},
		{"price fractional", store.Filter{MinPrice: price(24.5), MaxPrice: price(25.5)}},
		{"price and attrs", store.Filter{All: []store.KV{{Key: "color", Value: "blue"}}, None: []store.KV{{Key: "size", Value: "s"}}, MinPrice: price(10), MaxPrice: price(80)}},
	}
	r := rand.New(rand.NewPCG(11, 11))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, wantTotal := bruteForce(ref, nil, c.f, 0, 0)
			n, err := b.Count(t.Context(), c.f)
			if err != nil {
				t.Fatalf("count: %v", err)
			}
			if n != wantTotal {
				t.Errorf("count = %d, want %d", n, wantTotal)
			}
			for i := range 3 {
				q := UnitVector(r, Dim)
				hits, total, err := b.Search(t.Context(), q, c.f, 10, 0)
				if err != nil {
					t.Fatalf("search: %v", err)
				}
				if total != wantTotal {
					t.Errorf("total = %d, want %d", total, wantTotal)
				}
				want, _ := bruteForce(ref, q, c.f, 10, 0)
				checkHits(t, fmt.Sprintf("query %d", i), hits, want, ref, q)
			}
		})
	}
}

func testPaging(t *testing.T, b Backend, ref []store.Product) {
	r := rand.New(rand.NewPCG(13, 13))
	filters := []store.Filter{{}, {All: []store.KV{{Key: "size", Value: "m"}}, MaxPrice: price(70)}}
	for fi, f := range filters {
		q := UnitVector(r, Dim)
		want, wantTotal := bruteForce(ref, q, f, 25, 0)
		var got []store.Hit
		for off := 0; off < 25; off += 5 {
			hits, total, err := b.Search(t.Context(), q, f, 5, off)
			if err != nil {
				t.Fatalf("search offset %d: %v", off, err)
			}
			if total != wantTotal {
				t.Errorf("filter %d offset %d: total = %d, want %d", fi, off, total, wantTotal)
			}
			got = append(got, hits...)
		}
		checkHits(t, fmt.Sprintf("filter %d pages", fi), got, want, ref, q)
		hits, total, err := b.Search(t.Context(), q, f, 5, wantTotal)
		if err != nil || len(hits) != 0 || total != wantTotal {
			t.Errorf("filter %d: page past the end = %v, %d, %v", fi, hits, total, err)
		}
		hits, total, err = b.Search(t.Context(), q, f, 5, wantTotal-2)
		if err != nil || len(hits) != 2 || total != wantTotal {
			t.Errorf("filter %d: last partial page = %v, %d, %v", fi, hits, total, err)
		}
		hits, total, err = b.Search(t.Context(), q, f, 0, 0)
		if err != nil || len(hits) != 0 || total != wantTotal {
			t.Errorf("filter %d: k=0 = %v, %d, %v", fi, hits, total, err)
		}
	}
}

func testLargeK(t *testing.T, b Backend, ref []store.Product) {
	r := rand.New(rand.NewPCG(17, 17))
	for _, f := range []store.Filter{
		{All: []store.KV{{Key: "color", Value: "green"}, {Key: "size", Value: "s"}}},
		{},
	} {
		q := UnitVector(r, Dim)
		want, wantTotal := bruteForce(ref, q, f, 1000, 0)
		hits, total, err := b.Search(t.Context(), q, f, 1000, 0)
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		if total != wantTotal || len(hits) != wantTotal {
			t.Errorf("%s: %d hits, total %d; want %d", describe(f), len(hits), total, wantTotal)
		}
		checkHits(t, describe(f), hits, want, ref, q)
	}
}

// reference copies ps for brute-force checks.
func reference(ps []store.Product) []store.Product {
	out := make([]store.Product, len(ps))
	for i, p := range ps {
		out[i] = p.Clone()
	}
	return out
}

// Passes reports whether p passes f.
func Passes(p store.Product, f store.Filter) bool {
	has := func(kv store.KV) bool {
		for _, a := range p.Attributes {
			if a.Filterable() && a.Key == kv.Key && a.Value == kv.Value {
				return true
			}
		}
		return false
	}
	for _, kv := range f.All {
		if !has(kv) {
			return false
		}
	}
	for _, kv := range f.None {
		if has(kv) {
			return false
		}
	}
	if f.MinPrice != nil && (p.Price == nil || *p.Price < *f.MinPrice) {
		return false
	}
	if f.MaxPrice != nil && (p.Price == nil || *p.Price > *f.MaxPrice) {
		return false
	}
	return true
}

// bruteForce ranks the products of ref that pass f by exact inner product with
// q, computed in float64. A nil q only counts.
func bruteForce(ref []store.Product, q []float32, f store.Filter, k, offset int) ([]store.Hit, int) {
	var hits []store.Hit
	for _, p := range ref {
		if !Passes(p, f) {
			continue
		}
		var s float32
		if q != nil {
			s = float32(dot64(q, p.Vector))
		}
		hits = append(hits, store.Hit{ID: p.ID, Score: s})
	}
	total := len(hits)
	sort.Slice(hits, func(i, j int) bool { return store.Less(hits[i], hits[j]) })
	if offset >= len(hits) {
		return nil, total
	}
	hits = hits[offset:]
	return hits[:min(k, len(hits))], total
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// checkHits compares hits with the reference ranking want. Scores must match
// position by position within scoreTol; ids must match too, except that two
// products whose scores are within scoreTol may come in either order.
func checkHits(t *testing.T, what string, got, want []store.Hit, ref []store.Product, q []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d hits, want %d\n got %v\nwant %v", what, len(got), len(want), got, want)
		return
	}
	byID := make(map[string]store.Product, len(ref))
	for _, p := range ref {
		byID[p.ID] = p
	}
	seen := make(map[string]bool, len(got))
	for i := range got {
		g, w := got[i], want[i]
		if seen[g.ID] {
			t.Errorf("%s: %s returned twice", what, g.ID)
		}
		seen[g.ID] = true
		if math.Abs(float64(g.Score-w.Score)) > scoreTol {
			t.Errorf("%s: hit %d = %v, want %v", what, i, g, w)
			continue
		}
		p, ok := byID[g.ID]
		if !ok {
			t.Errorf("%s: hit %d has unknown id %q", what, i, g.ID)
			continue
		}
		if exact := dot64(q, p.Vector); math.Abs(exact-float64(g.Score)) > scoreTol {
			t.Errorf("%s: hit %d %s has score %v, exact %v", what, i, g.ID, g.Score, exact)
		}
		if g.ID != w.ID && math.Abs(float64(g.Score-w.Score)) > scoreTol/10 {
			t.Errorf("%s: hit %d = %v, want %v", what, i, g, w)
		}
	}
}

func checkProduct(t *testing.T, got, want store.Product) {
	t.Helper()
	if got.ID != want.ID || got.Title != want.Title {
		t.Errorf("product %q: got id %q title %q, want title %q", want.ID, got.ID, got.Title, want.Title)
	}
	switch {
	case (got.Price == nil) != (want.Price == nil):
		t.Errorf("product %q: price %v, want %v", want.ID, fmtPrice(got.Price), fmtPrice(want.Price))
	case got.Price != nil && *got.Price != *want.Price:
		t.Errorf("product %q: price %v, want %v", want.ID, *got.Price, *want.Price)
	}
	if len(got.Attributes) != len(want.Attributes) || (len(want.Attributes) > 0 && !slices.Equal(got.Attributes, want.Attributes)) {
		t.Errorf("product %q: attributes %+v, want %+v", want.ID, got.Attributes, want.Attributes)
	}
	if !slices.Equal(got.Vector, want.Vector) {
		t.Errorf("product %q: vector %v, want %v", want.ID, got.Vector, want.Vector)
	}
}

func fmtPrice(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func describe(f store.Filter) string {
	return fmt.Sprintf("all=%v none=%v min=%s max=%s", f.All, f.None, fmtPrice(f.MinPrice), fmtPrice(f.MaxPrice))
}

// unit returns the i-th basis vector of dimension dim.
func unit(dim, i int) []float32 {
	v := make([]float32, dim)
	v[i%dim] = 1
	return v
}

func idsOf(ps []store.Product) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}
