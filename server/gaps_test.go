package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// testGaps are the demand gaps of the pages fixture: a tuple with products
// and no collection, a thin one and one without products.
func testGaps() []Gap {
	return []Gap{
		{Attributes: kvs("color", "black", "gender", "men"), Query: "black for men", Band: "head", Demand: 300, DemandShare: 0.3, Supply: 35, SupplyShare: 0.946,
			Reason: "no published collection", Nearest: []NearCollection{
				{Slug: "black-watches-for-men", Title: "Black Watches for Men", Size: 33, Shared: 2},
				{Slug: "black-watches", Title: "Black Watches", Size: 4, Shared: 1},
				{Slug: "hostile", Title: hostile, Size: 2, Shared: 1},
			}},
		{Attributes: kvs("category", "watches", "gender", "women"), Query: "watches for women", Band: "torso", Demand: 120, DemandShare: 0.12, Supply: 1, SupplyShare: 0.027,
			Reason: "thin supply", Nearest: []NearCollection{{Slug: "watches", Title: "Watches", Size: 4, Shared: 1}}},
		{Attributes: kvs("category", "sandals", "color", "red"), Query: "red sandals", Band: "torso", Demand: 80, DemandShare: 0.08, Reason: "no products"},
	}
}

// newGapsServer is the pages fixture with testGaps.
func newGapsServer(t *testing.T) pagesFixture {
	t.Helper()
	f := newPagesServer(t, Options{Cache: []CacheTier{{Cache: newMapCache()}}})
	f.s.Current().Gaps = testGaps()
	return f
}

func TestGapsAPI(t *testing.T) {
	f := newGapsServer(t)
	var all GapListJSON
	get(t, f.ts, "/api/v1/gaps", 200, &all)
	if all.Generation != 3 || all.Total != 3 || len(all.Gaps) != 3 {
		t.Fatalf("gaps %+v", all)
	}
	g := all.Gaps[0]
	if g.Query != "black for men" || g.Reason != "no published collection" || g.Demand != 300 || g.Supply != 35 || g.DemandShare != 0.3 || g.Band != "head" ||
		g.PreviewURL != "/merch/preview?a=color%3Ablack&a=gender%3Amen" || len(g.Attributes) != 2 {
		t.Errorf("first gap %+v", g)
	}
	if len(g.Nearest) != 3 || g.Nearest[0] != (NearCollectionJSON{Slug: "black-watches-for-men", Title: "Black Watches for Men", Size: 33, Shared: 2, URL: "/merch/c/black-watches-for-men"}) {
		t.Errorf("nearest %+v", g.Nearest)
	}
	st, body, cache := fetch(t, f.ts.URL, "/api/v1/gaps")
	if st != 200 || cache != "hit" || !strings.Contains(body, `"query":"red sandals"`) || !strings.Contains(body, `"nearest":[]`) || strings.Contains(body, "null") {
		t.Errorf("second GET: %d X-Cache %q %s", st, cache, body)
	}
	for _, tc := range []struct {
		path   string
		status int
		want   []string // queries in order
	}{
		{"/api/v1/gaps?limit=1", 200, []string{"black for men"}},
		{"/api/v1/gaps?limit=2&offset=1", 200, []string{"watches for women", "red sandals"}},
		{"/api/v1/gaps?offset=3", 200, nil},
		{"/api/v1/gaps?limit=0", 400, nil},
		{"/api/v1/gaps?limit=101", 400, nil},
		{"/api/v1/gaps?limit=x", 400, nil},
		{"/api/v1/gaps?offset=-1", 400, nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var got GapListJSON
			var e struct{ Error struct{ Code string } }
			if tc.status != 200 {
				get(t, f.ts, tc.path, tc.status, &e)
				if e.Error.Code != "bad_request" {
					t.Errorf("error %+v", e)
				}
				return
			}
			get(t, f.ts, tc.path, 200, &got)
			var qs []string
			for _, g := range got.Gaps {
				qs = append(qs, g.Query)
			}
			if got.Total != 3 || strings.Join(qs, "|") != strings.Join(tc.want, "|") || got.Gaps == nil {
				t.Errorf("total %d, queries %q, want %q", got.Total, qs, tc.want)
			}
		})
	}

	// A generation without gaps lists none; no generation is a 503.
	empty := httptest.NewServer(New(Options{}).Handler())
	defer empty.Close()
	get(t, empty, "/api/v1/gaps", 503, nil)
	none := newPagesServer(t, Options{})
	st, body, _ = fetch(t, none.ts.URL, "/api/v1/gaps")
	if st != 200 || body != `{"generation":3,"total":0,"gaps":[]}` {
		t.Errorf("no gaps: %d %s", st, body)
	}
}

