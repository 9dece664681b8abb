package server

// Tests of the API's contract under hostile and concurrent use: query
// parameters held to openapi.json, deep pages on a windowed store, lost
// console edits, ids with a slash, and the console's access and limits.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lander/datadir"
	"lander/store"
	"lander/vocab"
)

// TestQueryParametersFollowOpenAPI checks that what openapi.json calls
// invalid is a 400, before any handler reads a default in its place, and
// that what it calls valid is accepted (lengths count characters).
func TestQueryParametersFollowOpenAPI(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{})
	long := func(s string, n int) string { return url.QueryEscape(strings.Repeat(s, n)) }
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/api/v1/collections?limit=", 400},          // empty: was the default
		{"/api/v1/collections?limit={}", 400},        // an object
		{"/api/v1/collections?limit=5&limit=x", 400}, // repeated: the first was read
		{"/api/v1/collections?offset=1&offset=2", 400},
		{"/api/v1/collections?q=" + long("a", 201), 400},
		{"/api/v1/collections?q=" + long("é", 200), 200}, // 200 characters, 400 bytes
		{"/api/v1/collections?limit=3", 200},
		{"/api/v1/search?q=" + long("é", 512), 200}, // was a 400: 1024 bytes
		{"/api/v1/search?q=" + long("a", 513), 400},
		{"/api/v1/search?q=%1C", 400}, // blank by the document's pattern
		{"/api/v1/search?q=watch&q=shoe", 400},
		{"/api/v1/gaps?limit=1.5", 400},
		{"/api/v1/changes?from=", 400},
		{"/c/watches?page=", 400},
		{"/c/watches?page=10001", 400},
		{"/merch?status=nope", 400},
		{"/merch?q=" + long("é", 200), 200},
		{"/search?q=" + long("a", 40000), 414},
	} {
		resp, err := http.Get(ts.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %.80s = %d, want %d: %.200s", tc.path, resp.StatusCode, tc.want, b)
		}
	}
}

// TestOpenAPIParametersAreChecked checks that every query parameter of the
// document is one the checker reads (a type it does not know would pass
// unchecked).
func TestOpenAPIParametersAreChecked(t *testing.T) {
	rules, err := parseRouteParams(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules["GET /api/v1/search"]) != 3 || len(rules["GET /merch/preview"]) != 2 || len(rules["GET /c/:slug"]) != 1 {
		t.Errorf("rules: search %v, merch preview %v, landing page %v", rules["GET /api/v1/search"], rules["GET /merch/preview"], rules["GET /c/:slug"])
	}
	if _, err := parseRouteParams([]byte(`{"paths":{"/x":{"get":{"parameters":[{"name":"b","in":"query","schema":{"type":"boolean"}}]}}}}`)); err == nil {
		t.Error("a boolean parameter was accepted unchecked")
	}
}

// TestStrictJSONBodies checks that an overrides or preview body is one
// JSON object of the declared fields: trailing data, a null where none is
// allowed and another media type are refused.
func TestStrictJSONBodies(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{MerchToken: "t"})
	u := ts.URL + "/api/v1/collections/watches/overrides"
	for _, tc := range []struct {
		body, contentType string
		want              int
	}{
		{`{"pins":["1"]}}`, "application/json", 400}, // accepted before: More() misses a stray '}'
		{`{"pins":["1"]}]`, "application/json", 400},
		{`{"pins":["1"]} {}`, "application/json", 400},
		{`null`, "application/json", 400},
		{`[]`, "application/json", 400},
		{`{"pins":null}`, "application/json", 400},
		{`{"pins":["1"]}`, "text/plain", 415},
		{`{"published":null}`, "application/json", 200},
		{`{"pins":["1"]}`, "application/json; charset=utf-8", 200},
		{`{"pins":["1"]}` + "\n", "", 200},
	} {
		req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer t")
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("PUT %q (%s) = %d, want %d: %s", tc.body, tc.contentType, resp.StatusCode, tc.want, b)
		}
	}
}

