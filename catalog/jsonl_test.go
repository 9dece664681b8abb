package catalog

import (
	"encoding/base64"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"lander/remoteimage"
)

// jsonlFixture writes a JSON Lines catalog covering every rejection reason.
func jsonlFixture(t *testing.T, remote string) string {
	dir := t.TempDir()
	png := pngBytes(t, 96, 128, 1)
	writeFile(t, dir, "img/a1.png", png)
	writeFile(t, dir, "img/bad.jpg", jpegBytes(t, 60, 80, false)[:200])
	b64 := base64.StdEncoding.EncodeToString(png)
	lines := []string{
		`{"id":"a1","title":" T ","description":"D","brand":"Acme","price":19.99,"tags":{"Color":"red","size":["S","M"]},"image_uri":"img/a1.png","Material":"cotton","extra":{"nested":1}}`, // 1 ok
		`{"id":7,"image":"` + b64 + `"}`, // 2 ok, cold start, integer id
		`{"id":"a3","tags":["color:blue","pattern=striped","summer","na"],"image_uri":"img/a1.png"}`, // 3 ok
		`{"id": "a4", oops}`,                                  // 4 bad_json
		`{"title":"no id","image_uri":"img/a1.png"}`,          // 5 missing_id
		`{"id":"a1","image_uri":"img/a1.png"}`,                // 6 duplicate_id
		`{"id":"a7"}`,                                         // 7 missing_image
		`{"id":"a8","image_uri":"img/missing.png"}`,           // 8 missing_image
		`{"id":"a9","image":"!!!not base64"}`,                 // 9 bad_image
		`{"id":"a10","image_uri":"img/bad.jpg"}`,              // 10 bad_image
		`{"id":"a11","price":"abc","image_uri":"img/a1.png"}`, // 11 bad_price
		`{"id":"a12","price":-3,"image_uri":"img/a1.png"}`,    // 12 bad_price
		`{"id":"a13","image_uri":"http://127.0.0.1:1/x.png"}`, // 13 missing_image (no fetch)
		``, // 14 blank
		`{"id":"long","title":"` + strings.Repeat("x", 300_000) + `","image_uri":"img/a1.png"}`, // 15 ok, long line
		`{"id":"a16","price":"12.5","image_uri":"img/a1.png","tags":"casual, color: green"}`,    // 16 ok
		`[1,2]`, // 17 bad_json
		`{"id":{"x":1},"image_uri":"img/a1.png"}`,                   // 18 bad_row
		`{"id":"a19","image_uri":"sub/../img/a1.png","price":null}`, // 19 ok
		`null`, // 20 bad_json
		`{"id":"a21","image_uri":"img/a1.png"} {"id":"x"}`,                                               // 21 bad_json
		`{"id":"   ","image_uri":"img/a1.png"}`,                                                          // 22 missing_id
		`{"id":"a23","tags":[{"key":"Fit","value":"slim"}],"image":"data:image/png;base64,` + b64 + `"}`, // 23 ok
	}
	if remote != "" {
		lines = append(lines,
			`{"id":"r1","image_uri":"`+remote+`/ok.png"}`,   // 24 ok when fetching
			`{"id":"r2","image_uri":"`+remote+`/gone.png"}`, // 25 missing_image
		)
	}
	return writeFile(t, dir, "catalog.jsonl", []byte(strings.Join(lines, "\n")))
}

func TestJSONL(t *testing.T) {
	path := jsonlFixture(t, "")
	res := readAll(t, path, Options{BatchSize: 3})
	if got, want := res.ids(), []string{"a1", "7", "a3", "long", "a16", "a19", "a23"}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	wantRej := []rowReason{
		{4, ReasonBadJSON}, {5, ReasonMissingID}, {6, ReasonDuplicateID}, {7, ReasonMissingImage},
		{8, ReasonMissingImage}, {9, ReasonBadImage}, {10, ReasonBadImage}, {11, ReasonBadPrice},
		{12, ReasonBadPrice}, {13, ReasonMissingImage}, {17, ReasonBadJSON}, {18, ReasonBadRow},
		{20, ReasonBadJSON}, {21, ReasonBadJSON}, {22, ReasonMissingID},
	}
	if got := res.reasons(); !reflect.DeepEqual(got, wantRej) {
		t.Errorf("rejections\n got %v\nwant %v", got, wantRej)
	}
	a1 := res.byID(t, "a1")
	if a1.Title != "T" || a1.Description != "D" || a1.Brand != "Acme" || a1.Price == nil || *a1.Price != 19.99 || a1.ImageFormat != "png" {
		t.Errorf("a1 = %+v", a1)
	}
	tests := []struct {
		id   string
		tags map[string]string
	}{
		{"a1", map[string]string{"brand": "Acme", "color": "red", "size": "S, M", "material": "cotton"}},
		{"7", map[string]string{}},
		{"a3", map[string]string{"color": "blue", "pattern": "striped", "tag": "summer"}},
		{"a16", map[string]string{"tag": "casual", "color": "green"}},
		{"a23", map[string]string{"fit": "slim"}},
	}
	for _, tt := range tests {
		if got := res.byID(t, tt.id).Tags; !maps.Equal(got, tt.tags) {
			t.Errorf("%s: tags %v, want %v", tt.id, got, tt.tags)
		}
	}
	if p := res.byID(t, "a16").Price; p == nil || *p != 12.5 {
		t.Errorf("a16 price = %v, want 12.5", p)
	}
	if len(res.byID(t, "long").Title) != 300_000 {
		t.Error("long title was cut")
	}
}

func TestJSONLRemote(t *testing.T) {
	png := pngBytes(t, 8, 8, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok.png" {
			w.Write(png)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	path := jsonlFixture(t, srv.URL)
	res := readAll(t, path, Options{Remote: remoteimage.New(remoteimage.Options{AllowLoopback: true})})
	if p := res.byID(t, "r1"); p.ImageFormat != "png" {
		t.Errorf("r1 format %q", p.ImageFormat)
	}
	last := res.rejects[len(res.rejects)-1]
	if last.Row != 25 || last.Reason != ReasonMissingImage || !strings.Contains(last.Detail, "404") {
		t.Errorf("last rejection %+v, want row 25 missing_image 404", last)
	}
	// a13 points at a closed port: still a rejection, not an error.
	found := false
	for _, j := range res.rejects {
		found = found || (j.ID == "a13" && j.Reason == ReasonMissingImage)
	}
	if !found {
		t.Error("a13 not rejected as missing_image")
	}
}

// TestRemoteRefusesLoopback: without the test option, an image_uri on a
// loopback address is refused when dialled (fetched before), and the row
// is counted as missing_image with the reason.
func TestRemoteRefusesLoopback(t *testing.T) {
	png := pngBytes(t, 8, 8, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(png) }))
	defer srv.Close()
	dir := t.TempDir()
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/ok.png"
	path := writeFile(t, dir, "c.jsonl", []byte(`{"id":"r","image_uri":"`+u+`"}`+"\n"))
	res := readAll(t, path, Options{Remote: remoteimage.New(remoteimage.Options{})})
	if len(res.products) != 0 || len(res.rejects) != 1 || res.rejects[0].Reason != ReasonMissingImage ||
		!strings.Contains(res.rejects[0].Detail, "address not allowed") {
		t.Fatalf("products %v, rejections %+v; want r refused", res.ids(), res.rejects)
	}
}
