package catalog

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"lander/datadir"
)

// EnrichedAttribute is one attribute of an enriched product.
type EnrichedAttribute struct {
	// Key and Value name the attribute.
	Key, Value string
	// Score is the confidence of the assignment.
	Score float32
	// Source says where it came from: "tag", "text", "model", ...
	Source string
}

// EnrichedRow is one product of the enriched catalog: the attributes the
// index assigned to it.
type EnrichedRow struct {
	// ID and Title are the product's.
	ID, Title string
	// Attributes are those the index assigned.
	Attributes []EnrichedAttribute
}

// EnrichedSchema is the enriched catalog's Arrow schema: id, title and
// attributes list<struct<key, value, score float32, source>>.
var EnrichedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "title", Type: arrow.BinaryTypes.String},
	{Name: "attributes", Type: arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "key", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "value", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float32},
		arrow.Field{Name: "source", Type: arrow.BinaryTypes.String},
	))},
}, nil)

// EnrichedWriter writes the enriched catalog as a zstd Parquet file, one
// row group per Write, through a temporary file renamed into place by
// Close.
type EnrichedWriter struct {
	f    *datadir.AtomicFile
	w    *pqarrow.FileWriter
	rows int
}

// NewEnrichedWriter starts the file at path.
func NewEnrichedWriter(path string) (*EnrichedWriter, error) {
	f, err := datadir.CreateAtomic(path)
	if err != nil {
		return nil, fmt.Errorf("new enriched writer: %w", err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	w, err := pqarrow.NewFileWriter(EnrichedSchema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("new enriched writer: %w", err)
	}
	return &EnrichedWriter{f: f, w: w}, nil
}

// Write appends rows as one row group.
func (e *EnrichedWriter) Write(rows []EnrichedRow) error {
	if len(rows) == 0 {
		return nil
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, EnrichedSchema)
	defer rb.Release()
	ids := rb.Field(0).(*array.StringBuilder)
	titles := rb.Field(1).(*array.StringBuilder)
	lists := rb.Field(2).(*array.ListBuilder)
	st := lists.ValueBuilder().(*array.StructBuilder)
	keys := st.FieldBuilder(0).(*array.StringBuilder)
	values := st.FieldBuilder(1).(*array.StringBuilder)
	scores := st.FieldBuilder(2).(*array.Float32Builder)
	sources := st.FieldBuilder(3).(*array.StringBuilder)
	for _, r := range rows {
		ids.Append(r.ID)
		titles.Append(r.Title)
		lists.Append(true)
		for _, a := range r.Attributes {
			st.Append(true)
			keys.Append(a.Key)
			values.Append(a.Value)
			scores.Append(a.Score)
			sources.Append(a.Source)
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	if err := e.w.Write(rec); err != nil {
		return fmt.Errorf("write enriched catalog: %w", err)
	}
	e.rows += len(rows)
	return nil
}

// Rows returns the number of rows written.
func (e *EnrichedWriter) Rows() int { return e.rows }

// Close finishes the file and publishes it at its path.
func (e *EnrichedWriter) Close() error {
	if err := e.w.Close(); err != nil { // syncs and closes the file
		e.f.Abort()
		return fmt.Errorf("close enriched catalog: %w", err)
	}
	if err := e.f.Commit(); err != nil {
		return fmt.Errorf("close enriched catalog: %w", err)
	}
	return nil
}

// Abort drops an unfinished file.
func (e *EnrichedWriter) Abort() {
	e.w.Close()
	e.f.Abort()
}
