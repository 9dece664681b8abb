package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/store"
)

// fakeCollections serves fixed topics and counts Topics and Feed calls.
type fakeCollections struct {
	topics     []Topic
	feeds      map[string][]FeedItem
	calls      atomic.Int64
	topicCalls atomic.Int64
	gate       chan struct{} // when set, Feed waits on it
}

func (f *fakeCollections) Topics(context.Context) ([]Topic, error) {
	f.topicCalls.Add(1)
	return f.topics, nil
}

func (f *fakeCollections) Feed(ctx context.Context, slug string) (Topic, []FeedItem, bool, error) {
	f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return Topic{}, nil, false, ctx.Err()
		}
	}
	for _, t := range f.topics {
		if t.Slug == slug {
			return t, f.feeds[slug], true, nil
		}
	}
	return Topic{}, nil, false, nil
}

func kvs(pairs ...string) []store.KV {
	var out []store.KV
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, store.KV{Key: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func items(ids ...string) []FeedItem {
	out := make([]FeedItem, len(ids))
	for i, id := range ids {
		out[i] = FeedItem{ID: id, Score: 1 - float32(i)/10}
	}
	return out
}

func newFakeCollections() *fakeCollections {
	return &fakeCollections{
		topics: []Topic{
			{Slug: "black-watches-for-men", Title: "Black Watches for Men", Description: "Black watches.", Attributes: kvs("category", "watches", "color", "black", "gender", "men"), Size: 2, Score: 0.9, Published: true},
			{Slug: "watches", Title: "Watches", Attributes: kvs("category", "watches"), Size: 4, Score: 0.8, Published: true},
			{Slug: "black-watches", Title: "Black Watches", Attributes: kvs("category", "watches", "color", "black"), Size: 3, Score: 0.7, Published: true},
			{Slug: "silver-watches", Title: "Silver Watches", Attributes: kvs("category", "watches", "color", "silver"), Size: 1, Score: 0.5, Published: false},
		},
		feeds: map[string][]FeedItem{
			"black-watches-for-men": {{ID: "1", Score: 0.9, Evidence: []store.Attribute{{Key: "category", Value: "watches", Score: 1, Source: "tag"}}}, {ID: "2", Score: 0.8}},
			"watches":               items("1", "2", "3", "4"),
			"black-watches":         items("1", "2", "3"),
			"silver-watches":        items("4"),
		},
	}
}

// newCollectionServer is the test server with fake collections and opts.
func newCollectionServer(t *testing.T, opts Options) (*httptest.Server, *Server, *fakeCollections) {
	t.Helper()
	_, base := newTestServer(t)
	if opts.Embedder == nil {
		opts.Embedder = base.opts.Embedder
	}
	s := New(opts)
	ix := base.Current()
	fc := newFakeCollections()
	ix.Collections = fc
	s.SetIndex(ix)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, s, fc
}

func do(t *testing.T, method, u, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

func slugs(l CollectionListJSON) []string {
	var out []string
	for _, c := range l.Collections {
		out = append(out, c.Slug)
	}
	return out
}

func productIDs(ps []FeedProductJSON) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func TestCollectionList(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{})
	var l CollectionListJSON
	get(t, ts, "/api/v1/collections", 200, &l)
	if diff := cmp.Diff([]string{"black-watches-for-men", "watches", "black-watches"}, slugs(l)); diff != "" || l.Total != 3 {
		t.Errorf("published collections (-want +got):\n%s total %d", diff, l.Total)
	}
	if c := l.Collections[0]; c.Title != "Black Watches for Men" || len(c.Attributes) != 3 || c.Size != 2 || c.Score != 0.9 {
		t.Errorf("first collection = %+v", c)
	}
	get(t, ts, "/api/v1/collections?limit=1&offset=1", 200, &l)
	if diff := cmp.Diff([]string{"watches"}, slugs(l)); diff != "" || l.Total != 3 {
		t.Errorf("page 2 (-want +got):\n%s", diff)
	}
	get(t, ts, "/api/v1/collections?q=BLACK+men", 200, &l)
	if diff := cmp.Diff([]string{"black-watches-for-men"}, slugs(l)); diff != "" {
		t.Errorf("q=black men (-want +got):\n%s", diff)
	}
	_, b := do(t, "GET", ts.URL+"/api/v1/collections?q=nothing", "", nil)
	if !strings.Contains(string(b), `"collections":[]`) {
		t.Errorf("empty list = %s", b)
	}
	get(t, ts, "/api/v1/collections?q="+strings.Repeat("x", 201), 400, nil)
	get(t, ts, "/api/v1/collections?limit=100", 200, nil)
}

func TestCollectionPage(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{})
	var p CollectionJSON
	get(t, ts, "/api/v1/collections/black-watches-for-men", 200, &p)
	if p.Title != "Black Watches for Men" || p.Description != "Black watches." || p.Total != 2 || len(p.Attributes) != 3 {
		t.Fatalf("page = %+v", p)
	}
	if diff := cmp.Diff([]string{"1", "2"}, productIDs(p.Products)); diff != "" {
		t.Errorf("products (-want +got):\n%s", diff)
	}
	// The feed's evidence when it has some, the product's own scores for
	// the tuple otherwise.
	if ev := p.Products[0].Evidence; len(ev) != 1 || ev[0].Source != "tag" {
		t.Errorf("evidence of 1 = %+v", ev)
	}
	if ev := p.Products[1].Evidence; len(ev) != 3 || ev[0].Score != 1 {
		t.Errorf("evidence of 2 = %+v", ev)
	}
	if r := p.Products[0]; !strings.HasPrefix(r.ImageURL, "/images/1?v=") || len(r.Attributes) != 3 || r.Title == "" {
		t.Errorf("product = %+v", r)
	}
	get(t, ts, "/api/v1/collections/watches?limit=2&offset=2", 200, &p)
	if diff := cmp.Diff([]string{"3", "4"}, productIDs(p.Products)); diff != "" || p.Total != 4 {
		t.Errorf("page 2 (-want +got):\n%s", diff)
	}
	get(t, ts, "/api/v1/collections/silver-watches", 404, nil) // unpublished
	get(t, ts, "/api/v1/collections/nope", 404, nil)
}

func TestSearchNamesBestCollection(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{})
	tests := []struct{ q, slug string }{
		{"black watch for men", "black-watches-for-men"}, // equal set
		{"black watches for women", "black-watches"},     // largest subset
		{"silver watches", "watches"},                    // the exact one is unpublished
		{"black shoes", ""},
	}
	for _, tt := range tests {
		var got SearchJSON
		get(t, ts, "/api/v1/search?q="+url.QueryEscape(tt.q), 200, &got)
		slug := ""
		if got.Collection != nil {
			slug = got.Collection.Slug
		}
		if slug != tt.slug {
			t.Errorf("%q: collection %q, want %q (resolved %+v)", tt.q, slug, tt.slug, got.Resolved)
		}
	}
}

