package catalog

import (
	"maps"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeParquet writes one record built by build into path, in row groups of
// rowGroup rows.
func writeParquet(t *testing.T, path string, sc *arrow.Schema, rowGroup int64, build func(b *array.RecordBuilder)) {
	t.Helper()
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	build(rb)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroup))
	w, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestParquetListTagsIntIDs(t *testing.T) {
	dir := t.TempDir()
	png := pngBytes(t, 16, 16, 3)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "title", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "price", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "image", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "Color", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "year", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}, nil)
	type row struct {
		id    *int64
		title string
		price *float32
		tags  []string
		image []byte
		color string
	}
	i64 := func(v int64) *int64 { return &v }
	f32 := func(v float32) *float32 { return &v }
	rows := []row{
		{i64(1), "Shirt", f32(10.5), []string{"color:red", "summer"}, png, "Red"}, // 1 ok
		{i64(2), "", nil, nil, png, ""},                                           // 2 ok, cold start
		{nil, "No id", nil, nil, png, ""},                                         // 3 missing_id
		{i64(1), "Dup", nil, nil, png, ""},                                        // 4 duplicate_id
		{i64(4), "Garbage", nil, nil, []byte("garbage"), ""},                      // 5 bad_image
		{i64(5), "Neg", f32(-1), nil, png, ""},                                    // 6 bad_price
		{i64(6), "No image", nil, nil, nil, ""},                                   // 7 missing_image
		{i64(7), "Last", nil, []string{"k=v"}, png, ""},                           // 8 ok
	}
	path := dir + "/cat.parquet"
	writeParquet(t, path, sc, 3, func(b *array.RecordBuilder) {
		for _, r := range rows {
			if r.id == nil {
				b.Field(0).AppendNull()
			} else {
				b.Field(0).(*array.Int64Builder).Append(*r.id)
			}
			if r.title == "" {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(r.title)
			}
			if r.price == nil {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.Float32Builder).Append(*r.price)
			}
			lb := b.Field(3).(*array.ListBuilder)
			if r.tags == nil {
				lb.AppendNull()
			} else {
				lb.Append(true)
				for _, s := range r.tags {
					lb.ValueBuilder().(*array.StringBuilder).Append(s)
				}
			}
			if r.image == nil {
				b.Field(4).AppendNull()
			} else {
				b.Field(4).(*array.BinaryBuilder).Append(r.image)
			}
			b.Field(5).(*array.StringBuilder).Append(r.color)
			b.Field(6).(*array.Int32Builder).Append(2020)
		}
	})
	for _, bs := range []int{1, 2, 100} {
		res := readAll(t, path, Options{BatchSize: bs})
		if got, want := res.ids(), []string{"1", "2", "7"}; !slices.Equal(got, want) {
			t.Errorf("batch %d: delivered %v, want %v", bs, got, want)
		}
		wantRej := []rowReason{{3, ReasonMissingID}, {4, ReasonDuplicateID}, {5, ReasonBadImage}, {6, ReasonBadPrice}, {7, ReasonMissingImage}}
		if got := res.reasons(); !reflect.DeepEqual(got, wantRej) {
			t.Errorf("batch %d: rejections %v, want %v", bs, got, wantRej)
		}
		p1 := res.byID(t, "1")
		if p1.Title != "Shirt" || p1.Price == nil || *p1.Price != 10.5 || p1.ImageFormat != "png" {
			t.Errorf("product 1 = %+v", p1)
		}
		if want := map[string]string{"color": "red, Red", "tag": "summer", "year": "2020"}; !maps.Equal(p1.Tags, want) {
			t.Errorf("product 1 tags %v, want %v", p1.Tags, want)
		}
		if want := map[string]string{"year": "2020"}; !maps.Equal(res.byID(t, "2").Tags, want) {
			t.Errorf("product 2 tags %v, want %v", res.byID(t, "2").Tags, want)
		}
	}
}

func TestParquetMapTagsImageURI(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "img/b1.png", pngBytes(t, 20, 30, 4))
	writeFile(t, dir, "img/b3.jpg", jpegBytes(t, 20, 30, true))
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "brand", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "price", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "tags", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
		{Name: "image_uri", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	path := dir + "/sub.parquet"
	writeParquet(t, path, sc, 100, func(b *array.RecordBuilder) {
		add := func(id, brand string, price int64, tags [][2]string, uri string) {
			b.Field(0).(*array.StringBuilder).Append(id)
			b.Field(1).(*array.StringBuilder).Append(brand)
			b.Field(2).(*array.Int64Builder).Append(price)
			mb := b.Field(3).(*array.MapBuilder)
			mb.Append(true)
			for _, kv := range tags {
				mb.KeyBuilder().(*array.StringBuilder).Append(kv[0])
				mb.ItemBuilder().(*array.StringBuilder).Append(kv[1])
			}
			b.Field(4).(*array.StringBuilder).Append(uri)
		}
		add("b1", "Acme", 20, [][2]string{{"Color", "blue"}, {"size", " M "}}, "img/b1.png")
		add("b2", "", 5, nil, "img/none.png")
		add("b3", "", 0, [][2]string{{"pattern", "NA"}}, "img/b3.jpg")
	})
	res := readAll(t, path, Options{})
	if got, want := res.ids(), []string{"b1", "b3"}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if got, want := res.reasons(), []rowReason{{2, ReasonMissingImage}}; !reflect.DeepEqual(got, want) {
		t.Errorf("rejections %v, want %v", got, want)
	}
	b1 := res.byID(t, "b1")
	if want := map[string]string{"brand": "Acme", "color": "blue", "size": "M"}; !maps.Equal(b1.Tags, want) || b1.Brand != "Acme" || *b1.Price != 20 {
		t.Errorf("b1 = %+v", b1)
	}
	if b3 := res.byID(t, "b3"); b3.ImageFormat != "jpeg" || len(b3.Tags) != 0 {
		t.Errorf("b3 = %+v", b3)
	}
}

func TestParquetNoID(t *testing.T) {
	dir := t.TempDir()
	sc := arrow.NewSchema([]arrow.Field{{Name: "title", Type: arrow.BinaryTypes.String}}, nil)
	path := dir + "/x.parquet"
	writeParquet(t, path, sc, 10, func(b *array.RecordBuilder) { b.Field(0).(*array.StringBuilder).Append("t") })
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("Open of a parquet file without id succeeded")
	}
}
