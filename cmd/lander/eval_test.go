package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fashionFolder writes a Fashion Product Images folder of the first n
// products of fashion-small whose id keep accepts: its styles.csv rows,
// and links to its images, read in place. It skips the test without
// fashion-small.
func fashionFolder(t *testing.T, n int, keep func(id string) bool) string {
	t.Helper()
	src := filepath.Join("..", "shared", "data", "fashion-small")
	f, err := os.Open(filepath.Join(src, "styles.csv"))
	if err != nil {
		t.Skipf("fashion-small not available: %v", err)
	}
	defer f.Close()
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(f)
	sc.Scan()
	out.WriteString(sc.Text() + "\n")
	for kept := 0; kept < n && sc.Scan(); {
		id, _, _ := strings.Cut(sc.Text(), ",")
		img := filepath.Join(abs, "images", id+".jpg")
		if _, err := os.Stat(img); err != nil || !keep(id) {
			continue
		}
		if err := os.Symlink(img, filepath.Join(dir, "images", id+".jpg")); err != nil {
			t.Fatal(err)
		}
		out.WriteString(sc.Text() + "\n")
		kept++
	}
	if err := os.WriteFile(filepath.Join(dir, "styles.csv"), out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEvalReportAttributes runs eval report on a small labelled catalog:
// the report carries the attribute evidence per source of the held-out
// split, with a reliability plot per source and key in its HTML, and
// --attributes none leaves it out.
func TestEvalReportAttributes(t *testing.T) {
	env := models(t)
	cat := fashionFolder(t, 24, func(id string) bool {
		// The test split, and some products of other splits.
		return inSplit(id, splits["test"]) || len(id)%2 == 0
	})
	data := filepath.Join(t.TempDir(), "data")
	var out bytes.Buffer
	if code := run(context.Background(), []string{"index", "--log-level", "warn", "--catalog", cat, "--data", data, "--min-support", "1"}, &out, &out, env); code != 0 {
		t.Fatalf("index: exit %d\n%s", code, out.String())
	}
	labelled := filepath.Join("..", "shared", "data", "queries", "labelled.jsonl")
	report := func(args ...string) (map[string]json.RawMessage, string) {
		t.Helper()
		page := filepath.Join(t.TempDir(), "report.html")
		var stdout, stderr bytes.Buffer
		args = append([]string{"eval", "report", "--catalog", cat, "--data", data, "--labelled", labelled, "--json", "--html", page}, args...)
		if code := run(context.Background(), args, &stdout, &stderr, env); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr.String())
		}
		var rep map[string]json.RawMessage
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("report JSON: %v\n%s", err, stdout.String())
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		return rep, html.UnescapeString(string(b))
	}

	rep, page := report()
	var attrs struct {
		Products int
		Sources  []struct {
			Source string
			Keys   []struct {
				Key         string
				Assigned    int
				Reliability []struct{ N int }
			}
		}
	}
	if err := json.Unmarshal(rep["attributes"], &attrs); err != nil {
		t.Fatalf("attributes: %v (%s)", err, rep["attributes"])
	}
	test := 0
	sc := bufio.NewScanner(strings.NewReader(mustRead(t, filepath.Join(cat, "styles.csv"))))
	sc.Scan() // the header
	for sc.Scan() {
		if id, _, _ := strings.Cut(sc.Text(), ","); inSplit(id, splits["test"]) {
			test++
		}
	}
	if attrs.Products != test || test == 0 {
		t.Errorf("attributes judged %d products, want the %d of the test split", attrs.Products, test)
	}
	names := map[string]bool{}
	for _, s := range attrs.Sources {
		names[s.Source] = true
		for _, k := range s.Keys {
			n := 0
			for _, b := range k.Reliability {
				n += b.N
			}
			if n != k.Assigned {
				t.Errorf("%s %s: %d values in the reliability table, %d assigned", s.Source, k.Key, n, k.Assigned)
			}
			if s.Source == "arbitrated (title+image)" && k.Key == "color" && n == 0 {
				t.Errorf("no arbitrated colours judged")
			}
		}
	}
	for _, want := range []string{"text (title lexicons)", "model (image only)", "arbitrated (title+image)", "arbitrated (image only)"} {
		if !names[want] {
			t.Errorf("no source %q in %v", want, names)
		}
	}
	if !strings.Contains(page, "Reliability: arbitrated (title+image), color") {
		t.Errorf("HTML report has no reliability plot of the arbitrated colours")
	}

	rep, page = report("--attributes", "none")
	if a, ok := rep["attributes"]; ok && string(a) != "null" {
		t.Errorf("--attributes none: report has attributes %s", a)
	}
	if strings.Contains(page, "Reliability:") {
		t.Errorf("--attributes none: HTML report has reliability plots")
	}

	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"eval", "report", "--catalog", cat, "--data", data, "--attributes", "train"}, &stderr, &stderr, env); code != exitUsage || !strings.Contains(stderr.String(), `unknown --attributes split "train"`) {
		t.Errorf("--attributes train: exit %d, %s", code, stderr.String())
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEvalAttributesRejectedRows checks that rows of the split the
// catalog reader rejects are reported with their reason, not lost: some
// missing images are counted and the rest judged; none readable is an
// error.
func TestEvalAttributesRejectedRows(t *testing.T) {
	env := models(t)
	cat := fashionFolder(t, 8, func(id string) bool { return inSplit(id, splits["test"]) })
	links, err := filepath.Glob(filepath.Join(cat, "images", "*.jpg"))
	if err != nil || len(links) != 8 {
		t.Fatalf("%d images (%v), want 8", len(links), err)
	}
	for _, l := range links[:3] {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"eval", "attributes", "--catalog", cat, "--json"}, &stdout, &stderr, env); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "3 rows of the split rejected (missing_image 3); judging the 5 read") {
		t.Errorf("stderr %q, want the 3 rejected rows and their reason", stderr.String())
	}
	var rep struct{ Products int }
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Products != 5 {
		t.Errorf("judged %d products (%v), want 5", rep.Products, err)
	}

	for _, l := range links[3:] {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"eval", "attributes", "--catalog", cat}, &stdout, &stderr, env); code == 0 || !strings.Contains(stderr.String(), "none of its products could be read, 8 rows rejected (missing_image 8)") {
		t.Errorf("no image: exit %d, %s", code, stderr.String())
	}
}

