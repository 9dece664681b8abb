package store_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"lander/store"
	"lander/store/storetest"
)

// BenchmarkSearch measures a top-10 search over 40k random products of
// dimension 384 with their graph built, with no filter and with a filter that
// keeps 1% of them. The target is a p99 under 2 ms; "lander bench store"
// measures the percentiles on clustered data.
func BenchmarkSearch(b *testing.B) {
	const n, dim = 40000, 384
	r := rand.New(rand.NewPCG(42, 42))
	e := store.NewEmbedded(dim)
	ps := make([]store.Product, n)
	for i := range ps {
		ps[i] = store.Product{ID: fmt.Sprintf("p%06d", i), Vector: storetest.UnitVector(r, dim)}
		if i%100 == 0 {
			ps[i].Attributes = []store.Attribute{{Key: "tag", Value: "one-percent", Score: 1}}
		}
	}
	if err := e.Upsert(b.Context(), ps); err != nil {
		b.Fatal(err)
	}
	if err := e.Build(b.Context()); err != nil {
		b.Fatal(err)
	}
	queries := make([][]float32, 64)
	for i := range queries {
		queries[i] = storetest.UnitVector(r, dim)
	}
	for _, bc := range []struct {
		name string
		f    store.Filter
	}{
		{"nofilter", store.Filter{}},
		{"filter1pct", store.Filter{All: []store.KV{{Key: "tag", Value: "one-percent"}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, _, err := e.Search(b.Context(), queries[i%len(queries)], bc.f, 10, 0); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
