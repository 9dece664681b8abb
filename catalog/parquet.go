package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"lander/parquetfile"
)

// parquetSource reads a Parquet catalog one row group, and within it one
// Arrow record batch, at a time. A corrupt file must not crash the run nor
// lose rows silently: the footer's Arrow schema is not trusted
// (parquetfile), a row group that cannot be decoded becomes one
// ReasonUnreadable rejection per row it held, and a value that panics the
// decoder rejects its row.
type parquetSource struct {
	pf    *file.Reader
	fr    *pqarrow.FileReader
	dir   string
	cols  []string // lowercased column names
	group int      // next row group to open
	rr    pqarrow.RecordReader
	rec   arrow.RecordBatch
	i     int   // next row within rec
	row   int   // rows yielded so far
	left  int64 // rows of the current group not yet yielded
	// bad is why the current group is unreadable; its left rows are
	// yielded as rejections.
	bad string
}

// maxUnreadableRows caps the rejections one unreadable row group yields:
// its row count comes from a footer that may be damaged too.
const maxUnreadableRows = 1 << 20

// openParquet opens a Parquet file and checks that it has an id column.
func openParquet(path string, batchSize int) (source, error) {
	pf, err := parquetfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	s := &parquetSource{pf: pf, dir: filepath.Dir(path)}
	var sc *arrow.Schema
	err = parquetfile.Guard(func() (err error) {
		s.fr, err = pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batchSize)}, memory.DefaultAllocator)
		if err != nil {
			return err
		}
		sc, err = s.fr.Schema()
		return err
	})
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	hasID := false
	for _, f := range sc.Fields() {
		name := strings.ToLower(strings.TrimSpace(f.Name))
		s.cols = append(s.cols, name)
		hasID = hasID || name == "id"
	}
	if !hasID {
		pf.Close()
		return nil, fmt.Errorf("open catalog %s: parquet file has no id column", path)
	}
	return s, nil
}

func (s *parquetSource) close() error {
	s.release()
	return s.pf.Close()
}

func (s *parquetSource) release() {
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	s.rec = nil
}

func (s *parquetSource) next() (rawRow, error) {
	for {
		switch {
		case s.bad != "" && s.left > 0:
			s.left--
			s.row++
			return rawRow{row: s.row, reason: ReasonUnreadable, detail: s.bad}, nil
		case s.rec != nil && s.i < int(s.rec.NumRows()):
			s.row++
			s.left--
			raw := s.parseGuarded(s.rec, s.i)
			s.i++
			return raw, nil
		case s.rr != nil:
			var more bool
			err := parquetfile.Guard(func() error {
				more = s.rr.Next()
				if err := s.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				return nil
			})
			switch {
			case err != nil:
				s.fail(err)
			case more:
				s.rec, s.i = s.rr.RecordBatch(), 0
			case s.left > 0:
				s.fail(fmt.Errorf("it ended %d rows short of its %d", s.left, s.groupRows()))
			default:
				s.release()
			}
		case s.group < s.pf.NumRowGroups():
			g := s.group
			s.group++
			s.bad, s.left = "", 0
			err := parquetfile.Guard(func() (err error) {
				s.left = s.pf.MetaData().RowGroup(g).NumRows()
				s.rr, err = s.fr.GetRecordReader(context.Background(), nil, []int{g})
				return err
			})
			if err != nil {
				s.fail(err)
			}
		default:
			return rawRow{}, io.EOF
		}
	}
}

// groupRows is the row count the current row group's footer claims.
func (s *parquetSource) groupRows() int64 { return s.pf.MetaData().RowGroup(s.group - 1).NumRows() }

// fail marks the current row group unreadable: its rows not yet yielded
// become rejections (at most maxUnreadableRows).
func (s *parquetSource) fail(err error) {
	s.release()
	s.left = min(max(s.left, 0), maxUnreadableRows)
	s.bad = fmt.Sprintf("row group %d unreadable: %v", s.group-1, err)
}

// parseGuarded parses row i of rec, rejecting it when its values panic
// the Arrow accessors (offsets or lengths out of range in a corrupt file).
func (s *parquetSource) parseGuarded(rec arrow.RecordBatch, i int) (raw rawRow) {
	err := parquetfile.Guard(func() error { raw = s.parse(rec, i); return nil })
	if err != nil {
		return rawRow{row: s.row, reason: ReasonUnreadable, detail: err.Error()}
	}
	return raw
}

