package store_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lander/store"
	"lander/store/storetest"
)

func TestEmbeddedContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dim int) storetest.Backend { return store.NewEmbedded(dim) })
}

// TestEmbeddedReopenedContract runs the suite against stores that went through
// Save and OpenEmbedded after every write.
func TestEmbeddedReopenedContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dim int) storetest.Backend {
		return &reopening{t: t, dir: t.TempDir(), Embedded: store.NewEmbedded(dim)}
	})
}

type reopening struct {
	t   *testing.T
	dir string
	*store.Embedded
}

func (r *reopening) cycle(ctx context.Context) {
	r.t.Helper()
	if err := r.Save(ctx, r.dir); err != nil {
		r.t.Fatalf("save: %v", err)
	}
	e, err := store.OpenEmbedded(ctx, r.dir)
	if err != nil {
		r.t.Fatalf("open: %v", err)
	}
	r.Embedded = e
}

func (r *reopening) Upsert(ctx context.Context, ps []store.Product) error {
	if err := r.Embedded.Upsert(ctx, ps); err != nil {
		return err
	}
	r.cycle(ctx)
	return nil
}

func (r *reopening) Delete(ctx context.Context, ids []string) error {
	if err := r.Embedded.Delete(ctx, ids); err != nil {
		return err
	}
	r.cycle(ctx)
	return nil
}

