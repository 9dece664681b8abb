package server

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"lander/datadir"
	"lander/query"
	"lander/store"
	"lander/vocab"
)

// hostile is a title that must render as text everywhere.
const hostile = `</script><script>alert("x")</script> & "Watches" <img src=x onerror=alert(1)>`

// pngImages serves one small PNG per product, in a colour of its id.
type pngImages map[string][]byte

func (m pngImages) Get(id string) ([]byte, string, bool, error) {
	b, ok := m[id]
	return b, "png", ok, nil
}

func drawPNG(t testing.TB, n int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 60, 80))
	c := color.RGBA{uint8(40 + n*37%200), uint8(90 + n*53%150), uint8(160 + n*29%90), 255}
	for y := 10; y < 70; y++ {
		for x := 8; x < 52; x++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pagesFixture is a server with 37 products, images, and collections: one
// of 33 products (two pages), an unpublished one and one with a hostile
// title.
type pagesFixture struct {
	ts *httptest.Server
	s  *Server
	fc *fakeCollections
}

const pagesToken = "s3cret"

func newPagesServer(t testing.TB, opts Options) pagesFixture {
	t.Helper()
	enc := bagOfWords{dim: 64}
	st := store.NewEmbedded(64)
	counter := vocab.NewCounter()
	type row struct {
		id, title, cat, color, gender string
		price                         *float64
	}
	rows := []row{
		{"1", "Titan Men Black Dial Watch", "watches", "black", "men", price(120)},
		{"2", "Fastrack Men Black Sports Watch", "watches", "black", "men", price(60)},
		{"3", "Titan Women Black Watch", "watches", "black", "women", price(90)},
		{"4", "Titan Men Silver Watch", "watches", "silver", "men", nil},
		{"5", "Nike Men Black Running Shoes", "sports shoes", "black", "men", price(80)},
		{"6", "Puma Men Black Casual Shoes", "casual shoes", "black", "men", price(250)},
		{"7", hostile, "watches", "black", "men", price(10)},
	}
	for i := 8; i <= 37; i++ {
		rows = append(rows, row{strconv.Itoa(i), fmt.Sprintf("Sonata Men Black Analog Watch %d", i), "watches", "black", "men", price(float64(20 + i))})
	}
	imgs := pngImages{}
	var prods []store.Product
	for i, r := range rows {
		attrs := []store.Attribute{{Key: "category", Value: r.cat, Score: 1, Source: "tag"}, {Key: "color", Value: r.color, Score: 0.9, Source: "model"}, {Key: "gender", Value: r.gender, Score: 1, Source: "tag"}}
		for _, a := range attrs {
			counter.Add(a.Key, a.Value)
		}
		v, _ := enc.Embed(context.Background(), []string{r.title})
		prods = append(prods, store.Product{ID: r.id, Title: r.title, Price: r.price, Attributes: attrs, Vector: v[0]})
		imgs[r.id] = drawPNG(t, i)
	}
	if err := st.Upsert(context.Background(), prods); err != nil {
		t.Fatal(err)
	}
	all := []string{"1", "2", "7"}
	for i := 8; i <= 37; i++ {
		all = append(all, strconv.Itoa(i))
	}
	fc := &fakeCollections{
		topics: []Topic{
			{Slug: "black-watches-for-men", Title: "Black Watches for Men", Description: "Black dial and strap watches for men, from sports to dress.", Attributes: kvs("category", "watches", "color", "black", "gender", "men"), Size: len(all), Score: 0.9, Published: true},
			{Slug: "watches", Title: "Watches", Attributes: kvs("category", "watches"), Size: 4, Score: 0.8, Published: true},
			{Slug: "black-watches", Title: "Black Watches", Attributes: kvs("category", "watches", "color", "black"), Size: 4, Score: 0.7, Published: true},
			{Slug: "silver-watches", Title: "Silver Watches", Attributes: kvs("category", "watches", "color", "silver"), Size: 1, Score: 0.5, Published: false},
			{Slug: "hostile", Title: hostile, Description: hostile, Attributes: kvs("category", "watches", "gender", "men"), Size: 2, Score: 0.4, Published: true},
			{Slug: "black-sports-shoes", Title: "Black Sports Shoes", Attributes: kvs("category", "sports shoes", "color", "black"), Size: 1, Score: 0.3, Published: true},
		},
		feeds: map[string][]FeedItem{
			"black-watches-for-men": items(all...),
			"watches":               items("1", "2", "3", "4"),
			"black-watches":         items("1", "2", "3", "7"),
			"silver-watches":        items("4"),
			"hostile":               items("7", "1"),
			"black-sports-shoes":    items("5"),
		},
	}
	if opts.Embedder == nil {
		opts.Embedder = enc
	}
	if opts.MerchToken == "" {
		opts.MerchToken = pagesToken
	}
	s := New(opts)
	ix := NewIndex(datadir.Manifest{Generation: 3, CreatedAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}, st, imgs, counter.Vocabulary(1))
	ix.Collections = fc
	s.SetIndex(ix)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return pagesFixture{ts: ts, s: s, fc: fc}
}

// page GETs path as a browser would and checks the status.
func page(t *testing.T, base, path string, want int) (string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %d, want %d: %.400s", path, resp.StatusCode, want, b)
	}
	return string(b), resp.Header
}

