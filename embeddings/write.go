package embeddings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"lander/datadir"
)

// DefaultShardSize is the number of products per shard file.
const DefaultShardSize = 16384

// Meta describes a set of embeddings.
type Meta struct {
	// Model names the encoders (see encoder.ModelID); every row carries it.
	Model string
	// Dim is the length of Product.Vector.
	Dim int
	// ProductDim is the length of Product.ProductVector, 0 when the set
	// has no product-tower vectors.
	ProductDim int
	// AttributeDim is the length of Attribute.Vector.
	AttributeDim int
}

// Writer writes product embeddings as numbered shard files. Each shard is
// written under a temporary name and renamed when complete, so a killed
// writer leaves only whole shards.
type Writer struct {
	dir       string
	meta      Meta
	shardSize int
	buf       []Product
	shard     int
	rows      int
}

// NewWriter creates dir when missing and returns a writer of shards of
// shardSize products (DefaultShardSize when 0).
func NewWriter(dir string, meta Meta, shardSize int) (*Writer, error) {
	if meta.Model == "" || meta.Dim <= 0 || meta.ProductDim < 0 {
		return nil, fmt.Errorf("new embeddings writer: invalid meta %+v", meta)
	}
	if shardSize <= 0 {
		shardSize = DefaultShardSize
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("new embeddings writer: %w", err)
	}
	return &Writer{dir: dir, meta: meta, shardSize: shardSize}, nil
}

// Write buffers products and writes every full shard.
func (w *Writer) Write(ps []Product) error {
	for _, p := range ps {
		if p.ID == "" {
			return errors.New("write embeddings: empty id")
		}
		if len(p.Vector) != w.meta.Dim || len(p.ProductVector) != w.meta.ProductDim {
			return fmt.Errorf("write embeddings: product %q has vectors of %d and %d values, want %d and %d",
				p.ID, len(p.Vector), len(p.ProductVector), w.meta.Dim, w.meta.ProductDim)
		}
		w.buf = append(w.buf, p)
		if len(w.buf) == w.shardSize {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rows returns the number of products written so far.
func (w *Writer) Rows() int { return w.rows + len(w.buf) }

// Close writes the last, partial shard.
func (w *Writer) Close() error {
	if len(w.buf) == 0 {
		return nil
	}
	return w.flush()
}

func (w *Writer) productSchema() *arrow.Schema {
	fields := []arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: ColVector, Type: arrow.FixedSizeListOf(int32(w.meta.Dim), arrow.PrimitiveTypes.Float32)},
	}
	if w.meta.ProductDim > 0 {
		fields = append(fields, arrow.Field{Name: ColProductVector, Type: arrow.FixedSizeListOf(int32(w.meta.ProductDim), arrow.PrimitiveTypes.Float32)})
	}
	fields = append(fields, arrow.Field{Name: ColModel, Type: arrow.BinaryTypes.String})
	return arrow.NewSchema(fields, nil)
}

func (w *Writer) flush() error {
	name := fmt.Sprintf("products-%05d.parquet", w.shard)
	sc := w.productSchema()
	err := writeFile(filepath.Join(w.dir, name), sc, func(rb *array.RecordBuilder) {
		ids := rb.Field(0).(*array.StringBuilder)
		vecs := rb.Field(1).(*array.FixedSizeListBuilder)
		vals := vecs.ValueBuilder().(*array.Float32Builder)
		for _, p := range w.buf {
			ids.Append(p.ID)
			vecs.Append(true)
			vals.AppendValues(p.Vector, nil)
		}
		next := 2
		if w.meta.ProductDim > 0 {
			pv := rb.Field(2).(*array.FixedSizeListBuilder)
			pvals := pv.ValueBuilder().(*array.Float32Builder)
			for _, p := range w.buf {
				pv.Append(true)
				pvals.AppendValues(p.ProductVector, nil)
			}
			next = 3
		}
		models := rb.Field(next).(*array.StringBuilder)
		for range w.buf {
			models.Append(w.meta.Model)
		}
	})
	if err != nil {
		return fmt.Errorf("write embeddings shard %d: %w", w.shard, err)
	}
	w.rows += len(w.buf)
	w.buf = w.buf[:0]
	w.shard++
	return nil
}

// WriteAttributes writes DIR/attributes.parquet.
func WriteAttributes(dir string, meta Meta, attrs []Attribute) error {
	if meta.Model == "" || meta.AttributeDim <= 0 {
		return fmt.Errorf("write attribute embeddings: invalid meta %+v", meta)
	}
	for _, a := range attrs {
		if len(a.Vector) != meta.AttributeDim {
			return fmt.Errorf("write attribute embeddings: %s=%s has %d values, want %d", a.Key, a.Value, len(a.Vector), meta.AttributeDim)
		}
	}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: ColKey, Type: arrow.BinaryTypes.String},
		{Name: ColValue, Type: arrow.BinaryTypes.String},
		{Name: ColVector, Type: arrow.FixedSizeListOf(int32(meta.AttributeDim), arrow.PrimitiveTypes.Float32)},
		{Name: ColModel, Type: arrow.BinaryTypes.String},
	}, nil)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write attribute embeddings: %w", err)
	}
	err := writeFile(filepath.Join(dir, AttributesFile), sc, func(rb *array.RecordBuilder) {
		keys := rb.Field(0).(*array.StringBuilder)
		values := rb.Field(1).(*array.StringBuilder)
		vecs := rb.Field(2).(*array.FixedSizeListBuilder)
		vals := vecs.ValueBuilder().(*array.Float32Builder)
		models := rb.Field(3).(*array.StringBuilder)
		for _, a := range attrs {
			keys.Append(a.Key)
			values.Append(a.Value)
			vecs.Append(true)
			vals.AppendValues(a.Vector, nil)
			models.Append(meta.Model)
		}
	})
	if err != nil {
		return fmt.Errorf("write attribute embeddings: %w", err)
	}
	return nil
}

// writeFile writes one record batch built by fill as a zstd Parquet file,
// published whole at path (datadir.AtomicFile).
func writeFile(path string, sc *arrow.Schema, fill func(*array.RecordBuilder)) error {
	f, err := datadir.CreateAtomic(path)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	pw, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Abort()
		return err
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	fill(rb)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	if err := pw.Write(rec); err != nil {
		pw.Close()
		f.Abort()
		return err
	}
	if err := pw.Close(); err != nil { // syncs and closes f
		f.Abort()
		return err
	}
	return f.Commit()
}
