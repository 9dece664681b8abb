// Package similarity measures how alike two embedding vectors are. Curation,
// the query resolver and the embeddings check share it, so they agree on
// the edge cases.
package similarity

import "math"

// Cosine returns the cosine similarity of a and b, computed in float64. It
// is 0 for vectors of different or zero length, for a zero vector, and
// where the result is not a number.
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	s := dot / math.Sqrt(na*nb)
	if math.IsNaN(s) {
		return 0
	}
	return s
}
