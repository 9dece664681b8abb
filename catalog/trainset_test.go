package catalog

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func TestTrainsetWriterRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trainset.parquet")
	meta := TrainsetMeta{ImageHeight: 2, ImageWidth: 2, ImageChannels: 3, EmbeddingDim: 4, TextModel: "m"}
	w, err := NewTrainsetWriter(path, meta)
	if err != nil {
		t.Fatal(err)
	}
	rows := []TrainRow{
		{ID: "1", Text: "red shirt", Image: make([]byte, 12), TextEmbedding: []float32{1, 0, 0, 0}, Attributes: []string{"color:red", "category:shirts"}},
		{ID: "2", Image: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, TextEmbedding: []float32{0, 0, 0, 1}},
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]TrainRow{{ID: "bad", Image: []byte{1}, TextEmbedding: make([]float32, 4)}}); err == nil {
		t.Fatal("a short image was accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 2 {
		t.Fatalf("%d rows", tbl.NumRows())
	}
	if v := pf.MetaData().KeyValueMetadata().FindValue("lander.embedding_dim"); v == nil || *v != "4" {
		t.Fatalf("embedding_dim metadata %v", v)
	}
	img := tbl.Column(2).Data().Chunk(0).(*array.Binary)
	if img.Value(1)[11] != 11 {
		t.Fatal("image bytes changed")
	}
	attrs := tbl.Column(4).Data().Chunk(0).(*array.List)
	if attrs.Len() != 2 || attrs.ListValues().Len() != 2 {
		t.Fatalf("attributes: %d lists, %d values", attrs.Len(), attrs.ListValues().Len())
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
