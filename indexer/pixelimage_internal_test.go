package indexer

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"strings"
	"testing"

	"lander/catalog"
	"lander/indexer/arbitrate"
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

// TestImageColour checks that the colour net's colours replace the pixel
// classifier's in the evidence of a product known by its image alone,
// and that no colours keep the evidence as it is.
func TestImageColour(t *testing.T) {
	evidence := []extract.Attr{
		{Key: "color", Value: "red", Source: pixelcolor.Source, Confidence: 0.6},
		{Key: "pattern", Value: "solid", Source: "vlm", Confidence: 0.9},
	}
	got := imageColour([]pixelcolor.Guess{{Value: "green", Score: 0.8}}, evidence)
	want := []extract.Attr{evidence[1], {Key: "color", Value: "green", Source: pixelcolor.Source, Confidence: 0.8}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("imageColour = %+v, want %+v", got, want)
	}
	if got := imageColour(nil, evidence); len(got) != 2 || got[0] != evidence[0] || got[1] != evidence[1] {
		t.Errorf("no colours: %+v, want the evidence as it was", got)
	}
}

// imageReaderAssigner is a ProductEmbedder and ImageReader whose colour
// net reads the colour named by the product's id ("red-…" or "green-…").
type imageReaderAssigner struct {
	colours []string
	seen    []string // the ids whose colours were read, by either method
	via     string   // the method that read them
	err     error
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

func (a *imageReaderAssigner) ProductDim() int        { return 2 }
func (a *imageReaderAssigner) ImageColours() []string { return a.colours }

func (a *imageReaderAssigner) ImageLogProbs(ctx context.Context, ps []catalog.Product) ([][]float32, error) {
	if a.err != nil {
		return nil, a.err
	}
	a.via = "ImageLogProbs"
	out := make([][]float32, len(ps))
	for i, p := range ps {
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
	lps := make([][]float32, len(ps))
	for i, p := range ps {
		if tv[i] == nil {
			lps[i] = a.read(p.ID)
		}
	}
	return pvecs, lps, nil
}

// read is the log-probabilities of the product id: 0.9 for the colour it
// names.
func (a *imageReaderAssigner) read(id string) []float32 {
	a.seen = append(a.seen, id)
	name, _, _ := strings.Cut(id, "-")
	out := make([]float32, len(a.colours))
	for i, c := range a.colours {
		p := 0.1 / float64(len(a.colours)-1)
		if c == name {
			p = 0.9
		}
		out[i] = float32(math.Log(p))
	}
	return out
}

// TestAssignImageReader checks that the colour net reads the products
// without text, and only those, even where the pixel classifier sees no
// foreground (the net reads a white product on white): with the
// product vectors (EmbedImages), or after them when they were
// precomputed (ImageLogProbs); that their colour replaces the pixel
// classifier's; that an assigner reading no colours leaves the evidence
// alone; and that the reader's error stops the batch.
func TestAssignImageReader(t *testing.T) {
	colours := map[string]color.RGBA{"red": {200, 20, 30, 255}, "green": {30, 140, 50, 255}}
	var batch []catalog.Product
	for _, id := range []string{"green-titled", "green-1", "red-1", "red-blank"} {
		var buf bytes.Buffer
		name, _, _ := strings.Cut(id, "-")
		img := square(colours[name])
		if id == "red-blank" {
			img = square(color.RGBA{250, 250, 250, 255}) // no foreground
		}
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, catalog.Product{ID: id, Image: buf.Bytes()})
	}
	if feats, _ := pixelcolor.FeaturesOf(context.Background(), batch[3:]); feats[0] != nil {
		t.Fatal("the blank image shows the pixel classifier a foreground")
	}
	texts := []string{"a green shirt", "", "", ""}
	vecs := [][]float32{{1}, nil, nil, nil}
	precomputed := [][]float32{{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}}
	for _, tt := range []struct {
		name    string
		colours []string
		pvecs   [][]float32
		via     string
		seen    string // the products whose colours are read
	}{
		{"embedded", []string{"black", "green", "red"}, nil, "EmbedImages", "green-1 red-1 red-blank"},
		{"precomputed", []string{"black", "green", "red"}, precomputed, "ImageLogProbs", "green-1 red-1 red-blank"},
		{"no colour net", nil, nil, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asg := &imageReaderAssigner{colours: tt.colours}
			ix := &Indexer{opts: Options{Assigner: asg}}
			its := make([]item, len(batch))
			pixel := extract.Attr{Key: "color", Value: "black", Source: pixelcolor.Source, Confidence: 0.5}
			for i := range its {
				its[i].model = []extract.Attr{pixel}
			}
			if _, err := ix.assign(context.Background(), batch, texts, vecs, tt.pvecs, its); err != nil {
				t.Fatal(err)
			}
			if asg.via != tt.via {
				t.Errorf("colours read by %q, want %q", asg.via, tt.via)
			}
			if got := strings.Join(asg.seen, " "); got != tt.seen {
				t.Errorf("colours read for %q, want %q", got, tt.seen)
			}
			want := map[string]string{"green-titled": "black", "green-1": "green", "red-1": "red", "red-blank": "red"}
			if tt.colours == nil {
				want = map[string]string{"green-titled": "black", "green-1": "black", "red-1": "black", "red-blank": "black"}
			}
			for i, p := range batch {
				m := its[i].model
				if len(m) == 0 || m[0].Source != pixelcolor.Source || m[0].Value != want[p.ID] {
					t.Errorf("%s: %+v, want %s first", p.ID, m, want[p.ID])
				}
			}
			if tt.colours == nil {
				return
			}
			asg.err = errors.New("boom")
			if _, err := ix.assign(context.Background(), batch, texts, vecs, tt.pvecs, make([]item, len(batch))); err == nil || !errors.Is(err, asg.err) {
				t.Errorf("the reader's error: %v", err)
			}
		})
	}
}

