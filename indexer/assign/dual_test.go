package assign

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/catalog"
	"lander/encoder"
)

// openTestDual opens the committed dual encoder and its colour net, or
// skips when the ONNX Runtime library is not installed.
func openTestDual(t *testing.T) *Dual {
	t.Helper()
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		lib = filepath.Join("..", "..", encoder.DefaultLibraryPath)
	}
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("LANDER_REQUIRE_MODELS") == "1" {
			t.Fatalf("%s missing (LANDER_REQUIRE_MODELS=1): run scripts/setup-ort.sh", lib)
		}
		t.Skipf("%s missing: run scripts/setup-ort.sh", lib)
	}
	d, err := OpenDual(DualOptions{Library: lib, Dir: filepath.Join("..", "..", "encoder", "weights"), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// TestImageVectors checks that a product's image vector is its image-only
// product vector followed by the colour net's log-probabilities, and that
// a bad image is an error naming the product.
func TestImageVectors(t *testing.T) {
	d := openTestDual(t)
	if got, want := d.ImageVersion(), d.Model().Version+"+colour-v3"; got != want {
		t.Errorf("ImageVersion = %q, want %q", got, want)
	}
	var ps []catalog.Product
	for _, name := range []string{"demo-0002.jpg", "demo-0003.jpg"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "encoder", "testdata", "embed", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, catalog.Product{ID: name, Image: b})
	}
	ctx := context.Background()
	pvecs, err := d.EmbedProducts(ctx, ps, make([][]float32, len(ps)))
	if err != nil {
		t.Fatal(err)
	}
	ivs, err := d.ImageVectors(ctx, ps, pvecs)
	if err != nil {
		t.Fatal(err)
	}
	for i, iv := range ivs {
		if len(iv) != d.ImageDim() || d.ImageDim() <= d.ProductDim() {
			t.Fatalf("row %d: %d values, ImageDim %d, ProductDim %d", i, len(iv), d.ImageDim(), d.ProductDim())
		}
		for j, v := range pvecs[i] {
			if iv[j] != v {
				t.Fatalf("row %d: value %d is %f, the product vector's %f", i, j, iv[j], v)
			}
		}
		var sum float64
		for _, v := range iv[d.ProductDim():] {
			sum += math.Exp(float64(v))
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("row %d: colour probabilities sum to %f", i, sum)
		}
	}
	bad := []catalog.Product{{ID: "broken", Image: []byte("not an image")}}
	if _, err := d.ImageVectors(ctx, bad, pvecs[:1]); err == nil {
		t.Error("an undecodable image gave no error")
	}
}

// TestEmbedImages checks that EmbedImages gives EmbedProducts' vectors,
// and ImageVectors' rows for the products without text only.
func TestEmbedImages(t *testing.T) {
	d := openTestDual(t)
	var ps []catalog.Product
	for _, name := range []string{"demo-0002.jpg", "demo-0003.jpg", "demo-0004.jpg"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "encoder", "testdata", "embed", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, catalog.Product{ID: name, Image: b})
	}
	text := make([]float32, d.prod.Info().TextEmbeddingDim)
	for i := range text {
		text[i] = float32(math.Sin(float64(i))) / 10
	}
	tvs := [][]float32{nil, text, nil}
	ctx := context.Background()
	want, err := d.EmbedProducts(ctx, ps, tvs)
	if err != nil {
		t.Fatal(err)
	}
	pvecs, ivecs, err := d.EmbedImages(ctx, ps, tvs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, pvecs); diff != "" {
		t.Errorf("product vectors differ from EmbedProducts' (-want +got):\n%s", diff)
	}
	wantRows, err := d.ImageVectors(ctx, []catalog.Product{ps[0], ps[2]}, [][]float32{want[0], want[2]})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]float32{wantRows[0], nil, wantRows[1]}, ivecs); diff != "" {
		t.Errorf("image rows differ from ImageVectors' (-want +got):\n%s", diff)
	}
	bad := append([]catalog.Product{{ID: "broken", Image: []byte("not an image")}}, ps[1:]...)
	if _, _, err := d.EmbedImages(ctx, bad, tvs); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("an undecodable image: error %v, want one naming the product", err)
	}
}
