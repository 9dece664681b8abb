//go:build !amd64

package store

// dot returns the inner product of a and b, which have the same length.
func dot(a, b []float32) float32 { return dotGeneric(a, b) }
