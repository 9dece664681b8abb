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
