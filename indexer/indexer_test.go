package indexer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/catalog"
	"lander/datadir"
	"lander/imagepack"
	"lander/indexer"
	"lander/indexer/extract"
	"lander/store"
	"lander/vocab"
)

// constEncoder gives every text a fixed unit vector whose direction depends
// on the text's length, enough to check the pipeline's plumbing.
type constEncoder struct{ calls int }

func (e *constEncoder) Dim() int { return 4 }

func (e *constEncoder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.calls++
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 4)
		v[len(t)%4] = 1
		out[i] = v
	}
	return out, nil
}

type target struct {
	st  *store.Embedded
	dir string
}

func (t *target) Upsert(ctx context.Context, p []store.Product) error { return t.st.Upsert(ctx, p) }
func (t *target) Commit(ctx context.Context) error {
	return t.st.Save(ctx, filepath.Join(t.dir, "store"))
}

func openTarget(_ context.Context, dir, _ string, dim int) (indexer.Target, error) {
	return &target{st: store.NewEmbedded(dim), dir: dir}, nil
}

func writeCatalog(t *testing.T, dir string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	os.MkdirAll(filepath.Join(dir, "img"), 0o755)
	os.WriteFile(filepath.Join(dir, "img", "ok.png"), buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "img", "bad.png"), []byte("not an image"), 0o644)
	lines := []string{
		`{"id":"1","title":"Red Shirt","price":20,"tags":{"color":"Red","category":"Shirts"},"image_uri":"img/ok.png"}`,
		`{"id":"2","title":"Blue Shirt","tags":{"color":"Blue","category":"Shirts"},"image_uri":"img/ok.png"}`,
		`{"id":"3","image_uri":"img/ok.png"}`,
		`{"id":"4","title":"Broken","image_uri":"img/bad.png"}`,
		`{"id":"5","title":"No image"}`,
		`not json`,
		`{"id":"1","title":"Duplicate","image_uri":"img/ok.png"}`,
	}
	path := filepath.Join(dir, "catalog.jsonl")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	return path
}

