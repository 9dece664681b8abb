package catalog

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaxLineBytes is the longest JSON Lines line accepted; longer lines are
// rejected as bad_row.
const MaxLineBytes = 64 << 20

// jsonlSource reads a JSON Lines catalog. Each non-blank line is one row.
type jsonlSource struct {
	f    io.Closer
	br   *bufio.Reader
	dir  string // folder that image_uri paths are relative to
	line int
	eof  bool
}

// openJSONL opens a JSON Lines file.
func openJSONL(path string) (source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	s := newJSONLSource(f, filepath.Dir(path))
	s.f = f
	return s, nil
}

// newJSONLSource reads JSON Lines from r; image_uri paths resolve against
// dir.
func newJSONLSource(r io.Reader, dir string) *jsonlSource {
	return &jsonlSource{br: bufio.NewReaderSize(r, 64<<10), dir: dir}
}

func (s *jsonlSource) close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

// readLine returns the next line without its ending; tooLong reports a line
// over MaxLineBytes, whose content is discarded.
func (s *jsonlSource) readLine() (line []byte, tooLong bool, err error) {
	if s.eof {
		return nil, false, io.EOF
	}
	var buf []byte
	for {
		chunk, err := s.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			s.eof = true
			if len(buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
		} else if err != nil {
			return nil, false, err
		}
		break
	}
	s.line++
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return buf, tooLong, nil
}

func (s *jsonlSource) next() (rawRow, error) {
	for {
		line, tooLong, err := s.readLine()
		if err != nil {
			return rawRow{}, err
		}
		if tooLong {
			return rawRow{row: s.line, reason: ReasonBadRow, detail: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return s.parse(line), nil
	}
}

// parse turns one JSON line into a raw row.
func (s *jsonlSource) parse(line []byte) rawRow {
	raw := rawRow{row: s.line, p: Product{Tags: map[string]string{}}}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		raw.reason, raw.detail = ReasonBadJSON, fmt.Sprintf("line %d: %v", s.line, err)
		return raw
	}
	if _, err := dec.Token(); err != io.EOF || obj == nil {
		raw.reason, raw.detail = ReasonBadJSON, fmt.Sprintf("line %d: not one JSON object", s.line)
		return raw
	}
	fields := make(map[string]json.RawMessage, len(obj))
	keys := make([]string, 0, len(obj))
	for k, v := range obj {
		lk := strings.ToLower(strings.TrimSpace(k))
		if _, dup := fields[lk]; !dup {
			keys = append(keys, lk)
		}
		fields[lk] = v
	}
	slices.Sort(keys)
	rec := record{fields: fields, keys: keys}
	rec.build(&raw, s.dir)
	return raw
}

// record is one row as named JSON values, shared by the JSON Lines reader.
type record struct {
	fields map[string]json.RawMessage
	keys   []string // lowercased keys
}

// build fills raw from the record, or sets a rejection.
func (rec record) build(raw *rawRow, dir string) {
	idRaw, ok := rec.fields["id"]
	if ok {
		id, isScalar := jsonScalar(idRaw)
		if !isScalar {
			raw.reason, raw.detail = ReasonBadRow, "id must be a string or a number"
			return
		}
		raw.p.ID = strings.TrimSpace(id)
	}
	if reason, detail := checkID(raw.p.ID); reason != "" {
		raw.reason, raw.detail = reason, detail
		return
	}
	// Tag-producing extra fields are added in sorted key order so that joined
	// values do not depend on map order.
	var extra []string
	for _, k := range rec.keys {
		v := rec.fields[k]
		switch k {
		case "id":
		case "title", "description", "brand":
			str, ok := jsonScalar(v)
			if !ok {
				raw.reason, raw.detail = ReasonBadRow, k+" must be a string"
				return
			}
			switch k {
			case "title":
				raw.p.Title = cleanText(str)
			case "description":
				raw.p.Description = cleanText(str)
			case "brand":
				raw.p.Brand = cleanText(str)
			}
		case "price":
			p, err := jsonPrice(v)
			if err != nil {
				raw.reason, raw.detail = ReasonBadPrice, err.Error()
				return
			}
			raw.p.Price = p
		case "tags":
			if err := jsonTags(raw.p.Tags, v); err != nil {
				raw.reason, raw.detail = ReasonBadRow, err.Error()
				return
			}
		case "image":
			str, ok := jsonScalar(v)
			if !ok {
				raw.reason, raw.detail = ReasonBadImage, "image must be a base64 string"
				return
			}
			b, err := decodeBase64Image(str)
			if err != nil {
				raw.reason, raw.detail = ReasonBadImage, err.Error()
				return
			}
			if len(b) > 0 {
				raw.image = b
			}
		case "image_uri":
			str, ok := jsonScalar(v)
			if !ok {
				raw.reason, raw.detail = ReasonBadRow, "image_uri must be a string"
				return
			}
			if raw.image == nil {
				raw.imageRef(str, dir)
			}
		default:
			extra = append(extra, k)
		}
	}
	if raw.image != nil {
		raw.imagePath, raw.imageURL = "", ""
	}
	if raw.p.Brand != "" {
		addTag(raw.p.Tags, "brand", raw.p.Brand)
	}
	slices.Sort(extra)
	for _, k := range extra {
		v := rec.fields[k]
		if str, ok := jsonScalar(v); ok {
			addTag(raw.p.Tags, k, str)
			continue
		}
		var arr []json.RawMessage
		if json.Unmarshal(v, &arr) == nil {
			for _, e := range arr {
				if str, ok := jsonScalar(e); ok {
					addTag(raw.p.Tags, k, str)
				}
			}
		}
		// Nested objects are not merchant tags; they are ignored.
	}
}

// jsonScalar returns the text of a JSON string, number or boolean; null is
// the empty string. It reports false for arrays and objects.
func jsonScalar(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", true
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false
		}
		return s, true
	case '[', '{':
		return "", false
	case 'n':
		return "", true
	default: // number, true, false
		return string(v), true
	}
}

