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
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
)

// FileName is the name of the embedded store's file inside its directory.
const FileName = "products.bin"

// The file is a fixed header followed by a payload. Version 3:
//
//	magic    [8]byte  "LANDERVS"
//	version  uint32   3
//	dim      uint32
//	rows     uint64   rows, deleted ones included (their id is empty)
//	metaLen  uint64   bytes of gob-encoded metadata
//	graphLen uint64   bytes of the graph section; 0 when there is none
//	crc      uint32   CRC-32C of header bytes 0..39 and the payload
//	reserved uint32
//	payload: metadata (gob fileMeta), zero bytes up to the next multiple of
//	         64 bytes from the start of the file, rows*dim float32, then the
//	         graph
//
// The padding aligns the vectors, so that a store opened in the quantised
// mode can map them from the file instead of copying them (see
// OpenEmbeddedWith). Version 2 was version 3 without the padding; version 1
// also had no graphLen (crc at 32, a 40-byte header), only live rows and no
// graph. Both are still read (their vectors are copied to the heap). All
// integers are little-endian. The graph section is (layer 0 always in 2m
// slots per node, free ones zero):
//
//	m, efc   uint32, uint32
//	size     uint64   rows in the graph
//	entry    uint32
//	top      int32    -1 for an empty graph
//	levels   [size]uint8
//	n0       [size]uint8
//	l0       [size*2m]uint32
//	upper    for each row with level > 0, in row order, for each level from 1:
//	         a uint8 count and that many uint32 neighbours
const (
	fileMagic    = "LANDERVS"
	fileVersion  = 3
	vecAlign     = 64
	headerSize   = 48
	crcOffset    = 40
	headerSizeV1 = 40
	crcOffsetV1  = 32
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

// saveHook, when set by a test, is called at each step of a save.
var saveHook func(step string)

func hook(step string) {
	if saveHook != nil {
		saveHook(step)
	}
}

func (e *Embedded) save(ctx context.Context, dir string) (err error) {
	if err := e.Build(ctx); err != nil {
		return err
	}
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
	hook("created")

	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}

	rows := len(e.ids)
	meta := fileMeta{IDs: e.ids, Titles: e.titles, Prices: e.prices, HasPrice: make([]bool, rows), Attrs: e.attrs}
	for r := range rows {
		meta.HasPrice[r] = e.hasPrice.Contains(uint32(r))
	}
	var metaBuf bytes.Buffer
	if err := gob.NewEncoder(&metaBuf).Encode(&meta); err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	var graphLen uint64
	if e.graph != nil {
		graphLen = e.graph.encodedLen()
	}

	header := make([]byte, headerSize)
	copy(header, fileMagic)
	binary.LittleEndian.PutUint32(header[8:], fileVersion)
	binary.LittleEndian.PutUint32(header[12:], uint32(e.dim))
	binary.LittleEndian.PutUint64(header[16:], uint64(rows))
	binary.LittleEndian.PutUint64(header[24:], uint64(metaBuf.Len()))
	binary.LittleEndian.PutUint64(header[32:], graphLen)

	crc := crc32.New(castagnoli)
	crc.Write(header[:crcOffset])
	if _, err := tmp.Write(header); err != nil {
		return err
	}
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	if _, err := w.Write(metaBuf.Bytes()); err != nil {
		return err
	}
	if _, err := w.Write(make([]byte, vecPad(headerSize+uint64(metaBuf.Len())))); err != nil {
		return err
	}
	if err := writeFloats(ctx, w, e.vecs[:rows*e.dim]); err != nil {
		return err
	}
	hook("vectors")
	if e.graph != nil {
		if err := e.graph.encode(ctx, w); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(header[crcOffset:], crc.Sum32())
	if _, err := tmp.WriteAt(header[crcOffset:crcOffset+4], crcOffset); err != nil {
		return err
	}
	hook("written")
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	hook("synced")
	if err := os.Rename(tmp.Name(), filepath.Join(dir, FileName)); err != nil {
		return err
	}
	hook("renamed")
	return syncDir(dir)
}

// writeFloats writes vs little-endian, checking ctx now and then.
func writeFloats(ctx context.Context, w io.Writer, vs []float32) error {
	const chunk = 1 << 16
	buf := make([]byte, 4*chunk)
	for lo := 0; lo < len(vs); lo += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := vs[lo:min(lo+chunk, len(vs))]
		for j, v := range part {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		if _, err := w.Write(buf[:4*len(part)]); err != nil {
			return err
		}
	}
	return nil
}

// vecPad returns the zero bytes that version 3 puts between the metadata,
// which ends at offset end, and the vectors.
func vecPad(end uint64) uint64 { return (vecAlign - end%vecAlign) % vecAlign }

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
	return OpenEmbeddedWith(ctx, dir, Options{})
}