// elem is an element of a parsed page with its attributes and the text
// directly inside it.
type elem struct {
	Name string
	Attr map[string]string
	Text string
}

// elements parses an HTML page leniently with encoding/xml and lists its
// elements in document order.
func elements(t *testing.T, body string) []elem {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var out []elem
	var open []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("parse page: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			e := elem{Name: strings.ToLower(tk.Name.Local), Attr: map[string]string{}}
			for _, a := range tk.Attr {
				e.Attr[strings.ToLower(a.Name.Local)] = a.Value
			}
			out = append(out, e)
			open = append(open, len(out)-1)
		case xml.EndElement:
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		case xml.CharData:
			if len(open) > 0 {
				out[open[len(open)-1]].Text += string(tk)
			}
		}
	}
}

// find returns the elements named name whose attribute key (when not
// empty) has value.
func find(es []elem, name, key, value string) []elem {
	var out []elem
	for _, e := range es {
		if e.Name == name && (key == "" || e.Attr[key] == value) {
			out = append(out, e)
		}
	}
	return out
}

func one(t *testing.T, es []elem, name, key, value string) elem {
	t.Helper()
	got := find(es, name, key, value)
	if len(got) != 1 {
		t.Fatalf("%d <%s %s=%q>, want 1", len(got), name, key, value)
	}
	return got[0]
}

// cards returns the data-id of the grid's cards in order.
func cards(es []elem) []string {
	var ids []string
	for _, e := range find(es, "li", "class", "card") {
		ids = append(ids, e.Attr["data-id"])
	}
	return ids
}