// jsonPrice parses a price given as a number, a numeric string or null.
func jsonPrice(v json.RawMessage) (*float64, error) {
	str, ok := jsonScalar(v)
	if !ok {
		return nil, errors.New("price must be a number")
	}
	str = strings.TrimSpace(str)
	if str == "" || placeholders[strings.ToLower(str)] {
		return nil, nil
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil || !validPrice(f) {
		return nil, fmt.Errorf("price %q is not a non-negative number", str)
	}
	return &f, nil
}

// jsonTags adds tags given as an object (key -> value or list of values), a
// list of "k:v" strings (or {"key","value"} objects), or a comma-separated
// string.
func jsonTags(tags map[string]string, v json.RawMessage) error {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] == 'n' {
		return nil
	}
	switch v[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("tags: %v", err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if str, ok := jsonScalar(m[k]); ok {
				addTag(tags, k, str)
				continue
			}
			var arr []json.RawMessage
			if json.Unmarshal(m[k], &arr) != nil {
				return fmt.Errorf("tags: value of %q must be a string or a list of strings", k)
			}
			for _, e := range arr {
				if str, ok := jsonScalar(e); ok {
					addTag(tags, k, str)
				}
			}
		}
	case '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(v, &arr); err != nil {
			return fmt.Errorf("tags: %v", err)
		}
		for _, e := range arr {
			if str, ok := jsonScalar(e); ok {
				addTagElem(tags, str)
				continue
			}
			var kv struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			}
			if json.Unmarshal(e, &kv) != nil || kv.Key == "" {
				return errors.New("tags: list elements must be strings or {\"key\",\"value\"} objects")
			}
			if kv.Value != nil {
				addTag(tags, kv.Key, fmt.Sprint(kv.Value))
			}
		}
	case '"':
		str, _ := jsonScalar(v)
		for _, e := range strings.Split(str, ",") {
			addTagElem(tags, e)
		}
	default:
		return errors.New("tags must be an object, a list or a string")
	}
	return nil
}

// decodeBase64Image decodes base64 image data, accepting a data: URL prefix
// and padded or unpadded standard or URL-safe alphabets.
func decodeBase64Image(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "data:") {
		i := strings.Index(s, ";base64,")
		if i < 0 {
			return nil, errors.New("image data URL is not base64")
		}
		s = s[i+len(";base64,"):]
	}
	if s == "" {
		return nil, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("image is not valid base64")
}