// OpenEmbeddedWith is OpenEmbedded with options. The graph's M and
// EfConstruction come from the file.
//
// With opts.Quantize the store is opened in its memory mode: the float32
// vectors stay in the file, mapped read-only (a file of format version 3
// on a Unix system), and only their int8 codes and scales are on the heap.
// Searches score from the codes and re-rank their candidates exactly from the
// mapped vectors, which the operating system pages in and out. The first
// Upsert (or Grow) copies the vectors to the heap. Close releases the
// mapping; the store answers ErrClosed afterwards.
func OpenEmbeddedWith(ctx context.Context, dir string, opts Options) (*Embedded, error) {
	e, err := openEmbedded(ctx, filepath.Join(dir, FileName), opts)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return e, nil
}

// littleEndian reports whether the CPU stores float32 as the file does.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func openEmbedded(ctx context.Context, path string, opts Options) (e *Embedded, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	// The size comes first: a mapping past the end of the file faults.
	if st.Size() < headerSize {
		return nil, fmt.Errorf("%s is truncated: %d bytes, shorter than its header", name, st.Size())
	}
	var data []byte
	mapped := opts.Quantize && canMap && littleEndian
	if mapped {
		if data, err = mapFile(f, st.Size()); err != nil {
			return nil, fmt.Errorf("map %s: %w", name, err)
		}
		defer func() {
			if e == nil || e.mapped == nil {
				unmapFile(data)
			}
		}()
	} else {
		data = make([]byte, st.Size())
		if _, err := io.ReadFull(f, data); err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
	}
	if string(data[:8]) != fileMagic {
		return nil, fmt.Errorf("%s is not a lander store file", name)
	}
	version := binary.LittleEndian.Uint32(data[8:])
	hsize, crcAt := uint64(headerSize), crcOffset
	switch version {
	case 1:
		hsize, crcAt = headerSizeV1, crcOffsetV1
	case 2, fileVersion:
	default:
		return nil, fmt.Errorf("%s has unsupported version %d", name, version)
	}
	dim := uint64(binary.LittleEndian.Uint32(data[12:]))
	count := binary.LittleEndian.Uint64(data[16:])
	metaLen := binary.LittleEndian.Uint64(data[24:])
	var graphLen uint64
	if version >= 2 {
		graphLen = binary.LittleEndian.Uint64(data[32:])
	}
	size := uint64(len(data))
	if dim == 0 || dim > 1<<20 {
		return nil, fmt.Errorf("checksum mismatch in %s: corrupt header", name)
	}
	if count > size || metaLen > size || graphLen > size {
		return nil, fmt.Errorf("%s is truncated or its header is corrupt: %d bytes cannot hold %d products", name, size, count)
	}
	var pad uint64
	if version >= 3 {
		pad = vecPad(hsize + metaLen)
	}
	if want := hsize + metaLen + pad + count*dim*4 + graphLen; size != want {
		if size < want {
			return nil, fmt.Errorf("%s is truncated: %d bytes, header promises %d", name, size, want)
		}
		return nil, fmt.Errorf("%s has %d bytes, header promises %d", name, size, want)
	}
	var crc hash.Hash32 = crc32.New(castagnoli)
	crc.Write(data[:crcAt])
	crc.Write(data[hsize:])
	if crc.Sum32() != binary.LittleEndian.Uint32(data[crcAt:]) {
		return nil, fmt.Errorf("checksum mismatch in %s", name)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	payload := data[hsize:]
	var meta fileMeta
	if err := gob.NewDecoder(bytes.NewReader(payload[:metaLen])).Decode(&meta); err != nil {
		return nil, fmt.Errorf("decode metadata in %s: %w", name, err)
	}
	n := int(count)
	if len(meta.IDs) != n || len(meta.Titles) != n || len(meta.Prices) != n || len(meta.HasPrice) != n || len(meta.Attrs) != n {
		return nil, fmt.Errorf("metadata in %s does not match its %d products", name, n)
	}
	payload = payload[metaLen+pad:]
	raw := payload[:count*dim*4]
	quantized := opts.Quantize
	opts.Quantize = false
	e = NewEmbeddedWith(int(dim), opts)
	if mapped && version >= 3 && n > 0 {
		// The vectors start 64-byte aligned in the file, and the mapping
		// starts at a page.
		e.vecs = unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), n*int(dim))
	} else {
		e.vecs = make([]float32, n*int(dim))
		for i := range e.vecs {
			e.vecs[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	e.ids, e.titles, e.prices, e.attrs = meta.IDs, meta.Titles, meta.Prices, meta.Attrs
	for r := range n {
		id := meta.IDs[r]
		if id == "" {
			e.attrs[r] = nil
			e.dead++
			continue
		}
		if _, dup := e.byID[id]; dup {
			return nil, errors.New("duplicate id in " + name)
		}
		row := uint32(r)
		e.byID[id] = row
		e.live.Add(row)
		if meta.HasPrice[r] {
			e.hasPrice.Add(row)
		}
		for _, a := range e.attrs[r] {
			if !a.Filterable() {
				continue
			}
			kv := KV{Key: a.Key, Value: a.Value}
			b, ok := e.postings[kv]
			if !ok {
				b = roaring.New()
				e.postings[kv] = b
			}
			b.Add(row)
		}
	}
	if version == 1 && e.dead > 0 {
		return nil, errors.New("empty id in " + name)
	}
	if graphLen > 0 {
		g, err := decodeGraph(payload[count*dim*4:], int(dim), n)
		if err != nil {
			return nil, fmt.Errorf("graph in %s: %w", name, err)
		}
		e.graph = g
		e.opts.M, e.opts.EfConstruction = g.m, g.efc
	}
	if quantized {
		e.SetQuantize(true)
	}
	if mapped && version >= 3 && n > 0 {
		e.mapped = data
	}
	return e, nil
}

// encodedLen returns the size of the graph section.
func (g *graph) encodedLen() uint64 {
	n := uint64(g.size)
	size := 24 + 2*n + 4*n*uint64(g.m0)
	for r := range g.size {
		for _, up := range g.upper[uint32(r)] {
			size += 1 + 4*uint64(len(up))
		}
	}
	return size
}

// encode writes the graph section.
func (g *graph) encode(ctx context.Context, w io.Writer) error {
	b := make([]byte, 0, 1<<16)
	flush := func() error {
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(g.m))
	b = binary.LittleEndian.AppendUint32(b, uint32(g.efc))
	b = binary.LittleEndian.AppendUint64(b, uint64(g.size))
	b = binary.LittleEndian.AppendUint32(b, g.entry)
	b = binary.LittleEndian.AppendUint32(b, uint32(int32(g.top)))
	if err := flush(); err != nil {
		return err
	}
	if _, err := w.Write(g.levels[:g.size]); err != nil {
		return err
	}
	if _, err := w.Write(g.n0[:g.size]); err != nil {
		return err
	}
	for i := range g.size * g.m0 {
		r, slot := i/g.m0, i%g.m0
		var v uint32
		if ns := g.layer0(uint32(r)); slot < len(ns) {
			v = ns[slot]
		}
		b = binary.LittleEndian.AppendUint32(b, v)
		if len(b) >= cap(b)-4 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for r := range g.size {
		for _, up := range g.upper[uint32(r)] {
			b = append(b, uint8(len(up)))
			for _, v := range up {
				b = binary.LittleEndian.AppendUint32(b, v)
			}
		}
		if len(b) >= cap(b)-1024 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// decodeGraph reads a graph section over rows rows of dimension dim and checks
// that every link stays inside the graph.
func decodeGraph(b []byte, dim, rows int) (*graph, error) {
	corrupt := errors.New("corrupt graph section")
	if len(b) < 24 {
		return nil, corrupt
	}
	m := int(binary.LittleEndian.Uint32(b))
	efc := int(binary.LittleEndian.Uint32(b[4:]))
	size := binary.LittleEndian.Uint64(b[8:])
	entry := binary.LittleEndian.Uint32(b[16:])
	top := int(int32(binary.LittleEndian.Uint32(b[20:])))
	if m <= 0 || m > maxM || size > uint64(rows) || top < -1 || top > maxLevel || (size > 0 && uint64(entry) >= size) {
		return nil, corrupt
	}
	g := newGraph(dim, m, efc)
	n := int(size)
	b = b[24:]
	if uint64(len(b)) < 2*size+4*size*uint64(g.m0) {
		return nil, corrupt
	}
	g.size, g.entry, g.top = n, entry, top
	g.levels = append([]uint8(nil), b[:n]...)
	g.n0 = append([]uint8(nil), b[n:2*n]...)
	b = b[2*n:]
	g.l0 = make([]uint32, n*g.m0)
	for i := range g.l0 {
		g.l0[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	b = b[4*len(g.l0):]
	for r := range n {
		if int(g.n0[r]) > g.m0 || int(g.levels[r]) > max(top, 0) {
			return nil, corrupt
		}
		for _, v := range g.l0[r*g.m0 : r*g.m0+int(g.n0[r])] {
			if int(v) >= n {
				return nil, corrupt
			}
		}
		lv := int(g.levels[r])
		if lv == 0 {
			continue
		}
		up := make([][]uint32, lv)
		for l := range up {
			if len(b) < 1 {
				return nil, corrupt
			}
			c := int(b[0])
			if c > m || len(b) < 1+4*c {
				return nil, corrupt
			}
			up[l] = make([]uint32, c, m)
			for i := range c {
				v := binary.LittleEndian.Uint32(b[1+4*i:])
				if int(v) >= n {
					return nil, corrupt
				}
				up[l][i] = v
			}
			b = b[1+4*c:]
		}
		g.upper[uint32(r)] = up
	}
	if len(b) != 0 || (n > 0 && int(g.levels[entry]) != top) {
		return nil, corrupt
	}
	g.pack()
	return g, nil
}
