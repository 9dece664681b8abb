package encoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testPaths locates the ONNX Runtime library and the model directory from
// ONNXRUNTIME_LIB and LANDER_MODELS_DIR, or relative to the repository root.
// It skips the test when either is missing, unless LANDER_REQUIRE_MODELS=1.
func testPaths(t testing.TB) (lib, modelDir string) {
	t.Helper()
	lib = os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		lib = filepath.Join("..", DefaultLibraryPath)
	}
	modelDir = filepath.Join("..", "models", "minilm")
	if d := os.Getenv("LANDER_MODELS_DIR"); d != "" {
		modelDir = filepath.Join(d, "minilm")
	}
	for _, p := range []string{lib, filepath.Join(modelDir, "model.onnx")} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("LANDER_REQUIRE_MODELS") == "1" {
				t.Fatalf("%s missing (LANDER_REQUIRE_MODELS=1): run scripts/setup-ort.sh and scripts/models.sh", p)
			}
			t.Skipf("%s missing: run scripts/setup-ort.sh and scripts/models.sh", p)
		}
	}
	return lib, modelDir
}

func newTestText(t testing.TB, opts TextOptions) *Text {
	t.Helper()
	opts.LibraryPath, opts.ModelDir = testPaths(t)
	enc, err := NewText(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := enc.Close(); err != nil {
			t.Error(err)
		}
	})
	return enc
}

type goldenEmbeddings struct {
	Dim   int `json:"dim"`
	Cases []struct {
		Text      string    `json:"text"`
		Embedding []float64 `json:"embedding"`
	} `json:"cases"`
}

func loadGoldenEmbeddings(t testing.TB) goldenEmbeddings {
	t.Helper()
	var g goldenEmbeddings
	data, err := os.ReadFile("testdata/golden_embeddings.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func cosine(a []float32, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * b[i]
		na += float64(a[i]) * float64(a[i])
		nb += b[i] * b[i]
	}
	return dot / math.Sqrt(na*nb)
}

func TestEmbedGolden(t *testing.T) {
	g := loadGoldenEmbeddings(t)
	texts := make([]string, len(g.Cases))
	for i, c := range g.Cases {
		texts[i] = c.Text
	}
	// Batch size 7 mixes padded and unpadded rows across several batches.
	enc := newTestText(t, TextOptions{BatchSize: 7, Threads: 2})
	if enc.Dim() != g.Dim {
		t.Fatalf("Dim = %d, want %d", enc.Dim(), g.Dim)
	}
	vecs, err := enc.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("got %d vectors for %d texts", len(vecs), len(texts))
	}
	worst := 1.0
	for i, c := range g.Cases {
		if len(vecs[i]) != g.Dim {
			t.Fatalf("vector %d has %d dims", i, len(vecs[i]))
		}
		cos := cosine(vecs[i], c.Embedding)
		worst = min(worst, cos)
		if cos < 1-1e-4 {
			t.Errorf("Embed(%q): cosine to reference %.6f", c.Text, cos)
		}
		var norm float64
		for _, x := range vecs[i] {
			norm += float64(x) * float64(x)
		}
		if math.Abs(norm-1) > 1e-4 {
			t.Errorf("Embed(%q): squared norm %.6f, want 1", c.Text, norm)
		}
	}
	t.Logf("worst cosine to reference: %.8f", worst)

	// One at a time (no padding) must agree with the batched run.
	for i, text := range texts[:5] {
		one, err := enc.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		if cos := cosine(one[0], toF64(vecs[i])); cos < 1-1e-5 {
			t.Errorf("Embed(%q) alone vs batched: cosine %.7f", text, cos)
		}
	}
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestEmbedEmpty(t *testing.T) {
	enc := newTestText(t, TextOptions{})
	vecs, err := enc.Embed(context.Background(), nil)
	if err != nil || len(vecs) != 0 {
		t.Fatalf("Embed(nil) = %d vectors, %v", len(vecs), err)
	}
	vecs, err = enc.Embed(context.Background(), []string{"", "  "})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 2 || len(vecs[0]) != enc.Dim() {
		t.Fatalf("Embed(empty strings) = %d vectors", len(vecs))
	}
	if cos := cosine(vecs[0], toF64(vecs[1])); cos < 1-1e-6 {
		t.Errorf("empty and blank texts differ: cosine %.7f", cos)
	}
}

func TestEmbedConcurrent(t *testing.T) {
	enc := newTestText(t, TextOptions{BatchSize: 4, Threads: 1})
	texts := []string{"red running shoes", "blue denim jacket", "stainless steel water bottle", "kids' toys & games", "organic green tea"}
	want, err := enc.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for round := range 5 {
				// Rotate so that goroutines run different batches at once.
				k := (g + round) % len(texts)
				in := append(append([]string{}, texts[k:]...), texts[:k]...)
				got, err := enc.Embed(context.Background(), in)
				if err != nil {
					errs <- err
					return
				}
				for i := range in {
					if cos := cosine(got[i], toF64(want[(i+k)%len(texts)])); cos < 1-1e-5 {
						errs <- fmt.Errorf("goroutine %d: %q cosine %.7f", g, in[i], cos)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestEmbedCanceled(t *testing.T) {
	enc := newTestText(t, TextOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := enc.Embed(ctx, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Embed(canceled) err = %v, want context.Canceled", err)
	}
}

func TestEmbedAfterClose(t *testing.T) {
	lib, dir := testPaths(t)
	enc, err := NewText(TextOptions{LibraryPath: lib, ModelDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := enc.Embed(context.Background(), []string{"a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Embed after Close: err = %v, want ErrClosed", err)
	}
}

func TestNewTextMissingLibrary(t *testing.T) {
	_, dir := testPaths(t)
	_, err := NewText(TextOptions{LibraryPath: "/nonexistent/libonnxruntime.so.1", ModelDir: dir})
	if err == nil || !strings.Contains(err.Error(), "not found; run scripts/setup-ort.sh or set ONNXRUNTIME_LIB") {
		t.Errorf("err = %v, want a clear missing-library error", err)
	}
}

func TestNewTextWrongLibrary(t *testing.T) {
	_, dir := testPaths(t)
	bogus := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(bogus, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewText(TextOptions{LibraryPath: bogus, ModelDir: dir})
	if err == nil || !strings.Contains(err.Error(), "cannot load") {
		t.Errorf("err = %v, want a cannot-load error", err)
	}
}

func TestNewTextMissingModel(t *testing.T) {
	dir := t.TempDir()
	_, err := NewText(TextOptions{ModelDir: dir})
	if err == nil || !strings.Contains(err.Error(), "model.onnx missing; run scripts/models.sh") {
		t.Errorf("err = %v, want a clear missing-model error", err)
	}
}

func TestNewTextInvalidOptions(t *testing.T) {
	if _, err := NewText(TextOptions{MaxLength: 1000}); err == nil {
		t.Error("MaxLength 1000 accepted")
	}
}
