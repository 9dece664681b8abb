//go:build unix

package store

import (
	"os"
	"syscall"
)

// canMap reports whether this platform maps store files.
const canMap = true

// mapFile maps the first size bytes of f read-only. The caller has checked
// that the file is that long, so that no page of the mapping lies past its
// end (which would fault on access).
func mapFile(f *os.File, size int64) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
}

// unmapFile releases a mapping made by mapFile.
func unmapFile(b []byte) error { return syscall.Munmap(b) }
