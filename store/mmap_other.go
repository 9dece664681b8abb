//go:build !unix

package store

import (
	"errors"
	"os"
)

// canMap reports whether this platform maps store files.
const canMap = false

func mapFile(*os.File, int64) ([]byte, error) {
	return nil, errors.New("mapping files is not supported here")
}

func unmapFile([]byte) error { return nil }
