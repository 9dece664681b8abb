package indexer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"lander/datadir"
	"lander/indexer"
	"lander/remoteimage"
)

// TestRemoteImagesAreFetched: http(s) image_uri rows are fetched through
// Options.Remote and indexed (they were all rejected as missing_image);
// a URL that fails is still a counted rejection.
func TestRemoteImagesAreFetched(t *testing.T) {
	dir := t.TempDir()
	writeCatalog(t, dir) // writes img/ok.png
	png, err := os.ReadFile(filepath.Join(dir, "img", "ok.png"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok.png" {
			w.Write(png)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cat := filepath.Join(dir, "remote.jsonl")
	os.WriteFile(cat, []byte(`{"id":"1","title":"Red Shirt","tags":{"color":"Red"},"image_uri":"`+srv.URL+`/ok.png"}
{"id":"2","title":"Blue Shirt","tags":{"color":"Blue"},"image_uri":"`+srv.URL+`/ok.png"}
{"id":"3","title":"Gone","image_uri":"`+srv.URL+`/gone.png"}
`), 0o644)
	d, err := datadir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := indexer.New(d, &constEncoder{}, openTarget, indexer.Options{
		Catalog: cat, Model: "test", Backend: "embedded", MinVocabularyCount: 1,
		Remote: remoteimage.New(remoteimage.Options{AllowLoopback: true}),
	}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Products.Indexed != 2 || sum.Products.Rejected["missing_image"] != 1 {
		t.Errorf("products = %+v, want 2 indexed and the 404 missing", sum.Products)
	}
}
