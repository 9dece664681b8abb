package indexer_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"lander/catalog"
	"lander/encoder"
	"lander/indexer/curate"
	"lander/indexer/extract"
)

// fashionSmall reads ../shared/data/fashion-small/styles.csv as products
// without images, or skips.
func fashionSmall(t testing.TB) []catalog.Product {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "data", "fashion-small", "styles.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("fashion-small not available: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var header []string
	var out []catalog.Product
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ",")
		if header == nil {
			header = fields
			continue
		}
		if len(fields) < len(header) {
			continue
		}
		last := len(header) - 1
		p := catalog.Product{ID: fields[0], Title: strings.Join(fields[last:], ","), Tags: map[string]string{}}
		for i := 1; i < last; i++ {
			p.Tags[strings.ToLower(header[i])] = fields[i]
		}
		out = append(out, p)
	}
	return out
}

// testEncoder returns the MiniLM text encoder, or nil when it is missing.
func testEncoder(t testing.TB) *encoder.Text {
	lib := filepath.Join("..", encoder.DefaultLibraryPath)
	dir := filepath.Join("..", "models", "minilm")
	for _, p := range []string{lib, filepath.Join(dir, "model.onnx")} {
		if _, err := os.Stat(p); err != nil {
			return nil
		}
	}
	enc, err := encoder.NewText(encoder.TextOptions{LibraryPath: lib, ModelDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

// TestFashionSmallCuration runs extraction and curation (no product
// encoding) over fashion-small and checks the targets.
func TestFashionSmallCuration(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	products := fashionSmall(t)
	var emb curate.Embedder
	if enc := testEncoder(t); enc != nil {
		emb = enc
	}
	start := time.Now()
	tags, _ := extract.Tags{}.Extract(context.Background(), products)
	learner := extract.NewBrandLearner(nil)
	for _, p := range products {
		learner.Observe(p.Title)
	}
	text := extract.NewText(nil, learner.Brands(curate.DefaultMinSupport))
	raw := make([][]extract.Attr, len(products))
	rawN := 0
	for i, p := range products {
		raw[i] = extract.Merge(tags[i], text.Of(p.Title, p.Description))
		rawN += len(raw[i])
	}
	extractTime := time.Since(start)
	cur := curate.New(raw, curate.Options{Embedder: emb})
	cur.Frequency()
	if err := cur.Cluster(context.Background()); err != nil {
		t.Fatal(err)
	}
	voc := cur.Vocabulary("")
	curN := 0
	for _, attrs := range cur.Products() {
		curN += len(attrs)
	}
	elapsed := time.Since(start)
	rawValues, per := cur.RawCounts()
	t.Logf("%d products: extract %v, extract+curate %v (clustering: %v)", len(products), extractTime, elapsed, emb != nil)
	t.Logf("values raw %d curated %d; attributes/product raw %.2f curated %.2f", rawValues, voc.Size(),
		float64(rawN)/float64(len(products)), float64(curN)/float64(len(products)))
	keys := make([]string, 0, len(per))
	for k := range per {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		top := []string{}
		for i, v := range voc.Keys[k] {
			if i == 6 {
				break
			}
			top = append(top, v.Value)
		}
		t.Logf("  %-14s raw %5d curated %4d  e.g. %s", k, per[k], len(voc.Keys[k]), strings.Join(top, ", "))
	}
	for _, m := range cur.Report().Merged {
		if m.Step == curate.StepCluster {
			t.Logf("  merged %s: %+v", m.Key, m.Members)
		}
	}
	for _, k := range []string{"category", "color", "gender", "season", "occasion", "brand", "pattern", "material"} {
		if len(voc.Keys[k]) == 0 {
			t.Errorf("key %s missing from the curated vocabulary", k)
		}
	}
	for k, vals := range voc.Keys {
		for _, v := range vals {
			if v.Count < curate.DefaultMinSupport {
				t.Errorf("%s=%s has support %d", k, v.Value, v.Count)
			}
		}
	}
	if voc.Size() >= rawValues {
		t.Errorf("curated vocabulary %d not smaller than raw %d", voc.Size(), rawValues)
	}
	if float64(curN) < 0.9*float64(rawN) {
		t.Errorf("curated attributes %d < 90%% of raw %d", curN, rawN)
	}
	if elapsed > 2*time.Minute {
		t.Errorf("extraction and curation took %v", elapsed)
	}
}
