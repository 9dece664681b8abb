package encoder

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newTestColour(t testing.TB) *Colour {
	t.Helper()
	lib, _ := testPaths(t)
	c, err := NewColour(DualOptions{LibraryPath: lib, Dir: dualDir, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// TestColourGolden checks the Go colour net against PyTorch's
// log-probabilities for the golden pixels (written by
// encoder/train/dualenc/colour.py --golden), within 1e-3, across a batch
// split (4 then 2).
func TestColourGolden(t *testing.T) {
	g := loadGoldenDual(t)
	c := newTestColour(t)
	b, err := os.ReadFile("testdata/golden_colour.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		LogProbs [][]float64 `json:"log_probs"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	got, err := c.LogProbs(context.Background(), g.Pixels)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.LogProbs) {
		t.Fatalf("%d rows, want %d", len(got), len(want.LogProbs))
	}
	for i, row := range got {
		if len(row) != c.Dim() || len(row) != len(want.LogProbs[i]) {
			t.Fatalf("row %d: %d values, want %d", i, len(row), c.Dim())
		}
		var sum float64
		for j, v := range row {
			if d := math.Abs(float64(v) - want.LogProbs[i][j]); d > 1e-3 {
				t.Errorf("row %d class %s: %f, PyTorch %f", i, c.Info().Classes[j], v, want.LogProbs[i][j])
			}
			sum += math.Exp(float64(v))
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("row %d: probabilities sum to %f", i, sum)
		}
	}
}

// TestColourErrors checks the refusals: a directory without colour.json,
// a net trained from another dual encoder, and pixels of the wrong size.
func TestColourErrors(t *testing.T) {
	lib, _ := testPaths(t)
	empty := t.TempDir()
	if _, err := NewColour(DualOptions{LibraryPath: lib, Dir: empty}); !errors.Is(err, ErrNoColour) {
		t.Errorf("no colour.json: %v, want ErrNoColour", err)
	}
	other := t.TempDir()
	for _, name := range []string{"model.json", "colour.onnx"} {
		b, err := os.ReadFile(filepath.Join(dualDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "model.json" {
			b = []byte(strings.Replace(string(b), `"version":"dual-v1"`, `"version":"dual-other"`, 1))
		}
		if err := os.WriteFile(filepath.Join(other, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cj, err := os.ReadFile(filepath.Join(dualDir, ColourFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, ColourFile), cj, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewColour(DualOptions{LibraryPath: lib, Dir: other}); err == nil || !strings.Contains(err.Error(), "dual-other") {
		t.Errorf("another trunk: %v, want a refusal naming it", err)
	}
	c := newTestColour(t)
	if _, err := c.LogProbs(context.Background(), [][]byte{make([]byte, 10)}); err == nil {
		t.Error("10-byte image accepted")
	}
}

// BenchmarkColour64 runs the colour net on batches of 64 preprocessed
// images, beside BenchmarkProductEmbed64: what the net adds per
// image-only product.
func BenchmarkColour64(b *testing.B) {
	g := loadGoldenDual(b)
	lib, _ := testPaths(b)
	c, err := NewColour(DualOptions{LibraryPath: lib, Dir: dualDir})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	px := make([][]byte, 64)
	for i := range px {
		px[i] = g.Pixels[i%len(g.Pixels)]
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.LogProbs(ctx, px); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(px))/b.Elapsed().Seconds(), "images/s")
}
