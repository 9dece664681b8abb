package storetest

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"lander/store"
)

// VectorsBackend is the named-vector contract the suite checks: the vectors
// of vocabulary attributes and topics.
type VectorsBackend interface {
	Upsert(ctx context.Context, vs []store.NamedVector) error
	Delete(ctx context.Context, names []string) error
	Get(ctx context.Context, names []string) ([]store.NamedVector, error)
	Search(ctx context.Context, q []float32, k int) ([]store.Hit, error)
}

// RunVectors runs the named-vector contract suite. open returns an empty set
// for vectors of dimension dim.
func RunVectors(t *testing.T, open func(t *testing.T, dim int) VectorsBackend) {
	b := open(t, Dim)
	ctx := t.Context()
	r := rand.New(rand.NewPCG(21, 21))
	names := []string{"color=red", "color=navy blue", `brand=say "hi"`, `brand=o'neil`, `back\slash`, "ünïcødé 靴", "topic:red dresses"}
	ref := map[string][]float32{}
	var vs []store.NamedVector
	for _, n := range names {
		v := UnitVector(r, Dim)
		ref[n] = v
		vs = append(vs, store.NamedVector{Name: n, Vector: v})
	}
	if err := b.Upsert(ctx, vs); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	// Replace one, delete one.
	ref[names[0]] = UnitVector(r, Dim)
	if err := b.Upsert(ctx, []store.NamedVector{{Name: names[0], Vector: ref[names[0]]}}); err != nil {
		t.Fatalf("upsert replacement: %v", err)
	}
	if err := b.Delete(ctx, []string{names[1], "missing"}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	delete(ref, names[1])
	if err := b.Upsert(ctx, []store.NamedVector{{Name: "bad", Vector: make([]float32, Dim+1)}}); err == nil {
		t.Fatal("upsert with a wrong dimension succeeded")
	}

	got, err := b.Get(ctx, []string{names[2], names[1], names[0]})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if len(got) != 2 || got[0].Name != names[2] || got[1].Name != names[0] || !slices.Equal(got[1].Vector, ref[names[0]]) {
		t.Fatalf("get = %+v", got)
	}
	for i := range 5 {
		q := UnitVector(r, Dim)
		var want []store.Hit
		for n, v := range ref {
			want = append(want, store.Hit{ID: n, Score: float32(dot64(q, v))})
		}
		sort.Slice(want, func(i, j int) bool { return store.Less(want[i], want[j]) })
		hits, err := b.Search(ctx, q, 3)
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		if len(hits) != 3 {
			t.Fatalf("search: %d hits, want 3", len(hits))
		}
		for j, h := range hits {
			w := want[j]
			if math.Abs(float64(h.Score-w.Score)) > scoreTol || (h.ID != w.ID && math.Abs(float64(h.Score-w.Score)) > scoreTol/10) {
				t.Errorf("query %d hit %d = %v, want %v", i, j, h, w)
			}
		}
		all, err := b.Search(ctx, q, 100)
		if err != nil || len(all) != len(ref) {
			t.Fatalf("search k=100: %d hits, %v; want %d", len(all), err, len(ref))
		}
	}
	if hits, err := b.Search(ctx, UnitVector(r, Dim), 0); err != nil || len(hits) != 0 {
		t.Fatalf("search k=0 = %v, %v", hits, err)
	}
}