// windowStore is a store that, like Milvus, refuses a search whose
// offset+k passes its window.
type windowStore struct {
	*store.Embedded
	window int
}

func (w windowStore) MaxWindow() int { return w.window }

func (w windowStore) Search(ctx context.Context, q []float32, f store.Filter, k, offset int) ([]store.Hit, int, error) {
	if offset+k > w.window {
		return nil, 0, fmt.Errorf("search: offset+k %d above the %d the store allows", offset+k, w.window)
	}
	return w.Embedded.Search(ctx, q, f, k, offset)
}

// newWindowServer serves n black watches from a store with a window.
func newWindowServer(t *testing.T, n, window int) *httptest.Server {
	t.Helper()
	enc := bagOfWords{dim: 64}
	st := store.NewEmbedded(64)
	counter := vocab.NewCounter()
	var prods []store.Product
	for i := range n {
		title := fmt.Sprintf("Black Watch %d", i)
		attrs := []store.Attribute{{Key: "category", Value: "watches", Score: 1, Source: "tag"}, {Key: "color", Value: "black", Score: 1, Source: "tag"}}
		for _, a := range attrs {
			counter.Add(a.Key, a.Value)
		}
		v, _ := enc.Embed(context.Background(), []string{title})
		prods = append(prods, store.Product{ID: fmt.Sprint(i), Title: title, Attributes: attrs, Vector: v[0]})
	}
	if err := st.Upsert(context.Background(), prods); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Embedder: enc})
	s.SetIndex(NewIndex(datadir.Manifest{Generation: 1}, windowStore{st, window}, memImages{}, counter.Vocabulary(1)))
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// TestDeepPagesOnAWindowedStore checks that a page past the store's window
// (Milvus: offset+k at most 16384) is a 400 that says why, not the 500 of
// the store's error, and that the search pages never link to it.
func TestDeepPagesOnAWindowedStore(t *testing.T) {
	ts := newWindowServer(t, 400, 300)
	var e struct {
		Error struct{ Code, Message string }
	}
	get(t, ts, "/api/v1/search?q=black+watch&offset=290&limit=20", 400, &e)
	if e.Error.Code != "too_deep" || !strings.Contains(e.Error.Message, "first 300 results") {
		t.Errorf("error %+v", e)
	}
	get(t, ts, "/api/v1/search?q=black+watch&offset=280&limit=20", 200, nil)
	st, b := do(t, http.MethodPost, ts.URL+"/api/v1/preview", "", map[string]any{
		"attributes": []map[string]string{{"key": "color", "value": "black"}}, "offset": 299, "limit": 2})
	if st != 400 || !strings.Contains(string(b), "too_deep") {
		t.Errorf("deep preview: %d %s", st, b)
	}
	// 400 results, 24 a page: 17 pages, of which the window holds 12.
	body, _ := page(t, ts.URL, "/search?q=black+watch&page=11", 200)
	if !strings.Contains(body, "page=12") || strings.Contains(body, "page=13") {
		t.Errorf("page 11 of the search does not link page 12 alone past it")
	}
	body, _ = page(t, ts.URL, "/search?q=black+watch&page=12", 200)
	if strings.Contains(body, "page=13") {
		t.Error("the last page within the window links the next")
	}
	page(t, ts.URL, "/search?q=black+watch&page=13", 400)
	body, _ = page(t, ts.URL, "/merch/preview?a=color:black&page=6", 200) // 48 a page: 6 within 300
	if strings.Contains(body, "page=7") {
		t.Error("the console's preview links past the window")
	}
	page(t, ts.URL, "/merch/preview?a=color:black&page=7", 400)
}