func TestLandingPageSEOAndGrid(t *testing.T) {
	f := newPagesServer(t, Options{})
	body, h := page(t, f.ts.URL, "/c/black-watches-for-men", 200)
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q", ct)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") ||
		!strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("shopper page policy %q", csp)
	}
	es := elements(t, body)
	if got := one(t, es, "html", "", "").Attr["lang"]; got != "en" {
		t.Errorf("lang %q", got)
	}
	if got := one(t, es, "title", "", "").Text; got != "Black Watches for Men · lander" {
		t.Errorf("title %q", got)
	}
	if got := one(t, es, "meta", "name", "description").Attr["content"]; got != "Black dial and strap watches for men, from sports to dress." {
		t.Errorf("description %q", got)
	}
	if got := one(t, es, "link", "rel", "canonical").Attr["href"]; got != f.ts.URL+"/c/black-watches-for-men" {
		t.Errorf("canonical %q", got)
	}
	if got := one(t, es, "link", "rel", "next").Attr["href"]; got != f.ts.URL+"/c/black-watches-for-men?page=2" {
		t.Errorf("next %q", got)
	}
	var ld struct {
		Context string `json:"@context"`
		Type    string `json:"@type"`
		Items   []struct {
			Position int `json:"position"`
			Item     struct {
				Name, Image, SKU string
				Offers           struct{ Price, PriceCurrency string }
			} `json:"item"`
		} `json:"itemListElement"`
	}
	script := one(t, es, "script", "type", "application/ld+json")
	if err := json.Unmarshal([]byte(script.Text), &ld); err != nil {
		t.Fatalf("JSON-LD: %v in %s", err, script.Text)
	}
	if ld.Type != "ItemList" || ld.Context != "https://schema.org" || len(ld.Items) != landingPageSize {
		t.Fatalf("JSON-LD %s with %d items", ld.Type, len(ld.Items))
	}
	if it := ld.Items[0]; it.Position != 1 || it.Item.SKU != "1" || it.Item.Image != f.ts.URL+f.s.Current().imageURL("1") || it.Item.Offers.Price != "120.00" || it.Item.Offers.PriceCurrency != "USD" {
		t.Errorf("first item %+v", it)
	}
	ids := cards(es)
	if len(ids) != landingPageSize || ids[0] != "1" {
		t.Fatalf("cards %v", ids)
	}
	imgs := find(es, "img", "", "")
	if len(imgs) != landingPageSize {
		t.Fatalf("%d images", len(imgs))
	}
	for i, img := range imgs {
		if img.Attr["width"] != "240" || img.Attr["height"] != "320" || img.Attr["alt"] == "" || !strings.HasPrefix(img.Attr["src"], "/images/") {
			t.Errorf("image %d: %v", i, img.Attr)
		}
		if lazy := img.Attr["loading"] == "lazy"; lazy != (i >= eagerImages) {
			t.Errorf("image %d loading=%q", i, img.Attr["loading"])
		}
	}
	if !strings.Contains(body, "$120.00") {
		t.Error("no price")
	}
	// Related: the parents in the breadcrumb, the sibling below.
	var links []string
	for _, a := range find(es, "a", "", "") {
		links = append(links, a.Attr["href"])
	}
	for _, want := range []string{"/c/watches", "/c/black-watches", "/c/hostile", "/c/black-watches-for-men?page=2"} {
		if !strings.Contains(strings.Join(links, " "), want) {
			t.Errorf("no link to %s in %v", want, links)
		}
	}
	if strings.Contains(body, "/c/silver-watches") {
		t.Error("links to an unpublished collection")
	}

	// Page 2 holds the rest, with positions that continue.
	body, _ = page(t, f.ts.URL, "/c/black-watches-for-men?page=2", 200)
	es = elements(t, body)
	if got := one(t, es, "link", "rel", "canonical").Attr["href"]; got != f.ts.URL+"/c/black-watches-for-men?page=2" {
		t.Errorf("page 2 canonical %q", got)
	}
	if err := json.Unmarshal([]byte(one(t, es, "script", "type", "application/ld+json").Text), &ld); err != nil {
		t.Fatal(err)
	}
	if len(ld.Items) != 33-landingPageSize || ld.Items[0].Position != landingPageSize+1 || len(cards(es)) != 33-landingPageSize {
		t.Errorf("page 2: %d items from %d", len(ld.Items), ld.Items[0].Position)
	}
	page(t, f.ts.URL, "/c/black-watches-for-men?page=3", 404)
	page(t, f.ts.URL, "/c/black-watches-for-men?page=x", 400)
}

func TestHostileTitlesAreText(t *testing.T) {
	f := newPagesServer(t, Options{})
	for _, path := range []string{"/c/hostile", "/c/black-watches", "/", "/search?q=" + url.QueryEscape("black watch "+hostile), "/merch", "/merch/c/hostile"} {
		body, _ := page(t, f.ts.URL, path, 200)
		for _, bad := range []string{`<script>alert`, `<img src=x`, `</script><script>`} {
			if strings.Contains(body, bad) {
				t.Errorf("%s holds %q unescaped", path, bad)
			}
		}
		es := elements(t, body)
		if n := len(find(es, "script", "", "")); n > 1 {
			t.Errorf("%s: %d script elements", path, n)
		}
		for _, s := range find(es, "script", "", "") {
			if s.Attr["src"] == "" && s.Attr["type"] != "application/ld+json" {
				t.Errorf("%s: inline script %q", path, s.Text)
			}
		}
	}
	body, _ := page(t, f.ts.URL, "/c/hostile", 200)
	es := elements(t, body)
	if got := one(t, es, "h1", "", "").Text; got != hostile {
		t.Errorf("heading %q, want the title as text", got)
	}
	var ld ldItemList
	if err := json.Unmarshal([]byte(one(t, es, "script", "type", "application/ld+json").Text), &ld); err != nil {
		t.Fatal(err)
	}
	if ld.Name != hostile || ld.Items[0].Item.Name != hostile {
		t.Errorf("JSON-LD names %q, %q", ld.Name, ld.Items[0].Item.Name)
	}
}

