// Package storebench measures lander's vector stores as the contract's
// "lander bench store" defines it: seeded unit vectors drawn from 200 Gaussian
// clusters, a filter tag on an exact random subset for each selectivity,
// queries from the same mixture that are not in the index, and recall@10
// against an exact search over the rows that pass each filter.
package storebench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"lander/store"
)

// Selectivities are the nominal shares of products that the benchmark's
// filters keep; 1 is no filter.
var Selectivities = []float64{0.001, 0.01, 0.1, 0.5, 1.0}

// Clusters is the default number of Gaussian clusters the vectors are drawn
// from.
const Clusters = 200

// K is the number of results each query asks for.
const K = 10

// TagKey is the attribute key of the filter tags; the value is the
// selectivity, formatted by Tag.
const TagKey = "bench"

// Tag returns the attribute value that marks the products of selectivity s.
func Tag(s float64) string { return strconv.FormatFloat(s, 'g', -1, 64) }

// Filter returns the filter that keeps the products of selectivity s.
func Filter(s float64) store.Filter {
	if s >= 1 {
		return store.Filter{}
	}
	return store.Filter{All: []store.KV{{Key: TagKey, Value: Tag(s)}}}
}

// Config describes a data set.
type Config struct {
	N, Dim  int
	Seed    uint64
	Queries int
	// Clusters is the number of Gaussian clusters (default Clusters). Rows
	// per cluster set how hard the graph is to search: 100k rows in 20
	// clusters are about as hard as 1M in 200.
	Clusters int
}

// Data is a generated data set.
type Data struct {
	Config
	Vecs    []float32   // row i is Vecs[i*Dim : (i+1)*Dim]
	Tags    [][]float64 // the selectivities whose tag each row carries
	Queries [][]float32
}

// Generate draws a data set from cfg.Seed.
func Generate(cfg Config) *Data {
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	if cfg.Clusters <= 0 {
		cfg.Clusters = Clusters
	}
	centers := make([][]float32, cfg.Clusters)
	for i := range centers {
		centers[i] = make([]float32, cfg.Dim)
		fill(r, centers[i], nil, 1)
	}
	noise := 1 / math.Sqrt(float64(cfg.Dim))
	d := &Data{Config: cfg, Vecs: make([]float32, cfg.N*cfg.Dim), Tags: make([][]float64, cfg.N)}
	for i := range cfg.N {
		fill(r, d.Vecs[i*cfg.Dim:(i+1)*cfg.Dim], centers[r.IntN(cfg.Clusters)], noise)
	}
	d.tag(r)
	d.Queries = make([][]float32, cfg.Queries)
	for i := range d.Queries {
		d.Queries[i] = make([]float32, cfg.Dim)
		fill(r, d.Queries[i], centers[r.IntN(cfg.Clusters)], noise)
	}
	return d
}

// FromVectors returns a data set over given vectors (such as a catalogue's
// product embeddings) and queries, both unit length and of dimension dim,
// with the filter tags drawn from seed as Generate draws them.
func FromVectors(vecs []float32, dim int, queries [][]float32, seed uint64) *Data {
	n := len(vecs) / dim
	d := &Data{
		Config:  Config{N: n, Dim: dim, Seed: seed, Queries: len(queries)},
		Vecs:    vecs[:n*dim],
		Tags:    make([][]float64, n),
		Queries: queries,
	}
	d.tag(rand.New(rand.NewPCG(seed, seed^0x5eed)))
	return d
}

// tag marks an exact random subset of rows for each selectivity below 1.
func (d *Data) tag(r *rand.Rand) {
	for _, s := range Selectivities {
		if s >= 1 {
			continue
		}
		size := int(math.Round(s * float64(d.N)))
		for _, row := range r.Perm(d.N)[:size] {
			d.Tags[row] = append(d.Tags[row], s)
		}
	}
}

// fill sets v to center plus Gaussian noise of the given deviation per
// dimension (a plain Gaussian when center is nil), normalised.
func fill(r *rand.Rand, v, center []float32, dev float64) {
	var n float64
	for j := range v {
		x := r.NormFloat64() * dev
		if center != nil {
			x += float64(center[j])
		}
		v[j] = float32(x)
		n += x * x
	}
	n = math.Sqrt(n)
	for j := range v {
		v[j] = float32(float64(v[j]) / n)
	}
}

// ID returns the product id of row i.
func ID(i int) string { return fmt.Sprintf("p%08d", i) }

// Products returns rows [lo, hi) as products.
func (d *Data) Products(lo, hi int) []store.Product {
	ps := make([]store.Product, 0, hi-lo)
	for i := lo; i < hi; i++ {
		p := store.Product{ID: ID(i), Vector: d.Vecs[i*d.Dim : (i+1)*d.Dim]}
		for _, s := range d.Tags[i] {
			p.Attributes = append(p.Attributes, store.Attribute{Key: TagKey, Value: Tag(s), Score: 1, Source: "bench"})
		}
		ps = append(ps, p)
	}
	return ps
}

