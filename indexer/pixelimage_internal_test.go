package indexer

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"lander/catalog"
	"lander/indexer/extract"
	"lander/indexer/pixelcolor"
	"lander/store"
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
	colours, clf := trainImageClassifier(t)
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

// trainImageClassifier trains a tiny image-only classifier on red and
// green squares whose 2-d image vector names their colour.
func trainImageClassifier(t *testing.T) (map[string]color.RGBA, *pixelcolor.Classifier) {
	t.Helper()
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
	return colours, clf
}

// imageReaderAssigner is a ProductEmbedder and ImageReader: its image
// vectors name the colour of the product's id ("red-…" or "green-…").
type imageReaderAssigner struct {
	seen []string // the ids whose image vectors were read, by either method
	via  string   // the method that read them
	err  error
}

func (a *imageReaderAssigner) Assign(ctx context.Context, ps []catalog.Product, tv [][]float32) ([][]store.Attribute, error) {
	return make([][]store.Attribute, len(ps)), nil
}

func (a *imageReaderAssigner) EmbedProducts(ctx context.Context, ps []catalog.Product, tv [][]float32) ([][]float32, error) {
	out := make([][]float32, len(ps))
	for i := range out {
		out[i] = []float32{0.5, 0.5}
	}
	return out, nil
}

func (a *imageReaderAssigner) AssignVectors(vecs [][]float32, hasText []bool) [][]store.Attribute {
	return make([][]store.Attribute, len(vecs))
}

func (a *imageReaderAssigner) ProductDim() int      { return 2 }
func (a *imageReaderAssigner) ImageVersion() string { return "test" }
func (a *imageReaderAssigner) ImageDim() int        { return 2 }

func (a *imageReaderAssigner) ImageVectors(ctx context.Context, ps []catalog.Product, pvecs [][]float32) ([][]float32, error) {
	if a.err != nil {
		return nil, a.err
	}
	a.via = "ImageVectors"
	out := make([][]float32, len(ps))
	for i, p := range ps {
		if len(pvecs[i]) != 2 || pvecs[i][0] != 0.5 {
			return nil, errors.New("not given the product vector")
		}
		out[i] = a.read(p.ID)
	}
	return out, nil
}

func (a *imageReaderAssigner) EmbedImages(ctx context.Context, ps []catalog.Product, tv [][]float32) ([][]float32, [][]float32, error) {
	if a.err != nil {
		return nil, nil, a.err
	}
	a.via = "EmbedImages"
	pvecs, _ := a.EmbedProducts(ctx, ps, tv)
	ivecs := make([][]float32, len(ps))
	for i, p := range ps {
		if tv[i] == nil {
			ivecs[i] = a.read(p.ID)
		}
	}
	return pvecs, ivecs, nil
}

// read is the image vector of the product id.
func (a *imageReaderAssigner) read(id string) []float32 {
	a.seen = append(a.seen, id)
	if id[0] == 'g' {
		return []float32{0, 1}
	}
	return []float32{1, 0}
}

// TestAssignImageReader checks that the image-only classifier reads the
// assigner's image vectors of the products without text, and only those:
// with the product vectors (EmbedImages), or after them when they were
// precomputed (ImageVectors); and that their error stops the batch.
func TestAssignImageReader(t *testing.T) {
	colours, clf := trainImageClassifier(t)
	var batch []catalog.Product
	for _, id := range []string{"green-titled", "green-1", "red-1"} {
		var buf bytes.Buffer
		name, _, _ := strings.Cut(id, "-")
		if err := png.Encode(&buf, square(colours[name])); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, catalog.Product{ID: id, Image: buf.Bytes()})
	}
	feats, err := pixelcolor.FeaturesOf(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"a green shirt", "", ""}
	vecs := [][]float32{{1}, nil, nil}
	precomputed := [][]float32{{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}}
	for _, tt := range []struct {
		name  string
		pvecs [][]float32
		via   string
	}{
		{"embedded", nil, "EmbedImages"},
		{"precomputed", precomputed, "ImageVectors"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asg := &imageReaderAssigner{}
			ix := &Indexer{opts: Options{PixelImage: clf, Assigner: asg}}
			its := make([]item, len(batch))
			if _, err := ix.assign(context.Background(), batch, texts, vecs, tt.pvecs, feats, its); err != nil {
				t.Fatal(err)
			}
			if asg.via != tt.via {
				t.Errorf("image vectors read by %q, want %q", asg.via, tt.via)
			}
			if len(asg.seen) != 2 || asg.seen[0] != "green-1" || asg.seen[1] != "red-1" {
				t.Errorf("image vectors read for %v, want the two products without text", asg.seen)
			}
			if len(its[0].model) != 0 {
				t.Errorf("the product with a title got image-only colours: %+v", its[0].model)
			}
			for i, want := range []string{"", "green", "red"} {
				if want == "" {
					continue
				}
				if len(its[i].model) == 0 || its[i].model[0].Value != want || its[i].model[0].Source != pixelcolor.Source {
					t.Errorf("%s: %+v, want %s from the image-only classifier first", batch[i].ID, its[i].model, want)
				}
			}
			asg.err = errors.New("boom")
			if _, err := ix.assign(context.Background(), batch, texts, vecs, tt.pvecs, feats, make([]item, len(batch))); err == nil || !errors.Is(err, asg.err) {
				t.Errorf("the reader's error: %v", err)
			}
		})
	}
}