func TestDirectorySitemapAndNotFound(t *testing.T) {
	f := newPagesServer(t, Options{BaseURL: "https://shop.example.com/"})
	body, _ := page(t, f.ts.URL, "/", 200)
	es := elements(t, body)
	if got := one(t, es, "link", "rel", "canonical").Attr["href"]; got != "https://shop.example.com/" {
		t.Errorf("canonical %q", got)
	}
	var hrefs []string
	for _, a := range find(es, "a", "", "") {
		if strings.HasPrefix(a.Attr["href"], "/c/") {
			hrefs = append(hrefs, a.Attr["href"])
		}
	}
	want := []string{"/c/black-watches-for-men", "/c/watches", "/c/black-watches", "/c/hostile", "/c/black-sports-shoes"}
	if strings.Join(hrefs, " ") != strings.Join(want, " ") {
		t.Errorf("directory links %v, want %v", hrefs, want)
	}
	if h2 := find(es, "h2", "", ""); len(h2) != 2 || h2[0].Text != "watches" || h2[1].Text != "sports shoes" {
		t.Errorf("groups %v", h2)
	}

	resp, err := http.Get(f.ts.URL + "/sitemap.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sm struct {
		XMLName xml.Name
		URLs    []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&sm); err != nil {
		t.Fatalf("sitemap: %v", err)
	}
	if sm.XMLName.Space != "http://www.sitemaps.org/schemas/sitemap/0.9" || len(sm.URLs) != 6 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("sitemap %+v", sm)
	}
	if sm.URLs[1].Loc != "https://shop.example.com/c/black-watches-for-men" || sm.URLs[1].LastMod != "2026-11-20" {
		t.Errorf("sitemap url %+v", sm.URLs[1])
	}

	body, h := page(t, f.ts.URL, "/c/silver-watches", 404)
	if !strings.Contains(body, "Page not found") || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Content-Security-Policy") == "" {
		t.Errorf("404 page: %s %v", body, h)
	}
	page(t, f.ts.URL, "/no/such/page", 404)
	st, b := do(t, http.MethodGet, f.ts.URL+"/api/v1/nope", "", nil)
	if st != 404 || !strings.Contains(string(b), `"not_found"`) {
		t.Errorf("API 404: %d %s", st, b)
	}
}

func TestSearchPageChips(t *testing.T) {
	f := newPagesServer(t, Options{})
	body, _ := page(t, f.ts.URL, "/search?q="+url.QueryEscape("black watch for men under $100 not silver"), 200)
	es := elements(t, body)
	chipURLs := map[string]string{}
	for _, a := range find(es, "a", "", "") {
		if strings.HasPrefix(a.Attr["class"], "chip") {
			chipURLs[strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(a.Text), "×"))] = a.Attr["href"]
		}
	}
	want := map[string]string{
		"black":      "/search?q=watches+men+under+%24100+not+silver",
		"watches":    "/search?q=black+men+under+%24100+not+silver",
		"men":        "/search?q=black+watches+under+%24100+not+silver",
		"under $100": "/search?q=black+watches+men+not+silver",
		"not silver": "/search?q=black+watches+men+under+%24100",
	}
	if fmt.Sprint(chipURLs) != fmt.Sprint(want) {
		t.Fatalf("chips %v\nwant %v", chipURLs, want)
	}
	if got := one(t, es, "p", "id", "total").Text; !strings.HasPrefix(got, "32 products") {
		t.Errorf("total %q", got) // 2, 7 and 8-37 are black men's watches under $100
	}
	if got := one(t, es, "input", "id", "q").Attr["value"]; got != "black watch for men under $100 not silver" {
		t.Errorf("search box %q", got)
	}
	if len(find(es, "a", "href", "/c/black-watches-for-men")) != 1 {
		t.Error("no link to the matching collection")
	}

	// Removing the price chip widens the results.
	body, _ = page(t, f.ts.URL, want["under $100"], 200)
	if got := one(t, elements(t, body), "p", "id", "total").Text; !strings.HasPrefix(got, "33 products") {
		t.Errorf("without the price: %q", got)
	}
	// The resolver reads each rebuilt query back to the same tuple less
	// the chip.
	res := f.s.Current().Resolver.Resolve("black watches men not silver")
	if len(res.Strict()) != 3 || len(res.Excluded) != 1 || res.Price.Max != nil {
		t.Errorf("rebuilt query resolves to %+v", res)
	}
	body, _ = page(t, f.ts.URL, "/search", 200)
	if !strings.Contains(body, "Describe what you are looking for") {
		t.Error("empty search page")
	}
	page(t, f.ts.URL, "/search?q="+strings.Repeat("a", maxQueryLen+1), 400)
}

