package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lander/catalog/demo"
)

// TestShardsThenFinalizeServeAsOneRun indexes the demo catalog with the
// real encoder twice, once in one run and once as three shards and a final
// step, and checks that both serve the same answers.
func TestShardsThenFinalizeServeAsOneRun(t *testing.T) {
	env := models(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 64, 11)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(cat, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("{not json\n{\"id\":\"no-image\",\"title\":\"Lost\"}\n")
	f.Close()
	index := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		start := time.Now()
		if code := run(context.Background(), append([]string{"index", "--log-level", "warn"}, args...), &out, &out, env); code != 0 {
			t.Fatalf("index %v: exit %d\n%s", args, code, out.String())
		}
		t.Logf("index %s: %.1fs", strings.Join(args, " "), time.Since(start).Seconds())
		return out.String()
	}
	one, sharded := filepath.Join(dir, "one"), filepath.Join(dir, "sharded")
	index("--catalog", cat, "--data", one, "--summary", filepath.Join(dir, "one.json"))
	for i := range 3 {
		out := index("--catalog", cat, "--data", sharded, "--shard", fmt.Sprintf("%d/3", i))
		if !strings.Contains(out, fmt.Sprintf("shard %d/3 of", i)) || !strings.Contains(out, "--finalize --shards 3") {
			t.Errorf("shard %d summary:\n%s", i, out)
		}
	}
	out := index("--finalize", "--shards", "3", "--data", sharded, "--summary", filepath.Join(dir, "sharded.json"))
	if !strings.Contains(out, "from 3 shards of "+cat) {
		t.Errorf("finalize summary:\n%s", out)
	}

	type counts struct {
		Products struct {
			Read, Indexed int
			Rejected      map[string]int
		}
		Vocabulary struct {
			RawValues     int `json:"raw_values"`
			CuratedValues int `json:"curated_values"`
		}
		Topics struct{ Generated, Published int }
	}
	var sums [2]counts
	for i, name := range []string{"one.json", "sharded.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(b, &sums[i])
	}
	if fmt.Sprint(sums[0]) != fmt.Sprint(sums[1]) || sums[0].Products.Indexed != 64 || sums[0].Products.Read != 66 {
		t.Errorf("summaries differ:\none run  %+v\nsharded  %+v", sums[0], sums[1])
	}

	paths := []string{
		"/api/v1/search?q=red+dress", "/api/v1/search?q=blue+shirt+under+%2450", "/api/v1/collections?limit=100",
		"/api/v1/vocabulary", "/api/v1/products/" + firstID(t, cat),
	}
	a, b := serveAll(t, one, env, paths), serveAll(t, sharded, env, paths)
	for _, p := range paths {
		if a[p] != b[p] {
			t.Errorf("GET %s differs:\none run  %s\nsharded  %s", p, a[p], b[p])
		}
	}
}

func firstID(t *testing.T, cat string) string {
	b, err := os.ReadFile(cat)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ ID string }
	json.Unmarshal(b[:bytes.IndexByte(b, '\n')], &p)
	return p.ID
}

// serveAll serves data and returns the bodies of paths.
func serveAll(t *testing.T, data string, env, paths []string) map[string]string {
	t.Helper()
	base := serveData(t, env, "--data", data)
	out := map[string]string{}
	for _, p := range paths {
		out[p] = string(getBody(t, base+p))
	}
	return out
}

// TestShardsFinalizeIntoMilvus runs three shards and the final step with
// --milvus (the Milvus Lite that make test starts): the finalize step
// writes the collection, and searches return what a single embedded run
// returns.
func TestShardsFinalizeIntoMilvus(t *testing.T) {
	env := models(t)
	addr := milvusAddr(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 48, 13)
	if err != nil {
		t.Fatal(err)
	}
	one, sharded := filepath.Join(dir, "one"), filepath.Join(dir, "sharded")
	runOK(t, env, "index", "--catalog", cat, "--data", one)
	for i := range 3 {
		runOK(t, env, "index", "--catalog", cat, "--data", sharded, "--shard", fmt.Sprintf("%d/3", i), "--milvus", addr)
	}
	runOK(t, env, "index", "--finalize", "--shards", "3", "--data", sharded, "--milvus", addr)
	a, b := serveData(t, env, "--data", one), serveData(t, env, "--data", sharded, "--milvus", addr)
	type page struct {
		Total   int
		Results []struct{ ID string }
	}
	found := 0
	for _, q := range []string{"red dress", "blue shirt for men", "black shoes", "green", "bag"} {
		var x, y page
		p := "/api/v1/search?limit=50&q=" + url.QueryEscape(q)
		json.Unmarshal(getBody(t, a+p), &x)
		json.Unmarshal(getBody(t, b+p), &y)
		if x.Total != y.Total || fmt.Sprint(x.Results) != fmt.Sprint(y.Results) {
			t.Errorf("%q: one embedded run %d %v, sharded into Milvus %d %v", q, x.Total, x.Results, y.Total, y.Results)
		}
		if x.Total > 0 {
			found++
		}
	}
	if found < 3 {
		t.Fatalf("only %d queries found products: the comparison proves little", found)
	}
}
