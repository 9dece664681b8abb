package store

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/google/go-cmp/cmp"
)

// clustered returns n unit vectors of dimension dim around 20 random
// centres, from a fixed seed.
func clustered(n, dim int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, seed))
	centres := make([][]float32, 20)
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(r.NormFloat64())
		}
	}
	vecs := make([]float32, n*dim)
	for i := range n {
		v, c := vecs[i*dim:(i+1)*dim], centres[r.IntN(len(centres))]
		for j := range v {
			v[j] = c[j] + float32(r.NormFloat64())
		}
		copy(v, normalised(v))
	}
	return vecs
}

func buildGraph(t *testing.T, vecs []float32, dim, workers int) *graph {
	t.Helper()
	g := newGraph(dim, 8, 64)
	if err := g.build(context.Background(), vecs, len(vecs)/dim, workers); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestBuildDeterministic: one worker always builds the same graph.
func TestBuildDeterministic(t *testing.T) {
	const n, dim = 6000, 32
	vecs := clustered(n, dim, 1)
	a, b := buildGraph(t, vecs, dim, 1), buildGraph(t, vecs, dim, 1)
	if a.entry != b.entry || a.top != b.top {
		t.Fatalf("entry %d/%d, top %d/%d", a.entry, b.entry, a.top, b.top)
	}
	if diff := cmp.Diff(a.n0, b.n0); diff != "" {
		t.Fatalf("layer-0 degrees differ (-a +b):\n%s", diff)
	}
	if !slices.Equal(a.l0, b.l0) {
		t.Fatal("layer-0 neighbours differ")
	}
	if diff := cmp.Diff(a.upper, b.upper); diff != "" {
		t.Fatalf("upper layers differ (-a +b):\n%s", diff)
	}
}

// TestBuildRecall: a graph built on one goroutine and one built on four
// both find the exact top 10 of held-out queries, and about equally well.
func TestBuildRecall(t *testing.T) {
	const n, dim, k, queries = 6000, 32, 10, 100
	vecs := clustered(n+queries, dim, 2)
	base := vecs[:n*dim]
	var recalls []float64
	for _, workers := range []int{1, 4} {
		g := buildGraph(t, base, dim, workers)
		found, total := 0, 0
		vis := newVisited(n)
		for qi := range queries {
			q := vecs[(n+qi)*dim : (n+qi+1)*dim]
			want := bruteForce(base, q, k)
			vis.reset()
			got := g.search(scorer{vecs: base}, q, 32, nil, vis)
			slices.SortFunc(got, byScore)
			for _, it := range got[:min(k, len(got))] {
				if slices.Contains(want, it.row) {
					found++
				}
			}
			total += k
		}
		recalls = append(recalls, float64(found)/float64(total))
	}
	t.Logf("recall@10 with 1 and 4 workers: %.3f, %.3f", recalls[0], recalls[1])
	for _, r := range recalls {
		if r < 0.95 {
			t.Errorf("recall@10 %.3f, want >= 0.95", r)
		}
	}
	if d := recalls[0] - recalls[1]; d > 0.03 || d < -0.03 {
		t.Errorf("recall with 1 and 4 workers differs by %.3f", d)
	}
}

// bruteForce returns the rows of the k highest inner products with q.
func bruteForce(vecs, q []float32, k int) []uint32 {
	dim := len(q)
	its := make([]item, len(vecs)/dim)
	for r := range its {
		its[r] = item{dot(q, vecs[r*dim:(r+1)*dim]), uint32(r)}
	}
	slices.SortFunc(its, byScore)
	rows := make([]uint32, k)
	for i := range rows {
		rows[i] = its[i].row
	}
	return rows
}

// TestTwoHopRecall: a two-hop walk finds the exact filtered top 10 when the
// filter keeps 5% of rows, while scoring only passing rows.
func TestTwoHopRecall(t *testing.T) {
	const n, dim, k, queries = 6000, 32, 10, 100
	vecs := clustered(n+queries, dim, 3)
	base := vecs[:n*dim]
	g := buildGraph(t, base, dim, 1)
	r := rand.New(rand.NewPCG(4, 4))
	allow := roaring.New()
	var kept []float32
	var rows []uint32
	for row := range n {
		if r.IntN(20) == 0 {
			allow.Add(uint32(row))
			kept = append(kept, base[row*dim:(row+1)*dim]...)
			rows = append(rows, uint32(row))
		}
	}
	dense := denseSet(allow.ToDense())
	vis := newVisited(n)
	found := map[string]int{}
	for qi := range queries {
		q := vecs[(n+qi)*dim : (n+qi+1)*dim]
		var want []uint32
		for _, i := range bruteForce(kept, q, k) {
			want = append(want, rows[i])
		}
		for name, search := range map[string]func() []item{
			"two-hop": func() []item { return g.searchDense(scorer{vecs: base}, q, 32, dense, vis) },
			"plain":   func() []item { return g.search(scorer{vecs: base}, q, 32, allow, vis) },
		} {
			vis.reset()
			got := search()
			slices.SortFunc(got, byScore)
			for _, it := range got[:min(k, len(got))] {
				if !allow.Contains(it.row) {
					t.Fatalf("%s: row %d does not pass the filter", name, it.row)
				}
				if slices.Contains(want, it.row) {
					found[name]++
				}
			}
		}
	}
	two, plain := float64(found["two-hop"])/(k*queries), float64(found["plain"])/(k*queries)
	t.Logf("recall@10 at 5%%: two-hop %.3f, plain %.3f", two, plain)
	if two < 0.95 {
		t.Errorf("two-hop recall@10 %.3f, want >= 0.95", two)
	}
}
