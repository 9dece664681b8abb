package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// request GETs u with the header pairs given (name, value, ...) and no
// transparent decompression; it returns the response and its body as sent.
func request(t *testing.T, u string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Add(header[i], header[i+1])
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// decode undoes the Content-Encoding of a response body.
func decode(t *testing.T, encoding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		t.Fatalf("content encoding %q", encoding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return out
}

func TestCachedPageIsNotRenderedAgain(t *testing.T) {
	f := newPagesServer(t, Options{Cache: []CacheTier{{Cache: newMapCache()}}})
	for _, path := range []string{"/", "/c/black-watches-for-men", "/c/black-watches-for-men?page=2", "/search?q=black+watches", "/search"} {
		first, body := request(t, f.ts.URL+path)
		if first.StatusCode != 200 || first.Header.Get("X-Cache") != "miss" {
			t.Fatalf("%s: %d, X-Cache %q", path, first.StatusCode, first.Header.Get("X-Cache"))
		}
		renders, feeds, topics := f.s.renders.Load(), f.fc.calls.Load(), f.fc.topicCalls.Load()
		for range 3 {
			resp, again := request(t, f.ts.URL+path)
			if resp.Header.Get("X-Cache") != "hit" || !bytes.Equal(again, body) || resp.Header.Get("ETag") != first.Header.Get("ETag") {
				t.Errorf("%s again: X-Cache %q, same bytes %v", path, resp.Header.Get("X-Cache"), bytes.Equal(again, body))
			}
			if resp.Header.Get("Content-Security-Policy") != site.shopCSP || resp.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("%s again: headers %v", path, resp.Header)
			}
		}
		if r, fd, tp := f.s.renders.Load(), f.fc.calls.Load(), f.fc.topicCalls.Load(); r != renders || fd != feeds || tp != topics {
			t.Errorf("%s: hits rendered %d pages, read %d feeds and %d topic lists", path, r-renders, fd-feeds, tp-topics)
		}
	}
	// Both pages of a collection computed its links once.
	if n := f.s.Current().links.computed; n != 1 {
		t.Errorf("links computed %d times, want 1", n)
	}
	// An override is a new version: the page is rendered again, with the
	// unpublished collection gone from its links.
	if st, b := do(t, http.MethodPut, f.ts.URL+"/api/v1/collections/black-watches/overrides", pagesToken, map[string]any{"published": false}); st != 200 {
		t.Fatalf("put overrides: %d %s", st, b)
	}
	resp, body := request(t, f.ts.URL+"/c/black-watches-for-men")
	if resp.Header.Get("X-Cache") != "miss" || bytes.Contains(body, []byte(`href="/c/black-watches"`)) {
		t.Errorf("after the override: X-Cache %q, links to the unpublished collection %v", resp.Header.Get("X-Cache"), bytes.Contains(body, []byte(`href="/c/black-watches"`)))
	}
}

func TestCompressionNegotiated(t *testing.T) {
	f := newPagesServer(t, Options{Cache: []CacheTier{{Cache: newMapCache()}}})
	tests := []struct {
		accept string
		want   string // Content-Encoding
	}{
		{"", ""},
		{"gzip", "gzip"},
		{"br", "br"},
		{"gzip, deflate, br", "br"},
		{"br;q=0.5, gzip;q=0.8", "gzip"},
		{"br;q=0, gzip;q=0", ""},
		{"*;q=0, identity", ""},
		{"identity;q=0, gzip", "gzip"},
		{"*", "br"},
	}
	for _, path := range []string{"/c/black-watches-for-men", "/", "/search?q=black+watches", "/api/v1/collections", "/api/v1/collections/black-watches-for-men"} {
		_, plain := request(t, f.ts.URL+path)
		etags := map[string]string{}
		for _, tt := range tests {
			var hdr []string
			if tt.accept != "" {
				hdr = []string{"Accept-Encoding", tt.accept}
			}
			resp, b := request(t, f.ts.URL+path, hdr...)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != tt.want || resp.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("%s, Accept-Encoding %q: %d, Content-Encoding %q, Vary %q", path, tt.accept, resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
				continue
			}
			if got := decode(t, tt.want, b); !bytes.Equal(got, plain) {
				t.Errorf("%s, Accept-Encoding %q: decoded body differs", path, tt.accept)
			}
			if tt.want != "" && len(b) >= len(plain) {
				t.Errorf("%s: %s is %d bytes for %d", path, tt.want, len(b), len(plain))
			}
			if prev, ok := etags[tt.want]; ok && prev != resp.Header.Get("ETag") {
				t.Errorf("%s: two ETags for %q", path, tt.want)
			}
			etags[tt.want] = resp.Header.Get("ETag")
		}
		if len(etags) != 3 || etags[""] == etags["gzip"] || etags["gzip"] == etags["br"] {
			t.Errorf("%s: ETags by encoding %v, want three", path, etags)
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	f := newPagesServer(t, Options{Cache: []CacheTier{{Cache: newMapCache()}}})
	for _, path := range []string{"/c/black-watches-for-men", "/api/v1/collections/black-watches-for-men"} {
		resp, _ := request(t, f.ts.URL+path)
		plain := resp.Header.Get("ETag")
		resp, _ = request(t, f.ts.URL+path, "Accept-Encoding", "gzip")
		gz := resp.Header.Get("ETag")
		if !strings.HasPrefix(plain, `"`) || strings.HasPrefix(plain, "W/") {
			t.Fatalf("%s: ETag %q is not strong", path, plain)
		}
		tests := []struct {
			name   string
			header []string
			want   int
		}{
			{"same", []string{"If-None-Match", plain}, 304},
			{"weak", []string{"If-None-Match", "W/" + plain}, 304},
			{"list", []string{"If-None-Match", `"old", ` + plain}, 304},
			{"two fields", []string{"If-None-Match", `"old"`, "If-None-Match", plain}, 304},
			{"star", []string{"If-None-Match", "*"}, 304},
			{"other", []string{"If-None-Match", `"old"`}, 200},
			{"gzip tag", []string{"If-None-Match", gz, "Accept-Encoding", "gzip"}, 304},
			{"identity tag, gzip asked", []string{"If-None-Match", plain, "Accept-Encoding", "gzip"}, 200},
		}
		for _, tt := range tests {
			resp, b := request(t, f.ts.URL+path, tt.header...)
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s: %d, want %d", path, tt.name, resp.StatusCode, tt.want)
			}
			if resp.StatusCode == 304 && (len(b) != 0 || resp.Header.Get("ETag") == "" || resp.Header.Get("Vary") != "Accept-Encoding") {
				t.Errorf("%s %s: 304 with %d bytes, headers %v", path, tt.name, len(b), resp.Header)
			}
		}
	}
}

func TestRobots(t *testing.T) {
	tests := []struct {
		base, host, want string
	}{
		{"https://shop.example.com", "evil.example", "Sitemap: https://shop.example.com/sitemap.xml"},
		{"", "shop.test:8080", "Sitemap: http://shop.test:8080/sitemap.xml"},
	}
	for _, tt := range tests {
		f := newPagesServer(t, Options{BaseURL: tt.base})
		resp, b := request(t, f.ts.URL+"/robots.txt", "Host", tt.host)
		body := string(b)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("robots.txt: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, line := range []string{"User-agent: *", "Disallow: /merch", "Disallow: /api/v1/preview", tt.want} {
			if !strings.Contains(body, line+"\n") {
				t.Errorf("robots.txt lacks %q:\n%s", line, body)
			}
		}
	}
}

func TestVersionedAssetsCache(t *testing.T) {
	f := newPagesServer(t, Options{})
	ix := f.s.Current()
	var cj CollectionJSON
	_, b := request(t, f.ts.URL+"/api/v1/collections/black-watches-for-men")
	if err := json.Unmarshal(b, &cj); err != nil {
		t.Fatal(err)
	}
	current := cj.Products[0].ImageURL
	if current != ix.imageURL(cj.Products[0].ID) || !strings.Contains(current, "?v=") {
		t.Fatalf("image URL %q", current)
	}
	body, _ := page(t, f.ts.URL, "/c/black-watches-for-men", 200)
	if !strings.Contains(body, `src="`+strings.ReplaceAll(current, "&", "&amp;")+`"`) {
		t.Errorf("the page does not use %s", current)
	}
	tests := []struct {
		path, want string
	}{
		{current, immutable},
		{"/images/1?v=0123456789ab", shortLived}, // another generation's
		{"/images/1", shortLived},
		{site.scriptURL, immutable},
		{"/static/merch.js?v=old", "no-cache"},
		{"/static/merch.js", "no-cache"},
	}
	for _, tt := range tests {
		resp, _ := request(t, f.ts.URL+tt.path)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != tt.want {
			t.Errorf("%s: %d, Cache-Control %q, want %q", tt.path, resp.StatusCode, resp.Header.Get("Cache-Control"), tt.want)
		}
		if resp, _ := request(t, f.ts.URL+tt.path, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != 304 {
			t.Errorf("%s revalidated: %d", tt.path, resp.StatusCode)
		}
	}
}

func TestBaseURLOverHostHeader(t *testing.T) {
	const base = "https://shop.example.com"
	f := newPagesServer(t, Options{BaseURL: base, Cache: []CacheTier{{Cache: newMapCache()}}})
	for _, host := range []string{"evil.example", "localhost"} {
		_, b := request(t, f.ts.URL+"/c/black-watches-for-men", "Host", host, "X-Forwarded-Proto", "http")
		es := elements(t, string(b))
		if got := one(t, es, "link", "rel", "canonical").Attr["href"]; got != base+"/c/black-watches-for-men" {
			t.Errorf("Host %s: canonical %q", host, got)
		}
		var ld ldItemList
		if err := json.Unmarshal([]byte(one(t, es, "script", "type", "application/ld+json").Text), &ld); err != nil {
			t.Fatal(err)
		}
		if it := ld.Items[0].Item; ld.URL != base+"/c/black-watches-for-men" || !strings.HasPrefix(it.Image, base+"/images/") || !strings.HasPrefix(it.URL, base+"/c/") {
			t.Errorf("Host %s: JSON-LD %s, %+v", host, ld.URL, it)
		}
		_, home := request(t, f.ts.URL+"/", "Host", host)
		_, sm := request(t, f.ts.URL+"/sitemap.xml", "Host", host)
		for what, b := range map[string][]byte{"page": b, "home": home, "sitemap": sm} {
			if bytes.Contains(b, []byte(host)) {
				t.Errorf("Host %s: the %s names it", host, what)
			}
		}
		if !bytes.Contains(sm, []byte("<loc>"+base+"/c/black-watches-for-men</loc>")) {
			t.Errorf("sitemap: %s", sm)
		}
	}

	// Without a base URL each host has its own entries: one host's links
	// never reach another.
	f = newPagesServer(t, Options{Cache: []CacheTier{{Cache: newMapCache()}}})
	for _, host := range []string{"a.example", "b.example"} {
		_, b := request(t, f.ts.URL+"/c/black-watches-for-men", "Host", host)
		if got := one(t, elements(t, string(b)), "link", "rel", "canonical").Attr["href"]; got != "http://"+host+"/c/black-watches-for-men" {
			t.Errorf("Host %s: canonical %q", host, got)
		}
	}
}
