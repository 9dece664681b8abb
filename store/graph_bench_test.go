package store_test

import (
	"testing"

	"lander/store"
	"lander/store/storebench"
)

// BenchmarkBuild measures linking 10k clustered vectors of dimension 384
// into the graph.
func BenchmarkBuild(b *testing.B) {
	d := storebench.Generate(storebench.Config{N: 10000, Dim: 384, Seed: 1})
	ps := d.Products(0, d.N)
	for b.Loop() {
		e := store.NewEmbeddedWith(d.Dim, store.Options{Workers: 1})
		if err := e.Upsert(b.Context(), ps); err != nil {
			b.Fatal(err)
		}
		if err := e.Build(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
