package embeddings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"lander/parquetfile"
)

// Set is a loaded set of product embeddings, looked up by id. It is
// read-only after Load and safe for concurrent use.
type Set struct {
	meta  Meta
	ids   []string
	byID  map[string]int
	vecs  []float32 // len(ids) * Dim
	pvecs []float32 // len(ids) * ProductDim
	// Attributes holds DIR/attributes.parquet, nil when the file is absent.
	Attributes []Attribute
	files      int
}

// Meta returns what the set was checked against.
func (s *Set) Meta() Meta { return s.meta }

// Len returns the number of products.
func (s *Set) Len() int { return len(s.ids) }

// Files returns the number of product shard files read.
func (s *Set) Files() int { return s.files }

// IDs returns the product ids in file order.
func (s *Set) IDs() []string { return s.ids }

// Lookup returns a product's vector and product-tower vector (nil when the
// set has none). The slices are shared: do not modify them.
func (s *Set) Lookup(id string) (vector, product []float32, ok bool) {
	i, ok := s.byID[id]
	if !ok {
		return nil, nil, false
	}
	d, pd := s.meta.Dim, s.meta.ProductDim
	vector = s.vecs[i*d : (i+1)*d : (i+1)*d]
	if pd > 0 {
		product = s.pvecs[i*pd : (i+1)*pd : (i+1)*pd]
	}
	return vector, product, true
}

// batchRows is the Arrow record batch size Load streams with.
const batchRows = 4096

// Load reads DIR's product shards (and attributes.parquet when present),
// streaming each as Arrow record batches, and checks every row against
// want: the model string, the dimensions (want.ProductDim > 0 requires
// product vectors), non-empty unique ids, and finite, unit-length vectors.
// The first mismatch is an error naming the file and row. keep, when not
// nil, selects the ids to hold (a shard of the catalog holds only its
// slice); the others are skipped unchecked.
func Load(ctx context.Context, dir string, want Meta, keep func(id string) bool) (*Set, error) {
	if want.Model == "" || want.Dim <= 0 {
		return nil, fmt.Errorf("load embeddings: invalid expectation %+v", want)
	}
	files, err := filepath.Glob(filepath.Join(dir, ProductsGlob))
	if err != nil {
		return nil, fmt.Errorf("load embeddings: %w", err)
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("load embeddings: %w", err)
		}
		return nil, fmt.Errorf("load embeddings: no %s in %s", ProductsGlob, dir)
	}
	sort.Strings(files)
	s := &Set{meta: want, byID: map[string]int{}, files: len(files)}
	for _, path := range files {
		if err := s.readProducts(ctx, path, keep); err != nil {
			return nil, fmt.Errorf("load embeddings %s: %w", filepath.Base(path), err)
		}
	}
	apath := filepath.Join(dir, AttributesFile)
	if _, err := os.Stat(apath); err == nil {
		attrs, err := readAttributes(ctx, apath, want)
		if err != nil {
			return nil, fmt.Errorf("load embeddings %s: %w", AttributesFile, err)
		}
		s.Attributes = attrs
	}
	return s, nil
}

// eachBatch streams path's record batches through fn. The Parquet reader
// panics on some corrupt files; that becomes an error, so a bad file is
// reported like any other.
func eachBatch(ctx context.Context, path string, fn func(rec arrow.RecordBatch, row0 int) error) error {
	// The layout's types are fixed, so the Arrow schema that writers store
	// in the footer is not needed: parquetfile drops it.
	pf, err := parquetfile.Open(path)
	if err != nil {
		return err
	}
	defer pf.Close()
	return parquetfile.Guard(func() error { return readBatches(ctx, pf, fn) })
}