func TestMerchGapsPage(t *testing.T) {
	f := newGapsServer(t)
	body, h := page(t, f.ts.URL, "/merch/gaps", 200)
	if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("headers %v", h)
	}
	es := elements(t, body)
	rows := find(es, "tr", "class", "gap")
	if len(rows) != 3 || rows[0].Attr["data-query"] != "black for men" || rows[2].Attr["data-query"] != "red sandals" {
		t.Fatalf("rows %+v", rows)
	}
	one(t, es, "a", "href", "/merch/c/black-watches-for-men")
	one(t, es, "a", "href", "/merch/c/watches")
	one(t, es, "a", "href", "/merch/preview?a=color%3Ablack&a=gender%3Amen")
	for _, want := range []string{"“black for men”", "color=black, gender=men", "no published collection", "thin supply", "no products", "30.0%", "2 of 2 shared, 33 products", "3 gaps"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, `<script>alert`) || strings.Contains(body, `<img src=x`) {
		t.Error("a collection title is not escaped")
	}
	// The console links the page.
	merch, _ := page(t, f.ts.URL, "/merch", 200)
	one(t, elements(t, merch), "a", "href", "/merch/gaps")

	page(t, f.ts.URL, "/merch/gaps?page=0", 400)
	body, _ = page(t, f.ts.URL, "/merch/gaps?page=9", 200) // past the end: the last page
	if len(find(elements(t, body), "tr", "class", "gap")) != 3 {
		t.Error("a page past the end does not show the last")
	}
	none := newPagesServer(t, Options{})
	body, _ = page(t, none.ts.URL, "/merch/gaps", 200)
	if !strings.Contains(body, "No demand gaps") {
		t.Error("a generation without gaps does not say so")
	}
	empty := httptest.NewServer(New(Options{}).Handler())
	defer empty.Close()
	page(t, empty.URL, "/merch/gaps", 503)
}

func TestMerchPreviewPage(t *testing.T) {
	f := newGapsServer(t)
	for _, tc := range []struct {
		name, query string
		status      int
		cards       int
		want        []string
	}{
		{"the preview of a gap", "a=color%3Ablack&a=gender%3Amen", 200, 35, []string{"35 products", "No collection has exactly this tuple", "color=black, gender=men"}},
		{"a tuple with a collection", "a=category:watches&a=color:black", 200, 34, []string{"34 products", `href="/merch/c/black-watches"`, "Black Watches"}},
		{"case and spaces", "a=+Category+:+WATCHES", 200, 35, []string{"35 products"}},
		{"no products", "a=category:sandals&a=color:red", 200, 0, []string{"0 products", "No product carries"}},
		{"no tuple", "", 400, 0, []string{"missing query parameter a", "key:value"}},
		{"no colon", "a=color", 400, 0, []string{"is malformed"}},
		{"no key", "a=:black", 422, 0, []string{"not blank"}},
		{"no value", "a=color:", 422, 0, []string{"not blank"}},
		{"unknown key", "a=size:xl", 422, 0, []string{"no key &#34;size&#34;"}},
		{"key too long", "a=" + strings.Repeat("k", 65) + ":x", 400, 0, []string{"is malformed"}},
		{"too many", strings.Repeat("a=color:black&", 9), 400, 0, []string{"1 to 8"}},
		{"bad page", "a=color:black&page=x", 400, 0, nil},
		{"past the end", "a=color:black&page=2", 404, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, h := page(t, f.ts.URL, "/merch/preview?"+tc.query, tc.status)
			if got := len(find(elements(t, body), "li", "class", "card")); got != tc.cards {
				t.Errorf("%d cards, want %d", got, tc.cards)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%.2000s", w, body)
				}
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
			}
		})
	}
	empty := httptest.NewServer(New(Options{}).Handler())
	defer empty.Close()
	page(t, empty.URL, "/merch/preview?a=color:black", 503)
	// The console's preview and the API's rank alike.
	st, b := do(t, http.MethodPost, f.ts.URL+"/api/v1/preview", "", PreviewRequest{Attributes: kvs("color", "black", "gender", "men"), Limit: ptr(48)})
	if st != 200 || !strings.Contains(string(b), `"total":35`) {
		t.Errorf("POST /api/v1/preview: %d %.300s", st, b)
	}
}