// TestOverridesIfMatch checks that GET gives the overrides' ETag, that a
// write naming an older one is refused with 412 and changes nothing, and
// that RequireIfMatch refuses a write that names none.
func TestOverridesIfMatch(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{MerchToken: "t"})
	u := ts.URL + "/api/v1/collections/watches/overrides"
	read := func() (string, OverrideJSON) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var o OverrideJSON
		if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
			t.Fatal(err)
		}
		return resp.Header.Get("ETag"), o
	}
	write := func(ifMatch, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		req.Header.Set("Content-Type", "application/json")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	// Two merchandisers read the same version; the second one's write
	// would drop the first one's pin.
	etagA, _ := read()
	etagB, _ := read()
	if etagA == "" || etagA != etagB {
		t.Fatalf("ETags %q %q", etagA, etagB)
	}
	st, etagAfterA := write(etagA, `{"pins":["1"]}`)
	if st != 200 || etagAfterA == "" || etagAfterA == etagA {
		t.Fatalf("first write: %d, ETag %q (was %q)", st, etagAfterA, etagA)
	}
	if st, _ := write(etagB, `{"excludes":["2"]}`); st != 412 {
		t.Errorf("stale write: %d, want 412", st)
	}
	if _, o := read(); len(o.Pins) != 1 || len(o.Excludes) != 0 {
		t.Errorf("after the refused write: %+v", o)
	}
	if st, _ := write(`W/`+etagAfterA, `{"excludes":["2"]}`); st != 412 {
		t.Errorf("weak tag: %d, want 412", st)
	}
	if st, _ := write(`"x", `+etagAfterA, `{"pins":["1"],"excludes":["2"]}`); st != 200 {
		t.Errorf("list holding the current tag: %d, want 200", st)
	}
	if st, _ := write("*", `{}`); st != 200 {
		t.Errorf("If-Match *: %d, want 200", st)
	}
	if st, _ := write("", `{"pins":["3"]}`); st != 200 {
		t.Errorf("no If-Match, not required: %d", st)
	}

	strict, _, _ := newCollectionServer(t, Options{MerchToken: "t", RequireIfMatch: true})
	u = strict.URL + "/api/v1/collections/watches/overrides"
	if st, _ := write("", `{"pins":["3"]}`); st != 428 {
		t.Errorf("no If-Match, required: %d, want 428", st)
	}
	etag, _ := read()
	if st, _ := write(etag, `{"pins":["3"]}`); st != 200 {
		t.Errorf("If-Match, required: %d", st)
	}
}

// TestOverridesReplaceIsAtomic races writers that each read the ETag and
// write on it: exactly one of those that read the same version wins.
func TestOverridesReplaceIsAtomic(t *testing.T) {
	o, err := OpenOverrides(t.TempDir() + "/overrides.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cur, ok := o.Get("c")
	etag := overrideETag("c", cur, ok)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, stale := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := o.Replace(ctx, "c", Override{Pins: []string{fmt.Sprint(i)}, UpdatedAt: time.Now()}, etag)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, errStale):
				stale++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || stale != 7 {
		t.Errorf("%d writes won and %d were stale, want 1 and 7", wins, stale)
	}
}

// TestIDsWithASlash checks that a product whose id holds '/' is served at
// its escaped URLs, product and image.
func TestIDsWithASlash(t *testing.T) {
	enc := bagOfWords{dim: 64}
	st := store.NewEmbedded(64)
	counter := vocab.NewCounter()
	counter.Add("category", "watches")
	var prods []store.Product
	for _, id := range []string{"a/b", "c/../d", "e%2Ff", "g h?#"} {
		v, _ := enc.Embed(context.Background(), []string{"watch " + id})
		prods = append(prods, store.Product{ID: id, Title: "Watch " + id, Attributes: []store.Attribute{{Key: "category", Value: "watches", Score: 1}}, Vector: v[0]})
	}
	if err := st.Upsert(context.Background(), prods); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Embedder: enc})
	s.SetIndex(NewIndex(datadir.Manifest{Generation: 1}, st, memImages{"a/b": []byte("\x89PNG"), "c/../d": []byte("\x89PNG"), "e%2Ff": []byte("\x89PNG"), "g h?#": []byte("\x89PNG")}, counter.Vocabulary(1)))
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, p := range prods {
		var got ProductJSON
		get(t, ts, "/api/v1/products/"+url.PathEscape(p.ID), 200, &got)
		if got.ID != p.ID {
			t.Errorf("product %q: got %q", p.ID, got.ID)
		}
		if st, _, _ := fetch(t, ts.URL, got.ImageURL); st != 200 {
			t.Errorf("image of %q at %s: %d", p.ID, got.ImageURL, st)
		}
	}
	get(t, ts, "/api/v1/products/a/b", 404, nil) // unescaped, it is another path
}

