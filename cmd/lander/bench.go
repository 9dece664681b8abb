package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"lander/config"
	"lander/store"
	"lander/store/milvus"
	"lander/store/storebench"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	if len(args) > 0 && args[0] == "bare" {
		return cmdBenchBare(ctx, args[1:], stdout, stderr, environ)
	}
	if len(args) == 0 || args[0] != "store" {
		return usageError{fmt.Errorf(`usage: lander bench store|bare [flags]; run "lander bench store -h"`)}
	}
	f := newFlags("bench store", stderr)
	f.str("milvus", "also benchmark the Milvus server at `host:port`, on the same data", func(c *config.Config) *string { return &c.Milvus })
	n := f.fs.Int("n", 100000, "number of products")
	dim := f.fs.Int("dim", 384, "vector dimension")
	seed := f.fs.Uint64("seed", 1, "random seed of the data")
	queries := f.fs.Int("queries", 300, "number of queries per selectivity")
	clusters := f.fs.Int("clusters", storebench.Clusters, "number of Gaussian clusters of the synthetic data")
	asJSON := f.fs.Bool("json", false, "print one JSON object per line")
	efList := f.fs.String("ef", "", "embedded store: search beam width (default the store's); a comma-separated list measures each")
	m := f.fs.Int("m", 0, "embedded store: graph degree (default the store's)")
	efc := f.fs.Int("ef-construction", 0, "embedded store: build beam width (default the store's)")
	twoHop := f.fs.Float64("two-hop-below", 0, "embedded store: selectivity below which filtered walks take two hops (default the store's; negative: never)")
	graphOnly := f.fs.Bool("graph-only", false, "embedded store: walk the graph at every selectivity, whatever the planner would choose")
	quant := f.fs.Bool("quantize", false, "embedded store: also save the store, reopen it in the quantised memory mode (int8 codes on the heap, float32 vectors mapped from the file) and measure it (as embedded-int8-mapped; bytes/vector is its heap)")
	vectors := f.fs.String("vectors", "", "benchmark real vectors: an embeddings `dir` or an index generation (its kept embeddings); -n, -dim and -clusters are ignored")
	labelled := f.fs.String("labelled", "../shared/data/queries/labelled.jsonl", "with -vectors: labelled queries `file` whose text embeddings are the queries")
	f.str("onnxruntime", "with -vectors: ONNX Runtime library `path` (or ONNXRUNTIME_LIB)", func(c *config.Config) *string { return &c.Encoder.Library })
	f.str("models", "with -vectors: models `dir`", func(c *config.Config) *string { return &c.Encoder.Models })
	cfg, err := f.load(args[1:], environ)
	if err != nil {
		return err
	}
	var efs []int
	for _, v := range strings.Split(*efList, ",") {
		if v == "" {
			continue
		}
		x, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || x < 1 {
			return usageError{fmt.Errorf("-ef: not a positive integer: %q", v)}
		}
		efs = append(efs, x)
	}
	if len(efs) == 0 {
		efs = []int{0}
	}
	if *n < 1 || *dim < 1 || *queries < 1 {
		return usageError{fmt.Errorf("-n, -dim and -queries must be positive")}
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	start := time.Now()
	var data *storebench.Data
	if *vectors != "" {
		qn := *queries
		if !isSet(f.fs, "queries") {
			qn = 1 << 30 // every labelled query
		}
		if data, err = benchVectors(ctx, cfg, *vectors, *labelled, qn, *seed, progress); err != nil {
			return err
		}
	} else {
		data = storebench.Generate(storebench.Config{N: *n, Dim: *dim, Seed: *seed, Queries: *queries, Clusters: *clusters})
	}
	*n, *dim = data.N, data.Dim
	truth, err := data.Exact(ctx)
	if err != nil {
		return err
	}
	progress("%d×%d vectors and the exact answers of %d queries in %.1fs", data.N, data.Dim, len(data.Queries), time.Since(start).Seconds())

	type backend struct {
		name  string
		s     storebench.Searcher
		build float64
		bpv   float64
		plan  func(sel float64) string
		ef    int // embedded: the search beam width
	}
	var backends []backend

	before := heapAlloc()
	start = time.Now()
	emb := store.NewEmbeddedWith(*dim, store.Options{EfSearch: efs[0], M: *m, EfConstruction: *efc, TwoHopBelow: *twoHop, GraphOnly: *graphOnly})
	emb.Grow(*n)
	const chunk = 10000
	for lo := 0; lo < *n; lo += chunk {
		if err := emb.Upsert(ctx, data.Products(lo, min(lo+chunk, *n))); err != nil {
			return err
		}
	}
	if err := emb.Build(ctx); err != nil {
		return err
	}
	build := time.Since(start).Seconds()
	bpv := float64(heapAlloc()-before) / float64(*n)
	progress("embedded: built in %.1fs, %.0f bytes per vector (%.2fx the raw float32)", build, bpv, bpv/float64(4**dim))
	// addEmbedded measures an embedded store at each beam of efs.
	addEmbedded := func(name string, es *store.Embedded, bpv float64) {
		for _, ef := range efs {
			b := backend{name: name, s: es, build: build, bpv: bpv, ef: ef, plan: func(sel float64) string {
				return es.Plan(int(sel*float64(*n)+0.5), storebench.K)
			}}
			if len(efs) > 1 {
				b.name += fmt.Sprintf("-ef%d", ef)
			}
			backends = append(backends, b)
		}
	}
	addEmbedded("embedded", emb, bpv)
	if *quant {
		// The quantised memory mode: the store saved, and reopened with its
		// float32 vectors mapped from the file and only the int8 codes on
		// the heap. The float store stays alive, so the heap grows by what
		// the reopened store holds.
		dir, err := os.MkdirTemp("", "lander-bench-store-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		start := time.Now()
		if err := emb.Save(ctx, dir); err != nil {
			return fmt.Errorf("bench quantised store: %w", err)
		}
		saveS := time.Since(start).Seconds()
		before := heapAlloc()
		start = time.Now()
		qs, err := store.OpenEmbeddedWith(ctx, dir, store.Options{Quantize: true, EfSearch: efs[0], TwoHopBelow: *twoHop, GraphOnly: *graphOnly})
		if err != nil {
			return fmt.Errorf("bench quantised store: %w", err)
		}
		defer qs.Close()
		openS := time.Since(start).Seconds()
		heap := float64(heapAlloc()-before) / float64(*n)
		var fileBytes int64
		if fi, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
			fileBytes = fi.Size()
		}
		progress("embedded-int8-mapped: saved in %.1fs, reopened in %.1fs (mapped: %v): %.0f heap bytes per vector (%.3fx the raw float32), "+
			"plus the mapped file, %d bytes (%.0f per vector, in the page cache, not the heap)",
			saveS, openS, qs.Mapped(), heap, heap/float64(4**dim), fileBytes, float64(fileBytes)/float64(*n))
		addEmbedded("embedded-int8-mapped", qs, heap)
	}

	if cfg.Milvus != "" {
		name := fmt.Sprintf("lander_bench_%d", time.Now().UnixNano())
		start = time.Now()
		ms, err := milvus.Open(ctx, milvus.Options{Addr: cfg.Milvus, Collection: name, Dim: *dim})
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			ms.Drop(cctx)
			ms.Close(cctx)
		}()
		for lo := 0; lo < *n; lo += chunk {
			if err := ms.Upsert(ctx, data.Products(lo, min(lo+chunk, *n))); err != nil {
				return err
			}
		}
		build := time.Since(start).Seconds()
		progress("milvus: inserted in %.1fs", build)
		backends = append(backends, backend{name: "milvus", s: ms, build: build})
	}

	var results []storebench.Result
	for _, sel := range storebench.Selectivities {
		for _, b := range backends {
			if es, ok := b.s.(*store.Embedded); ok {
				es.SetEfSearch(b.ef)
			}
			r, err := storebench.Measure(ctx, b.s, data, truth, sel)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			r.Backend, r.BuildS, r.BytesPerVector = b.name, b.build, b.bpv
			if b.plan != nil {
				r.Plan = b.plan(sel)
			}
			if *asJSON {
				line, err := json.Marshal(r)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s\n", line)
			}
			results = append(results, r)
		}
	}
	if !*asJSON {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "backend\tn\tdim\tselectivity\tplan\tqueries\trecall@10\tQPS\tp50 ms\tp99 ms\tbuild s\tbytes/vector\t")
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%g\t%s\t%d\t%.4f\t%.0f\t%.2f\t%.2f\t%.1f\t%.0f\t\n",
				r.Backend, r.N, r.Dim, r.Selectivity, r.Plan, r.Queries, r.RecallAt10, r.QPS, r.P50Ms, r.P99Ms, r.BuildS, r.BytesPerVector)
		}
		return tw.Flush()
	}
	return nil
}

// isSet reports whether the flag name was given.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// heapAlloc returns the bytes of live heap after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
