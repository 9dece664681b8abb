package catalog

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeGroups writes a catalog of groups*per rows (ids "0", "1", ...) in
// row groups of per rows, each row naming img/1.png, with the extra
// key-value metadata given; it returns the file's path.
func writeGroups(t testing.TB, dir string, groups, per int, meta map[string]string) string {
	t.Helper()
	writeFile(t, dir, "img/1.png", pngBytes(t, 8, 8, 1))
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "title", Type: arrow.BinaryTypes.String},
		{Name: "image_uri", Type: arrow.BinaryTypes.String},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	for i := range groups * per {
		rb.Field(0).(*array.StringBuilder).Append(fmt.Sprint(i))
		rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("Product number %d", i))
		rb.Field(2).(*array.StringBuilder).Append("img/1.png")
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(dir, "catalog.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(per)), parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		if err := w.AppendKeyValueMetadata(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestParquetDamagedArrowSchema: the Arrow schema in the footer is not
// trusted; a damaged one used to fail the whole catalog.
func TestParquetDamagedArrowSchema(t *testing.T) {
	junk := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xff\x7f\x00\x10", 64)))
	path := writeGroups(t, t.TempDir(), 2, 5, map[string]string{"ARROW:schema": junk})
	res := readAll(t, path, Options{})
	if len(res.products) != 10 || len(res.rejects) != 0 {
		t.Fatalf("%d delivered, rejections %+v; want all 10", len(res.products), res.rejects)
	}
}

// TestParquetCorruptRowGroup: a row group whose page header is destroyed
// becomes one unreadable rejection per row it held; the row groups around
// it are delivered.
func TestParquetCorruptRowGroup(t *testing.T) {
	path := writeGroups(t, t.TempDir(), 3, 10, nil)
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pf.MetaData().RowGroup(1).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	off := cc.DataPageOffset()
	pf.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 24 {
		b[int(off)+i] = 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res := readAll(t, path, Options{})
	if len(res.products) != 20 || len(res.rejects) != 10 {
		t.Fatalf("%d delivered, %d rejected; want 20 and 10: %+v", len(res.products), len(res.rejects), res.rejects)
	}
	for i, j := range res.rejects {
		if j.Reason != ReasonUnreadable || j.Row != 11+i || !strings.Contains(j.Detail, "row group 1") {
			t.Errorf("rejection %d: %+v, want row %d unreadable in row group 1", i, j, 11+i)
		}
	}
	for _, p := range res.products {
		var n int
		fmt.Sscan(p.ID, &n)
		if n >= 10 && n < 20 {
			t.Errorf("product %s of the corrupt row group delivered", p.ID)
		}
	}
}

// FuzzParquet reads mutated Parquet catalogs: a file that opens yields
// every row as a product or a rejection with a reason, and nothing panics.
func FuzzParquet(f *testing.F) {
	dir := f.TempDir()
	seed, err := os.ReadFile(writeGroups(f, dir, 2, 4, map[string]string{"note": "x"}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c.parquet")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := openParquet(path, 3)
		if err != nil {
			return // an unreadable footer fails the open, with an error
		}
		src.close()
		r := &Reader{format: FormatParquet, opts: Options{BatchSize: 3, Workers: 2}.withDefaults(),
			open: func() (source, error) { return openParquet(path, 3) }}
		var delivered, rejected int
		err = r.Read(context.Background(), func(ps []Product) error {
			for _, p := range ps {
				if p.ID == "" || len(p.Image) == 0 {
					t.Fatalf("bad product %+v", p)
				}
			}
			delivered += len(ps)
			return nil
		}, func(j Rejection) {
			if j.Reason == "" || j.Row <= 0 {
				t.Fatalf("bad rejection %+v", j)
			}
			rejected++
		})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	})
}