// TestPrivateMerch checks that with PrivateMerch the console, the preview
// and reading overrides need the token (a bearer token, or a browser's
// Basic password), and that without it they stay open.
func TestPrivateMerch(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{MerchToken: "s3cret", PrivateMerch: true})
	req := func(method, path, auth string) (int, http.Header) {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"attributes":[{"key":"color","value":"black"}]}`)
		}
		r, _ := http.NewRequest(method, ts.URL+path, body)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	basic := func(user, pw string) string {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(user, pw)
		return r.Header.Get("Authorization")
	}
	for _, path := range []string{"/merch", "/merch/c/watches", "/merch/gaps"} {
		st, h := req(http.MethodGet, path, "")
		if st != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s without the token: %d %q", path, st, h.Get("WWW-Authenticate"))
		}
		if st, _ := req(http.MethodGet, path, basic("anyone", "s3cret")); st != 200 && st != 503 {
			t.Errorf("%s with the Basic password: %d", path, st)
		}
		if st, _ := req(http.MethodGet, path, basic("anyone", "wrong")); st != 401 {
			t.Errorf("%s with a wrong password: %d", path, st)
		}
	}
	if st, h := req(http.MethodPost, "/api/v1/preview", ""); st != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer ") {
		t.Errorf("preview without the token: %d", st)
	}
	if st, _ := req(http.MethodPost, "/api/v1/preview", "Bearer s3cret"); st != 200 {
		t.Errorf("preview with the token: %d", st)
	}
	if st, _ := req(http.MethodGet, "/api/v1/collections/watches/overrides", ""); st != 401 {
		t.Errorf("overrides read without the token: %d", st)
	}
	if st, _ := req(http.MethodGet, "/c/watches", ""); st != 200 {
		t.Errorf("a shopper's page: %d", st)
	}
	open, _, _ := newCollectionServer(t, Options{MerchToken: "s3cret"})
	resp, err := http.Get(open.URL + "/merch")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("open console: %d", resp.StatusCode)
	}
}

// TestMerchTokenIsTrimmed checks that a configured token with spaces or a
// newline around it (as pasted into a file) is the token without them.
func TestMerchTokenIsTrimmed(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{MerchToken: " s3cret\n"})
	if st, b := do(t, http.MethodPut, ts.URL+"/api/v1/collections/watches/overrides", "s3cret", map[string]any{"pins": []string{"1"}}); st != 200 {
		t.Errorf("token as sent: %d %s", st, b)
	}
	blank, _, _ := newCollectionServer(t, Options{MerchToken: " \n"})
	if st, _ := do(t, http.MethodPut, blank.URL+"/api/v1/collections/watches/overrides", "x", map[string]any{}); st != 403 {
		t.Errorf("a blank token enabled writes: %d", st)
	}
}

// TestPreviewRateLimit checks that a client past its preview rate gets a
// 429 with Retry-After while the others are served.
func TestPreviewRateLimit(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{PreviewRate: 0.5, PreviewBurst: 2})
	body := map[string]any{"attributes": []map[string]string{{"key": "color", "value": "black"}}}
	for i, want := range []int{200, 200, 429} {
		if st, b := do(t, http.MethodPost, ts.URL+"/api/v1/preview", "", body); st != want {
			t.Errorf("preview %d: %d %s, want %d", i, st, b, want)
		}
	}
	l := newRateLimiter(0.5, 2)
	now := time.Now()
	l.take("a", now)
	l.take("a", now)
	if w := l.take("a", now); w != 2*time.Second {
		t.Errorf("wait %s, want 2s", w)
	}
	if w := l.take("b", now); w != 0 {
		t.Errorf("another client waits %s", w)
	}
	if w := l.take("a", now.Add(2*time.Second)); w != 0 {
		t.Errorf("after refilling: wait %s", w)
	}
	// The limiter remembers a bounded number of clients: past it, those
	// whose buckets have refilled are forgotten (they would start full
	// anyway), or all of them when none has.
	for _, later := range []time.Duration{time.Hour, 0} {
		l := newRateLimiter(0.5, 2)
		for i := range maxLimitedClients {
			l.take(fmt.Sprint("c", i), now)
		}
		l.take("late", now.Add(later))
		if n := len(l.buckets); n != 1 {
			t.Errorf("a client %s later: %d clients remembered, want 1", later, n)
		}
	}
}

// secretPinger fails with an error that names internals.
type secretPinger struct{ err error }

func (p *secretPinger) Ping(context.Context) error { return p.err }

// TestReadyzHidesBackendErrors checks that /readyz names a failing backend
// but not its error, which is logged once when the failure starts.
func TestReadyzHidesBackendErrors(t *testing.T) {
	var logs bytes.Buffer
	p := &secretPinger{err: errors.New("dial tcp 10.1.2.3:19530: connection refused (collection lander_g7)")}
	s := New(Options{Backends: map[string]Pinger{"milvus": p}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.SetIndex(&Index{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for range 3 {
		st, body, _ := fetch(t, ts.URL, "/readyz")
		if st != 503 || strings.Contains(body, "10.1.2.3") || !strings.Contains(body, `"milvus":"unavailable"`) {
			t.Errorf("readyz: %d %s", st, body)
		}
	}
	if n := strings.Count(logs.String(), "10.1.2.3"); n != 1 {
		t.Errorf("the error was logged %d times, want once:\n%s", n, logs.String())
	}
	p.err = nil
	if st, _, _ := fetch(t, ts.URL, "/readyz"); st != 200 {
		t.Errorf("recovered: %d", st)
	}
	if !strings.Contains(logs.String(), "backend available again") {
		t.Error("the recovery is not logged")
	}
}

// TestCapitalize checks the first letter of a title whatever its width.
func TestCapitalize(t *testing.T) {
	for in, want := range map[string]string{"écharpes": "Écharpes", "ünder": "Ünder", "": "", "a": "A", "1 x": "1 x", "\xff": "\xff"} {
		if got := capitalize(in); got != want {
			t.Errorf("capitalize(%q) = %q, want %q", in, got, want)
		}
	}
	if got := tupleTitle(kvs("color", "écru", "category", "scarves")); got != "Écru scarves" {
		t.Errorf("tupleTitle = %q", got)
	}
}

// TestOpenAPIGapBands checks that the document admits every band a gap
// can have: the index writes tail gaps too (searched at least 20 times in
// the tail), which schemathesis found answered against an enum of head
// and torso on fashion-small.
func TestOpenAPIGapBands(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				GapList struct {
					Properties struct {
						Gaps struct {
							Items struct {
								Properties struct {
									Band struct{ Enum []string } `json:"band"`
								} `json:"properties"`
							} `json:"items"`
						} `json:"gaps"`
					} `json:"properties"`
				}
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.Components.Schemas.GapList.Properties.Gaps.Items.Properties.Band.Enum
	for _, band := range []string{"head", "torso", "tail"} {
		if !slices.Contains(got, band) {
			t.Errorf("band %q is not in openapi.json's enum %v", band, got)
		}
	}
}