// parse builds the raw row at index i of rec. Values are copied out of the
// Arrow buffers, which are reused by the next batch.
func (s *parquetSource) parse(rec arrow.RecordBatch, i int) rawRow {
	raw := rawRow{row: s.row, p: Product{Tags: map[string]string{}}}
	cols := make([]arrow.Array, len(s.cols))
	for c := range s.cols {
		cols[c] = rec.Column(c)
	}
	for c, name := range s.cols {
		if name == "id" {
			if v, ok := arrowScalar(cols[c], i); ok {
				raw.p.ID = strings.TrimSpace(v)
			} else if !cols[c].IsNull(i) {
				raw.reason, raw.detail = ReasonBadRow, "id must be a string or an integer"
				return raw
			}
		}
	}
	if reason, detail := checkID(raw.p.ID); reason != "" {
		raw.reason, raw.detail = reason, detail
		return raw
	}
	var uri string
	for c, name := range s.cols {
		a := cols[c]
		if a.IsNull(i) {
			continue
		}
		switch name {
		case "id":
		case "title", "description", "brand":
			v, ok := arrowScalar(a, i)
			if !ok {
				raw.reason, raw.detail = ReasonBadRow, name+" must be a string"
				return raw
			}
			switch name {
			case "title":
				raw.p.Title = cleanText(v)
			case "description":
				raw.p.Description = cleanText(v)
			default:
				raw.p.Brand = cleanText(v)
				addTag(raw.p.Tags, "brand", v)
			}
		case "price":
			v, ok := arrowScalar(a, i)
			v = strings.TrimSpace(v)
			if !ok {
				raw.reason, raw.detail = ReasonBadPrice, "price must be a number"
				return raw
			}
			if v == "" || placeholders[strings.ToLower(v)] {
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !validPrice(f) {
				raw.reason, raw.detail = ReasonBadPrice, fmt.Sprintf("price %q is not a non-negative number", v)
				return raw
			}
			raw.p.Price = &f
		case "tags":
			if err := arrowTags(raw.p.Tags, a, i); err != nil {
				raw.reason, raw.detail = ReasonBadRow, err.Error()
				return raw
			}
		case "image":
			b, path, ok := arrowImage(a, i)
			if !ok {
				raw.reason, raw.detail = ReasonBadImage, "image column must be binary"
				return raw
			}
			if len(b) > 0 {
				raw.image = b
			} else if path != "" && uri == "" {
				uri = path
			}
		case "image_uri":
			v, ok := arrowScalar(a, i)
			if !ok {
				raw.reason, raw.detail = ReasonBadRow, "image_uri must be a string"
				return raw
			}
			if strings.TrimSpace(v) != "" {
				uri = v
			}
		default:
			if v, ok := arrowScalar(a, i); ok {
				addTag(raw.p.Tags, name, v)
			} else if l, ok := a.(array.ListLike); ok {
				if _, isMap := a.(*array.Map); !isMap {
					start, end := l.ValueOffsets(i)
					for j := start; j < end; j++ {
						if v, ok := arrowScalar(l.ListValues(), int(j)); ok {
							addTag(raw.p.Tags, name, v)
						}
					}
				}
			}
			// Structs and maps outside "tags" are not merchant tags.
		}
	}
	if raw.image == nil && uri != "" {
		raw.imageRef(uri, s.dir)
	}
	return raw
}

// arrowScalar returns the text of a scalar value (string, number, boolean,
// dictionary-encoded scalar); null is "". It reports false for nested types.
func arrowScalar(a arrow.Array, i int) (string, bool) {
	if a.IsNull(i) {
		return "", true
	}
	switch a := a.(type) {
	case *array.String:
		return strings.Clone(a.Value(i)), true
	case *array.LargeString:
		return strings.Clone(a.Value(i)), true
	case *array.StringView:
		return strings.Clone(a.Value(i)), true
	case *array.Binary:
		return string(a.Value(i)), true
	case *array.LargeBinary:
		return string(a.Value(i)), true
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10), true
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10), true
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), true
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), true
	case *array.Uint8:
		return strconv.FormatUint(uint64(a.Value(i)), 10), true
	case *array.Uint16:
		return strconv.FormatUint(uint64(a.Value(i)), 10), true
	case *array.Uint32:
		return strconv.FormatUint(uint64(a.Value(i)), 10), true
	case *array.Uint64:
		return strconv.FormatUint(a.Value(i), 10), true
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32), true
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64), true
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), true
	case *array.Dictionary:
		return arrowScalar(a.Dictionary(), a.GetValueIndex(i))
	case array.ListLike, *array.Struct, *array.FixedSizeList:
		return "", false
	}
	if arrow.IsNested(a.DataType().ID()) {
		return "", false
	}
	return a.ValueStr(i), true
}

// arrowTags adds the tags at row i: list<string> elements follow the "k:v"
// rule, map<string,string> entries give key and value, and a plain string is
// split on commas.
func arrowTags(tags map[string]string, a arrow.Array, i int) error {
	switch a := a.(type) {
	case *array.Map:
		keys, items := a.Keys(), a.Items()
		start, end := a.ValueOffsets(i)
		for j := start; j < end; j++ {
			k, kok := arrowScalar(keys, int(j))
			v, vok := arrowScalar(items, int(j))
			if !kok || !vok {
				return errors.New("tags map must hold strings")
			}
			addTag(tags, k, v)
		}
		return nil
	case array.ListLike:
		vals := a.ListValues()
		start, end := a.ValueOffsets(i)
		for j := start; j < end; j++ {
			v, ok := arrowScalar(vals, int(j))
			if !ok {
				return errors.New("tags list must hold strings")
			}
			addTagElem(tags, v)
		}
		return nil
	}
	v, ok := arrowScalar(a, i)
	if !ok {
		return errors.New("tags must be a list<string>, a map<string,string> or a string")
	}
	for _, e := range strings.Split(v, ",") {
		addTagElem(tags, e)
	}
	return nil
}

// arrowImage returns a copy of the image bytes at row i, or the path of a
// struct{bytes, path} image (the Hugging Face layout).
func arrowImage(a arrow.Array, i int) (b []byte, path string, ok bool) {
	switch a := a.(type) {
	case *array.Binary:
		return bytes.Clone(a.Value(i)), "", true
	case *array.LargeBinary:
		return bytes.Clone(a.Value(i)), "", true
	case *array.BinaryView:
		return bytes.Clone(a.Value(i)), "", true
	case *array.FixedSizeBinary:
		return bytes.Clone(a.Value(i)), "", true
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		if j, found := st.FieldIdx("bytes"); found {
			if fb, _, fok := arrowImage(a.Field(j), i); fok && !a.Field(j).IsNull(i) {
				b = fb
			}
		}
		if j, found := st.FieldIdx("path"); found {
			path, _ = arrowScalar(a.Field(j), i)
		}
		return b, path, true
	}
	return nil, "", false
}
