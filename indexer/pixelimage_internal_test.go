package indexer

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"lander/catalog"
	"lander/indexer/extract"
	"lander/indexer/pixelcolor"
)

// square draws a 40×60 image: a white background and a centred rectangle
// of colour c.
func square(c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 40, 60))
	for y := range 60 {
		for x := range 40 {
			px := color.RGBA{250, 250, 250, 255}
			if x >= 10 && x < 30 && y >= 15 && y < 45 {
				px = c
			}
			img.SetRGBA(x, y, px)
		}
	}
	return img
}

// TestImagePixel checks that a product known by its image alone gets the
// image-only classifier's colours in place of the pixel classifier's, and
// keeps its evidence when the image shows nothing.
func TestImagePixel(t *testing.T) {
	colours := map[string]color.RGBA{"red": {200, 20, 30, 255}, "green": {30, 140, 50, 255}}
	var train []pixelcolor.Example
	for i := range 20 {
		for name, c := range colours {
			c.G += uint8(i)
			x, ok := pixelcolor.Features(square(c))
			if !ok {
				t.Fatal("no features")
			}
			vec := []float32{0, 0}
			if name == "red" {
				vec[0] = 1
			} else {
				vec[1] = 1
			}
			train = append(train, pixelcolor.Example{X: pixelcolor.ImageInput(vec, x), Label: name})
		}
	}
	clf, _, err := pixelcolor.Train(train, nil, pixelcolor.TrainOptions{Hidden: 4, MinN: 5, Epochs: 20, Patience: 20, Batch: 8, LR: 3e-3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ix := &Indexer{opts: Options{PixelImage: clf}}
	var buf bytes.Buffer
	if err := png.Encode(&buf, square(colours["green"])); err != nil {
		t.Fatal(err)
	}
	evidence := []extract.Attr{
		{Key: "color", Value: "red", Source: pixelcolor.Source, Confidence: 0.6},
		{Key: "pattern", Value: "solid", Source: "vlm", Confidence: 0.9},
	}
	feats, err := pixelcolor.FeaturesOf(context.Background(), []catalog.Product{{ID: "1", Image: buf.Bytes()}, {ID: "2", Image: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	got := ix.imagePixel([]float32{0, 1}, feats[0], evidence)
	if len(got) < 2 || got[0].Source != "vlm" || got[1].Value != "green" || got[1].Source != pixelcolor.Source {
		t.Errorf("imagePixel = %+v, want the vlm pattern, then green from the image classifier", got)
	}
	for _, a := range got[1:] {
		if a.Value == "red" && a.Confidence == 0.6 {
			t.Errorf("the pixel classifier's colour stayed: %+v", got)
		}
	}
	// An image that does not decode keeps the evidence as it is.
	if got := ix.imagePixel([]float32{0, 1}, feats[1], evidence); len(got) != 2 || got[0] != evidence[0] {
		t.Errorf("undecodable image: %+v", got)
	}
}