// Truth is the exact top K of each query, per selectivity.
type Truth map[float64][][]string

// Exact computes the exact answers, on all CPUs.
func (d *Data) Exact(ctx context.Context) (Truth, error) {
	truth := Truth{}
	for _, s := range Selectivities {
		truth[s] = make([][]string, len(d.Queries))
	}
	var next atomic.Int64
	eg, ctx := errgroup.WithContext(ctx)
	for range runtime.GOMAXPROCS(0) {
		eg.Go(func() error {
			for {
				qi := int(next.Add(1) - 1)
				if qi >= len(d.Queries) {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				d.exact(qi, truth)
			}
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, fmt.Errorf("exact search: %w", err)
	}
	return truth, nil
}

// exact fills truth for query qi at every selectivity with one pass.
func (d *Data) exact(qi int, truth Truth) {
	type hit struct {
		score float32
		row   int
	}
	q := d.Queries[qi]
	tops := make(map[float64][]hit, len(Selectivities))
	add := func(s float64, h hit) {
		t := tops[s]
		if len(t) == K && h.score <= t[K-1].score {
			return
		}
		i := sort.Search(len(t), func(i int) bool { return t[i].score < h.score })
		if len(t) < K {
			t = append(t, hit{})
		}
		copy(t[i+1:], t[i:])
		t[i] = h
		tops[s] = t
	}
	for i := range d.N {
		v := d.Vecs[i*d.Dim : (i+1)*d.Dim]
		h := hit{store.Dot(q, v), i}
		add(1, h)
		for _, s := range d.Tags[i] {
			add(s, h)
		}
	}
	for s, t := range tops {
		ids := make([]string, len(t))
		for i, h := range t {
			ids[i] = ID(h.row)
		}
		truth[s][qi] = ids
	}
	for _, s := range Selectivities {
		if truth[s][qi] == nil {
			truth[s][qi] = []string{}
		}
	}
}

// Searcher is the store method the benchmark measures.
type Searcher interface {
	Search(ctx context.Context, q []float32, f store.Filter, k, offset int) ([]store.Hit, int, error)
}

// Result is one line of the benchmark's output.
type Result struct {
	Backend     string  `json:"backend"`
	N           int     `json:"n"`
	Dim         int     `json:"dim"`
	Selectivity float64 `json:"selectivity"`
	Queries     int     `json:"queries"`
	RecallAt10  float64 `json:"recall_at_10"`
	QPS         float64 `json:"qps"`
	P99Ms       float64 `json:"p99_ms"`
	P50Ms       float64 `json:"p50_ms"`
	// Extra fields: how the store was built and what it holds.
	BuildS         float64 `json:"build_s"`
	BytesPerVector float64 `json:"bytes_per_vector,omitempty"`
	Plan           string  `json:"plan,omitempty"`
}

// Measure runs every query of d against s at selectivity sel, one at a time,
// after a short warm-up, and scores the answers against truth.
func Measure(ctx context.Context, s Searcher, d *Data, truth Truth, sel float64) (Result, error) {
	f := Filter(sel)
	for _, q := range d.Queries[:min(10, len(d.Queries))] {
		if _, _, err := s.Search(ctx, q, f, K, 0); err != nil {
			return Result{}, fmt.Errorf("warm up at selectivity %v: %w", sel, err)
		}
	}
	lat := make([]time.Duration, len(d.Queries))
	var recall float64
	start := time.Now()
	for i, q := range d.Queries {
		t0 := time.Now()
		hits, _, err := s.Search(ctx, q, f, K, 0)
		lat[i] = time.Since(t0)
		if err != nil {
			return Result{}, fmt.Errorf("search at selectivity %v: %w", sel, err)
		}
		recall += Recall(hits, truth[sel][i])
	}
	wall := time.Since(start)
	slices.Sort(lat)
	ms := func(p float64) float64 {
		i := min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)
		return float64(lat[max(i, 0)].Microseconds()) / 1000
	}
	n := len(d.Queries)
	return Result{
		N: d.N, Dim: d.Dim, Selectivity: sel, Queries: n,
		RecallAt10: recall / float64(n),
		QPS:        float64(n) / wall.Seconds(),
		P99Ms:      ms(0.99),
		P50Ms:      ms(0.50),
	}, nil
}

// Recall returns the share of want found in hits; 1 when want is empty.
func Recall(hits []store.Hit, want []string) float64 {
	if len(want) == 0 {
		return 1
	}
	found := 0
	for _, h := range hits {
		if slices.Contains(want, h.ID) {
			found++
		}
	}
	return float64(found) / float64(len(want))
}
