package indexer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lander/catalog"
	"lander/datadir"
	"lander/indexer"
	"lander/indexer/topics"
	"lander/store"
)

// hashEncoder gives every text a unit vector drawn from a hash of the
// text, so that products differ and the graph has something to order.
type hashEncoder struct{}

func (hashEncoder) Dim() int { return 8 }

func (hashEncoder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		h := fnv.New64a()
		h.Write([]byte(t))
		x := h.Sum64()
		v := make([]float32, 8)
		var n float64
		for j := range v {
			x = x*6364136223846793005 + 1442695040888963407
			v[j] = float32(int64(x>>33)%1000) / 1000
			n += float64(v[j]) * float64(v[j])
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(n))
		}
		out[i] = v
	}
	return out, nil
}

// wordAssigner plays the dual encoder from the title: a colour word of the
// title becomes a model colour, every product gets a model category with
// a score that depends on the title.
type wordAssigner struct{}

func (wordAssigner) Assign(_ context.Context, products []catalog.Product, textVecs [][]float32) ([][]store.Attribute, error) {
	out := make([][]store.Attribute, len(products))
	for i, p := range products {
		t := strings.ToLower(p.Title)
		score := float32(0.5 + float64(len(t)%7)/20)
		cat := "shirts"
		if strings.Contains(t, "dress") {
			cat = "dresses"
		}
		out[i] = []store.Attribute{{Key: "category", Value: cat, Score: score, Source: "model"}}
		for _, c := range []string{"red", "blue", "green"} {
			if strings.Contains(t, c) {
				out[i] = append(out[i], store.Attribute{Key: "color", Value: c, Score: score - 0.1, Source: "model"})
			}
		}
		if textVecs[i] == nil {
			out[i] = append(out[i], store.Attribute{Key: "pattern", Value: "solid", Score: 0.6, Source: "model"})
		}
	}
	return out, nil
}

// shardCatalog writes a JSON Lines catalog of n products (distinct images,
// brands that recur, a free product, cold-start rows) and rejected rows of
// every kind, spread over the file.
func shardCatalog(t *testing.T, dir string, n int) string {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "img"), 0o755)
	os.WriteFile(filepath.Join(dir, "img", "bad.png"), []byte("not an image"), 0o644)
	colors := []string{"Red", "Blue", "Green", "Black"}
	cats := []string{"Shirts", "Dresses", "Jeans"}
	brands := []string{"Acme", "Peter England", "Zara", "Nike"}
	var lines []string
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 3, 3))
		img.Set(i%3, (i/3)%3, color.RGBA{uint8(i * 7), uint8(i * 13), 200, 255})
		var buf bytes.Buffer
		png.Encode(&buf, img)
		name := fmt.Sprintf("img/%d.png", i)
		os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
		c, k, b := colors[i%4], cats[i%3], brands[i%4]
		switch {
		case i%11 == 5: // cold start: image only
			lines = append(lines, fmt.Sprintf(`{"id":"p%d","image_uri":%q}`, i, name))
		case i%9 == 4: // no tags: text and model only
			lines = append(lines, fmt.Sprintf(`{"id":"p%d","title":"%s %s %s","price":0,"image_uri":%q}`, i, b, c, k, name))
		default:
			lines = append(lines, fmt.Sprintf(`{"id":"p%d","title":"%s %s Striped %s","description":"a %s cotton %s","price":%d.5,"tags":{"color":%q,"category":%q},"image_uri":%q}`,
				i, b, c, k, strings.ToLower(c), strings.ToLower(k), 10+i, c, k, name))
		}
		switch i % 10 {
		case 2:
			lines = append(lines, `not json`)
		case 5:
			lines = append(lines, fmt.Sprintf(`{"id":"x%d","title":"No image"}`, i))
		case 7:
			lines = append(lines, fmt.Sprintf(`{"id":"b%d","title":"Broken","image_uri":"img/bad.png"}`, i))
		case 8:
			lines = append(lines, fmt.Sprintf(`{"id":"p%d","title":"Duplicate","image_uri":%q}`, i, name))
		}
	}
	path := filepath.Join(dir, "catalog.jsonl")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	return path
}

