package catalog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// stylesSource reads styles.csv of the Fashion Product Images layout one
// line at a time. Each non-blank line after the header is one row.
type stylesSource struct {
	f       io.Closer
	br      *bufio.Reader
	imgDir  string
	line    int
	cols    []string // lowercased header names
	idIdx   int
	titleIx int // -1 when absent
	eof     bool
}

// openStyles opens a styles.csv file and reads its header.
func openStyles(csvPath, imgDir string) (source, error) {
	f, err := os.Open(csvPath)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	s, err := newStylesSource(f, imgDir)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open catalog %s: %w", csvPath, err)
	}
	s.f = f
	return s, nil
}

// newStylesSource reads the header from r.
func newStylesSource(r io.Reader, imgDir string) (*stylesSource, error) {
	s := &stylesSource{br: bufio.NewReaderSize(r, 64<<10), imgDir: imgDir, idIdx: -1, titleIx: -1}
	var header string
	for {
		line, err := s.readLine()
		if err == io.EOF {
			return nil, errors.New("styles.csv has no header line")
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(line) != "" {
			header = strings.TrimPrefix(line, "\uFEFF")
			break
		}
	}
	for i, c := range splitCSVLine(header) {
		c = strings.ToLower(strings.TrimSpace(c))
		s.cols = append(s.cols, c)
		switch c {
		case "id":
			if s.idIdx < 0 {
				s.idIdx = i
			}
		case "productdisplayname", "title":
			if s.titleIx < 0 {
				s.titleIx = i
			}
		}
	}
	if s.idIdx < 0 {
		return nil, fmt.Errorf("styles.csv header has no id column (got %q)", header)
	}
	return s, nil
}

// readLine returns the next line without its line ending.
func (s *stylesSource) readLine() (string, error) {
	if s.eof {
		return "", io.EOF
	}
	line, err := s.br.ReadString('\n')
	if err == io.EOF {
		s.eof = true
		if line == "" {
			return "", io.EOF
		}
	} else if err != nil {
		return "", err
	}
	s.line++
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	return line, nil
}

func (s *stylesSource) close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

func (s *stylesSource) next() (rawRow, error) {
	var line string
	for {
		l, err := s.readLine()
		if err != nil {
			return rawRow{}, err
		}
		if strings.TrimSpace(l) != "" {
			line = l
			break
		}
	}
	return s.parse(line), nil
}

// parse turns one data line into a raw row.
func (s *stylesSource) parse(line string) rawRow {
	raw := rawRow{row: s.line, p: Product{Tags: map[string]string{}}}
	fields := splitCSVLine(line)
	n := len(s.cols)
	if s.idIdx < len(fields) {
		raw.p.ID = cleanText(fields[s.idIdx])
	}
	if len(fields) > n {
		if s.titleIx != n-1 {
			raw.reason, raw.detail = ReasonBadRow, fmt.Sprintf("row has %d fields, want %d", len(fields), n)
			return raw
		}
		// Unquoted commas in the last column (the title): join them back.
		fields = append(fields[:n-1:n-1], strings.Join(fields[n-1:], ","))
	}
	if len(fields) < n {
		raw.reason, raw.detail = ReasonBadRow, fmt.Sprintf("row has %d fields, want %d", len(fields), n)
		return raw
	}
	if reason, detail := checkID(raw.p.ID); reason != "" {
		raw.reason, raw.detail = reason, detail
		return raw
	}
	if strings.ContainsAny(raw.p.ID, `/\`) || raw.p.ID == "." || raw.p.ID == ".." {
		raw.reason, raw.detail = ReasonBadID, "id cannot name an image file"
		return raw
	}
	for i, v := range fields {
		switch col := s.cols[i]; {
		case i == s.idIdx:
		case i == s.titleIx:
			raw.p.Title = cleanText(v)
		case col == "description":
			raw.p.Description = cleanText(v)
		case col == "brand":
			raw.p.Brand = cleanText(v)
			addTag(raw.p.Tags, "brand", v)
		case col == "price":
			v = strings.TrimSpace(v)
			if v == "" || placeholders[strings.ToLower(v)] {
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !validPrice(f) {
				raw.reason, raw.detail = ReasonBadPrice, fmt.Sprintf("price %q is not a non-negative number", v)
				return raw
			}
			raw.p.Price = &f
		case col == "":
		default:
			addTag(raw.p.Tags, col, v)
		}
	}
	raw.imagePath = filepath.Join(s.imgDir, raw.p.ID+".jpg")
	return raw
}

// splitCSVLine splits one CSV line into fields. Quoted fields may hold
// commas and doubled quotes; a quote that is never closed runs to the end of
// the line. Records never span lines.
func splitCSVLine(line string) []string {
	var fields []string
	for {
		if strings.HasPrefix(line, `"`) {
			var b strings.Builder
			i := 1
			for i < len(line) {
				c := line[i]
				if c == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			// Text after the closing quote up to the comma is kept as is.
			rest := line[i:]
			j := strings.IndexByte(rest, ',')
			if j < 0 {
				b.WriteString(rest)
				return append(fields, b.String())
			}
			b.WriteString(rest[:j])
			fields = append(fields, b.String())
			line = rest[j+1:]
			continue
		}
		j := strings.IndexByte(line, ',')
		if j < 0 {
			return append(fields, line)
		}
		fields = append(fields, line[:j])
		line = line[j+1:]
	}
}
