package store

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotAVX2 returns the inner product of the n floats at a and b.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

// dot returns the inner product of a and b, which have the same length.
func dot(a, b []float32) float32 {
	if hasAVX2 && len(a) > 0 {
		b = b[:len(a)]
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return dotGeneric(a, b)
}
