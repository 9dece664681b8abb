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
	"lander/indexer/arbitrate"
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

// TestImageLogProbs checks that the colour net reads a probability
// distribution over ImageColours from each product's image, and that a
// bad image is an error naming the product.
func TestImageLogProbs(t *testing.T) {
	d := openTestDual(t)
	if len(d.ImageColours()) == 0 {
		t.Fatal("no colours: the shipped model has a colour net")
	}
	ps := demoProducts(t, "demo-0002.jpg", "demo-0003.jpg")
	ctx := context.Background()
	lps, err := d.ImageLogProbs(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	for i, lp := range lps {
		if len(lp) != len(d.ImageColours()) {
			t.Fatalf("row %d: %d values for %d colours", i, len(lp), len(d.ImageColours()))
		}
		var sum float64
		for _, v := range lp {
			sum += math.Exp(float64(v))
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("row %d: colour probabilities sum to %f", i, sum)
		}
	}
	bad := []catalog.Product{{ID: "broken", Image: []byte("not an image")}}
	if _, err := d.ImageLogProbs(ctx, bad); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("an undecodable image: error %v, want one naming the product", err)
	}
}

// demoProducts reads the named images of the encoder's test data as
// products without text.
func demoProducts(t *testing.T, names ...string) []catalog.Product {
	t.Helper()
	var ps []catalog.Product
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("..", "..", "encoder", "testdata", "embed", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, catalog.Product{ID: name, Image: b})
	}
	return ps
}

// TestEmbedImages checks that EmbedImages gives EmbedProducts' vectors,
// and ImageLogProbs' rows for the products without text only.
func TestEmbedImages(t *testing.T) {
	d := openTestDual(t)
	ps := demoProducts(t, "demo-0002.jpg", "demo-0003.jpg", "demo-0004.jpg")
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
	pvecs, lps, err := d.EmbedImages(ctx, ps, tvs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, pvecs); diff != "" {
		t.Errorf("product vectors differ from EmbedProducts' (-want +got):\n%s", diff)
	}
	wantRows, err := d.ImageLogProbs(ctx, []catalog.Product{ps[0], ps[2]})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]float32{wantRows[0], nil, wantRows[1]}, lps); diff != "" {
		t.Errorf("log-probabilities differ from ImageLogProbs' (-want +got):\n%s", diff)
	}
	bad := append([]catalog.Product{{ID: "broken", Image: []byte("not an image")}}, ps[1:]...)
	if _, _, err := d.EmbedImages(ctx, bad, tvs); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("an undecodable image: error %v, want one naming the product", err)
	}
}

// TestShippedCalibrationModel checks that the shipped calibration was
// fitted on the scores of the shipped model: a retrained dual encoder or
// colour net must come with a refitted calibration.
func TestShippedCalibrationModel(t *testing.T) {
	d := openTestDual(t)
	if got, want := arbitrate.Shipped().Model(), d.EvidenceVersion(); got != want {
		t.Errorf("calibration fitted on %q, the shipped model is %q", got, want)
	}
}
