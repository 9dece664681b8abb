package store

import "math"

// quantize writes the int8 scalar quantisation of v into codes and returns
// its scale: v[i] is about codes[i] * scale, with the largest |v[i]| mapped to
// 127. A per-row scale keeps the error of each row proportional to its own
// range.
func quantize(v []float32, codes []int8) float32 {
	var mx float32
	for _, x := range v {
		mx = max(mx, float32(math.Abs(float64(x))))
	}
	if mx == 0 {
		clear(codes[:len(v)])
		return 0
	}
	inv := 127 / mx
	for i, x := range v {
		codes[i] = int8(math.Round(float64(x * inv)))
	}
	return mx / 127
}

// dotRowsI8Generic is dotRowsI8 in portable Go.
func dotRowsI8Generic(q []float32, codes []int8, rows []uint32, out []float32) {
	d := len(q)
	for i, r := range rows {
		c := codes[int(r)*d : int(r+1)*d]
		var s float32
		for j, x := range q {
			s += x * float32(c[j])
		}
		out[i] = s
	}
}

// scorer scores rows against a query: exactly from their float32 vectors, or,
// when codes is set, approximately from their int8 codes and scales.
type scorer struct {
	vecs   []float32
	codes  []int8
	scales []float32
}

// score sets out[i] to the score of rows[i].
func (s scorer) score(q []float32, rows []uint32, out []float32) {
	if s.codes == nil {
		dotRows(q, s.vecs, rows, out)
		return
	}
	dotRowsI8(q, s.codes, rows, out)
	for i, r := range rows {
		out[i] *= s.scales[r]
	}
}
