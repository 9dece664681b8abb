package similarity

import (
	"math"
	"testing"
)

func TestCosine(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		a, b []float32
		want float64
	}{
		{"same", []float32{1, 2, 3}, []float32{2, 4, 6}, 1},
		{"opposite", []float32{1, 0}, []float32{-3, 0}, -1},
		{"orthogonal", []float32{1, 0}, []float32{0, 5}, 0},
		{"45 degrees", []float32{1, 0}, []float32{1, 1}, 1 / math.Sqrt2},
		{"zero vector", []float32{0, 0}, []float32{1, 1}, 0},
		{"empty", nil, nil, 0},
		{"length mismatch", []float32{1, 2}, []float32{1, 2, 3}, 0},
		{"nan", []float32{nan, 1}, []float32{1, 1}, 0},
		{"inf", []float32{inf, 1}, []float32{inf, 1}, 0},
	} {
		if got := Cosine(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Cosine = %v, want %v", tc.name, got, tc.want)
		}
	}
}
