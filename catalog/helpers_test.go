package catalog

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// pngBytes draws a w×h PNG of random colours from seed.
func pngBytes(t testing.TB, w, h int, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegBytes draws a w×h JPEG, greyscale when gray is set.
func jpegBytes(t testing.TB, w, h int, gray bool) []byte {
	t.Helper()
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(i * 7)
		}
		img = g
	} else {
		c := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range c.Pix {
			c.Pix[i] = uint8(i * 13)
		}
		img = c
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile writes b to dir/name, creating folders.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// result is everything one Read produced.
type result struct {
	products []Product
	rejects  []Rejection
	batches  []int
	skipped  int
}

func (r result) ids() []string {
	var out []string
	for _, p := range r.products {
		out = append(out, p.ID)
	}
	return out
}

type rowReason struct {
	Row    int
	Reason string
}

func (r result) reasons() []rowReason {
	var out []rowReason
	for _, j := range r.rejects {
		out = append(out, rowReason{j.Row, j.Reason})
	}
	return out
}

// readAll opens path and reads it fully.
func readAll(t testing.TB, path string, opts Options) result {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	var res result
	err = r.Read(context.Background(), func(ps []Product) error {
		res.batches = append(res.batches, len(ps))
		res.products = append(res.products, ps...)
		return nil
	}, func(j Rejection) { res.rejects = append(res.rejects, j) })
	if err != nil {
		t.Fatalf("Read(%s): %v", path, err)
	}
	res.skipped = r.Skipped()
	return res
}

// byID returns the delivered product with the given id.
func (r result) byID(t testing.TB, id string) Product {
	t.Helper()
	for _, p := range r.products {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("product %q not delivered", id)
	return Product{}
}
