//go:build !amd64

package store

// dot returns the inner product of a and b, which have the same length.
func dot(a, b []float32) float32 { return dotGeneric(a, b) }

// dotRows sets out[i] to the inner product of q with row rows[i] of vecs.
func dotRows(q, vecs []float32, rows []uint32, out []float32) { dotRowsGeneric(q, vecs, rows, out) }
