package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lander/catalog/demo"
	"lander/datadir"
	"lander/embeddings"
	"lander/store/milvus"
)

// serveData runs "lander serve" on data and returns its base URL; the
// server stops when the test ends.
func serveData(t *testing.T, env []string, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...), io.Discard, io.Discard, env)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exit %d after shutdown", code)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getBody(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

func runOK(t *testing.T, env []string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if code := run(context.Background(), append(args, "--log-level", "warn"), &out, &out, env); code != 0 {
		t.Fatalf("lander %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
	}
	return out.String()
}

// TestEmbeddingsRoundTrip indexes the demo catalog with the encoders,
// exports its embeddings, indexes the same catalog again from them without
// encoding, and checks that both indexes answer every request identically:
// searches, the collections and their landing pages, and products.
func TestEmbeddingsRoundTrip(t *testing.T) {
	env := models(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 120, 11)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := filepath.Join(dir, "d1"), filepath.Join(dir, "d2")
	emb := filepath.Join(dir, "emb")
	runOK(t, env, "index", "--catalog", cat, "--data", d1)
	runOK(t, env, "export", "embeddings", "--data", d1, "--out", emb)
	// A second export into the same folder is refused, not mixed in.
	var again bytes.Buffer
	if code := run(context.Background(), []string{"export", "embeddings", "--data", d1, "--out", emb}, &again, &again, env); code == 0 || !strings.Contains(again.String(), "not empty") {
		t.Fatalf("export into a full folder: exit %d\n%s", code, again.String())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".emb.tmp-*")); len(left) != 0 {
		t.Fatalf("temporary folders left: %v", left)
	}
	sum2 := filepath.Join(dir, "s2.json")
	runOK(t, env, "index", "--catalog", cat, "--data", d2, "--embeddings", emb, "--summary", sum2)

	// The second run encoded nothing: it spent no time in the encoders.
	var s struct{ Seconds map[string]float64 }
	b, _ := os.ReadFile(sum2)
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Seconds["load_embeddings"]; !ok {
		t.Fatalf("summary has no embeddings load time: %v", s.Seconds)
	}

	// The exported set is the full layout, readable back.
	meta, err := embeddings.ReadMeta(context.Background(), emb)
	if err != nil {
		t.Fatal(err)
	}
	set, err := embeddings.Load(context.Background(), emb, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 120 || meta.ProductDim == 0 || len(set.Attributes) == 0 {
		t.Fatalf("exported %d products, product dim %d, %d attributes", set.Len(), meta.ProductDim, len(set.Attributes))
	}

	a, bb := serveData(t, env, "--data", d1), serveData(t, env, "--data", d2)
	var paths []string
	for _, q := range []string{"red dress", "blue shirt for men", "black shoes", "green", "summer dress under $50", "bag", "not red dress", "casual"} {
		paths = append(paths, "/api/v1/search?limit=50&q="+url.QueryEscape(q))
	}
	var cols struct {
		Collections []struct{ Slug string }
	}
	paths = append(paths, "/api/v1/collections?limit=100", "/api/v1/vocabulary")
	if err := json.Unmarshal(getBody(t, a+"/api/v1/collections?limit=100"), &cols); err != nil {
		t.Fatal(err)
	}
	if len(cols.Collections) == 0 {
		t.Fatal("no collections to compare")
	}
	for _, c := range cols.Collections {
		paths = append(paths, "/api/v1/collections/"+c.Slug+"?limit=100")
	}
	for _, id := range set.IDs()[:20] {
		paths = append(paths, "/api/v1/products/"+url.PathEscape(id))
	}
	for _, p := range paths {
		if x, y := getBody(t, a+p), getBody(t, bb+p); !bytes.Equal(x, y) {
			t.Errorf("GET %s differs:\noriginal: %.400s\nimported: %.400s", p, x, y)
		}
	}
	t.Logf("%d requests answered identically", len(paths))
}

// TestIndexEmbeddingsRefusesMismatch checks the import's guards: embeddings
// of another catalog, of another model, and a missing product each stop
// the run with a clear error and commit nothing.
func TestIndexEmbeddingsRefusesMismatch(t *testing.T) {
	env := models(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 40, 3)
	if err != nil {
		t.Fatal(err)
	}
	d1 := filepath.Join(dir, "d1")
	emb := filepath.Join(dir, "emb")
	runOK(t, env, "index", "--catalog", cat, "--data", d1)
	runOK(t, env, "export", "embeddings", "--data", d1, "--out", emb)
	meta, err := embeddings.ReadMeta(context.Background(), emb)
	if err != nil {
		t.Fatal(err)
	}
	set, err := embeddings.Load(context.Background(), emb, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(name string, m embeddings.Meta, edit func([]embeddings.Product) []embeddings.Product) string {
		out := filepath.Join(dir, name)
		var ps []embeddings.Product
		for _, id := range set.IDs() {
			v, pv, _ := set.Lookup(id)
			ps = append(ps, embeddings.Product{ID: id, Vector: v, ProductVector: pv})
		}
		w, err := embeddings.NewWriter(out, m, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(edit(ps)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	other := meta
	other.Model = "all-MiniLM-L6-v2+dual-v0@0000000000000000"
	cases := []struct {
		name, dir, want string
	}{
		{"other model", rewrite("other-model", other, func(p []embeddings.Product) []embeddings.Product { return p }), "model"},
		{"missing product", rewrite("missing", meta, func(p []embeddings.Product) []embeddings.Product { return p[1:] }), "has none"},
		{"extra product", rewrite("extra", meta, func(p []embeddings.Product) []embeddings.Product {
			x := p[0]
			x.ID = "not-in-catalog"
			return append(p, x)
		}), "not in the catalog"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(dir, "data-"+strings.ReplaceAll(tc.name, " ", "-"))
			var out bytes.Buffer
			code := run(context.Background(), []string{"index", "--catalog", cat, "--data", data, "--embeddings", tc.dir, "--log-level", "warn"}, &out, &out, env)
			if code == 0 || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, want an error with %q:\n%s", code, tc.want, out.String())
			}
			if _, err := os.Stat(filepath.Join(data, "CURRENT")); err == nil {
				t.Fatal("a generation was committed")
			}
		})
	}
}

// TestEmbeddingsIntoMilvus imports exported embeddings into Milvus (the
// Lite server that make test starts) and checks that searches return the
// same products as the embedded index they came from.
func TestEmbeddingsIntoMilvus(t *testing.T) {
	env := models(t)
	addr := milvusAddr(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 60, 5)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2, emb := filepath.Join(dir, "d1"), filepath.Join(dir, "d2"), filepath.Join(dir, "emb")
	runOK(t, env, "index", "--catalog", cat, "--data", d1)
	runOK(t, env, "export", "embeddings", "--data", d1, "--out", emb)
	runOK(t, env, "index", "--catalog", cat, "--data", d2, "--embeddings", emb, "--milvus", addr)
	a, b := serveData(t, env, "--data", d1), serveData(t, env, "--data", d2, "--milvus", addr)
	type page struct {
		Total   int
		Results []struct {
			ID         string
			Attributes []struct{ Key, Value string }
		}
	}
	for _, q := range []string{"red dress", "blue shirt for men", "black shoes", "bag"} {
		var x, y page
		p := "/api/v1/search?limit=50&q=" + url.QueryEscape(q)
		json.Unmarshal(getBody(t, a+p), &x)
		json.Unmarshal(getBody(t, b+p), &y)
		if x.Total != y.Total || len(x.Results) != len(y.Results) {
			t.Fatalf("%q: embedded %d/%d, Milvus %d/%d", q, x.Total, len(x.Results), y.Total, len(y.Results))
		}
		for i := range x.Results {
			if x.Results[i].ID != y.Results[i].ID || len(x.Results[i].Attributes) != len(y.Results[i].Attributes) {
				t.Errorf("%q result %d: embedded %+v, Milvus %+v", q, i, x.Results[i], y.Results[i])
			}
		}
	}
	// The attribute embeddings went into their own collection.
	m, err := datadir.Open(d2)
	if err != nil {
		t.Fatal(err)
	}
	man, _, err := m.Current()
	if err != nil {
		t.Fatal(err)
	}
	av, err := milvus.OpenVectors(context.Background(), milvus.Options{Addr: addr, Collection: milvus.AttributesCollection(man.MilvusCollection), Dim: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer av.Close(context.Background())
	exp, err := embeddings.Load(context.Background(), emb, mustMeta(t, emb), nil)
	if err != nil {
		t.Fatal(err)
	}
	a0 := exp.Attributes[0]
	got, err := av.Get(context.Background(), []string{a0.Key + "=" + a0.Value})
	if err != nil || len(got) != 1 || !cmp.Equal(got[0].Vector, a0.Vector) {
		t.Fatalf("attribute %s=%s in Milvus: %v, %v", a0.Key, a0.Value, got, err)
	}

	// The enriched catalog reads back from Milvus.
	out := filepath.Join(dir, "enriched.parquet")
	if msg := runOK(t, env, "export", "attributes", "--data", d2, "--milvus", addr, "--out", out); !strings.Contains(msg, "exported 60 products") {
		t.Fatalf("export attributes: %s", msg)
	}
}

func mustMeta(t *testing.T, dir string) embeddings.Meta {
	t.Helper()
	m, err := embeddings.ReadMeta(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// milvusAddr returns the Milvus Lite that make test starts
// (LANDER_TEST_MILVUS), skipping without one unless services are required.
func milvusAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("LANDER_TEST_MILVUS")
	if addr == "" {
		if os.Getenv("LANDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("LANDER_TEST_MILVUS is not set; run under scripts/with-services.sh")
		}
		t.Skip("LANDER_TEST_MILVUS is not set")
	}
	return addr
}

// TestPruneDropsMilvusCollections indexes a catalog into Milvus four times:
// lander keeps three generations, and the oldest one's collections (its
// products and attribute embeddings) go with it.
func TestPruneDropsMilvusCollections(t *testing.T) {
	env := models(t)
	addr := milvusAddr(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 20, 17)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	var names []string
	for range 4 {
		runOK(t, env, "index", "--catalog", cat, "--data", data, "--milvus", addr)
		d, err := datadir.Open(data)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := d.Current()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m.MilvusCollection)
	}
	ctx := context.Background()
	for i, name := range names {
		for _, c := range []string{name, milvus.AttributesCollection(name)} {
			has, err := milvus.HasCollection(ctx, addr, c)
			if err != nil {
				t.Fatal(err)
			}
			if want := i > 0; has != want {
				t.Errorf("collection %s of generation %d: exists %v, want %v", c, i+1, has, want)
			}
		}
	}
}