func shardOptions(cat string) indexer.Options {
	return indexer.Options{Catalog: cat, BatchSize: 4, Workers: 2, Model: "test", Backend: "embedded", MinVocabularyCount: 3,
		Assigner: wordAssigner{}, Topics: topics.Options{MinFeed: 3}}
}

// runShards runs shards (i of n) of cat into data.
func runShards(t *testing.T, data, cat string, n int, only ...int) []indexer.Summary {
	t.Helper()
	dir, err := datadir.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if only == nil {
		for i := range n {
			only = append(only, i)
		}
	}
	var sums []indexer.Summary
	for _, i := range only {
		opts := shardOptions(cat)
		opts.Shard, opts.ShardCount = i, n
		sum, err := indexer.New(dir, hashEncoder{}, openTarget, opts).Run(context.Background())
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		sums = append(sums, sum)
	}
	return sums
}

func finalize(t *testing.T, data string, n int) (indexer.Summary, error) {
	t.Helper()
	dir, err := datadir.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	return indexer.New(dir, hashEncoder{}, openTarget, shardOptions("")).Finalize(context.Background(), n)
}

func TestShardsAndFinalizeEqualOneRun(t *testing.T) {
	ctx := context.Background()
	const rows = 60
	cat := shardCatalog(t, t.TempDir(), rows)

	oneData := t.TempDir()
	oneDir, _ := datadir.Open(oneData)
	one, err := indexer.New(oneDir, hashEncoder{}, openTarget, shardOptions(cat)).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	shards := runShards(t, data, cat, 3)
	read, indexed, skipped := 0, 0, 0
	for i, s := range shards {
		if s.Generation != 0 || s.Shard != fmt.Sprintf("%d/3", i) || s.Output != indexer.ShardPath(data, i, 3) || s.Vocabulary.CuratedValues != 0 || s.Topics.Generated != 0 {
			t.Errorf("shard %d summary: generation %d, shard %q, output %q, vocabulary %+v, topics %+v", i, s.Generation, s.Shard, s.Output, s.Vocabulary, s.Topics)
		}
		if s.Products.Indexed == 0 || s.Products.Read+s.Products.Skipped != one.Products.Read {
			t.Errorf("shard %d products %+v; one run read %d", i, s.Products, one.Products.Read)
		}
		read += s.Products.Read
		indexed += s.Products.Indexed
		skipped += s.Products.Skipped
	}
	if read != one.Products.Read || indexed != one.Products.Indexed || skipped != 2*one.Products.Read {
		t.Errorf("shards read %d, indexed %d, skipped %d; one run read %d, indexed %d", read, indexed, skipped, one.Products.Read, one.Products.Indexed)
	}
	if dir, _ := datadir.Open(data); dir != nil {
		if _, _, err := dir.Current(); err != datadir.ErrNoIndex {
			t.Errorf("shards committed a generation: %v", err)
		}
	}

	fin, err := finalize(t, data, 3)
	if err != nil {
		t.Fatal(err)
	}

	// The summaries count the same catalog.
	if !reflect.DeepEqual(fin.Products, one.Products) || !reflect.DeepEqual(fin.Rejections, one.Rejections) {
		t.Errorf("products:\nfinalize %+v %+v\none run  %+v %+v", fin.Products, fin.Rejections, one.Products, one.Rejections)
	}
	if one.Products.Indexed < 40 || len(one.Rejections) < 15 || one.Topics.Generated == 0 || one.Vocabulary.CuratedValues < 5 {
		t.Fatalf("the test catalog is too thin: %+v, %d rejections, topics %+v, vocabulary %+v", one.Products, len(one.Rejections), one.Topics, one.Vocabulary)
	}
	for name, pair := range map[string][2]any{
		"vocabulary":             {fin.Vocabulary, one.Vocabulary},
		"attributes_per_product": {fin.AttributesPerProduct, one.AttributesPerProduct},
		"topics":                 {fin.Topics, one.Topics},
		"intents":                {fin.Intents, one.Intents},
		"extraction":             {fin.Extraction, one.Extraction},
		"curation":               {fin.Curation, one.Curation},
		"catalog":                {fin.Catalog + " " + fin.Format, one.Catalog + " " + one.Format},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s:\nfinalize %+v\none run  %+v", name, pair[0], pair[1])
		}
	}
	t.Logf("one run: %+v, %d rejections, topics %+v, vocabulary %d raw, %d curated", one.Products, len(one.Rejections), one.Topics, one.Vocabulary.RawValues, one.Vocabulary.CuratedValues)
	if fin.Shards != 3 || fin.Generation != 1 {
		t.Errorf("finalize summary: shards %d, generation %d", fin.Shards, fin.Generation)
	}

	// The generations hold the same files, byte for byte, but for the
	// summary's seconds and the manifest's time.
	mOne, pathOne, err := oneDir.Current()
	if err != nil {
		t.Fatal(err)
	}
	finDir, _ := datadir.Open(data)
	mFin, pathFin, err := finDir.Current()
	if err != nil {
		t.Fatal(err)
	}
	if err := datadir.Verify(pathFin, mFin); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mFin.Counts, mOne.Counts) || mFin.Model != mOne.Model || mFin.Dim != mOne.Dim || mFin.Vocabulary != mOne.Vocabulary {
		t.Errorf("manifests differ:\nfinalize %+v\none run  %+v", mFin, mOne)
	}
	for name, sum := range mOne.Files {
		if name == indexer.SummaryFile {
			continue
		}
		if mFin.Files[name] != sum {
			t.Errorf("%s differs between finalize and one run", name)
		}
	}
	if len(mFin.Files) != len(mOne.Files) {
		t.Errorf("files: finalize %d, one run %d", len(mFin.Files), len(mOne.Files))
	}

	// And the stores answer alike: the same products, vectors bit for bit,
	// attributes with scores and sources.
	stOne, err := store.OpenEmbedded(ctx, filepath.Join(pathOne, "store"))
	if err != nil {
		t.Fatal(err)
	}
	stFin, err := store.OpenEmbedded(ctx, filepath.Join(pathFin, "store"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range rows {
		ids = append(ids, fmt.Sprintf("p%d", i))
	}
	a, _ := stOne.Get(ctx, ids)
	b, _ := stFin.Get(ctx, ids)
	if len(a) != one.Products.Indexed || !reflect.DeepEqual(a, b) {
		t.Errorf("stored products differ: one run %d, finalize %d", len(a), len(b))
	}
	if stOne.Len() != stFin.Len() {
		t.Errorf("store sizes: one run %d, finalize %d", stOne.Len(), stFin.Len())
	}
	var sawModel, sawTag, sawFree bool
	for _, p := range a {
		sawFree = sawFree || p.Price != nil && *p.Price == 0
		for _, at := range p.Attributes {
			sawModel = sawModel || at.Source == "model"
			sawTag = sawTag || at.Source == "tag"
		}
	}
	if !sawModel || !sawTag || !sawFree {
		t.Errorf("the test catalog lacks model (%t) or tag (%t) attributes, or a free product (%t)", sawModel, sawTag, sawFree)
	}
	q, _ := hashEncoder{}.Embed(ctx, []string{"red shirt"})
	h1, n1, _ := stOne.Search(ctx, q[0], store.Filter{}, 10, 0)
	h2, n2, _ := stFin.Search(ctx, q[0], store.Filter{}, 10, 0)
	if n1 != n2 || !reflect.DeepEqual(h1, h2) {
		t.Errorf("search differs:\none run  %+v\nfinalize %+v", h1, h2)
	}
}

func TestFinalizeErrors(t *testing.T) {
	cat := shardCatalog(t, t.TempDir(), 24)
	wantErr := func(t *testing.T, data string, n int, want ...string) {
		t.Helper()
		_, err := finalize(t, data, n)
		if err == nil {
			t.Fatal("finalize succeeded")
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
		if _, _, err := mustOpen(t, data).Current(); err != datadir.ErrNoIndex {
			t.Errorf("a failed finalize committed a generation: %v", err)
		}
	}

	t.Run("missing", func(t *testing.T) {
		data := t.TempDir()
		runShards(t, data, cat, 3, 0, 2)
		wantErr(t, data, 3, "shard 1 of 3 is missing", "--shard 1/3")
	})
	t.Run("another count", func(t *testing.T) {
		data := t.TempDir()
		runShards(t, data, cat, 3, 0, 1)
		runShards(t, data, cat, 4, 2)
		wantErr(t, data, 3, "shard 2 of 3 is missing", "2-of-4")
		// A folder renamed to pass for shard 2 of 3 is found out.
		os.Rename(indexer.ShardPath(data, 2, 4), indexer.ShardPath(data, 2, 3))
		wantErr(t, data, 3, "holds shard 2/4, not 2/3")
	})
	t.Run("incomplete", func(t *testing.T) {
		data := t.TempDir()
		runShards(t, data, cat, 3)
		// A run that crashed before its rename leaves only its temporary folder.
		tmp := filepath.Join(data, indexer.ShardsDir, ".tmp-1-of-3-123")
		os.Rename(indexer.ShardPath(data, 1, 3), tmp)
		os.Remove(filepath.Join(tmp, "manifest.json"))
		wantErr(t, data, 3, "shard 1 of 3 is incomplete", "crashed")
		// A folder without its manifest (a partial copy) is incomplete too.
		os.Rename(tmp, indexer.ShardPath(data, 1, 3))
		wantErr(t, data, 3, "shard 1 of 3 is incomplete", "manifest.json")
	})
	t.Run("damaged", func(t *testing.T) {
		data := t.TempDir()
		runShards(t, data, cat, 3)
		p := filepath.Join(indexer.ShardPath(data, 0, 3), "products.gob")
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)/2], 0o644)
		wantErr(t, data, 3, "shard 0 of 3", "damaged", "products.gob")
	})
	t.Run("duplicate ids", func(t *testing.T) {
		data := t.TempDir()
		runShards(t, data, cat, 3)
		// Shard 1's folder replaced by a copy of shard 0 that claims to be 1.
		s0, s1 := indexer.ShardPath(data, 0, 3), indexer.ShardPath(data, 1, 3)
		os.RemoveAll(s1)
		os.MkdirAll(s1, 0o755)
		entries, _ := os.ReadDir(s0)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(s0, e.Name()))
			if e.Name() == "manifest.json" {
				var m map[string]any
				json.Unmarshal(b, &m)
				m["shard"] = 1
				b, _ = json.Marshal(m)
			}
			os.WriteFile(filepath.Join(s1, e.Name()), b, 0o644)
		}
		wantErr(t, data, 3, "shards overlap", "is in shard 0 and shard 1")
	})
	t.Run("other encoder", func(t *testing.T) {
		data := t.TempDir()
		runShards(t, data, cat, 2)
		dir := mustOpen(t, data)
		_, err := indexer.New(dir, &constEncoder{}, openTarget, shardOptions("")).Finalize(context.Background(), 2)
		if err == nil || !strings.Contains(err.Error(), "dim 8") {
			t.Errorf("finalize with another encoder: %v", err)
		}
	})
}

func mustOpen(t *testing.T, root string) *datadir.Dir {
	t.Helper()
	d, err := datadir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
