//go:build !amd64

package store

// dot returns the inner product of a and b, which have the same length.
func dot(a, b []float32) float32 { return dotGeneric(a, b) }

// dotRows sets out[i] to the inner product of q with row rows[i] of vecs.
func dotRows(q, vecs []float32, rows []uint32, out []float32) { dotRowsGeneric(q, vecs, rows, out) }

// dotRowsI8 sets out[i] to the inner product of q with the int8 codes of
// row rows[i], unscaled.
func dotRowsI8(q []float32, codes []int8, rows []uint32, out []float32) {
	dotRowsI8Generic(q, codes, rows, out)
}

// prefetchLinks does nothing where there is no prefetch instruction.
func prefetchLinks(l0 []uint32, offs []uint32) {}
