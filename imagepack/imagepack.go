// Package imagepack stores a generation's product images in one file, so
// that an index does not depend on the catalog staying where it was and the
// server reads any image with one positioned read.
//
// Layout: the images back to back, then a JSON index {id: [offset, length,
// format]}, then an 8-byte little-endian length of that index and the magic
// "LNDRIMG1". A file without the trailer is torn and refused.
package imagepack

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"lander/datadir"
)

const magic = "LNDRIMG1"

type entry struct {
	Off    int64  `json:"o"`
	Len    int64  `json:"l"`
	Format string `json:"f"`
}

// Writer appends images to a pack file.
type Writer struct {
	f     *datadir.AtomicFile
	w     *bufio.Writer
	off   int64
	index map[string]entry
}

// Create starts a pack at path. The pack is written under a temporary name
// beside path and published by Close (synced, renamed over path, folder
// synced), so that path holds a whole pack or none.
func Create(path string) (*Writer, error) {
	f, err := datadir.CreateAtomic(path)
	if err != nil {
		return nil, fmt.Errorf("create image pack: %w", err)
	}
	return &Writer{f: f, w: bufio.NewWriterSize(f, 1<<20), index: map[string]entry{}}, nil
}

// Add stores the image of id; a later Add of the same id replaces it.
func (w *Writer) Add(id, format string, data []byte) error {
	if _, err := w.w.Write(data); err != nil {
		return fmt.Errorf("add image %s: %w", id, err)
	}
	w.index[id] = entry{Off: w.off, Len: int64(len(data)), Format: format}
	w.off += int64(len(data))
	return nil
}

// Len returns the number of images added.
func (w *Writer) Len() int { return len(w.index) }

// Close writes the index and trailer, syncs the file and publishes it at
// its path.
func (w *Writer) Close() error {
	idx, err := json.Marshal(w.index)
	if err == nil {
		_, err = w.w.Write(idx)
	}
	if err == nil {
		var tail [16]byte
		binary.LittleEndian.PutUint64(tail[:8], uint64(len(idx)))
		copy(tail[8:], magic)
		_, err = w.w.Write(tail[:])
	}
	if err == nil {
		err = w.w.Flush()
	}
	if err != nil {
		w.f.Abort()
		return fmt.Errorf("close image pack: %w", err)
	}
	if err := w.f.Commit(); err != nil {
		return fmt.Errorf("close image pack: %w", err)
	}
	return nil
}

// Abort discards the unfinished pack: nothing is published at its path.
func (w *Writer) Abort() { w.f.Abort() }

// Pack reads images from a pack file. It is safe for concurrent use.
type Pack struct {
	f     *os.File
	index map[string]entry
}

// ErrTorn reports a pack without a valid trailer.
var ErrTorn = errors.New("image pack is torn or not a pack")

// Open opens the pack at path and loads its index.
func Open(path string) (*Pack, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image pack: %w", err)
	}
	p, err := load(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open image pack %s: %w", path, err)
	}
	return p, nil
}

func load(f *os.File) (*Pack, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < 16 {
		return nil, ErrTorn
	}
	var tail [16]byte
	if _, err := f.ReadAt(tail[:], st.Size()-16); err != nil {
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint64(tail[:8]))
	if string(tail[8:]) != magic || n < 0 || n > st.Size()-16 {
		return nil, ErrTorn
	}
	idx := make([]byte, n)
	if _, err := f.ReadAt(idx, st.Size()-16-n); err != nil {
		return nil, err
	}
	p := &Pack{f: f}
	if err := json.Unmarshal(idx, &p.index); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTorn, err)
	}
	limit := st.Size() - 16 - n
	for id, e := range p.index {
		if e.Off < 0 || e.Len < 0 || e.Off+e.Len > limit {
			return nil, fmt.Errorf("%w: entry %q out of range", ErrTorn, id)
		}
	}
	return p, nil
}

// Get returns the image of id and its format ("jpeg", "png"), or false.
func (p *Pack) Get(id string) ([]byte, string, bool, error) {
	e, ok := p.index[id]
	if !ok {
		return nil, "", false, nil
	}
	b := make([]byte, e.Len)
	if _, err := p.f.ReadAt(b, e.Off); err != nil && !errors.Is(err, io.EOF) {
		return nil, "", false, fmt.Errorf("read image %s: %w", id, err)
	}
	return b, e.Format, true, nil
}

// Len returns the number of images.
func (p *Pack) Len() int { return len(p.index) }

// Close closes the file.
func (p *Pack) Close() error { return p.f.Close() }
