package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lander/embeddings"
	"lander/store/storebench"
	"lander/store/storetest"
)

// benchLines runs "lander bench store" with args and returns its JSON lines.
func benchLines(t *testing.T, args ...string) ([]storebench.Result, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := cmdBench(context.Background(), append([]string{"store", "--json"}, args...), &out, &errOut, nil)
	if err != nil {
		t.Fatalf("bench store: %v\n%s", err, errOut.String())
	}
	var rs []storebench.Result
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r storebench.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		rs = append(rs, r)
	}
	return rs, errOut.String()
}

func TestBenchStoreSynthetic(t *testing.T) {
	rs, _ := benchLines(t, "--n", "3000", "--dim", "32", "--queries", "30", "--quantize", "--ef", "32,64")
	if got, want := len(rs), 4*len(storebench.Selectivities); got != want {
		t.Fatalf("%d results, want %d (float and int8, two ef each, per selectivity)", got, want)
	}
	for _, r := range rs {
		if r.RecallAt10 < 0.9 {
			t.Errorf("%s at %g: recall@10 %.3f, want >= 0.9", r.Backend, r.Selectivity, r.RecallAt10)
		}
	}
}

// TestBenchStoreVectors reads an embeddings folder. The labelled queries
// cannot be encoded into its 32 dimensions, so the benchmark falls back to
// held-out products, and says so.
func TestBenchStoreVectors(t *testing.T) {
	dir := t.TempDir()
	const dim, n = 32, 2000
	w, err := embeddings.NewWriter(dir, embeddings.Meta{Model: "test", Dim: dim}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	ps := make([]embeddings.Product, n)
	for i := range ps {
		ps[i] = embeddings.Product{ID: storebench.ID(i), Vector: storetest.UnitVector(r, dim)}
	}
	if err := w.Write(ps); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	labelled := filepath.Join(t.TempDir(), "labelled.jsonl")
	if err := os.WriteFile(labelled, []byte(`{"q": "black watch"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, log := benchLines(t, "--vectors", dir, "--labelled", labelled, "--models", t.TempDir())
	if !strings.Contains(log, "holding out every 50th product") {
		t.Errorf("no fallback in the log:\n%s", log)
	}
	if len(rs) != len(storebench.Selectivities) {
		t.Fatalf("%d results, want %d", len(rs), len(storebench.Selectivities))
	}
	for _, r := range rs {
		if r.N != n-n/50 || r.Queries != n/50 {
			t.Errorf("at %g: %d products and %d queries, want %d and %d", r.Selectivity, r.N, r.Queries, n-n/50, n/50)
		}
		if r.RecallAt10 < 0.9 {
			t.Errorf("at %g: recall@10 %.3f", r.Selectivity, r.RecallAt10)
		}
	}
}
