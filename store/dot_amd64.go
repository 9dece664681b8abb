package store

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotAVX2 returns the inner product of the n floats at a and b.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

// dotRowsAVX2 sets out[i] to the inner product of q with row rows[i] of
// base, for i < n; dim is a positive multiple of 32.
//
//go:noescape
func dotRowsAVX2(q, base *float32, rows *uint32, n, dim int, out *float32)

// dotRowsI8AVX2 sets out[i] to the inner product of q with the int8 codes
// of row rows[i], for i < n; dim is a positive multiple of 32.
//
//go:noescape
func dotRowsI8AVX2(q *float32, codes *int8, rows *uint32, n, dim int, out *float32)

// prefetchL0 asks the CPU to fetch the layer-0 links at base[offs[i]], for
// i < n, without waiting for them.
//
//go:noescape
func prefetchL0(base *uint32, offs *uint32, n int)

// prefetchLinks starts loading the links at l0[offs[i]] for every i, so
// that a walk that then reads them one after another waits for memory once
// instead of once per list.
func prefetchLinks(l0 []uint32, offs []uint32) {
	if len(l0) > 0 && len(offs) > 0 {
		prefetchL0(&l0[0], &offs[0], len(offs))
	}
}

// dot returns the inner product of a and b, which have the same length.
func dot(a, b []float32) float32 {
	if hasAVX2 && len(a) > 0 {
		b = b[:len(a)]
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return dotGeneric(a, b)
}

// dotRows sets out[i] to the inner product of q with row rows[i] of vecs,
// whose rows have len(q) values. It scores a batch of scattered rows at
// once, prefetching the next rows while it scores one.
func dotRows(q, vecs []float32, rows []uint32, out []float32) {
	d := len(q)
	if hasAVX2 && d > 0 && d%32 == 0 && len(rows) > 0 {
		out = out[:len(rows)]
		for _, r := range rows {
			_ = vecs[(int(r)+1)*d-1] // bounds: the kernel reads rows unchecked
		}
		dotRowsAVX2(&q[0], &vecs[0], &rows[0], len(rows), d, &out[0])
		return
	}
	dotRowsGeneric(q, vecs, rows, out)
}

// dotRowsI8 sets out[i] to the inner product of q with the int8 codes of
// row rows[i], unscaled (see quantize).
func dotRowsI8(q []float32, codes []int8, rows []uint32, out []float32) {
	d := len(q)
	if hasAVX2 && d > 0 && d%32 == 0 && len(rows) > 0 {
		out = out[:len(rows)]
		for _, r := range rows {
			_ = codes[(int(r)+1)*d-1] // bounds: the kernel reads rows unchecked
		}
		dotRowsI8AVX2(&q[0], &codes[0], &rows[0], len(rows), d, &out[0])
		return
	}
	dotRowsI8Generic(q, codes, rows, out)
}
