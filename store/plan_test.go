package store

import (
	"context"
	"fmt"
	"testing"
)

// TestPlan: with a beam of 1 on 3,000 rows, the planner scans a 1% filter,
// walks two hops for a 10% one, and walks plainly for 50% and no filter; a
// quantised scan, being cheaper, takes the 10% filter back.
func TestPlan(t *testing.T) {
	const n, dim = 3000, 32
	vecs := clustered(n, dim, 9)
	e := NewEmbeddedWith(dim, Options{EfSearch: 2})
	ps := make([]Product, n)
	for i := range ps {
		ps[i] = Product{ID: fmt.Sprintf("p%05d", i), Vector: vecs[i*dim : (i+1)*dim]}
	}
	if err := e.Upsert(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	if got := e.Plan(n, 1); got != "exact" {
		t.Errorf("before Build: plan %q, want exact", got)
	}
	if err := e.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sel   float64
		quant bool
		want  string
	}{
		{0.01, false, "exact"},
		{0.1, false, "two-hop"},
		{0.5, false, "graph"},
		{1, false, "graph"},
		{0.1, true, "exact"},
	} {
		e.SetQuantize(tc.quant)
		if got := e.Plan(int(tc.sel*n), 1); got != tc.want {
			t.Errorf("selectivity %g, quantised %v: plan %q, want %q", tc.sel, tc.quant, got, tc.want)
		}
	}
}