func TestChipsWithSoftAttributesAndPrice(t *testing.T) {
	lo, hi := 50.0, 200.0
	got := chips(query.Resolved{
		Attributes: []query.Attribute{{Key: "category", Value: "dress", Strict: true}, {Key: "occasion", Value: "party", Strict: false}},
		Price:      query.Price{Min: &lo, Max: &hi},
	}, "long")
	want := []chipView{
		{Key: "occasion", Label: "party (maybe)", URL: "/search?q=dress+between+50+and+200+dollars"},
		{Key: "category", Label: "dress", URL: "/search?q=long+between+50+and+200+dollars"},
		{Key: "price", Label: "between 50 and 200 dollars", URL: "/search?q=dress+long"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("chips\n%v\nwant\n%v", got, want)
	}
}

func TestPagesShareTheAPICache(t *testing.T) {
	mc := newMapCache()
	f := newPagesServer(t, Options{Cache: []CacheTier{{Cache: mc}}})
	if _, _, xc := fetch(t, f.ts.URL, "/api/v1/collections/black-watches-for-men?limit=24&offset=24"); xc != "miss" {
		t.Fatalf("first API call: %s", xc)
	}
	calls := f.fc.calls.Load()
	page(t, f.ts.URL, "/c/black-watches-for-men?page=2", 200)
	if n := f.fc.calls.Load(); n != calls {
		t.Errorf("the page computed its feed again (%d calls, want %d)", n, calls)
	}
	page(t, f.ts.URL, "/search?q=black+watches", 200)
	if _, _, xc := fetch(t, f.ts.URL, "/api/v1/search?q=black+watches&limit=24"); xc != "hit" {
		t.Errorf("the API missed the page's search: %s", xc)
	}
}

func TestPageETagAndWeight(t *testing.T) {
	f := newPagesServer(t, Options{})
	for _, path := range []string{"/", "/c/black-watches-for-men", "/search?q=black+watches", "/merch", "/merch/c/black-watches-for-men"} {
		body, h := page(t, f.ts.URL, path, 200)
		weight := len(body)
		if strings.HasPrefix(path, "/merch") {
			weight += len(site.script)
		}
		if weight > 100<<10 {
			t.Errorf("%s weighs %d bytes of HTML, CSS and JavaScript", path, weight)
		}
		t.Logf("%s: %d bytes", path, weight)
		if etag := h.Get("ETag"); etag != "" {
			req, _ := http.NewRequest(http.MethodGet, f.ts.URL+path, nil)
			req.Header.Set("If-None-Match", etag)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("%s with its ETag: %d", path, resp.StatusCode)
			}
		} else if !strings.HasPrefix(path, "/merch") {
			t.Errorf("%s has no ETag", path)
		}
	}
}