// versionedAssigner is an Assigner whose scores are those of model.
type versionedAssigner struct {
	imageReaderAssigner
	model string
}

func (a *versionedAssigner) EvidenceVersion() string { return a.model }

// TestCalibrationModelWarning checks that an indexer warns when the
// arbitration was calibrated on another model's scores, and only then.
func TestCalibrationModelWarning(t *testing.T) {
	for _, tt := range []struct {
		name, calibrated, model string
		warn                    bool
	}{
		{"same model", "dual-v1+colour-v4", "dual-v1+colour-v4", false},
		{"another colour net", "dual-v1+colour-v4", "dual-v1+colour-v5", true},
		{"not recorded", "", "dual-v1+colour-v4", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			Options{
				Assigner: &versionedAssigner{model: tt.model},
				Arbiter:  arbitrate.New(&arbitrate.Calibration{Model: tt.calibrated}, nil, nil),
				Logger:   slog.New(slog.NewTextHandler(&buf, nil)),
			}.withDefaults()
			if got := strings.Contains(buf.String(), "calibrated on another model"); got != tt.warn {
				t.Errorf("warned %v, want %v: %q", got, tt.warn, buf.String())
			}
		})
	}
}

// sourceExtractor is an extractor of a given source that finds nothing.
type sourceExtractor string

func (x sourceExtractor) Source() string { return string(x) }

func (x sourceExtractor) Extract(_ context.Context, ps []catalog.Product) ([][]extract.Attr, error) {
	return make([][]extract.Attr, len(ps)), nil
}

// TestVLMCalibrationWarning checks that an indexer with a VLM warns when
// the arbitration has no curve for the VLM's answers, whose stated
// confidences then stand for probabilities, and only then.
func TestVLMCalibrationWarning(t *testing.T) {
	curve := arbitrate.Curve{X: []float64{0.5, 0.9}, Y: []float64{0.3, 0.8}, N: []int{50, 50}}
	for _, tt := range []struct {
		name       string
		extractors []extract.Extractor
		curves     map[string]arbitrate.Curve
		warn       bool
	}{
		{"no VLM", []extract.Extractor{sourceExtractor("other")}, nil, false},
		{"VLM without curves", []extract.Extractor{sourceExtractor(extract.SourceVLM)}, map[string]arbitrate.Curve{"model/color": curve}, true},
		{"VLM with a title curve", []extract.Extractor{sourceExtractor(extract.SourceVLM)}, map[string]arbitrate.Curve{"vlm/color": curve}, false},
		{"VLM with an image-only curve", []extract.Extractor{sourceExtractor(extract.SourceVLM)}, map[string]arbitrate.Curve{"vlm-image/category": curve}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			Options{
				Extractors: tt.extractors,
				Arbiter:    arbitrate.New(&arbitrate.Calibration{Curves: tt.curves}, nil, nil),
				Logger:     slog.New(slog.NewTextHandler(&buf, nil)),
			}.withDefaults()
			if got := strings.Contains(buf.String(), "VLM's answers are not calibrated"); got != tt.warn {
				t.Errorf("warned %v, want %v: %q", got, tt.warn, buf.String())
			}
		})
	}
}

