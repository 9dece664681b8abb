package catalog

import (
	"fmt"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TrainRow is one product of the dual encoder's training set.
type TrainRow struct {
	// ID is the product id.
	ID string
	// Text is the product text (title and description, never the tags).
	Text string
	// Image is the preprocessed image (see encoder.PreprocessImage).
	Image []byte
	// TextEmbedding is the text encoder's embedding of Text.
	TextEmbedding []float32
	// Attributes are the product's labels as "key:value" strings.
	Attributes []string
}

// TrainsetMeta describes the columns of a training set file; it is stored
// in the Parquet schema metadata under "lander.*" keys.
type TrainsetMeta struct {
	// ImageHeight, ImageWidth and ImageChannels give the CHW shape of Image.
	ImageHeight, ImageWidth, ImageChannels int
	// EmbeddingDim is the length of TextEmbedding.
	EmbeddingDim int
	// TextModel names the text encoder.
	TextModel string
}

// TrainsetWriter writes a training set as a Parquet file with the columns
// id (string), text (string), image (binary), text_embedding
// (fixed_size_list<float32>) and attributes (list<string>), compressed with
// zstd, one row group per Write call.
type TrainsetWriter struct {
	f    *os.File
	w    *pqarrow.FileWriter
	sc   *arrow.Schema
	meta TrainsetMeta
	rows int
}

// NewTrainsetWriter creates the file at path.
func NewTrainsetWriter(path string, meta TrainsetMeta) (*TrainsetWriter, error) {
	if meta.EmbeddingDim <= 0 || meta.ImageHeight <= 0 || meta.ImageWidth <= 0 || meta.ImageChannels <= 0 {
		return nil, fmt.Errorf("new trainset writer: invalid shape %+v", meta)
	}
	md := arrow.NewMetadata(
		[]string{"lander.image_height", "lander.image_width", "lander.image_channels", "lander.embedding_dim", "lander.text_model"},
		[]string{strconv.Itoa(meta.ImageHeight), strconv.Itoa(meta.ImageWidth), strconv.Itoa(meta.ImageChannels),
			strconv.Itoa(meta.EmbeddingDim), meta.TextModel},
	)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "text", Type: arrow.BinaryTypes.String},
		{Name: "image", Type: arrow.BinaryTypes.Binary},
		{Name: "text_embedding", Type: arrow.FixedSizeListOf(int32(meta.EmbeddingDim), arrow.PrimitiveTypes.Float32)},
		{Name: "attributes", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}, &md)
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("new trainset writer: %w", err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	w, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("new trainset writer: %w", err)
	}
	return &TrainsetWriter{f: f, w: w, sc: sc, meta: meta}, nil
}

// Write appends rows as one row group.
func (t *TrainsetWriter) Write(rows []TrainRow) error {
	if len(rows) == 0 {
		return nil
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, t.sc)
	defer rb.Release()
	ids := rb.Field(0).(*array.StringBuilder)
	texts := rb.Field(1).(*array.StringBuilder)
	images := rb.Field(2).(*array.BinaryBuilder)
	embs := rb.Field(3).(*array.FixedSizeListBuilder)
	embVals := embs.ValueBuilder().(*array.Float32Builder)
	attrs := rb.Field(4).(*array.ListBuilder)
	attrVals := attrs.ValueBuilder().(*array.StringBuilder)
	want := t.meta.ImageHeight * t.meta.ImageWidth * t.meta.ImageChannels
	for _, r := range rows {
		if len(r.TextEmbedding) != t.meta.EmbeddingDim || len(r.Image) != want {
			return fmt.Errorf("write trainset row %q: embedding of %d values and image of %d bytes, want %d and %d",
				r.ID, len(r.TextEmbedding), len(r.Image), t.meta.EmbeddingDim, want)
		}
		ids.Append(r.ID)
		texts.Append(r.Text)
		images.Append(r.Image)
		embs.Append(true)
		embVals.AppendValues(r.TextEmbedding, nil)
		attrs.Append(true)
		attrVals.AppendValues(r.Attributes, nil)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	if err := t.w.Write(rec); err != nil {
		return fmt.Errorf("write trainset: %w", err)
	}
	t.rows += len(rows)
	return nil
}

// Rows returns the number of rows written so far.
func (t *TrainsetWriter) Rows() int { return t.rows }

// Close flushes the file and closes it.
func (t *TrainsetWriter) Close() error {
	if err := t.w.Close(); err != nil { // also closes the file
		return fmt.Errorf("close trainset: %w", err)
	}
	return nil
}
