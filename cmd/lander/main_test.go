package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lander/catalog/demo"
)

// TestMain runs the tests from the repository root, where lander's default
// paths (lib/, models/, encoder/weights) and ../shared resolve as they do
// for bin/lander.
func TestMain(m *testing.M) {
	if err := os.Chdir("../.."); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func TestVersionAndUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "lander "},
		{nil, exitUsage, "usage: lander"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"index"}, exitUsage, "--catalog is required"},
		{[]string{"index", "--catalog", "x", "--shard", "5/2"}, exitUsage, "index.shard"},
		{[]string{"serve", "--addr", "nonsense"}, exitUsage, "serve.addr"},
		{[]string{"serve", "--config", "testdata/nope.yaml"}, exitUsage, "load config"},
		{[]string{"index", "--catalog", "x", "stray"}, exitUsage, "unexpected arguments"},
		{[]string{"index", "--finalize"}, exitUsage, "index.shards: must be >= 1"},
		{[]string{"index", "--shards", "3", "--catalog", "x"}, exitUsage, "index.shards: is read only with index.finalize"},
		{[]string{"index", "--finalize", "--shards", "3", "--shard", "1/3"}, exitUsage, "index.shard: cannot be set with index.finalize"},
		{[]string{"index", "--finalize=maybe"}, exitUsage, "invalid boolean"},
		{[]string{"index", "-h"}, 0, "lander index --finalize --shards N"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			code := run(context.Background(), tt.args, &out, &out, nil)
			if code != tt.code || !strings.Contains(out.String(), tt.out) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out.String(), tt.code, tt.out)
			}
		})
	}
}

func TestEnvironmentErrorsAreReported(t *testing.T) {
	var out bytes.Buffer
	code := run(context.Background(), []string{"serve"}, &out, &out, []string{"LANDER_SERVE_ADRR=:1"})
	if code != exitUsage || !strings.Contains(out.String(), "LANDER_SERVE_ADRR: unknown setting") {
		t.Errorf("exit %d, output %q", code, out.String())
	}
}

// models returns the environment that points lander at the ONNX Runtime
// library and models, or skips when they are not installed.
func models(t *testing.T) []string {
	t.Helper()
	root, _ := os.Getwd()
	lib := filepath.Join(root, "lib", "libonnxruntime.so.1")
	if v := os.Getenv("ONNXRUNTIME_LIB"); v != "" {
		lib = v
	}
	_, err1 := os.Stat(lib)
	_, err2 := os.Stat(filepath.Join(root, "models", "minilm", "model.onnx"))
	if err1 != nil || err2 != nil {
		if os.Getenv("LANDER_REQUIRE_MODELS") == "1" {
			t.Fatalf("models not installed (run make setup): %v %v", err1, err2)
		}
		t.Skip("models not installed (run make setup)")
	}
	return []string{"ONNXRUNTIME_LIB=" + lib, "LANDER_ENCODER_MODELS=" + filepath.Join(root, "models")}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestIndexThenServe runs the real binary's code path end to end: index the
// demo catalog with the real text encoder, then serve and search it.
func TestIndexThenServe(t *testing.T) {
	env := models(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 96, 7)
	if err != nil {
		t.Fatal(err)
	}
	// One bad row and one row without an image: counted, not fatal.
	f, _ := os.OpenFile(cat, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("{not json\n{\"id\":\"no-image\",\"title\":\"Lost\"}\n")
	f.Close()

	// A search log whose demand the demo's collections meet only in part.
	searchLog := filepath.Join(dir, "search_log.tsv")
	os.WriteFile(searchLog, []byte("red dress\t900\nblack sneakers for men\t700\nleather boots\t500\nsilk scarves\t400\nblue jeans\t300\nwatches\t200\nparty heels\t100\n"), 0o644)

	data := filepath.Join(dir, "data")
	sumPath := filepath.Join(dir, "summary.json")
	var out bytes.Buffer
	code := run(context.Background(), []string{"index", "--catalog", cat, "--data", data, "--summary", sumPath, "--search-log", searchLog, "--log-level", "warn"}, &out, &out, env)
	if code != 0 {
		t.Fatalf("index exit %d:\n%s", code, out.String())
	}
	var sum struct {
		Products struct {
			Read, Indexed int
			Rejected      map[string]int
		}
		Topics struct{ Gaps int }
	}
	b, err := os.ReadFile(sumPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Products.Read != 98 || sum.Products.Indexed != 96 || sum.Products.Rejected["bad_json"] != 1 || sum.Products.Rejected["missing_image"] != 1 {
		t.Fatalf("summary products = %+v\n%s", sum.Products, out.String())
	}
	// The summary counts the gaps that topics.json lists and the server serves.
	cur, _ := os.ReadFile(filepath.Join(data, "CURRENT"))
	var tf struct{ Gaps []json.RawMessage }
	if b, err := os.ReadFile(filepath.Join(data, strings.TrimSpace(string(cur)), "topics.json")); err != nil || json.Unmarshal(b, &tf) != nil || tf.Gaps == nil {
		t.Fatalf("topics.json gaps: %v", err)
	}
	if sum.Topics.Gaps != len(tf.Gaps) || sum.Topics.Gaps == 0 || !strings.Contains(out.String(), fmt.Sprintf(", %d demand gaps\n", len(tf.Gaps))) {
		t.Errorf("summary counts %d gaps, topics.json holds %d:\n%s", sum.Topics.Gaps, len(tf.Gaps), out.String())
	}

	base := serveData(t, env, "--data", data)
	var gaps struct{ Total int }
	if err := json.Unmarshal(getBody(t, base+"/api/v1/gaps"), &gaps); err != nil || gaps.Total != len(tf.Gaps) {
		t.Errorf("GET /api/v1/gaps: total %d, want %d (%v)", gaps.Total, len(tf.Gaps), err)
	}
	var res struct {
		Total   int
		Results []struct {
			ID         string
			Title      string
			ImageURL   string `json:"image_url"`
			Attributes []struct{ Key, Value string }
		}
	}
	resp, err := http.Get(base + "/api/v1/search?q=" + url.QueryEscape("red dress"))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if res.Total == 0 || len(res.Results) == 0 {
		t.Fatalf("no red dresses found: %+v", res)
	}
	for _, r := range res.Results {
		var red, dress bool
		for _, a := range r.Attributes {
			red = red || (a.Key == "color" && a.Value == "red")
			dress = dress || (a.Key == "category" && a.Value == "dress")
		}
		if !red || !dress {
			t.Errorf("result %s %q is not a red dress: %+v", r.ID, r.Title, r.Attributes)
		}
	}
	img, err := http.Get(base + res.Results[0].ImageURL)
	if err != nil {
		t.Fatal(err)
	}
	img.Body.Close()
	if img.StatusCode != 200 || img.Header.Get("Content-Type") != "image/png" {
		t.Errorf("image %s: %d %s", res.Results[0].ImageURL, img.StatusCode, img.Header.Get("Content-Type"))
	}
}