func TestMerchPages(t *testing.T) {
	f := newPagesServer(t, Options{})
	body, h := page(t, f.ts.URL, "/merch", 200)
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("console policy %q", csp)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("console cache control %q", h.Get("Cache-Control"))
	}
	es := elements(t, body)
	if rows := find(es, "tr", "", ""); len(rows) != 1+6 {
		t.Errorf("%d rows, want a header and 6 collections", len(rows))
	}
	one(t, es, "tr", "data-slug", "silver-watches")
	one(t, es, "script", "src", site.scriptURL)
	one(t, es, "input", "id", "token")
	for _, k := range []string{"category", "color", "gender"} {
		if len(find(es, "option", "", "")) == 0 || !strings.Contains(body, "<option>"+k+"</option>") {
			t.Errorf("preview lacks key %s", k)
		}
	}
	body, _ = page(t, f.ts.URL, "/merch?status=unpublished", 200)
	if rows := find(elements(t, body), "tr", "", ""); len(rows) != 2 {
		t.Errorf("unpublished filter: %d rows", len(rows))
	}

	// An unpublished collection opens in the console with its evidence.
	body, _ = page(t, f.ts.URL, "/merch/c/silver-watches", 200)
	es = elements(t, body)
	one(t, es, "button", "data-action", "publish")
	if ids := cards(es); len(ids) != 1 || ids[0] != "4" {
		t.Errorf("silver feed %v", ids)
	}
	if !strings.Contains(body, "category = watches: 1.00 (tag)") {
		t.Error("no evidence")
	}
	page(t, f.ts.URL, "/merch/c/nope", 404)

	// Overrides show as pinned, excluded and as changes since the index.
	st, b := do(t, http.MethodPut, f.ts.URL+"/api/v1/collections/watches/overrides", pagesToken, map[string]any{"pins": []string{"4"}, "excludes": []string{"2"}})
	if st != 200 {
		t.Fatalf("put overrides: %d %s", st, b)
	}
	body, _ = page(t, f.ts.URL, "/merch/c/watches", 200)
	es = elements(t, body)
	if ids := cards(es); fmt.Sprint(ids) != "[4 1 3]" {
		t.Errorf("feed with overrides %v", ids)
	}
	one(t, es, "button", "data-action", "restore")
	one(t, es, "button", "data-action", "unpin")
	body, _ = page(t, f.ts.URL, "/merch", 200)
	if !strings.Contains(body, "1 pinned, 1 excluded") || !strings.Contains(body, "since this index") {
		t.Error("the change is not listed")
	}

	resp, err := http.Get(f.ts.URL + "/static/merch.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("merch.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// signalCollections adds quality signals to the fake collections.
type signalCollections struct{ *fakeCollections }

func (signalCollections) Signals(slug string) (Signals, bool) {
	return Signals{Judge: 0.81, Precision: 0.92, Demand: 0.5, Coherence: 0.7, Reasons: []string{"size 4 >= 3"}}, slug == "watches"
}

func TestMerchShowsSignals(t *testing.T) {
	f := newPagesServer(t, Options{})
	ix := f.s.Current()
	ix.Collections = signalCollections{f.fc}
	body, _ := page(t, f.ts.URL, "/merch?sort=precision", 200)
	es := elements(t, body)
	if rows := find(es, "tr", "", ""); len(rows) < 2 || rows[1].Attr["data-slug"] != "watches" {
		t.Errorf("sorted by precision: %v", rows)
	}
	if !strings.Contains(body, "Est. precision") || !strings.Contains(body, "0.92") {
		t.Error("no signals")
	}
	body, _ = page(t, f.ts.URL, "/merch/c/watches", 200)
	if !strings.Contains(body, "judge 0.81") || !strings.Contains(body, "size 4 &gt;= 3") {
		t.Error("no signals on the collection")
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("a  b\nc", 10); got != "a b c" {
		t.Errorf("%q", got)
	}
	long := strings.Repeat("word ", 50)
	if got := truncate(long, 20); len([]rune(got)) > 20 || !strings.HasSuffix(got, "…") {
		t.Errorf("%q", got)
	}
}

// BenchmarkLandingPage serves a landing page from a warm in-process cache.
func BenchmarkLandingPage(b *testing.B) {
	f := newPagesServer(b, Options{Cache: []CacheTier{{Cache: newMapCache()}}})
	h := f.s.Handler()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/c/black-watches-for-men", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