func TestRunAccountsForEveryRow(t *testing.T) {
	ctx := context.Background()
	cat := writeCatalog(t, t.TempDir())
	dir, err := datadir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	enc := &constEncoder{}
	sum, err := indexer.New(dir, enc, openTarget, indexer.Options{Catalog: cat, BatchSize: 2, Model: "test", Backend: "embedded", MinVocabularyCount: 1}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, n := range sum.Products.Rejected {
		rejected += n
	}
	if sum.Products.Read != 7 || sum.Products.Indexed != 3 || rejected != 4 || len(sum.Rejections) != 4 {
		t.Fatalf("products = %+v, rejections %+v", sum.Products, sum.Rejections)
	}
	for _, reason := range []string{"bad_image", "missing_image", "bad_json", "duplicate_id"} {
		if sum.Products.Rejected[reason] != 1 {
			t.Errorf("rejected[%s] = %d, want 1 (%v)", reason, sum.Products.Rejected[reason], sum.Products.Rejected)
		}
	}
	// Tags give color and category; the titles repeat them (text).
	if sum.Vocabulary.RawValues != 3 || sum.Vocabulary.PerKey["color"].Raw != 2 || sum.Vocabulary.CuratedValues != 3 {
		t.Errorf("vocabulary = %+v", sum.Vocabulary)
	}
	if want := 4.0 / 3.0; sum.AttributesPerProduct.Raw != want || sum.AttributesPerProduct.Curated != want {
		t.Errorf("attributes per product = %+v, want %v", sum.AttributesPerProduct, want)
	}
	if sum.Extraction.Attributes["tag"] != 4 || len(sum.Curation) != 4 {
		t.Errorf("extraction = %+v, curation = %+v", sum.Extraction, sum.Curation)
	}
	// The summary has the contract's fields, with {} and [] rather than null.
	b, _ := json.Marshal(sum)
	for _, field := range []string{`"products":{"read":7,"indexed":3,"rejected":{`, `"raw_values":3`, `"per_key":{`, `"attributes_per_product":{`, `"topics":{"generated":0`, `"seconds":{`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("summary JSON lacks %s: %s", field, b)
		}
	}

	m, path, err := dir.Current()
	if err != nil {
		t.Fatal(err)
	}
	if err := datadir.Verify(path, m); err != nil {
		t.Fatal(err)
	}
	if m.Counts["products"] != 3 || m.Dim != 4 || m.Model != "test" {
		t.Errorf("manifest = %+v", m)
	}
	st, err := store.OpenEmbedded(ctx, filepath.Join(path, "store"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, []string{"1", "3"})
	if len(got) != 2 || got[0].Title != "Red Shirt" || *got[0].Price != 20 || len(got[0].Attributes) != 2 || len(got[1].Attributes) != 0 ||
		got[0].Attributes[0].Source != "tag" || got[0].Attributes[0].Score != 1 {
		t.Errorf("stored = %+v", got)
	}
	n, _ := st.Count(ctx, store.Filter{All: []store.KV{{Key: "category", Value: "shirts"}}})
	if n != 2 {
		t.Errorf("category=shirts count = %d, want 2", n)
	}
	pack, err := imagepack.Open(filepath.Join(path, indexer.ImagesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer pack.Close()
	if pack.Len() != 3 {
		t.Errorf("images = %d, want 3", pack.Len())
	}
	v, err := vocab.Load(filepath.Join(path, indexer.VocabularyFile))
	if err != nil || len(v.Keys["category"]) != 1 || v.Keys["category"][0].Count != 2 || !strings.HasPrefix(v.Version, "curated-") || m.Vocabulary != v.Version {
		t.Errorf("vocabulary = %+v, %v (manifest %q)", v, err, m.Vocabulary)
	}
	if b, err := os.ReadFile(filepath.Join(path, indexer.CurationFile)); err != nil || !strings.Contains(string(b), `"judged"`) {
		t.Errorf("curation report: %s, %v", b, err)
	}
}

func TestShardsPartitionTheCatalog(t *testing.T) {
	ctx := context.Background()
	cat := writeCatalog(t, t.TempDir())
	total := 0
	for i := 0; i < 3; i++ {
		dir, _ := datadir.Open(t.TempDir())
		sum, err := indexer.New(dir, &constEncoder{}, openTarget, indexer.Options{Catalog: cat, Shard: i, ShardCount: 3}).Run(ctx)
		if err != nil && !strings.Contains(err.Error(), "no product") {
			t.Fatal(err)
		}
		total += sum.Products.Indexed
		if sum.Shard != fmt.Sprintf("%d/3", i) {
			t.Errorf("shard = %q", sum.Shard)
		}
	}
	if total != 3 {
		t.Errorf("shards indexed %d products in all, want 3", total)
	}
}

func TestFailedRunCommitsNothing(t *testing.T) {
	dir, _ := datadir.Open(t.TempDir())
	_, err := indexer.New(dir, &constEncoder{}, openTarget, indexer.Options{Catalog: filepath.Join(t.TempDir(), "missing.jsonl")}).Run(context.Background())
	if err == nil {
		t.Fatal("no error for a missing catalog")
	}
	if _, _, err := dir.Current(); err != datadir.ErrNoIndex {
		t.Errorf("Current after a failed run = %v, want ErrNoIndex", err)
	}
}

// fakeModel is a model extractor that labels every product "striped" and
// rejects the answer for one product.
type fakeModel struct{ rejected int }

func (f *fakeModel) Source() string { return extract.SourceVLM }

func (f *fakeModel) Extract(_ context.Context, products []catalog.Product) ([][]extract.Attr, error) {
	out := make([][]extract.Attr, len(products))
	for i, p := range products {
		if p.ID == "3" {
			f.rejected++
			continue
		}
		out[i] = []extract.Attr{{Key: "pattern", Value: "striped", Source: extract.SourceVLM, Confidence: 0.7}}
	}
	return out, nil
}

func (f *fakeModel) Stats() extract.VLMStats {
	return extract.VLMStats{Rejected: map[string]int{extract.RejectNotJSON: f.rejected}}
}

func TestRunWithModelExtractorAndJudge(t *testing.T) {
	ctx := context.Background()
	cat := writeCatalog(t, t.TempDir())
	dir, _ := datadir.Open(t.TempDir())
	sum, err := indexer.New(dir, &constEncoder{}, openTarget, indexer.Options{
		Catalog: cat, MinVocabularyCount: 2, Extractors: []extract.Extractor{&fakeModel{}}, JudgeMinScore: 0.99,
	}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Extraction.Models["vlm"].Rejected[extract.RejectNotJSON] != 1 || sum.Extraction.Attributes["vlm"] != 2 {
		t.Errorf("extraction = %+v", sum.Extraction)
	}
	// Support 2 keeps category=shirts and pattern=striped, drops the colours;
	// the judge, at 0.99, drops what scores lower.
	last := sum.Curation[len(sum.Curation)-1]
	if sum.Vocabulary.PerKey["color"].Curated != 0 || last.Step != "judge" || last.Values > 2 {
		t.Errorf("vocabulary = %+v, curation = %+v", sum.Vocabulary, sum.Curation)
	}
}

// titleAssigner plays the dual encoder: it assigns category=shirts to
// every product, and color=green only to products without text, so the
// test can tell the image-only path was taken.
type titleAssigner struct{ calls, withoutText int }

func (a *titleAssigner) Assign(_ context.Context, products []catalog.Product, textVecs [][]float32) ([][]store.Attribute, error) {
	a.calls++
	out := make([][]store.Attribute, len(products))
	for i := range products {
		out[i] = []store.Attribute{{Key: "category", Value: "shirts", Score: 0.9, Source: "model"}}
		if textVecs[i] == nil {
			a.withoutText++
			// Confident enough for the arbiter's image-only colour bar.
			out[i] = append(out[i], store.Attribute{Key: "color", Value: "green", Score: 0.99, Source: "model"})
		}
	}
	return out, nil
}

func TestAssignerAddsModelAttributes(t *testing.T) {
	ctx := context.Background()
	cat := writeCatalog(t, t.TempDir())
	dir, _ := datadir.Open(t.TempDir())
	asg := &titleAssigner{}
	sum, err := indexer.New(dir, &constEncoder{}, openTarget, indexer.Options{Catalog: cat, MinVocabularyCount: 1, Assigner: asg}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if asg.calls == 0 || asg.withoutText != 1 {
		t.Fatalf("assigner calls %d, image-only products %d; want >0 and 1 (product 3)", asg.calls, asg.withoutText)
	}
	a := sum.AttributesPerProduct
	if a.Assigned <= a.Curated {
		t.Errorf("attributes per product %+v: assigned should exceed curated", a)
	}
	_, path, _ := dir.Current()
	st, err := store.OpenEmbedded(ctx, filepath.Join(path, "store"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, []string{"3"})
	if len(got) != 1 {
		t.Fatal("product 3 not stored")
	}
	var cat3, green bool
	for _, at := range got[0].Attributes {
		cat3 = cat3 || (at.Key == "category" && at.Value == "shirts" && at.Source == "model")
		green = green || (at.Key == "color" && at.Value == "green" && at.Source == "model")
	}
	if !cat3 || !green {
		t.Errorf("image-only product 3 attributes = %+v, want model category and color", got[0].Attributes)
	}
	// A tag and the model naming the same value keep the tag.
	got, _ = st.Get(ctx, []string{"1"})
	for _, at := range got[0].Attributes {
		if at.Key == "category" && at.Source != "tag" {
			t.Errorf("product 1 category source = %q, want tag", at.Source)
		}
	}
	v, _ := vocab.Load(filepath.Join(path, indexer.VocabularyFile))
	if len(v.Keys["color"]) == 0 {
		t.Fatal("no colours in the vocabulary")
	}
	found := false
	for _, val := range v.Keys["color"] {
		found = found || val.Value == "green"
	}
	if !found {
		t.Errorf("vocabulary colours %+v lack the model's green", v.Keys["color"])
	}
}

// TestRunDropsTagsWithBadKeys checks that tag keys a store cannot hold
// (one with "=") on enough products to pass the support filter are dropped
// and counted, and the run goes on.
func TestRunDropsTagsWithBadKeys(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tags  string
		want  map[string]int
		clean string // a tag key that must stay in the vocabulary
	}{
		{"key with =", `{"color":"Red","size=eu":"42"}`, map[string]int{indexer.DropKeyHasEquals: 5}, "color"},
		{"keys with = and only =", `{"color":"Red","a=b":"x","=":"y","fit":"Slim"}`, map[string]int{indexer.DropKeyHasEquals: 10}, "fit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			writeCatalog(t, d) // for its image
			var lines []string
			for i := range 5 {
				lines = append(lines, fmt.Sprintf(`{"id":"%d","title":"Red Shirt","image_uri":"img/ok.png","tags":%s}`, i, tc.tags))
			}
			cat := filepath.Join(d, "tags.jsonl")
			os.WriteFile(cat, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
			dir, _ := datadir.Open(t.TempDir())
			sum, err := indexer.New(dir, &constEncoder{}, openTarget, indexer.Options{Catalog: cat, MinVocabularyCount: 2}).Run(context.Background())
			if err != nil {
				t.Fatalf("run failed: %v", err)
			}
			if sum.Products.Indexed != 5 {
				t.Errorf("indexed %d products, want 5", sum.Products.Indexed)
			}
			if diff := cmp.Diff(tc.want, sum.Extraction.Dropped); diff != "" {
				t.Errorf("dropped attributes (-want +got):\n%s", diff)
			}
			_, path, err := dir.Current()
			if err != nil {
				t.Fatal(err)
			}
			v, err := vocab.Load(filepath.Join(path, indexer.VocabularyFile))
			if err != nil {
				t.Fatal(err)
			}
			for k := range v.Keys {
				if strings.Contains(k, "=") {
					t.Errorf("vocabulary keeps key %q", k)
				}
			}
			if len(v.Keys[tc.clean]) == 0 {
				t.Errorf("vocabulary lost the good key %q: %v", tc.clean, v.Keys)
			}
			var written indexer.Summary
			b, _ := os.ReadFile(filepath.Join(path, indexer.SummaryFile))
			if err := json.Unmarshal(b, &written); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, written.Extraction.Dropped); diff != "" {
				t.Errorf("summary.json's dropped attributes (-want +got):\n%s", diff)
			}
		})
	}
}
