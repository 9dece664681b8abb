package pixelcolor

import (
	"math"
	"testing"
)

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

func TestNetTop(t *testing.T) {
	classes := []string{"black", "green", "red"}
	lp := func(ps ...float64) []float32 {
		out := make([]float32, len(ps))
		for i, p := range ps {
			out[i] = float32(math.Log(p))
		}
		return out
	}
	for _, tt := range []struct {
		name     string
		logProbs []float32
		n        int
		minP     float64
		want     []string
	}{
		{"most probable first", lp(0.2, 0.7, 0.1), 3, 0, []string{"green", "black", "red"}},
		{"at most n", lp(0.2, 0.7, 0.1), 2, 0, []string{"green", "black"}},
		{"others need minP", lp(0.2, 0.7, 0.1), 3, 0.15, []string{"green", "black"}},
		{"the first always", lp(0.3, 0.4, 0.3), 3, 0.9, []string{"green"}},
		{"n 0", lp(0.2, 0.7, 0.1), 0, 0, nil},
		{"another length", lp(0.5, 0.5), 3, 0, nil},
		{"no row", nil, 3, 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gs := NetTop(classes, tt.logProbs, tt.n, tt.minP)
			var got []string
			for _, g := range gs {
				got = append(got, g.Value)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("NetTop = %+v, want %v", gs, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("NetTop = %+v, want %v", gs, tt.want)
				}
			}
		})
	}
	gs := NetTop(classes, lp(0.2, 0.7, 0.1), 1, 0)
	if math.Abs(gs[0].Score-0.7) > 1e-6 {
		t.Errorf("score %v, want the probability 0.7", gs[0].Score)
	}
}

func TestPool(t *testing.T) {
	classes := []string{"black", "green", "red"}
	net := []float32{float32(math.Log(0.5)), float32(math.Log(0.4)), float32(math.Log(0.1))}
	pixClasses := []string{"red", "green", "white"} // no black; white not the net's
	pix := []float64{0.2, 0.6, 0.2}
	probs := func(lp []float32) []float64 {
		gs := NetTop(classes, lp, 3, 0)
		out := map[string]float64{}
		for _, g := range gs {
			out[g.Value] = g.Score
		}
		return []float64{out["black"], out["green"], out["red"]}
	}
	// q over the net's classes: black floored, green 0.6, red 0.2, all
	// over their sum; pooled: net * q^w, normalised.
	want := func(w float64) []float64 {
		q := []float64{PoolFloor, 0.6, 0.2}
		p := []float64{0.5, 0.4, 0.1}
		sum := 0.0
		for i := range p {
			p[i] *= math.Pow(q[i], w)
			sum += p[i]
		}
		for i := range p {
			p[i] /= sum
		}
		return p
	}
	for _, w := range []float64{0.3, 1} {
		got := probs(Pool(classes, net, pixClasses, pix, w))
		for i, p := range want(w) {
			if math.Abs(got[i]-p) > 1e-5 {
				t.Errorf("w %v: %s %v, want %v", w, classes[i], got[i], p)
			}
		}
	}
	// A colour the classifier knows but gives 0 is floored too, not -Inf.
	zero := Pool(classes, net, pixClasses, []float64{0, 0.8, 0.2}, 1)
	for i, v := range zero {
		if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
			t.Errorf("pixel probability 0: %s pooled to %v", classes[i], v)
		}
	}
	if got := probs(zero); got[2] <= 0 || got[2] > 1e-3 {
		t.Errorf("pixel probability 0: red %v, want floored, small but above 0", got[2])
	}
	// With w 0.3 the pixels' green overtakes the net's black.
	if got := NetTop(classes, Pool(classes, net, pixClasses, pix, 0.3), 1, 0); got[0].Value != "green" {
		t.Errorf("pooled first colour %s, want green", got[0].Value)
	}
	for _, tt := range []struct {
		name string
		pix  []float64
		w    float64
	}{
		{"weight 0", pix, 0},
		{"no pixel reading", nil, 0.3},
		{"another length", []float64{1}, 0.3},
	} {
		if got := Pool(classes, net, pixClasses, tt.pix, tt.w); &got[0] != &net[0] {
			t.Errorf("%s: %v, want the net's row as it is", tt.name, got)
		}
	}
}

// TestProbabilitiesLength checks that a feature vector of another length
// than the classifier's reads as nothing rather than panicking.
func TestProbabilitiesLength(t *testing.T) {
	c, _ := trainedSynthetic()
	if p := c.Probabilities(make([]float32, len(c.Mean)+1)); p != nil {
		t.Errorf("longer vector: %v, want nil", p)
	}
	if p := (&Classifier{Classes: []string{"red"}}).Probabilities([]float32{1}); p != nil {
		t.Errorf("classifier without weights: %v, want nil", p)
	}
	var none *Classifier
	if p := none.Probabilities([]float32{1}); p != nil {
		t.Errorf("nil classifier: %v, want nil", p)
	}
}

// TestGuesses checks that reading kept probabilities gives what Top
// gives from the features, and nothing for probabilities of another
// length.
func TestGuesses(t *testing.T) {
	c, _ := trainedSynthetic()
	x, _ := Features(studio(60, 80, white, red, navy))
	want := c.Top(x, 3, 0.05)
	got := c.Guesses(c.Probabilities(x), 3, 0.05)
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("Guesses = %+v, Top = %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("Guesses = %+v, Top = %+v", got, want)
		}
	}
	if g := c.Guesses([]float64{1}, 3, 0); g != nil {
		t.Errorf("one probability for %d classes: %+v", len(c.Classes), g)
	}
}
