package pixelcolor

import (
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"sort"
)

// Classifier reads a colour value from a feature vector (Features): a
// softmax MLP with one ReLU hidden layer over standardised features.
type Classifier struct {
	// Version is the feature layout it reads (FeatureVersion).
	Version string `json:"version"`
	// Trained describes the data and settings it was trained with.
	Trained string `json:"trained,omitempty"`
	// Classes are the colour values, Counts their training examples.
	Classes []string `json:"classes"`
	Counts  []int    `json:"counts,omitempty"`
	Hidden  int      `json:"hidden"`
	// Mean and Scale standardise each feature: (x - Mean) / Scale.
	Mean  Floats `json:"mean"`
	Scale Floats `json:"scale"`
	// W1 is Hidden × NumFeatures (row-major), B1 Hidden, W2
	// len(Classes) × Hidden, B2 len(Classes).
	W1 Floats `json:"w1"`
	B1 Floats `json:"b1"`
	W2 Floats `json:"w2"`
	B2 Floats `json:"b2"`
}

// Floats is a float32 vector that JSON holds as base64 of its
// little-endian bytes: exact and a third of the size of decimal text.
type Floats []float32

// MarshalJSON encodes f as a base64 string.
func (f Floats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 4*len(f))
	for i, x := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON decodes a base64 string of little-endian float32s.
func (f *Floats) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	if len(b)%4 != 0 {
		return errors.New("float vector length is not a multiple of 4 bytes")
	}
	out := make(Floats, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	*f = out
	return nil
}

// Guess is a colour value read from pixels with its score: the
// classifier's probability of that value.
type Guess struct {
	Value string
	Score float64
}

// Probabilities returns the probability of each class for feature
// vector x; nil when x is not of the classifier's length (or it has no
// classes).
func (c *Classifier) Probabilities(x []float32) []float64 {
	if c == nil || len(c.Classes) == 0 || len(x) != len(c.Mean) || len(c.Mean) == 0 {
		return nil
	}
	nf := len(c.Mean)
	h := make([]float64, c.Hidden)
	xs := make([]float64, nf)
	for i := range xs {
		xs[i] = (float64(x[i]) - float64(c.Mean[i])) / float64(c.Scale[i])
	}
	p := make([]float64, len(c.Classes))
	mlp(xs, c.W1, c.B1, c.W2, c.B2, h, p)
	return p
}

// mlp sets p to the class probabilities of the network with weights w1,
// b1, w2, b2 (laid out as in Classifier) for standardised features x,
// using h for the hidden layer. Training (float64 weights) and reading
// (float32) share it, so that both compute the same function.
func mlp[T float32 | float64](x []float64, w1, b1, w2, b2 []T, h, p []float64) {
	nf, nh := len(x), len(h)
	for j := range h {
		row := w1[j*nf : (j+1)*nf]
		s := float64(b1[j])
		for i, w := range row {
			s += float64(w) * x[i]
		}
		h[j] = max(0, s)
	}
	for o := range p {
		row := w2[o*nh : (o+1)*nh]
		s := float64(b2[o])
		for j, w := range row {
			s += float64(w) * h[j]
		}
		p[o] = s
	}
	softmax(p)
}

// softmax turns logits into probabilities in place.
func softmax(z []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	sum := 0.0
	for i, v := range z {
		z[i] = math.Exp(v - m)
		sum += z[i]
	}
	for i := range z {
		z[i] /= sum
	}
}

// Classify returns the most probable colour of feature vector x.
func (c *Classifier) Classify(x []float32) (Guess, bool) {
	if c == nil || len(c.Classes) == 0 || len(x) != len(c.Mean) {
		return Guess{}, false
	}
	p := c.Probabilities(x)
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return Guess{Value: c.Classes[best], Score: p[best]}, true
}

// Top returns up to n colours of feature vector x, most probable first,
// each with a probability of at least minP (the first one always).
func (c *Classifier) Top(x []float32, n int, minP float64) []Guess {
	if c == nil || len(c.Classes) == 0 || len(x) != len(c.Mean) || n < 1 {
		return nil
	}
	return top(c.Classes, c.Probabilities(x), n, minP)
}

// Guesses is Top for probabilities p that Probabilities already gave, so
// that a caller keeping them runs the classifier once; nil when p is not
// one per class.
func (c *Classifier) Guesses(p []float64, n int, minP float64) []Guess {
	if c == nil || len(p) != len(c.Classes) || len(p) == 0 {
		return nil
	}
	return top(c.Classes, p, n, minP)
}

// top returns up to n of classes by their probabilities p, most probable
// first, each with a probability of at least minP (the first one always).
func top(classes []string, p []float64, n int, minP float64) []Guess {
	if n < 1 {
		return nil
	}
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return p[idx[i]] > p[idx[j]] })
	var out []Guess
	for r, i := range idx[:min(n, len(idx))] {
		if r > 0 && p[i] < minP {
			break
		}
		out = append(out, Guess{Value: classes[i], Score: p[i]})
	}
	return out
}

// Read returns the colour of img's foreground.
func (c *Classifier) Read(img image.Image) (Guess, bool) {
	x, ok := Features(img)
	if !ok {
		return Guess{}, false
	}
	return c.Classify(x)
}

// validate checks that c reads feature vectors of version and length nf
// and the shapes of its parameters.
func (c *Classifier) validate(version string, nf int) error {
	nc, nh := len(c.Classes), c.Hidden
	switch {
	case c.Version != version:
		return fmt.Errorf("feature version %q, want %q", c.Version, version)
	case nc == 0 || nh <= 0:
		return errors.New("no classes or no hidden units")
	case len(c.Mean) != nf || len(c.Scale) != nf:
		return fmt.Errorf("%d means and %d scales, want %d", len(c.Mean), len(c.Scale), nf)
	case len(c.W1) != nh*nf || len(c.B1) != nh || len(c.W2) != nc*nh || len(c.B2) != nc:
		return errors.New("weights do not match the classes and hidden units")
	}
	for _, s := range c.Scale {
		if !(s > 0) {
			return errors.New("a feature scale is not positive")
		}
	}
	return nil
}

//go:embed classifier.json
var classifierJSON []byte

// DefaultClassifier returns the classifier trained on the development
// catalogue (lander eval attributes --fit), shipped with the code.
func DefaultClassifier() (*Classifier, error) {
	return ParseClassifier(classifierJSON)
}

// ParseClassifier reads a pixel colour classifier file's content.
func ParseClassifier(b []byte) (*Classifier, error) {
	var c Classifier
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse classifier: %w", err)
	}
	if err := c.validate(FeatureVersion, NumFeatures); err != nil {
		return nil, fmt.Errorf("parse classifier: %w", err)
	}
	return &c, nil
}

// Shipped is DefaultClassifier for data that is part of the binary: it
// panics when the shipped file does not parse, which the package's tests
// rule out.
func Shipped() *Classifier {
	c, err := DefaultClassifier()
	if err != nil {
		panic(err)
	}
	return c
}