func TestEmbeddedTiesByID(t *testing.T) {
	e := store.NewEmbedded(4)
	v := []float32{1, 0, 0, 0}
	var ps []store.Product
	for _, id := range []string{"d", "b", "e", "a", "c"} {
		ps = append(ps, store.Product{ID: id, Vector: v})
	}
	if err := e.Upsert(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	hits, total, err := e.Search(t.Context(), v, store.Filter{}, 3, 1)
	if err != nil || total != 5 {
		t.Fatalf("search = %v, %d, %v", hits, total, err)
	}
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	if strings.Join(ids, "") != "bcd" {
		t.Fatalf("tied hits = %v, want b c d", ids)
	}
}

func TestEmbeddedCompaction(t *testing.T) {
	ps := storetest.Catalog(3000, 8, 3)
	e := store.NewEmbedded(8)
	ctx := t.Context()
	for range 3 {
		if err := e.Upsert(ctx, ps); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, p := range ps[:2500] {
		ids = append(ids, p.ID)
	}
	if err := e.Delete(ctx, ids); err != nil {
		t.Fatal(err)
	}
	if e.Len() != 500 {
		t.Fatalf("len = %d, want 500", e.Len())
	}
	f := store.Filter{All: []store.KV{{Key: "color", Value: "red"}}}
	want := 0
	for _, p := range ps[2500:] {
		if storetest.Passes(p, f) {
			want++
		}
	}
	if n, err := e.Count(ctx, f); err != nil || n != want {
		t.Fatalf("count = %d, %v; want %d", n, err, want)
	}
	got, err := e.Get(ctx, []string{ps[2999].ID, ps[0].ID})
	if err != nil || len(got) != 1 || got[0].ID != ps[2999].ID {
		t.Fatalf("get = %v, %v", got, err)
	}
}

func saved(t *testing.T) (string, []store.Product) {
	t.Helper()
	ps := storetest.Catalog(500, 32, 5)
	e := store.NewEmbedded(32)
	if err := e.Upsert(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := e.Save(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	return dir, ps
}

func TestSaveOpenRoundTrip(t *testing.T) {
	dir, ps := saved(t)
	e, err := store.OpenEmbedded(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != len(ps) || e.Dim() != 32 {
		t.Fatalf("len %d dim %d", e.Len(), e.Dim())
	}
	ids := []string{ps[10].ID, ps[0].ID, ps[499].ID}
	got, err := e.Get(t.Context(), ids)
	if err != nil || len(got) != 3 {
		t.Fatalf("get = %v, %v", got, err)
	}
	for i, p := range []store.Product{ps[10], ps[0], ps[499]} {
		g := got[i]
		if g.ID != p.ID || g.Title != p.Title || len(g.Attributes) != len(p.Attributes) || (g.Price == nil) != (p.Price == nil) {
			t.Errorf("product %d: %+v, want %+v", i, g, p)
		}
		for j := range p.Vector {
			if g.Vector[j] != p.Vector[j] {
				t.Fatalf("product %s vector differs at %d", p.ID, j)
			}
		}
	}
	q := storetest.UnitVector(rand.New(rand.NewPCG(1, 2)), 32)
	f := store.Filter{All: []store.KV{{Key: "size", Value: "m"}}, MinPrice: ptr(10.0)}
	orig := store.NewEmbedded(32)
	if err := orig.Upsert(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	h1, n1, err1 := orig.Search(t.Context(), q, f, 10, 0)
	h2, n2, err2 := e.Search(t.Context(), q, f, 10, 0)
	if err1 != nil || err2 != nil || n1 != n2 || len(h1) != len(h2) {
		t.Fatalf("search before %v %d %v, after %v %d %v", h1, n1, err1, h2, n2, err2)
	}
	for i := range h1 {
		if h1[i] != h2[i] {
			t.Fatalf("hit %d: before %v after %v", i, h1[i], h2[i])
		}
	}
}

func ptr(v float64) *float64 { return &v }

func TestOpenDetectsCorruption(t *testing.T) {
	dir, _ := saved(t)
	path := filepath.Join(dir, store.FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{20, 100, len(data) / 2, len(data) - 1} {
		bad := append([]byte(nil), data...)
		bad[off] ^= 0x10
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := store.OpenEmbedded(t.Context(), dir)
		if err == nil {
			t.Fatalf("flipped byte %d: open succeeded", off)
		}
		if off >= 40 && err.Error() != "open store: checksum mismatch in products.bin" {
			t.Errorf("flipped byte %d: error %q", off, err)
		}
		t.Logf("flipped byte %d: %v", off, err)
	}
}

func TestOpenDetectsTruncation(t *testing.T) {
	dir, _ := saved(t)
	path := filepath.Join(dir, store.FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 10, 40, len(data) / 2, len(data) - 1} {
		if err := os.WriteFile(path, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := store.OpenEmbedded(t.Context(), dir)
		if err == nil || !strings.Contains(err.Error(), "products.bin") {
			t.Fatalf("truncated to %d bytes: error %v", n, err)
		}
		t.Logf("truncated to %d: %v", n, err)
	}
}

func TestOpenIgnoresLeftoverTemp(t *testing.T) {
	dir, ps := saved(t)
	// A crashed Save leaves a partial temporary file next to the real one.
	if err := os.WriteFile(filepath.Join(dir, store.FileName+".123456.tmp"), []byte("LANDERVS partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := store.OpenEmbedded(t.Context(), dir)
	if err != nil {
		t.Fatalf("open with leftover temp: %v", err)
	}
	if e.Len() != len(ps) {
		t.Fatalf("len = %d, want %d", e.Len(), len(ps))
	}
	// And a later Save still works and replaces the file.
	if err := e.Delete(t.Context(), []string{ps[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	e2, err := store.OpenEmbedded(t.Context(), dir)
	if err != nil || e2.Len() != len(ps)-1 {
		t.Fatalf("reopen = %v, %v", e2, err)
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := store.OpenEmbedded(t.Context(), t.TempDir())
	if err == nil || !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Fatalf("open empty dir: %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestEmbeddedGraphContract runs the suite against stores that answer every
// search they can from the graph, built after every write.
func TestEmbeddedGraphContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dim int) storetest.Backend {
		return &building{store.NewEmbeddedWith(dim, store.Options{GraphOnly: true})}
	})
}

// TestEmbeddedQuantizedContract runs the suite against quantised stores,
// scanning and walking the graph: re-ranking makes their answers exact.
func TestEmbeddedQuantizedContract(t *testing.T) {
	t.Run("scan", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, dim int) storetest.Backend {
			return store.NewEmbeddedWith(dim, store.Options{Quantize: true})
		})
	})
	t.Run("graph", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, dim int) storetest.Backend {
			return &building{store.NewEmbeddedWith(dim, store.Options{Quantize: true, GraphOnly: true})}
		})
	})
}

type building struct{ *store.Embedded }

func (b *building) Upsert(ctx context.Context, ps []store.Product) error {
	if err := b.Embedded.Upsert(ctx, ps); err != nil {
		return err
	}
	return b.Build(ctx)
}

func TestVectorsContract(t *testing.T) {
	storetest.RunVectors(t, func(t *testing.T, dim int) storetest.VectorsBackend { return store.NewVectors(dim) })
}
