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

// BenchmarkFilteredWalk measures top-10 searches of 100k clustered vectors
// whose filter keeps 10% of them, the selectivity where the planner takes
// the two-hop walk (the 100k target is p99 ≤ 1 ms there; "lander bench
// store" measures the percentiles). The graph is built once, in about 25 s
// on 2 cores.
func BenchmarkFilteredWalk(b *testing.B) {
	d := storebench.Generate(storebench.Config{N: 100000, Dim: 384, Seed: 1, Queries: 64})
	e := store.NewEmbedded(d.Dim)
	if err := e.Upsert(b.Context(), d.Products(0, d.N)); err != nil {
		b.Fatal(err)
	}
	if err := e.Build(b.Context()); err != nil {
		b.Fatal(err)
	}
	f := storebench.Filter(0.1)
	if p := e.Plan(d.N/10, 10); p != "two-hop" {
		b.Fatalf("plan at 10%% is %q, want two-hop", p)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, _, err := e.Search(b.Context(), d.Queries[i%len(d.Queries)], f, 10, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
