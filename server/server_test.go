package server

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/datadir"
	"lander/query"
	"lander/store"
	"lander/vocab"
)

// bagOfWords embeds text as a normalised hashed bag of words, so that texts
// sharing words are near: enough to test ranking without a model.
type bagOfWords struct{ dim int }

func (b bagOfWords) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, b.dim)
		for _, w := range strings.Fields(strings.ToLower(t)) {
			h := fnv.New32a()
			h.Write([]byte(strings.TrimSuffix(w, "s")))
			v[h.Sum32()%uint32(b.dim)]++
		}
		var n float64
		for _, x := range v {
			n += float64(x * x)
		}
		if n == 0 {
			v[0], n = 1, 1
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(n))
		}
		out[i] = v
	}
	return out, nil
}

type memImages map[string][]byte

func (m memImages) Get(id string) ([]byte, string, bool, error) {
	b, ok := m[id]
	return b, "png", ok, nil
}

func price(v float64) *float64 { return &v }

func newTestServer(t *testing.T) (*httptest.Server, *Server) {
	t.Helper()
	enc := bagOfWords{dim: 64}
	st := store.NewEmbedded(64)
	counter := vocab.NewCounter()
	rows := []struct {
		id, title, cat, color, gender string
		price                         *float64
	}{
		{"1", "Titan Men Black Dial Watch", "watches", "black", "men", price(120)},
		{"2", "Fastrack Men Black Sports Watch", "watches", "black", "men", price(60)},
		{"3", "Titan Women Black Watch", "watches", "black", "women", price(90)},
		{"4", "Titan Men Silver Watch", "watches", "silver", "men", nil},
		{"5", "Nike Men Black Running Shoes", "sports shoes", "black", "men", price(80)},
		{"6", "Puma Men Black Casual Shoes", "casual shoes", "black", "men", price(250)},
	}
	var prods []store.Product
	for _, r := range rows {
		attrs := []store.Attribute{{Key: "category", Value: r.cat, Score: 1, Source: "tag"}, {Key: "color", Value: r.color, Score: 1, Source: "tag"}, {Key: "gender", Value: r.gender, Score: 1, Source: "tag"}}
		for _, a := range attrs {
			counter.Add(a.Key, a.Value)
		}
		v, _ := enc.Embed(context.Background(), []string{r.title})
		prods = append(prods, store.Product{ID: r.id, Title: r.title, Price: r.price, Attributes: attrs, Vector: v[0]})
	}
	if err := st.Upsert(context.Background(), prods); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Embedder: enc})
	s.SetIndex(NewIndex(datadir.Manifest{Generation: 7}, st, memImages{"1": []byte("\x89PNG")}, counter.Vocabulary(1)))
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, s
}

func get(t *testing.T, ts *httptest.Server, path string, wantStatus int, into any) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s = %d %s, want %d", path, resp.StatusCode, b, wantStatus)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
}

func TestSearchFiltersStrictly(t *testing.T) {
	ts, _ := newTestServer(t)
	var got SearchJSON
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("black watch for men"), 200, &got)
	if got.Total != 2 || len(got.Results) != 2 {
		t.Fatalf("total %d, %d results; want 2: %+v", got.Total, len(got.Results), got)
	}
	for _, r := range got.Results {
		if r.ID != "1" && r.ID != "2" {
			t.Errorf("result %s is not a black men's watch", r.ID)
		}
		if !strings.HasPrefix(r.ImageURL, "/images/"+r.ID+"?v=") || len(r.Attributes) != 3 {
			t.Errorf("result %+v lacks image_url or attributes", r)
		}
	}
	if len(got.Resolved.Attributes) != 3 || got.Resolved.Excluded == nil {
		t.Errorf("resolved = %+v", got.Resolved)
	}
}

func TestSearchPriceAndExclusion(t *testing.T) {
	ts, _ := newTestServer(t)
	var got SearchJSON
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("men's watches under $100 not silver"), 200, &got)
	if got.Total != 1 || got.Results[0].ID != "2" {
		t.Fatalf("got %+v, want only product 2", got)
	}
	if got.Resolved.Price.Max == nil || *got.Resolved.Price.Max != 100 {
		t.Errorf("price = %+v", got.Resolved.Price)
	}
}

