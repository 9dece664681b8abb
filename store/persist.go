package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

// FileName is the name of the embedded store's file inside its directory.
const FileName = "products.bin"

// The file is a fixed header followed by a payload:
//
//	magic    [8]byte  "LANDERVS"
//	version  uint32   fileVersion
//	dim      uint32
//	count    uint64   products
//	metaLen  uint64   bytes of gob-encoded metadata
//	crc      uint32   CRC-32C of header bytes 0..31 and the payload
//	reserved uint32
//	payload: metadata (gob fileMeta), then count*dim little-endian float32
//
// All integers are little-endian.
const (
	fileMagic   = "LANDERVS"
	fileVersion = 1
	headerSize  = 40
	crcOffset   = 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileMeta holds everything but the vectors, one entry per product.
type fileMeta struct {
	IDs      []string
	Titles   []string
	Prices   []float64
	HasPrice []bool
	Attrs    [][]Attribute
}

// Save writes the store to dir/products.bin, creating dir if needed. It writes
// a new file next to the old one, syncs it and renames it over the old one, so
// a crash leaves either the old or the new file in place. Readers are not
// blocked while it runs; writers are.
func (e *Embedded) Save(ctx context.Context, dir string) error {
	if err := e.save(ctx, dir); err != nil {
		return fmt.Errorf("save store: %w", err)
	}
	return nil
}

func (e *Embedded) save(ctx context.Context, dir string) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, FileName+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	e.mu.RLock()
	defer e.mu.RUnlock()

	var meta fileMeta
	rows := e.live.ToArray()
	for _, r := range rows {
		meta.IDs = append(meta.IDs, e.ids[r])
		meta.Titles = append(meta.Titles, e.titles[r])
		meta.Prices = append(meta.Prices, e.prices[r])
		meta.HasPrice = append(meta.HasPrice, e.hasPrice.Contains(r))
		meta.Attrs = append(meta.Attrs, e.attrs[r])
	}
	var metaBuf bytes.Buffer
	if err := gob.NewEncoder(&metaBuf).Encode(&meta); err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}

	header := make([]byte, headerSize)
	copy(header, fileMagic)
	binary.LittleEndian.PutUint32(header[8:], fileVersion)
	binary.LittleEndian.PutUint32(header[12:], uint32(e.dim))
	binary.LittleEndian.PutUint64(header[16:], uint64(len(rows)))
	binary.LittleEndian.PutUint64(header[24:], uint64(metaBuf.Len()))

	crc := crc32.New(castagnoli)
	crc.Write(header[:crcOffset])
	if _, err := tmp.Write(header); err != nil {
		return err
	}
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	if _, err := w.Write(metaBuf.Bytes()); err != nil {
		return err
	}
	if err := e.writeVectors(ctx, w, rows); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(header[crcOffset:], crc.Sum32())
	if _, err := tmp.WriteAt(header[crcOffset:crcOffset+4], crcOffset); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, FileName)); err != nil {
		return err
	}
	return syncDir(dir)
}

func (e *Embedded) writeVectors(ctx context.Context, w io.Writer, rows []uint32) error {
	buf := make([]byte, 4*e.dim)
	for i, r := range rows {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for j, v := range e.vecs[int(r)*e.dim : int(r+1)*e.dim] {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OpenEmbedded loads the store that Save wrote to dir. It verifies the file's
// size and checksum and returns an error naming the file when it is torn or
// corrupt. Temporary files left by an interrupted Save are ignored.
func OpenEmbedded(ctx context.Context, dir string) (*Embedded, error) {
	e, err := openEmbedded(ctx, filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return e, nil
}

func openEmbedded(ctx context.Context, path string) (*Embedded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	if len(data) < headerSize {
		return nil, fmt.Errorf("%s is truncated: %d bytes, shorter than its header", name, len(data))
	}
	if string(data[:8]) != fileMagic {
		return nil, fmt.Errorf("%s is not a lander store file", name)
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != fileVersion {
		return nil, fmt.Errorf("%s has unsupported version %d", name, v)
	}
	dim := uint64(binary.LittleEndian.Uint32(data[12:]))
	count := binary.LittleEndian.Uint64(data[16:])
	metaLen := binary.LittleEndian.Uint64(data[24:])
	size := uint64(len(data))
	if dim == 0 || dim > 1<<20 {
		return nil, fmt.Errorf("checksum mismatch in %s: corrupt header", name)
	}
	if count > size || metaLen > size {
		return nil, fmt.Errorf("%s is truncated or its header is corrupt: %d bytes cannot hold %d products", name, size, count)
	}
	if want := headerSize + metaLen + count*dim*4; size != want {
		if size < want {
			return nil, fmt.Errorf("%s is truncated: %d bytes, header promises %d", name, size, want)
		}
		return nil, fmt.Errorf("%s has %d bytes, header promises %d", name, size, want)
	}
	var crc hash.Hash32 = crc32.New(castagnoli)
	crc.Write(data[:crcOffset])
	crc.Write(data[headerSize:])
	if crc.Sum32() != binary.LittleEndian.Uint32(data[crcOffset:]) {
		return nil, fmt.Errorf("checksum mismatch in %s", name)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	payload := data[headerSize:]
	var meta fileMeta
	if err := gob.NewDecoder(bytes.NewReader(payload[:metaLen])).Decode(&meta); err != nil {
		return nil, fmt.Errorf("decode metadata in %s: %w", name, err)
	}
	n := int(count)
	if len(meta.IDs) != n || len(meta.Titles) != n || len(meta.Prices) != n || len(meta.HasPrice) != n || len(meta.Attrs) != n {
		return nil, fmt.Errorf("metadata in %s does not match its %d products", name, n)
	}
	vecs := payload[metaLen:]
	e := NewEmbedded(int(dim))
	e.vecs = make([]float32, 0, n*int(dim))
	vec := make([]float32, dim)
	for i := range n {
		if _, dup := e.byID[meta.IDs[i]]; dup || meta.IDs[i] == "" {
			return nil, errors.New("duplicate or empty id in " + name)
		}
		p := Product{ID: meta.IDs[i], Title: meta.Titles[i], Attributes: meta.Attrs[i]}
		if meta.HasPrice[i] {
			p.Price = &meta.Prices[i]
		}
		for j := range vec {
			vec[j] = math.Float32frombits(binary.LittleEndian.Uint32(vecs[(uint64(i)*dim+uint64(j))*4:]))
		}
		p.Vector = vec
		e.add(p)
	}
	return e, nil
}
