package store

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 64, 100, 384, 385} {
		a, b := make([]float32, n), make([]float32, n)
		var want float64
		for i := range a {
			a[i], b[i] = r.Float32()*2-1, r.Float32()*2-1
			want += float64(a[i]) * float64(b[i])
		}
		for name, got := range map[string]float32{"dot": dot(a, b), "generic": dotGeneric(a, b)} {
			if math.Abs(float64(got)-want) > 1e-4 {
				t.Errorf("%s n=%d: %v, want %v", name, n, got, want)
			}
		}
	}
}

func BenchmarkDot384(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, y := make([]float32, 384), make([]float32, 384)
	for i := range x {
		x[i], y[i] = r.Float32(), r.Float32()
	}
	b.Run("dot", func(b *testing.B) {
		for b.Loop() {
			dot(x, y)
		}
	})
	b.Run("generic", func(b *testing.B) {
		for b.Loop() {
			dotGeneric(x, y)
		}
	})
}

func TestDotRows(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, dim := range []int{1, 31, 32, 64, 384, 385} {
		vecs := make([]float32, 50*dim)
		for i := range vecs {
			vecs[i] = r.Float32()*2 - 1
		}
		q := vecs[7*dim : 8*dim]
		for _, rows := range [][]uint32{nil, {3}, {49, 0, 7, 7, 12, 3, 48, 1, 2}, {5, 4, 3, 2, 1, 0}} {
			got := make([]float32, len(rows))
			dotRows(q, vecs, rows, got)
			for i, row := range rows {
				want := dotGeneric(q, vecs[int(row)*dim:int(row+1)*dim])
				if math.Abs(float64(got[i]-want)) > 1e-4 {
					t.Errorf("dim %d rows %v: row %d scored %v, want %v", dim, rows, row, got[i], want)
				}
			}
		}
	}
}

// BenchmarkDotRows scores 10k scattered rows of a 100k × 384 slab, the
// exact scan of a 10% filter, one row at a time and in batches.
func BenchmarkDotRows(b *testing.B) {
	const n, dim = 100000, 384
	r := rand.New(rand.NewPCG(3, 3))
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = r.Float32()
	}
	var rows []uint32
	for i := range n {
		if r.IntN(10) == 0 {
			rows = append(rows, uint32(i))
		}
	}
	q := vecs[:dim]
	out := make([]float32, len(rows))
	b.Run("single", func(b *testing.B) {
		for b.Loop() {
			for i, row := range rows {
				out[i] = dot(q, vecs[int(row)*dim:int(row+1)*dim])
			}
		}
	})
	b.Run("batched", func(b *testing.B) {
		for b.Loop() {
			dotRows(q, vecs, rows, out)
		}
	})
	codes := make([]int8, n*dim)
	for row := range n {
		quantize(vecs[row*dim:(row+1)*dim], codes[row*dim:(row+1)*dim])
	}
	b.Run("int8", func(b *testing.B) {
		for b.Loop() {
			dotRowsI8(q, codes, rows, out)
		}
	})
}

func TestDotRowsI8(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, dim := range []int{1, 32, 384, 385} {
		const n = 40
		vecs := make([]float32, n*dim)
		for i := range vecs {
			vecs[i] = r.Float32()*2 - 1
		}
		codes := make([]int8, n*dim)
		scales := make([]float32, n)
		for row := range n {
			scales[row] = quantize(vecs[row*dim:(row+1)*dim], codes[row*dim:(row+1)*dim])
		}
		q := vecs[:dim]
		rows := []uint32{39, 0, 5, 5, 17, 2, 3, 4, 1, 30}
		got := make([]float32, len(rows))
		dotRowsI8(q, codes, rows, got)
		for i, row := range rows {
			// The kernel against the portable code, and the scaled score
			// against the exact one, within the quantisation error.
			want := make([]float32, 1)
			dotRowsI8Generic(q, codes, []uint32{row}, want)
			if math.Abs(float64(got[i]-want[0])) > 1e-3*math.Abs(float64(want[0]))+1e-3 {
				t.Errorf("dim %d row %d: kernel %v, generic %v", dim, row, got[i], want[0])
			}
			exact := dotGeneric(q, vecs[int(row)*dim:int(row+1)*dim])
			if e := math.Abs(float64(got[i]*scales[row] - exact)); e > 0.01*math.Sqrt(float64(dim)) {
				t.Errorf("dim %d row %d: quantised score %v, exact %v", dim, row, got[i]*scales[row], exact)
			}
		}
	}
}