// TestPixelEvidence checks what the pixel classifier reads: every
// product with a foreground without a colour net; with one, the products
// without text also keep its probabilities to pool (pixelsPooled), or are
// not read at all (pixelsSkipped).
func TestPixelEvidence(t *testing.T) {
	var batch []catalog.Product
	for _, id := range []string{"titled-1", "image-only", "titled-2", "image-only-blank"} {
		var buf bytes.Buffer
		img := square(color.RGBA{200, 20, 30, 255})
		if strings.HasSuffix(id, "blank") {
			img = square(color.RGBA{250, 250, 250, 255}) // no foreground
		}
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, catalog.Product{ID: id, Image: buf.Bytes()})
	}
	texts := []string{"a red shirt", "", "a red top", ""}
	clf := pixelcolor.Shipped()
	for _, tt := range []struct {
		name  string
		mode  imagePixels
		want  []bool // pixel evidence per product
		probs []bool // probabilities kept per product
	}{
		{"no colour net", pixelsOnly, []bool{true, true, true, false}, []bool{false, false, false, false}},
		{"pooled", pixelsPooled, []bool{true, true, true, false}, []bool{false, true, false, false}},
		{"net alone", pixelsSkipped, []bool{true, false, true, false}, []bool{false, false, false, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			its := make([]item, len(batch))
			if err := pixelEvidence(context.Background(), clf, tt.mode, batch, texts, its); err != nil {
				t.Fatal(err)
			}
			for i, it := range its {
				got := len(it.model) > 0
				for _, a := range it.model {
					if a.Source != pixelcolor.Source || a.Key != "color" {
						t.Errorf("%s: evidence %+v, want pixel colours only", batch[i].ID, a)
					}
				}
				if got != tt.want[i] {
					t.Errorf("%s: pixel evidence %v, want %v (%+v)", batch[i].ID, got, tt.want[i], it.model)
				}
				if kept := it.pixelProbs != nil; kept != tt.probs[i] || kept && len(it.pixelProbs) != len(clf.Classes) {
					t.Errorf("%s: probabilities %v, want kept %v", batch[i].ID, it.pixelProbs, tt.probs[i])
				}
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pixelEvidence(ctx, clf, pixelsOnly, batch, texts, make([]item, len(batch))); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// TestAssignPoolsPixels checks that the colour of a product without
// text pools the colour net's probabilities with the pixel classifier's
// by the calibration's weight, read with the product vectors or after
// precomputed ones: with weight 0 the net's red, with weight 1 the green
// the pixels are sure of. The probabilities are released once read.
func TestAssignPoolsPixels(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, square(color.RGBA{200, 20, 30, 255})); err != nil {
		t.Fatal(err)
	}
	batch := []catalog.Product{{ID: "red-1", Image: buf.Bytes()}}
	for _, tt := range []struct {
		weight float64
		pvecs  [][]float32
		want   string
	}{{0, nil, "red"}, {1, nil, "green"}, {0, [][]float32{{0.5, 0.5}}, "red"}, {1, [][]float32{{0.5, 0.5}}, "green"}} {
		asg := &imageReaderAssigner{colours: []string{"black", "green", "red"}}
		ix := &Indexer{opts: Options{
			Assigner: asg,
			Pixel:    &pixelcolor.Classifier{Classes: []string{"green", "red"}},
			Arbiter:  arbitrate.New(&arbitrate.Calibration{PixelWeight: tt.weight}, nil, nil),
		}}
		its := []item{{pixelProbs: []float64{0.999, 0.001}}}
		if _, err := ix.assign(context.Background(), batch, []string{""}, [][]float32{nil}, tt.pvecs, its); err != nil {
			t.Fatal(err)
		}
		if m := its[0].model; len(m) == 0 || m[0].Source != pixelcolor.Source || m[0].Value != tt.want {
			t.Errorf("weight %v, via %s: %+v, want %s first", tt.weight, asg.via, m, tt.want)
		}
		if its[0].pixelProbs != nil {
			t.Errorf("weight %v, via %s: probabilities kept after assign", tt.weight, asg.via)
		}
	}
}