// TestEvalAttributesVLM runs eval attributes with a VLM behind a real
// HTTP endpoint: it is asked about every product with its title and with
// the image alone, tags withheld; its answers are judged as two more
// sources; a bad answer is counted with its reason on stderr.
func TestEvalAttributesVLM(t *testing.T) {
	env := models(t)
	cat := fashionFolder(t, 8, func(id string) bool { return inSplit(id, splits["test"]) })
	var calls, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Messages []struct {
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		meta := req.Messages[1].Content[0].Text
		if strings.Contains(meta, "Merchant tags") {
			http.Error(w, "tags were sent", http.StatusBadRequest)
			return
		}
		content := `{"attributes":[{"key":"gender","value":"men","confidence":0.9}]}`
		if strings.HasPrefix(meta, "Title: \n") {
			content = `{"attributes":[{"key":"color","value":"black","confidence":0.8}]}`
			if bad.Add(1) == 1 {
				content = "no json here"
			}
		}
		answer, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": content}}}})
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	defer srv.Close()
	env = append(env, "LANDER_INDEX_VLM_CACHE_DIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	args := []string{"eval", "attributes", "--catalog", cat, "--json", "--vlm-url", srv.URL + "/v1", "--vlm-model", "fake"}
	if code := run(context.Background(), args, &stdout, &stderr, env); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if n := calls.Load(); n != 16 {
		t.Errorf("%d requests, want 2 per product", n)
	}
	if !strings.Contains(stderr.String(), "vlm: 16 questions") || !strings.Contains(stderr.String(), "rejected: not_json 1") {
		t.Errorf("stderr %q lacks the VLM's counts and its rejected answer", stderr.String())
	}
	var rep struct {
		Sources []struct {
			Source string
			Keys   []struct {
				Key      string
				Assigned int
			}
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	assigned := map[string]int{}
	for _, s := range rep.Sources {
		for _, k := range s.Keys {
			assigned[s.Source+" "+k.Key] = k.Assigned
		}
	}
	if assigned["vlm (title+image) gender"] != 8 || assigned["vlm (image only) color"] != 7 || assigned["vlm (title+image) color"] != 0 {
		t.Errorf("VLM rows %v, want 8 genders with the title and 7 colours with the image alone", assigned)
	}
}
