package encoder

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"math"
	"os"
	"sync"
	"testing"
)

// dualDir is the committed model, relative to this package.
const dualDir = "weights"

type goldenDual struct {
	Height        int         `json:"height"`
	Width         int         `json:"width"`
	Pixels        [][]byte    `json:"pixels"`
	TextEmbedding [][]float32 `json:"text_embedding"`
	TextPresent   []float32   `json:"text_present"`
	Embedding     [][]float64 `json:"embedding"`
}

// UnmarshalJSON reads pixels written as lists of numbers.
func (g *goldenDual) UnmarshalJSON(b []byte) error {
	type raw goldenDual
	var r struct {
		raw
		Pixels [][]int `json:"pixels"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*g = goldenDual(r.raw)
	g.Pixels = make([][]byte, len(r.Pixels))
	for i, p := range r.Pixels {
		g.Pixels[i] = make([]byte, len(p))
		for j, v := range p {
			g.Pixels[i][j] = byte(v)
		}
	}
	return nil
}

func newTestProduct(t testing.TB) *Product {
	t.Helper()
	lib, _ := testPaths(t)
	p, err := NewProduct(DualOptions{LibraryPath: lib, Dir: dualDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func loadGoldenDual(t testing.TB) goldenDual {
	t.Helper()
	var g goldenDual
	b, err := os.ReadFile("testdata/golden_dual.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func goldenInputs(g goldenDual) []ProductInput {
	in := make([]ProductInput, len(g.Pixels))
	for i := range in {
		in[i].Pixels = g.Pixels[i]
		if g.TextPresent[i] == 1 {
			in[i].TextEmbedding = g.TextEmbedding[i]
		}
	}
	return in
}

// TestProductGolden checks the Go product encoder against PyTorch's
// vectors for the same pixels and text embeddings (written by
// encoder/train/dualenc/export.py), within 1e-4 cosine.
func TestProductGolden(t *testing.T) {
	g := loadGoldenDual(t)
	p := newTestProduct(t)
	if g.Height != ImageHeight || g.Width != ImageWidth {
		t.Fatalf("golden images are %dx%d", g.Height, g.Width)
	}
	got, err := p.Embed(context.Background(), goldenInputs(g))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if c := cosine(v, g.Embedding[i]); c < 1-1e-4 {
			t.Errorf("row %d (text %v): cosine %.6f to the PyTorch vector", i, g.TextPresent[i] == 1, c)
		}
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-4 {
			t.Errorf("row %d: squared norm %f", i, n)
		}
	}
}

// TestProductConcurrent runs the encoder from several goroutines with odd
// batch splits and checks the results do not depend on batching.
func TestProductConcurrent(t *testing.T) {
	g := loadGoldenDual(t)
	lib, _ := testPaths(t)
	p, err := NewProduct(DualOptions{LibraryPath: lib, Dir: dualDir, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in := goldenInputs(g)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := p.Embed(context.Background(), in)
			if err != nil {
				t.Error(err)
				return
			}
			for i, v := range got {
				if c := cosine(v, g.Embedding[i]); c < 1-1e-4 {
					t.Errorf("row %d: cosine %.6f", i, c)
				}
			}
		})
	}
	wg.Wait()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Embed(context.Background(), in); err == nil {
		t.Fatal("Embed after Close succeeded")
	}
}

// TestAttributeGolden embeds the vocabulary's phrases with MiniLM and the
// attribute tower and compares them with the vectors in model.json.
func TestAttributeGolden(t *testing.T) {
	lib, _ := testPaths(t)
	text := newTestText(t, TextOptions{})
	a, err := NewAttribute(DualOptions{LibraryPath: lib, Dir: dualDir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	info, err := LoadModelInfo(dualDir)
	if err != nil {
		t.Fatal(err)
	}
	phrases := make([]string, len(info.Vocabulary))
	for i, v := range info.Vocabulary {
		phrases[i] = v.Phrase
		if v.Phrase != AttributePhrase(v.Key, v.Value) {
			t.Fatalf("phrase %q, want %q", v.Phrase, AttributePhrase(v.Key, v.Value))
		}
	}
	got, err := a.EmbedPhrases(context.Background(), text, phrases)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		want := make([]float64, len(v))
		for j, x := range info.Vocabulary[i].Vector {
			want[j] = float64(x)
		}
		if c := cosine(v, want); c < 1-1e-4 {
			t.Errorf("%q: cosine %.6f", phrases[i], c)
		}
	}
}

func TestEmbedItemsImageOnly(t *testing.T) {
	p := newTestProduct(t)
	text := newTestText(t, TextOptions{})
	img := gradient(60, 80)
	got, err := p.EmbedItems(context.Background(), text, []ProductItem{{Image: img}, {Image: img, Text: "Puma Men Grey T-shirt"}})
	if err != nil {
		t.Fatal(err)
	}
	pix, _ := PreprocessImage(img)
	want, err := p.Embed(context.Background(), []ProductInput{{Pixels: pix}})
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, len(want[0]))
	for i, x := range want[0] {
		w[i] = float64(x)
	}
	if c := cosine(got[0], w); c < 1-1e-6 {
		t.Errorf("image-only item: cosine %.6f to the text-absent path", c)
	}
	if c := cosine(got[1], w); c > 0.9999 {
		t.Error("the title did not change the vector")
	}
}

// BenchmarkProductEmbed64 runs the product tower on batches of 64 products
// with image and text (inputs already preprocessed and embedded).
func BenchmarkProductEmbed64(b *testing.B) {
	g := loadGoldenDual(b)
	p := newTestProduct(b)
	in := make([]ProductInput, 64)
	for i := range in {
		j := i % len(g.Pixels)
		in[i] = ProductInput{Pixels: g.Pixels[j], TextEmbedding: g.TextEmbedding[j&^1]}
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.Embed(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(in))/b.Elapsed().Seconds(), "products/s")
}

// BenchmarkProductPipeline64 measures the whole product path per batch of
// 64: preprocessing a 60x80 image, MiniLM on a catalog title and the
// product tower.
func BenchmarkProductPipeline64(b *testing.B) {
	p := newTestProduct(b)
	text := newTestText(b, TextOptions{BatchSize: 64})
	img := jpegImage(b, gradient(60, 80))
	items := make([]ProductItem, 64)
	for i := range items {
		items[i] = ProductItem{Image: img, Text: "Peter England Men Party Blue Jeans"}
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.EmbedItems(ctx, text, items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "products/s")
}

// jpegImage round-trips img through JPEG, giving the *image.YCbCr a catalog
// image decodes to.
func jpegImage(t testing.TB, img image.Image) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
