package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"lander/eval/labels"
)

// TestFitPixelWeight checks that the pooled weight of the pixel
// classifier grows with what its readings add to the colour net's: next
// to none when they are noise, some when they are right more often than
// not.
func TestFitPixelWeight(t *testing.T) {
	colours := []string{"blue", "red", "green"}
	pixClasses := []string{"green", "red", "blue", "white"}
	build := func(pixelRight float64) ([]evidence, labels.Set) {
		rng := rand.New(rand.NewPCG(7, 9))
		lab := labels.Set{}
		var evs []evidence
		for i := range 600 {
			y := rng.IntN(len(colours))
			id := fmt.Sprint(i)
			lab[id] = labels.New("", map[string]string{"baseColour": colours[y]})
			// The net: right 60% of the time, with probability 0.5.
			guess := y
			if rng.Float64() > 0.6 {
				guess = (y + 1 + rng.IntN(2)) % len(colours)
			}
			lp := make([]float32, len(colours))
			for c := range lp {
				lp[c] = float32(math.Log(0.25))
				if c == guess {
					lp[c] = float32(math.Log(0.5))
				}
			}
			// The pixels: right with probability pixelRight, else a
			// random colour, each time sure at 0.7.
			pc := colours[y]
			if rng.Float64() > pixelRight {
				pc = pixClasses[rng.IntN(len(pixClasses))]
			}
			pix := make([]float64, len(pixClasses))
			for j, c := range pixClasses {
				pix[j] = 0.1
				if c == pc {
					pix[j] = 0.7
				}
			}
			evs = append(evs, evidence{id: id, colours: colours, pixClasses: pixClasses, netLogProbs: lp, pixelProbs: pix})
		}
		return evs, lab
	}
	noise, _, _ := fitPixelWeight(build(0))
	useful, _, loss := fitPixelWeight(build(0.8))
	// Noise can lower a sample's log-loss a little by chance.
	if noise > 0.1 {
		t.Errorf("pixels that are noise: weight %v, want at most 0.1", noise)
	}
	if useful < 0.3 || math.IsNaN(loss) {
		t.Errorf("pixels right 80%% of the time: weight %v (log-loss %v), want at least 0.3", useful, loss)
	}
	evs, lab := build(0.8)
	for i := range evs {
		evs[i].netLogProbs = nil // no colour net
	}
	if w, _, loss := fitPixelWeight(evs, lab); w != 0 || !math.IsNaN(loss) {
		t.Errorf("no colour net: weight %v, log-loss %v, want 0 and NaN", w, loss)
	}
	// poolImageColours reads the pooled colours first: with the useful
	// pixels' weight, more products' first colour is right.
	evs, lab = build(0.8)
	right := func() (n int) {
		for _, e := range evs {
			if len(e.pixelImage) > 0 && lab[e.id].Match("color", e.pixelImage[0].Value) {
				n++
			}
		}
		return n
	}
	poolImageColours(evs, 0)
	alone := right()
	poolImageColours(evs, useful)
	if pooled := right(); pooled <= alone {
		t.Errorf("first colour right for %d pooled, %d with the net alone", pooled, alone)
	}
}

// TestFitPixelWeightScale checks the scale of the log-probabilities: a
// net whose log-probabilities are twice a calibrated reading's is best
// read at half scale. Without pixel readings every weight reads the same,
// and the tie goes to weight 0.
func TestFitPixelWeightScale(t *testing.T) {
	colours := []string{"blue", "red", "green"}
	rng := rand.New(rand.NewPCG(3, 5))
	lab := labels.Set{}
	var evs []evidence
	for i := range 3000 {
		first := rng.IntN(len(colours))
		p := []float64{0.1, 0.1, 0.1}
		p[first], p[(first+1)%3] = 0.6, 0.3
		u, y := rng.Float64(), 0
		for y = range p {
			if u -= p[y]; u < 0 {
				break
			}
		}
		id := fmt.Sprint(i)
		lab[id] = labels.New("", map[string]string{"baseColour": colours[y]})
		lp := make([]float32, len(p))
		for c := range p {
			lp[c] = float32(2 * math.Log(p[c]))
		}
		evs = append(evs, evidence{id: id, colours: colours, netLogProbs: lp})
	}
	w, scale, _ := fitPixelWeight(evs, lab)
	if w != 0 {
		t.Errorf("no pixel readings: weight %v, want 0", w)
	}
	if scale < 0.45 || scale > 0.6 {
		t.Errorf("scale %v, want about 0.5", scale)
	}
}
