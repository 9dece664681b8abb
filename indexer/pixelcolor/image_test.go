package pixelcolor

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// imageExamples pairs synthetic images with a 4-value "product vector"
// that names their colour, as a well-trained encoder's would.
func imageExamples(n int, seed uint64) []Example {
	var out []Example
	for _, e := range synthetic(n, seed) {
		vec := make([]float32, 4)
		vec[slices.Index([]string{"black", "green", "navy blue", "red"}, e.Label)] = 1
		out = append(out, Example{X: ImageInput(vec, e.X), Label: e.Label})
	}
	return out
}

func TestImageClassifier(t *testing.T) {
	opt := TrainOptions{Hidden: 16, MinN: 5, Epochs: 60, Patience: 10, Batch: 16, LR: 3e-3, Seed: 3}
	c, rep, err := Train(imageExamples(40, 6), imageExamples(10, 7), opt)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "" {
		t.Errorf("version %q of a classifier over other features, want none", c.Version)
	}
	if rep.ValAccuracy < 0.9 {
		t.Errorf("validation accuracy %v with the colour in the vector (%+v)", rep.ValAccuracy, rep)
	}
	c.Version = ImageVersion("m1")
	x, _ := Features(studio(60, 80, white, green, red))
	gs := c.ReadImage([]float32{0, 1, 0, 0}, x, 3)
	if len(gs) == 0 || gs[0].Value != "green" {
		t.Errorf("ReadImage = %+v, want green first", gs)
	}
	if gs := c.ReadImage(nil, x, 3); gs != nil {
		t.Errorf("no vector: %+v", gs)
	}
	if gs := c.ReadImage([]float32{0, 1, 0, 0}, nil, 3); gs != nil {
		t.Errorf("no features: %+v", gs)
	}
	b, _ := json.Marshal(c)
	if _, err := ParseClassifierOf(b, ImageVersion("m1"), 4+NumFeatures); err != nil {
		t.Error(err)
	}
	for _, tt := range []struct {
		name    string
		version string
		nf      int
	}{{"another encoder", ImageVersion("m2"), 4 + NumFeatures}, {"another size", ImageVersion("m1"), 5 + NumFeatures}, {"pixels only", FeatureVersion, NumFeatures}} {
		if _, err := ParseClassifierOf(b, tt.version, tt.nf); err == nil {
			t.Errorf("%s: parsed", tt.name)
		}
	}
}

func TestImageInput(t *testing.T) {
	got := ImageInput([]float32{1, 2}, []float32{3})
	if !slices.Equal(got, []float32{1, 2, 3}) {
		t.Errorf("ImageInput = %v", got)
	}
}

func TestTop(t *testing.T) {
	c, _ := trainedSynthetic()
	x, _ := Features(studio(60, 80, white, red, navy))
	all := c.Top(x, 10, 0)
	if len(all) != len(c.Classes) {
		t.Fatalf("Top(10, 0) = %d guesses, want %d", len(all), len(c.Classes))
	}
	sum := 0.0
	for i, g := range all {
		sum += g.Score
		if i > 0 && g.Score > all[i-1].Score {
			t.Errorf("not sorted: %+v", all)
		}
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("probabilities sum to %v", sum)
	}
	if got := c.Top(x, 3, 1.1); len(got) != 1 || got[0] != all[0] {
		t.Errorf("Top(3, 1.1) = %+v, want the first alone", got)
	}
	if got := c.Top(x, 0, 0); got != nil {
		t.Errorf("Top(0) = %+v", got)
	}
}

func TestShippedImageClassifier(t *testing.T) {
	var c Classifier
	if err := json.Unmarshal(imageClassifierJSON, &c); err != nil {
		t.Fatal(err)
	}
	model, ok := strings.CutPrefix(c.Version, ImageVersion(""))
	if !ok || model == "" {
		t.Fatalf("version %q does not name the pixel features and an encoder", c.Version)
	}
	dim := len(c.Mean) - NumFeatures
	if dim <= 0 {
		t.Fatalf("%d inputs, fewer than the pixel features", len(c.Mean))
	}
	if _, err := DefaultImageClassifier(model, dim); err != nil {
		t.Error(err)
	}
	if _, err := DefaultImageClassifier(model+"x", dim); err == nil {
		t.Error("another encoder's version accepted")
	}
}