func TestSearchEmptyResultIsEmptyList(t *testing.T) {
	ts, _ := newTestServer(t)
	// The price is never relaxed: nothing costs under $5.
	resp, err := http.Get(ts.URL + "/api/v1/search?q=" + url.QueryEscape("silver women watches under $5"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"results":[]`) || !strings.Contains(string(b), `"excluded":[]`) {
		t.Errorf("empty search body = %s", b)
	}
}

func TestErrors(t *testing.T) {
	ts, _ := newTestServer(t)
	tests := []struct {
		path   string
		status int
		code   string
	}{
		{"/api/v1/search", 400, "bad_request"},
		{"/api/v1/search?q=x&limit=0", 400, "bad_request"},
		{"/api/v1/search?q=x&limit=101", 400, "bad_request"},
		{"/api/v1/search?q=x&offset=-1", 400, "bad_request"},
		{"/api/v1/products/nope", 404, "not_found"},
		{"/images/nope", 404, "not_found"},
		{"/no/such/route", 404, "not_found"},
	}
	for _, tt := range tests {
		var body struct {
			Error struct{ Code, Message string }
		}
		get(t, ts, tt.path, tt.status, &body)
		if body.Error.Code != tt.code || body.Error.Message == "" {
			t.Errorf("%s: error = %+v, want code %s", tt.path, body.Error, tt.code)
		}
	}
}

func TestProductImageHealth(t *testing.T) {
	ts, _ := newTestServer(t)
	var p ProductJSON
	get(t, ts, "/api/v1/products/4", 200, &p)
	if p.Title != "Titan Men Silver Watch" || p.Price != nil || len(p.Attributes) != 3 || p.Attributes[0].Source != "tag" {
		t.Errorf("product = %+v", p)
	}
	get(t, ts, "/healthz", 200, nil)
	resp0, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp0.Body)
	resp0.Body.Close()
	if resp0.StatusCode != 200 || !strings.Contains(string(page), "<title>Shop by collection · lander</title>") {
		t.Errorf("home page: %d %.80s", resp0.StatusCode, page)
	}
	get(t, ts, "/readyz", 200, nil)
	resp, err := http.Get(ts.URL + "/images/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("image: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var v vocab.Vocabulary
	get(t, ts, "/api/v1/vocabulary", 200, &v)
	if len(v.Keys["color"]) != 2 {
		t.Errorf("vocabulary = %+v", v)
	}
}

type downPinger struct{}

func (downPinger) Ping(context.Context) error { return io.ErrUnexpectedEOF }

func TestReadyz(t *testing.T) {
	s := New(Options{Embedder: bagOfWords{dim: 8}})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	get(t, ts, "/readyz", 503, nil) // no index yet
	get(t, ts, "/api/v1/search?q=x", 503, nil)
	s.SetIndex(NewIndex(datadir.Manifest{Generation: 1}, store.NewEmbedded(8), memImages{}, vocab.Vocabulary{}))
	get(t, ts, "/readyz", 200, nil)
	s.opts.Backends = map[string]Pinger{"redis": downPinger{}}
	get(t, ts, "/readyz", 503, nil)
}

func TestSearchSoftAttributesRankNotFilter(t *testing.T) {
	ts, _ := newTestServer(t)
	resp, err := http.Get(ts.URL + "/api/v1/search?q=" + url.QueryEscape("watches for my wife"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got SearchJSON
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// "my wife" suggests gender=women softly: every watch stays, the
	// women's watch comes first.
	if got.Total != 4 || len(got.Results) != 4 || got.Results[0].ID != "3" {
		t.Fatalf("total %d, results %+v; want 4 watches, product 3 first", got.Total, got.Results)
	}
	want := []query.Attribute{
		{Key: "category", Value: "watches", Strict: true, Confidence: 1},
		{Key: "gender", Value: "women", Strict: false, Confidence: 0.8},
	}
	if diff := cmp.Diff(want, got.Resolved.Attributes); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	for _, field := range []string{`"strict":true`, `"strict":false`, `"confidence":0.8`, `"excluded":[]`, `"price":{"min":null,"max":null}`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("body lacks %s: %s", field, b)
		}
	}
}

func TestSearchPagesAfterRerank(t *testing.T) {
	ts, _ := newTestServer(t)
	var all, p1, p2 SearchJSON
	q := url.QueryEscape("watches for my wife")
	get(t, ts, "/api/v1/search?q="+q, 200, &all)
	get(t, ts, "/api/v1/search?q="+q+"&limit=2", 200, &p1)
	get(t, ts, "/api/v1/search?q="+q+"&limit=2&offset=2", 200, &p2)
	var ids, paged []string
	for _, r := range all.Results {
		ids = append(ids, r.ID)
	}
	for _, r := range append(p1.Results, p2.Results...) {
		paged = append(paged, r.ID)
	}
	if diff := cmp.Diff(ids, paged); diff != "" {
		t.Errorf("pages disagree with the full list (-full +paged):\n%s", diff)
	}
}

func TestSearchTypoAndFallback(t *testing.T) {
	ts, _ := newTestServer(t)
	var got SearchJSON
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("wacthes for men"), 200, &got)
	if got.Total != 3 || len(got.Resolved.Attributes) != 2 || got.Resolved.Attributes[0].Value != "watches" {
		t.Errorf("typo: total %d, resolved %+v", got.Total, got.Resolved)
	}
	// "sports" names no value on its own; the fallback maps it onto the
	// nearest category by embedding (the bag-of-words test embedder shares
	// the word "sport" with "sports shoes") as a soft attribute.
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("sports for men"), 200, &got)
	if len(got.Resolved.Attributes) != 2 {
		t.Fatalf("resolved %+v", got.Resolved)
	}
	if a := got.Resolved.Attributes[1]; a.Key != "category" || a.Value != "sports shoes" || a.Strict || a.Confidence < 0.5 {
		t.Errorf("fallback attribute = %+v, want soft category=sports shoes", a)
	}
	// Product 5 ties with 1 and 6 on similarity; the soft attribute lifts
	// it above them (the "Sports Watch" title stays first on words alone).
	if got.Total != 5 || got.Results[1].ID != "5" {
		t.Errorf("total %d, results %+v; want all 5 men's products, product 5 second", got.Total, got.Results)
	}
}

type failingEmbedder struct{ bagOfWords }

func (f failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) > 1 {
		return nil, io.ErrUnexpectedEOF // the vocabulary batch fails
	}
	return f.bagOfWords.Embed(ctx, texts)
}

func TestSearchFallbackFailureKeepsRules(t *testing.T) {
	ts, s := newTestServer(t)
	s.opts.Embedder = failingEmbedder{bagOfWords{dim: 64}}
	var got SearchJSON
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("black watch for men"), 200, &got)
	if got.Total != 2 {
		t.Errorf("total %d, want 2", got.Total)
	}
}