func TestOverridesAuth(t *testing.T) {
	body := map[string]any{"pins": []string{"3"}}
	ts, _, _ := newCollectionServer(t, Options{})
	if st, b := do(t, "PUT", ts.URL+"/api/v1/collections/watches/overrides", "anything", body); st != 403 || !strings.Contains(string(b), `"forbidden"`) {
		t.Errorf("no token configured: %d %s", st, b)
	}
	ts, _, _ = newCollectionServer(t, Options{MerchToken: "s3cret"})
	for _, tok := range []string{"", "wrong", "s3cret2"} {
		if st, b := do(t, "PUT", ts.URL+"/api/v1/collections/watches/overrides", tok, body); st != 401 || !strings.Contains(string(b), `"unauthorized"`) {
			t.Errorf("token %q: %d %s", tok, st, b)
		}
	}
	if st, b := do(t, "PUT", ts.URL+"/api/v1/collections/watches/overrides", "s3cret", body); st != 200 {
		t.Errorf("right token: %d %s", st, b)
	}
}

func TestOverridesValidation(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{MerchToken: "t"})
	u := ts.URL + "/api/v1/collections/watches/overrides"
	tests := []struct {
		body any
		code string
	}{
		{map[string]any{"pins": []string{"999"}}, "unknown_product"},
		{map[string]any{"excludes": []string{"1", "nope"}}, "unknown_product"},
		{map[string]any{"pins": []string{"1", "1"}}, "bad_request"},
		{map[string]any{"pins": []string{"1"}, "excludes": []string{"1"}}, "unprocessable"},
		{map[string]any{"pins": []string{""}}, "bad_request"},
		{map[string]any{"pinz": []string{"1"}}, "bad_request"},
		{"not an object", "bad_request"},
	}
	for _, tt := range tests {
		want := 400
		if tt.code != "bad_request" { // well formed, but not what the index holds
			want = 422
		}
		st, b := do(t, "PUT", u, "t", tt.body)
		if st != want || !strings.Contains(string(b), `"code":"`+tt.code+`"`) {
			t.Errorf("%v: %d %s, want %d %s", tt.body, st, b, want, tt.code)
		}
	}
	if st, b := do(t, "PUT", ts.URL+"/api/v1/collections/nope/overrides", "t", map[string]any{}); st != 404 {
		t.Errorf("unknown collection: %d %s", st, b)
	}
	big := map[string]any{"excludes": []string{strings.Repeat("x", 100<<10)}}
	if st, b := do(t, "PUT", u, "t", big); st != 413 {
		t.Errorf("large body: %d %.100s", st, b)
	}
}

