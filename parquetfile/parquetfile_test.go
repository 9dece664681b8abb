package parquetfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func TestGuard(t *testing.T) {
	err := Guard(func() error { var s []int; _ = s[3]; return nil })
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("Guard(panic) = %v, want ErrCorrupt", err)
	}
	want := errors.New("plain")
	if err := Guard(func() error { return want }); err != want {
		t.Errorf("Guard(error) = %v", err)
	}
}

// TestOpenDropsTheArrowSchema: a file whose footer holds an Arrow schema
// (as pqarrow writes with WithStoreSchema) opens without it; garbage is
// an error.
func TestOpenDropsTheArrowSchema(t *testing.T) {
	dir := t.TempDir()
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	rb.Field(0).(*array.StringBuilder).Append("a")
	rec := rb.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(dir, "a.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(rec)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pf, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if kv := pf.MetaData().KeyValueMetadata(); kv.FindValue(arrowSchemaKey) != nil {
		t.Errorf("footer still holds %s", arrowSchemaKey)
	}
	bad := filepath.Join(dir, "bad.parquet")
	os.WriteFile(bad, []byte("PAR1 not a parquet file PAR1"), 0o644)
	if pf, err := Open(bad); err == nil {
		pf.Close()
		t.Error("garbage opened")
	}
}
