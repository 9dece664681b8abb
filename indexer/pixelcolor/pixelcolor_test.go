package pixelcolor

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"lander/catalog"
)

// studio draws a w×h image: a plain background with a centred product
// rectangle of colour fg covering the middle half of each side, and a
// small stripe of colour accent inside it.
func studio(w, h int, bg, fg, accent color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := bg
			if x >= w/4 && x < 3*w/4 && y >= h/4 && y < 3*h/4 {
				c = fg
				if y < h/4+h/16 {
					c = accent
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

var (
	white = color.RGBA{250, 250, 250, 255}
	red   = color.RGBA{200, 20, 30, 255}
	navy  = color.RGBA{20, 30, 90, 255}
	grey  = color.RGBA{235, 235, 235, 255}
)

func palette() *Palette {
	return &Palette{Centroids: []Centroid{
		{Value: "red", Lab: FromRGB(190, 30, 40)},
		{Value: "navy blue", Lab: FromRGB(30, 40, 100)},
		{Value: "white", Lab: FromRGB(245, 245, 245)},
		{Value: "black", Lab: FromRGB(20, 20, 20)},
	}}
}

func TestRead(t *testing.T) {
	p := palette()
	tests := []struct {
		name string
		img  image.Image
		want string
		ok   bool
	}{
		{"red product on white", studio(60, 80, white, red, navy), "red", true},
		{"navy product on light grey", studio(60, 80, grey, navy, red), "navy blue", true},
		{"white product on white reads as background only", studio(60, 80, white, white, white), "", false},
		{"too small", image.NewRGBA(image.Rect(0, 0, 2, 2)), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := p.Read(tt.img)
			if ok != tt.ok || g.Value != tt.want {
				t.Fatalf("Read = %+v, %v; want %q, %v", g, ok, tt.want, tt.ok)
			}
			if ok && (g.Score <= 0.5 || g.Score > 1) {
				t.Errorf("score %v of a clear colour not in (0.5, 1]", g.Score)
			}
		})
	}
}

func TestFromRGB(t *testing.T) {
	for _, tt := range []struct {
		r, g, b uint8
		want    Lab
	}{
		{255, 255, 255, Lab{100, 0, 0}},
		{0, 0, 0, Lab{0, 0, 0}},
		{255, 0, 0, Lab{53.24, 80.09, 67.20}},
	} {
		got := FromRGB(tt.r, tt.g, tt.b)
		if Dist2(got, tt.want) > 0.05 {
			t.Errorf("FromRGB(%d,%d,%d) = %v, want %v", tt.r, tt.g, tt.b, got, tt.want)
		}
	}
}

func TestLearn(t *testing.T) {
	ex := map[string][]Lab{
		"red":  {FromRGB(200, 20, 30), FromRGB(190, 30, 40), FromRGB(210, 10, 20)},
		"rare": {FromRGB(1, 2, 3)},
	}
	p := Learn(ex, 2)
	if len(p.Centroids) != 1 || p.Centroids[0].Value != "red" || p.Centroids[0].N != 3 {
		t.Fatalf("Learn = %+v, want red alone", p.Centroids)
	}
	if d := Dist2(p.Centroids[0].Lab, FromRGB(200, 20, 30)); d > 1 {
		t.Errorf("centroid %v is not the median", p.Centroids[0].Lab)
	}
}

func TestExtractorCountsUnread(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, studio(60, 80, white, red, red)); err != nil {
		t.Fatal(err)
	}
	x := NewExtractor(palette())
	out, err := x.Extract(context.Background(), []catalog.Product{{ID: "1", Image: buf.Bytes()}, {ID: "2", Image: []byte("not an image")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out[0]) != 1 || out[0][0].Value != "red" || out[0][0].Source != Source {
		t.Errorf("product 1: %+v", out[0])
	}
	if len(out[1]) != 0 || x.Unread() != 1 {
		t.Errorf("product 2: %+v, unread %d; want none and 1", out[1], x.Unread())
	}
}

func TestShipped(t *testing.T) {
	if _, err := DefaultPalette(); err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePalette([]byte("{")); err == nil {
		t.Error("bad JSON parsed")
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	png.Encode(&buf, studio(8, 8, white, red, navy))
	f.Add(buf.Bytes())
	p := palette()
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := catalog.DecodeImage(context.Background(), b)
		if err != nil {
			return
		}
		if img.Bounds().Dx()*img.Bounds().Dy() > 1<<20 {
			return
		}
		if g, ok := p.Read(img); ok && (g.Score <= 0 || g.Score > 1) {
			t.Fatalf("score %v out of range", g.Score)
		}
	})
}

// BenchmarkExtract measures the extractor on a 60×80 JPEG, the size of the
// development catalogue's images: decode, foreground, k-means, palette.
func BenchmarkExtract(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, studio(60, 80, white, red, navy), nil); err != nil {
		b.Fatal(err)
	}
	x := NewExtractor(palette())
	ps := []catalog.Product{{ID: "1", Image: buf.Bytes()}}
	for b.Loop() {
		if _, err := x.Extract(context.Background(), ps); err != nil {
			b.Fatal(err)
		}
	}
}
