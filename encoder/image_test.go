package encoder

import (
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"testing"
)

// gradient draws a deterministic w x h test image.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), uint8((x * y) % 256), 255})
		}
	}
	return img
}

func TestPreprocessImageUniform(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 60, 80))
	for i := range g.Pix {
		g.Pix[i] = 100
	}
	pix, err := PreprocessImage(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(pix) != ImageSize {
		t.Fatalf("got %d bytes, want %d", len(pix), ImageSize)
	}
	for i, v := range pix {
		if v != 100 {
			t.Fatalf("pixel %d = %d, want 100 (60x80 scales exactly to 48x64)", i, v)
		}
	}
}

func TestPreprocessImagePadsWithWhite(t *testing.T) {
	// A black square fits as 48x48, centred with 8 white rows above and below.
	g := image.NewGray(image.Rect(0, 0, 100, 100))
	pix, err := PreprocessImage(g)
	if err != nil {
		t.Fatal(err)
	}
	plane := ImageHeight * ImageWidth
	for c := range ImageChannels {
		for y := range ImageHeight {
			want := byte(0)
			if y < 8 || y >= 56 {
				want = 255
			}
			if got := pix[c*plane+y*ImageWidth+ImageWidth/2]; got != want {
				t.Fatalf("channel %d row %d = %d, want %d", c, y, got, want)
			}
		}
	}
}

func TestPreprocessImageTransparentIsWhite(t *testing.T) {
	pix, err := PreprocessImage(image.NewNRGBA(image.Rect(0, 0, 12, 16)))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range pix {
		if v != 255 {
			t.Fatalf("pixel %d = %d, want 255", i, v)
		}
	}
}

// TestPreprocessImagePinned pins the exact bytes of a gradient at three
// sizes: the training set was written with this code, so any change to the
// resize must come with retraining.
func TestPreprocessImagePinned(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		sum  string
	}{
		{60, 80, "14822dc49aed0eaa"},
		{123, 77, "7e92ce73806eba6b"},
		{17, 200, "fd33ebddf242c4db"},
	} {
		pix, err := PreprocessImage(gradient(tc.w, tc.h))
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(pix)
		if got := hex.EncodeToString(s[:8]); got != tc.sum {
			t.Errorf("%dx%d: sha256 prefix %s, want %s", tc.w, tc.h, got, tc.sum)
		}
	}
}

func TestPreprocessImageSubImage(t *testing.T) {
	full := gradient(120, 160)
	sub := full.SubImage(image.Rect(60, 80, 120, 160))
	a, err := PreprocessImage(sub)
	if err != nil {
		t.Fatal(err)
	}
	cp := image.NewRGBA(image.Rect(0, 0, 60, 80))
	for y := range 80 {
		for x := range 60 {
			cp.Set(x, y, full.At(60+x, 80+y))
		}
	}
	b, _ := PreprocessImage(cp)
	if string(a) != string(b) {
		t.Fatal("sub-image and its copy preprocess differently")
	}
}

func TestNormalizeImage(t *testing.T) {
	pix := make([]byte, ImageSize)
	pix[0], pix[ImageHeight*ImageWidth] = 255, 0
	out := NormalizeImage(nil, pix, [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5})
	if len(out) != ImageSize || out[0] != 1 || out[ImageHeight*ImageWidth] != -1 {
		t.Fatalf("got %v %v", out[0], out[ImageHeight*ImageWidth])
	}
}

// BenchmarkPreprocessImage preprocesses a decoded 60x80 JPEG.
func BenchmarkPreprocessImage(b *testing.B) {
	img := jpegImage(b, gradient(60, 80))
	for b.Loop() {
		if _, err := PreprocessImage(img); err != nil {
			b.Fatal(err)
		}
	}
}
