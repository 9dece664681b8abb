package arbitrate

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Curve maps a source's raw score to a calibrated probability: a monotone
// step function from isotonic regression, linear between the points.
type Curve struct {
	// X holds increasing raw scores (each block's mean score) and Y the
	// observed precision of each block; N the block sizes.
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
	N []int     `json:"n"`
}

// At returns the calibrated probability of raw score x.
func (c Curve) At(x float64) float64 {
	n := len(c.X)
	switch {
	case math.IsNaN(x):
		return 0 // no evidence
	case n == 0:
		return x
	case x <= c.X[0]:
		return c.Y[0]
	case x >= c.X[n-1]:
		return c.Y[n-1]
	}
	i := sort.SearchFloat64s(c.X, x) // c.X[i-1] < x <= c.X[i]
	t := (x - c.X[i-1]) / (c.X[i] - c.X[i-1])
	return c.Y[i-1] + t*(c.Y[i]-c.Y[i-1])
}

// Observation is one judged value: its raw score and whether it was right.
type Observation struct {
	Score float64
	Right bool
}

// FitIsotonic fits a monotone non-decreasing curve to the observations
// (pool adjacent violators). Blocks smaller than minBlock are pooled with
// their neighbours so that each point rests on enough evidence. An
// observation whose score is NaN carries no evidence (Curve.At reads NaN
// as none) and is skipped.
func FitIsotonic(obs []Observation, minBlock int) Curve {
	o := make([]Observation, 0, len(obs))
	for _, x := range obs {
		if !math.IsNaN(x.Score) {
			o = append(o, x)
		}
	}
	if len(o) == 0 {
		return Curve{}
	}
	sort.SliceStable(o, func(i, j int) bool { return o[i].Score < o[j].Score })
	type block struct {
		sx, sy float64
		n      int
	}
	var bs []block
	for i := 0; i < len(o); {
		// Equal scores form one block: a step function cannot split them.
		b := block{}
		j := i
		for ; j < len(o) && o[j].Score == o[i].Score; j++ {
			b.sx += o[j].Score
			if o[j].Right {
				b.sy++
			}
			b.n++
		}
		i = j
		bs = append(bs, b)
		for len(bs) > 1 {
			a, c := bs[len(bs)-2], bs[len(bs)-1]
			if a.sy/float64(a.n) < c.sy/float64(c.n) && a.n >= minBlock {
				break
			}
			bs = append(bs[:len(bs)-2], block{a.sx + c.sx, a.sy + c.sy, a.n + c.n})
		}
	}
	// A last block too small to stand alone joins its neighbour.
	for len(bs) > 1 && bs[len(bs)-1].n < minBlock {
		a, c := bs[len(bs)-2], bs[len(bs)-1]
		bs = append(bs[:len(bs)-2], block{a.sx + c.sx, a.sy + c.sy, a.n + c.n})
	}
	var cv Curve
	for _, b := range bs {
		cv.X = append(cv.X, b.sx/float64(b.n))
		cv.Y = append(cv.Y, b.sy/float64(b.n))
		cv.N = append(cv.N, b.n)
	}
	return cv
}

// Calibration holds a curve per evidence kind ("model/color",
// "text/category-generic", ...; see Kind).
type Calibration struct {
	// Split names the products the curves were fitted on.
	Split string `json:"split"`
	// Model names the model whose scores the curves were fitted on: the
	// dual encoder and its colour net ("dual-v1+colour-v4"); empty when
	// not recorded.
	Model  string           `json:"model,omitempty"`
	Curves map[string]Curve `json:"curves"`
	// MinP is the combined probability a value needs, per mode and key
	// ("title/color", "image/category"; see Mode): the lowest at which the
	// arbitrated values of the fitting split reach the target precision.
	MinP map[string]float64 `json:"min_p,omitempty"`
	// Target is that precision per mode.
	Target map[string]float64 `json:"target,omitempty"`
	// PixelWeight is the weight of the pixel classifier's
	// log-probabilities pooled with the colour net's for a product known
	// by its image alone (pixelcolor.Pool): the one with the least
	// log-loss on the split, fitted with the curves, which read the
	// pooled colours. 0 reads the net alone.
	PixelWeight float64 `json:"pixel_weight,omitempty"`
}

// P returns the calibrated probability of raw score x for kind; a kind
// without a curve keeps its raw score.
func (c *Calibration) P(kind string, x float64) float64 {
	if c == nil {
		return x
	}
	if cv, ok := c.Curves[kind]; ok {
		return cv.At(x)
	}
	return x
}

//go:embed calibration.json
var calibrationJSON []byte

// DefaultCalibration returns the calibration fitted on the development
// catalogue's validation split with tags withheld (lander eval attributes
// --split validation --fit), shipped with the code.
func DefaultCalibration() (*Calibration, error) {
	return ParseCalibration(calibrationJSON)
}

// ParseCalibration reads a calibration file's content.
func ParseCalibration(b []byte) (*Calibration, error) {
	var c Calibration
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse calibration: %w", err)
	}
	if c.PixelWeight < 0 || c.PixelWeight > 10 || math.IsNaN(c.PixelWeight) {
		return nil, fmt.Errorf("parse calibration: pixel weight %v outside [0, 10]", c.PixelWeight)
	}
	for k, cv := range c.Curves {
		if len(cv.X) != len(cv.Y) || !increasing(cv.X) {
			return nil, fmt.Errorf("parse calibration: curve %s is not increasing in x with one y per x", k)
		}
		for _, y := range cv.Y {
			if y < 0 || y > 1 {
				return nil, fmt.Errorf("parse calibration: curve %s has probability %v outside [0, 1]", k, y)
			}
		}
	}
	return &c, nil
}

// increasing reports whether xs is strictly increasing and finite.
func increasing(xs []float64) bool {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) || i > 0 && x <= xs[i-1] {
			return false
		}
	}
	return true
}