func TestOverridesApplyPersistAndInvalidate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	ov, err := OpenOverrides(path)
	if err != nil {
		t.Fatal(err)
	}
	ts, _, _ := newCollectionServer(t, Options{MerchToken: "t", Overrides: ov, Cache: []CacheTier{{Cache: newMapCache()}}})
	var p CollectionJSON
	get(t, ts, "/api/v1/collections/black-watches", 200, &p) // cached now
	var got OverrideJSON
	get(t, ts, "/api/v1/collections/black-watches/overrides", 200, &got)
	if got.Pins == nil || got.Excludes == nil || got.Published != nil || got.UpdatedAt != nil {
		t.Errorf("no overrides = %+v", got)
	}
	get(t, ts, "/api/v1/collections/nope/overrides", 404, nil)

	st, b := do(t, "PUT", ts.URL+"/api/v1/collections/black-watches/overrides", "t",
		map[string]any{"pins": []string{"3", "5"}, "excludes": []string{"1"}})
	if st != 200 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	get(t, ts, "/api/v1/collections/black-watches", 200, &p)
	if diff := cmp.Diff([]string{"3", "5", "2"}, productIDs(p.Products)); diff != "" || p.Total != 3 {
		t.Errorf("page after override (-want +got):\n%s total %d", diff, p.Total)
	}
	if !p.Products[0].Pinned || p.Products[2].Pinned {
		t.Errorf("pinned flags: %+v", p.Products)
	}
	if ev := p.Products[1].Evidence; len(ev) != 1 || ev[0].Key != "color" {
		t.Errorf("evidence of a pin from outside the feed = %+v (want its colour only)", ev)
	}

	// Unpublish one, publish another.
	if st, b := do(t, "PUT", ts.URL+"/api/v1/collections/watches/overrides", "t", map[string]any{"published": false}); st != 200 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	if st, b := do(t, "PUT", ts.URL+"/api/v1/collections/silver-watches/overrides", "t", map[string]any{"published": true}); st != 200 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	var l CollectionListJSON
	get(t, ts, "/api/v1/collections", 200, &l)
	if diff := cmp.Diff([]string{"black-watches-for-men", "black-watches", "silver-watches"}, slugs(l)); diff != "" {
		t.Errorf("list after publish overrides (-want +got):\n%s", diff)
	}
	if l.Collections[1].Size != 3 {
		t.Errorf("size with overrides = %d, want 3", l.Collections[1].Size)
	}
	get(t, ts, "/api/v1/collections/watches", 404, nil)
	get(t, ts, "/api/v1/collections/silver-watches", 200, nil)

	// Persisted: a new server (a restart, or a reindex) reads them back.
	ov2, err := OpenOverrides(path)
	if err != nil {
		t.Fatal(err)
	}
	if ov2.Version() != ov.Version() || ov2.Version() == "o0" {
		t.Errorf("versions %s and %s", ov.Version(), ov2.Version())
	}
	o, ok := ov2.Get("black-watches")
	if !ok || !slices.Equal(o.Pins, []string{"3", "5"}) || o.UpdatedAt.IsZero() {
		t.Errorf("reloaded override = %+v", o)
	}
	get(t, ts, "/api/v1/collections/black-watches/overrides", 200, &got)
	if !slices.Equal(got.Pins, []string{"3", "5"}) || got.UpdatedAt == nil {
		t.Errorf("GET overrides = %+v", got)
	}
	// An empty override removes the entry.
	if st, b := do(t, "PUT", ts.URL+"/api/v1/collections/black-watches/overrides", "t", map[string]any{}); st != 200 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	if _, ok := ov.Get("black-watches"); ok {
		t.Error("empty override kept")
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "black-watches\"") {
		t.Errorf("file still holds the removed override: %s", data)
	}
}