func readBatches(ctx context.Context, pf *file.Reader, fn func(rec arrow.RecordBatch, row0 int) error) error {
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: batchRows}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	row := 0
	for {
		rec, err := rr.Read()
		if errors.Is(err, io.EOF) || (err == nil && rec == nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec, row); err != nil {
			return err
		}
		row += int(rec.NumRows())
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// column returns the column named name, or nil.
func column(rec arrow.RecordBatch, name string) arrow.Array {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	return rec.Column(idx[0])
}

func (s *Set) readProducts(ctx context.Context, path string, keep func(string) bool) error {
	d, pd := s.meta.Dim, s.meta.ProductDim
	return eachBatch(ctx, path, func(rec arrow.RecordBatch, row0 int) error {
		idA, vecA, modelA := column(rec, ColID), column(rec, ColVector), column(rec, ColModel)
		switch {
		case idA == nil:
			return errors.New("no id column")
		case vecA == nil:
			return errors.New("no vector column")
		case modelA == nil:
			return errors.New("no model column")
		}
		ids, err := stringColumn(ColID, idA)
		if err != nil {
			return err
		}
		models, err := stringColumn(ColModel, modelA)
		if err != nil {
			return err
		}
		vecs, err := newVectorColumn(ColVector, vecA)
		if err != nil {
			return err
		}
		var pvecs vectorColumn
		if pd > 0 {
			pa := column(rec, ColProductVector)
			if pa == nil {
				return errors.New("no product_vector column, and the dual encoder in use needs one (re-run the embed job with the dual encoder's weights)")
			}
			if pvecs, err = newVectorColumn(ColProductVector, pa); err != nil {
				return err
			}
		}
		for i := range int(rec.NumRows()) {
			row := row0 + i
			id, ok := ids(i)
			if !ok || id == "" {
				return fmt.Errorf("row %d: empty id", row)
			}
			if keep != nil && !keep(id) {
				continue
			}
			if m, _ := models(i); m != s.meta.Model {
				return fmt.Errorf("row %d (id %q): model %q, but this index uses %q: embeddings from another model cannot be mixed in", row, id, m, s.meta.Model)
			}
			if _, dup := s.byID[id]; dup {
				return fmt.Errorf("row %d: id %q appears twice", row, id)
			}
			v, ok := vecs.get(i)
			if !ok || len(v) != d {
				return fmt.Errorf("row %d (id %q): vector has %d values, want %d", row, id, len(v), d)
			}
			if v, err = checkVector(v); err != nil {
				return fmt.Errorf("row %d (id %q): vector: %w", row, id, err)
			}
			if pd > 0 {
				p, ok := pvecs.get(i)
				if !ok || len(p) != pd {
					return fmt.Errorf("row %d (id %q): product_vector has %d values, want %d", row, id, len(p), pd)
				}
				if p, err = checkVector(p); err != nil {
					return fmt.Errorf("row %d (id %q): product_vector: %w", row, id, err)
				}
				s.pvecs = append(s.pvecs, p...)
			}
			s.byID[id] = len(s.ids)
			s.ids = append(s.ids, id)
			s.vecs = append(s.vecs, v...)
		}
		return nil
	})
}

func readAttributes(ctx context.Context, path string, want Meta) ([]Attribute, error) {
	var out []Attribute
	seen := map[[2]string]bool{}
	err := eachBatch(ctx, path, func(rec arrow.RecordBatch, row0 int) error {
		kA, vA, vecA, mA := column(rec, ColKey), column(rec, ColValue), column(rec, ColVector), column(rec, ColModel)
		if kA == nil || vA == nil || vecA == nil || mA == nil {
			return errors.New("want columns key, value, vector and model")
		}
		keys, err := stringColumn(ColKey, kA)
		if err != nil {
			return err
		}
		values, err := stringColumn(ColValue, vA)
		if err != nil {
			return err
		}
		models, err := stringColumn(ColModel, mA)
		if err != nil {
			return err
		}
		vecs, err := newVectorColumn(ColVector, vecA)
		if err != nil {
			return err
		}
		for i := range int(rec.NumRows()) {
			row := row0 + i
			k, _ := keys(i)
			v, _ := values(i)
			if k == "" || v == "" {
				return fmt.Errorf("row %d: empty key or value", row)
			}
			if m, _ := models(i); m != want.Model {
				return fmt.Errorf("row %d (%s=%s): model %q, but this index uses %q", row, k, v, m, want.Model)
			}
			if seen[[2]string{k, v}] {
				return fmt.Errorf("row %d: %s=%s appears twice", row, k, v)
			}
			seen[[2]string{k, v}] = true
			vec, ok := vecs.get(i)
			if !ok || (want.AttributeDim > 0 && len(vec) != want.AttributeDim) {
				return fmt.Errorf("row %d (%s=%s): vector has %d values, want %d", row, k, v, len(vec), want.AttributeDim)
			}
			if vec, err = checkVector(vec); err != nil {
				return fmt.Errorf("row %d (%s=%s): %w", row, k, v, err)
			}
			out = append(out, Attribute{Key: k, Value: v, Vector: vec})
		}
		return nil
	})
	return out, err
}

// errStop ends a batch walk early.
var errStop = errors.New("stop")

// ReadMeta returns the model string and dimensions of DIR's first product
// shard (and attributes.parquet, when present), to load a set whose model
// is not known beforehand.
func ReadMeta(ctx context.Context, dir string) (Meta, error) {
	files, err := filepath.Glob(filepath.Join(dir, ProductsGlob))
	if err != nil {
		return Meta{}, fmt.Errorf("read embeddings meta: %w", err)
	}
	if len(files) == 0 {
		return Meta{}, fmt.Errorf("read embeddings meta: no %s in %s", ProductsGlob, dir)
	}
	sort.Strings(files)
	var m Meta
	err = eachBatch(ctx, files[0], func(rec arrow.RecordBatch, _ int) error {
		if rec.NumRows() == 0 {
			return nil
		}
		if a := column(rec, ColModel); a != nil {
			if get, err := stringColumn(ColModel, a); err == nil {
				m.Model, _ = get(0)
			}
		}
		if a := column(rec, ColVector); a != nil {
			if c, err := newVectorColumn(ColVector, a); err == nil {
				v, _ := c.get(0)
				m.Dim = len(v)
			}
		}
		if a := column(rec, ColProductVector); a != nil {
			if c, err := newVectorColumn(ColProductVector, a); err == nil {
				v, _ := c.get(0)
				m.ProductDim = len(v)
			}
		}
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return Meta{}, fmt.Errorf("read embeddings meta %s: %w", filepath.Base(files[0]), err)
	}
	if m.Model == "" || m.Dim == 0 {
		return Meta{}, fmt.Errorf("read embeddings meta %s: no model or vector in the first row", filepath.Base(files[0]))
	}
	m.AttributeDim = m.ProductDim
	return m, nil
}
