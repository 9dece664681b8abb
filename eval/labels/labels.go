// Package labels holds the true labels of a catalog for evaluation, and the
// contract's rule for judging an attribute against them: category ~
// articleType (or the subCategory level), color ~ baseColour, gender ~
// gender, season ~ season, occasion ~ usage, subcategory and mastercategory
// ~ their columns, and brand, pattern, material and any other key ~ words
// of the title. Values compare after lowercasing, dropping
// non-alphanumerics and a plural ending (Norm).
package labels

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"lander/eval/queryeval"
)

// Product is one product's labels: normalised label columns and the
// normalised words of its title.
type Product struct {
	Title  string
	Cols   map[string]string // raw label values by lower-case column
	Words  map[string]bool
	words  []string // normalised title words in order
	joined string   // the same joined by spaces
}

// Set maps product ids to labels.
type Set map[string]*Product

// columnOf maps contract keys onto label columns.
var columnOf = map[string][]string{
	"category":       {"articletype", "subcategory"},
	"color":          {"basecolour"},
	"gender":         {"gender"},
	"season":         {"season"},
	"occasion":       {"usage"},
	"subcategory":    {"subcategory"},
	"mastercategory": {"mastercategory"},
}

// Norm normalises a value as the contract's evaluation does.
func Norm(s string) string { return queryeval.Norm(s) }

// forms returns the lower-case alphanumerics of s with each plural ending
// it may have dropped or not.
func forms(s string) []string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			b.WriteRune(r)
		}
	}
	w := b.String()
	out := []string{w}
	for _, suf := range []string{"ies", "es", "s"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			out = append(out, w[:len(w)-len(suf)])
		}
	}
	return out
}

// Same reports whether two values are equal after lowercasing, dropping
// non-alphanumerics and a plural ending on either side ("casual shoe" and
// "Casual Shoes").
func Same(a, b string) bool {
	fa, fb := forms(a), forms(b)
	for _, x := range fa {
		for _, y := range fb {
			if x == y && x != "" {
				return true
			}
		}
	}
	return false
}

// Load reads the labels of a Fashion Product Images catalog: a folder
// holding styles.csv, or the styles.csv file itself. Titles with unquoted
// commas are joined back.
func Load(path string) (Set, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "styles.csv")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load labels: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("load labels %s: no header", path)
	}
	header := strings.Split(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "\ufeff"), ",")
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(header[i]))
	}
	out := Set{}
	for sc.Scan() {
		fields := strings.Split(strings.TrimRight(sc.Text(), "\r"), ",")
		if len(fields) < len(header) || len(header) == 0 {
			continue
		}
		last := len(header) - 1
		if header[last] == "productdisplayname" && len(fields) > len(header) {
			fields = append(fields[:last], strings.Join(fields[last:], ","))
		}
		p := &Product{Cols: map[string]string{}}
		id := strings.TrimSpace(fields[0])
		for i, h := range header {
			switch h {
			case "id":
			case "productdisplayname":
				p.Title = fields[i]
			default:
				p.Cols[h] = strings.TrimSpace(fields[i])
			}
		}
		p.index()
		out[id] = p
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load labels: %w", err)
	}
	return out, nil
}

// New returns the labels of one product from its label columns (by
// catalog column name) and title.
func New(title string, cols map[string]string) *Product {
	p := &Product{Title: title, Cols: map[string]string{}}
	for k, v := range cols {
		p.Cols[strings.ToLower(k)] = v
	}
	p.index()
	return p
}

func (p *Product) index() {
	p.Words = map[string]bool{}
	var ws []string
	for _, w := range strings.FieldsFunc(strings.ToLower(p.Title), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	}) {
		n := Norm(w)
		p.Words[n] = true
		ws = append(ws, n)
	}
	p.words = ws
	p.joined = " " + strings.Join(ws, " ") + " "
}

// Match reports whether the product's labels agree with key=value.
func (p *Product) Match(key, value string) bool {
	if cols, ok := columnOf[key]; ok {
		for _, c := range cols {
			if Same(p.Cols[c], value) {
				return true
			}
		}
		return false
	}
	return p.TitleNames(value)
}

// TitleNames reports whether the product's title names value: the
// value's words, run together, are a run of whole title words run
// together ("t shirt", "t-shirt" and "tshirt" name "tshirts"; "laptop"
// does not name "top", nor "sleeveless" "lee"). It is the rule for keys
// judged by title words; for a key judged by a label column, a title that
// names a value its label denies is a conflict in the catalogue's own data.
func (p *Product) TitleNames(value string) bool {
	v := strings.Join(valueWords(value), "")
	if v == "" {
		return false
	}
	for i := range p.words {
		run := ""
		for _, w := range p.words[i:] {
			run += w
			if run == v {
				return true
			}
			if len(run) >= len(v) || !strings.HasPrefix(v, run) {
				break
			}
		}
	}
	return false
}

// TitleContains reports whether the product's title contains word: its
// words in order among the title's, or run together anywhere in the
// title's words run together. It is the looser reading of the labelled
// queries' title_any ("title contains one of the words"), whose matching
// counts take "lee" in "fleece"; collections are judged by TitleNames.
func (p *Product) TitleContains(word string) bool {
	ws := valueWords(word)
	if len(ws) == 0 {
		return false
	}
	return strings.Contains(p.joined, " "+strings.Join(ws, " ")+" ") ||
		strings.Contains(strings.ReplaceAll(p.joined, " ", ""), strings.Join(ws, ""))
}

// valueWords returns the normalised words of a value.
func valueWords(value string) []string {
	var ws []string
	for _, w := range strings.FieldsFunc(strings.ToLower(value), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	}) {
		ws = append(ws, Norm(w))
	}
	return ws
}

// Label returns the product's label for key: its first label column's
// value ("Casual Shoes" for category), or "" for a key judged by title
// words.
func (p *Product) Label(key string) string {
	if cols, ok := columnOf[key]; ok {
		return p.Cols[cols[0]]
	}
	return ""
}

// Judged reports whether key is judged against a label column (true) or
// against the title's words (false).
func Judged(key string) bool {
	_, ok := columnOf[key]
	return ok
}