func TestPreview(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{})
	st, b := do(t, "POST", ts.URL+"/api/v1/preview", "", map[string]any{
		"attributes": []map[string]string{{"key": "category", "value": "Watches"}, {"key": "color", "value": "black"}}, "limit": 2})
	if st != 200 {
		t.Fatalf("preview: %d %s", st, b)
	}
	var p PreviewJSON
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Total != 3 || len(p.Products) != 2 || p.Collection == nil || p.Collection.Slug != "black-watches" {
		t.Errorf("preview = %+v", p)
	}
	for _, r := range p.Products {
		if len(r.Evidence) != 2 {
			t.Errorf("evidence of %s = %+v", r.ID, r.Evidence)
		}
	}
	// Any tuple, also one with no topic.
	st, b = do(t, "POST", ts.URL+"/api/v1/preview", "", map[string]any{"attributes": []map[string]string{{"key": "color", "value": "black"}, {"key": "gender", "value": "women"}}})
	if st != 200 || !strings.Contains(string(b), `"total":1`) || !strings.Contains(string(b), `"collection":null`) {
		t.Errorf("preview of a free tuple: %d %s", st, b)
	}
	for _, tc := range []struct {
		body   any
		status int
	}{
		{map[string]any{"attributes": []map[string]string{}}, 400},
		{map[string]any{"attributes": []map[string]string{{"key": "color"}}}, 422},
		{map[string]any{"attributes": []map[string]string{{"key": "color", "value": " "}}}, 422},
		{map[string]any{"attributes": []map[string]string{{"key": "color", "value": "black"}}, "limit": 101}, 400},
		{map[string]any{"attributes": []map[string]string{{"key": "color", "value": "black"}}, "limit": 0}, 400},
		{map[string]any{"attributes": []map[string]string{{"key": "color", "value": "black"}}, "limit": nil}, 400},
		{map[string]any{"attributes": []map[string]string{{"key": "color", "value": strings.Repeat("é", 129)}}}, 400},
	} {
		if st, b := do(t, "POST", ts.URL+"/api/v1/preview", "", tc.body); st != tc.status {
			t.Errorf("%v: %d %s, want %d", tc.body, st, b, tc.status)
		}
	}
}
