// Package queryeval is the development report of the query resolver: it
// resolves labelled shopper queries (../shared/data/queries/labelled.jsonl)
// and measures, per query kind, the share of expected constraints the tuple
// captures and the share of resolved attributes that are right.
//
// Labels name catalog columns (articleType, baseColour, gender, usage,
// season, subCategory, masterCategory); they map onto the contract's keys
// the way the indexer maps merchant tags, and values compare after the
// contract's normalisation (lower case, alphanumerics only, a plural ending
// dropped).
package queryeval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"unicode"

	"lander/catalog"
	"lander/indexer/extract"
	"lander/query"
	"lander/vocab"
)

// Query is one labelled query.
type Query struct {
	Q         string              `json:"q"`
	Expect    map[string][]string `json:"expect"`
	ExpectNot map[string][]string `json:"expect_not"`
	TitleAny  []string            `json:"title_any"`
	// TitleNone lists words no result's title may hold ("but not nike").
	TitleNone []string `json:"title_none"`
	Kind      string   `json:"kind"`
	Matching  int      `json:"matching"`
}

// LoadQueries reads labelled queries, one JSON object a line.
func LoadQueries(path string) ([]Query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load queries: %w", err)
	}
	defer f.Close()
	var out []Query
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var q Query
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			return nil, fmt.Errorf("load queries %s:%d: %w", path, line, err)
		}
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load queries: %w", err)
	}
	return out, nil
}

// Hierarchy maps a normalised category (articleType) onto its normalised
// subcategory and master category, as the catalog assigns them most often.
type Hierarchy struct {
	Sub, Master map[string]string
}

// FromStyles builds the vocabulary of a Fashion Product Images styles.csv the
// way the indexer does (merchant tags through extract.Tags, support counted
// per value), and the category hierarchy of that catalog. Titles are not
// read.
func FromStyles(path string) (vocab.Vocabulary, Hierarchy, error) {
	h := Hierarchy{Sub: map[string]string{}, Master: map[string]string{}}
	f, err := os.Open(path)
	if err != nil {
		return vocab.Vocabulary{}, h, fmt.Errorf("read styles: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() {
		return vocab.Vocabulary{}, h, fmt.Errorf("read styles %s: no header", path)
	}
	header := strings.Split(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "\ufeff"), ",")
	cols := map[string]int{}
	for i, c := range header {
		cols[strings.ToLower(strings.TrimSpace(c))] = i
	}
	title, hasTitle := cols["productdisplayname"]
	counter := vocab.NewCounter()
	subVotes := map[[2]string]int{}
	masterVotes := map[[2]string]int{}
	for sc.Scan() {
		fields := strings.Split(strings.TrimRight(sc.Text(), "\r"), ",")
		if hasTitle && len(fields) > len(header) && title == len(header)-1 {
			fields = append(fields[:title], strings.Join(fields[title:], ","))
		}
		if len(fields) != len(header) {
			continue
		}
		p := catalog.Product{Tags: map[string]string{}}
		for name, i := range cols {
			if name == "id" || name == "productdisplayname" {
				continue
			}
			if v := strings.TrimSpace(fields[i]); v != "" {
				p.Tags[name] = v
			}
		}
		attrs := extract.TagsOf(p)
		var cat, sub, master string
		for _, a := range attrs {
			counter.Add(a.Key, a.Value)
			switch a.Key {
			case "category":
				cat = a.Value
			case "subcategory":
				sub = a.Value
			case "mastercategory":
				master = a.Value
			}
		}
		if cat != "" && sub != "" {
			subVotes[[2]string{Norm(cat), Norm(sub)}]++
		}
		if cat != "" && master != "" {
			masterVotes[[2]string{Norm(cat), Norm(master)}]++
		}
	}
	if err := sc.Err(); err != nil {
		return vocab.Vocabulary{}, h, fmt.Errorf("read styles: %w", err)
	}
	pick := func(votes map[[2]string]int, into map[string]string) {
		best := map[string]int{}
		for k, n := range votes {
			if n > best[k[0]] || (n == best[k[0]] && k[1] < into[k[0]]) {
				best[k[0]], into[k[0]] = n, k[1]
			}
		}
	}
	pick(subVotes, h.Sub)
	pick(masterVotes, h.Master)
	return counter.Vocabulary(1), h, nil
}

// columnKeys maps label columns onto the contract's keys.
var columnKeys = map[string]string{
	"articletype": "category", "basecolour": "color", "gender": "gender", "usage": "occasion",
	"season": "season", "subcategory": "subcategory", "mastercategory": "mastercategory",
}

// Norm normalises a value as the contract's evaluation does: lower case,
// alphanumerics only, one plural ending (s, es, ies) dropped.
func Norm(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			b.WriteRune(c)
		}
	}
	out := b.String()
	for _, suf := range []string{"ies", "es", "s"} {
		if len(out) > len(suf)+2 && strings.HasSuffix(out, suf) {
			return out[:len(out)-len(suf)]
		}
	}
	return out
}

// Stats counts one kind's results.
type Stats struct {
	Kind    string `json:"kind"`
	Queries int    `json:"queries"`
	// Expected constraints (expect and expect_not entries) and how many the
	// tuple captures: as any attribute, as a strict attribute (expect) or
	// an exclusion (expect_not).
	Expected       int `json:"expected"`
	Captured       int `json:"captured"`
	CapturedStrict int `json:"captured_strict"`
	// Resolved attributes and exclusions, and how many are right.
	Resolved    int `json:"resolved"`
	Right       int `json:"right"`
	StrictTotal int `json:"strict"`
	StrictRight int `json:"strict_right"`
	// Exact counts queries whose strict attributes and exclusions are all
	// right and capture every expected constraint.
	Exact int `json:"exact"`
	// Brand queries: title words (title_any) resolved as brand attributes.
	BrandExpected int `json:"brand_expected"`
	BrandCaptured int `json:"brand_captured"`
}

// Miss is one query the resolver did not get fully right.
type Miss struct {
	Kind     string   `json:"kind"`
	Q        string   `json:"q"`
	Missed   []string `json:"missed"`
	Wrong    []string `json:"wrong"`
	Resolved string   `json:"resolved"`
}

// Report is the result of Evaluate.
type Report struct {
	Vocabulary string  `json:"vocabulary"`
	Kinds      []Stats `json:"kinds"`
	Total      Stats   `json:"total"`
	Misses     []Miss  `json:"misses"`
}

// Evaluate resolves every query and scores the tuples.
func Evaluate(r *query.Resolver, qs []Query, h Hierarchy) Report {
	byKind := map[string]*Stats{}
	var rep Report
	for _, q := range qs {
		s := byKind[q.Kind]
		if s == nil {
			s = &Stats{Kind: q.Kind}
			byKind[q.Kind] = s
		}
		res := r.Resolve(q.Q)
		m := score(q, res, h, s)
		if len(m.Missed) > 0 || len(m.Wrong) > 0 {
			rep.Misses = append(rep.Misses, m)
		}
	}
	rep.Total.Kind = "all"
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		s := *byKind[k]
		rep.Kinds = append(rep.Kinds, s)
		t := &rep.Total
		t.Queries += s.Queries
		t.Expected += s.Expected
		t.Captured += s.Captured
		t.CapturedStrict += s.CapturedStrict
		t.Resolved += s.Resolved
		t.Right += s.Right
		t.StrictTotal += s.StrictTotal
		t.StrictRight += s.StrictRight
		t.Exact += s.Exact
		t.BrandExpected += s.BrandExpected
		t.BrandCaptured += s.BrandCaptured
	}
	return rep
}

func score(q Query, res query.Resolved, h Hierarchy, s *Stats) Miss {
	m := Miss{Kind: q.Kind, Q: q.Q, Resolved: describe(res)}
	s.Queries++
	expect := mapLabels(q.Expect)
	expectNot := mapLabels(q.ExpectNot)
	exact := true
	for _, key := range slices.Sorted(maps.Keys(expect)) {
		s.Expected++
		got, strict := false, false
		for _, a := range res.Attributes {
			if a.Key == key && expect[key][Norm(a.Value)] {
				got = true
				strict = strict || a.Strict
			}
		}
		if got {
			s.Captured++
		}
		if strict {
			s.CapturedStrict++
		} else {
			exact = false
			m.Missed = append(m.Missed, key+"="+strings.Join(labelValues(q.Expect, key), "|"))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(expectNot)) {
		s.Expected++
		got := false
		for _, e := range res.Excluded {
			if e.Key == key && expectNot[key][Norm(e.Value)] {
				got = true
			}
		}
		if got {
			s.Captured++
			s.CapturedStrict++
		} else {
			exact = false
			m.Missed = append(m.Missed, "not "+key+"="+strings.Join(labelValues(q.ExpectNot, key), "|"))
		}
	}
	if len(q.TitleAny) > 0 {
		s.BrandExpected++
		for _, a := range res.Attributes {
			if a.Key == "brand" && titleMatch(q.TitleAny, a.Value) {
				s.BrandCaptured++
				break
			}
		}
	}
	for _, a := range res.Attributes {
		ok := right(a.Key, a.Value, expect, q.TitleAny, h)
		s.Resolved++
		if a.Strict {
			s.StrictTotal++
		}
		if ok {
			s.Right++
			if a.Strict {
				s.StrictRight++
			}
			continue
		}
		if a.Strict {
			exact = false
		}
		m.Wrong = append(m.Wrong, fmt.Sprintf("%s=%s(%s)", a.Key, a.Value, strictness(a)))
	}
	for _, e := range res.Excluded {
		s.Resolved++
		s.StrictTotal++
		if expectNot[e.Key][Norm(e.Value)] {
			s.Right++
			s.StrictRight++
			continue
		}
		exact = false
		m.Wrong = append(m.Wrong, "not "+e.Key+"="+e.Value)
	}
	if exact {
		s.Exact++
	}
	return m
}

// right judges one resolved attribute against the labels: a labelled key
// must take an accepted value; a brand must be one of the title words;
// subcategory and master category must agree with the expected category in
// the catalog's hierarchy. Any other attribute narrows the query beyond its
// labels and counts as wrong.
func right(key, value string, expect map[string]map[string]bool, titleAny []string, h Hierarchy) bool {
	if acc, ok := expect[key]; ok {
		return acc[Norm(value)]
	}
	switch key {
	case "brand":
		return titleMatch(titleAny, value)
	case "subcategory", "mastercategory":
		table := h.Sub
		if key == "mastercategory" {
			table = h.Master
		}
		for cat := range expect["category"] {
			if table[cat] == Norm(value) {
				return true
			}
		}
	}
	return false
}

func titleMatch(words []string, value string) bool {
	for _, w := range words {
		if Norm(w) == Norm(value) {
			return true
		}
	}
	return false
}

func mapLabels(labels map[string][]string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for col, vals := range labels {
		key, ok := columnKeys[strings.ToLower(col)]
		if !ok {
			key = strings.ToLower(col)
		}
		acc := out[key]
		if acc == nil {
			acc = map[string]bool{}
			out[key] = acc
		}
		for _, v := range vals {
			acc[Norm(v)] = true
		}
	}
	return out
}

func labelValues(labels map[string][]string, key string) []string {
	for col, vals := range labels {
		k, ok := columnKeys[strings.ToLower(col)]
		if !ok {
			k = strings.ToLower(col)
		}
		if k == key {
			return vals
		}
	}
	return nil
}

func strictness(a query.Attribute) string {
	if a.Strict {
		return "strict"
	}
	return "soft"
}

func describe(res query.Resolved) string {
	var parts []string
	for _, a := range res.Attributes {
		p := a.Key + "=" + a.Value
		if !a.Strict {
			p += "~"
		}
		parts = append(parts, p)
	}
	for _, e := range res.Excluded {
		parts = append(parts, "-"+e.Key+"="+e.Value)
	}
	return strings.Join(parts, " ")
}

// TypoVariants derives a synthetic "typo" kind from queries: in each query
// whose longest word has at least six letters, the two middle letters of
// that word are swapped ("tshirts" becomes "tsihrts"). Queries without such
// a word are skipped.
func TypoVariants(qs []Query) []Query {
	var out []Query
	for _, q := range qs {
		words := strings.Fields(q.Q)
		best := -1
		for i, w := range words {
			if len(w) >= 6 && isLetters(w) && (best < 0 || len(w) > len(words[best])) {
				best = i
			}
		}
		if best < 0 {
			continue
		}
		w := []byte(words[best])
		k := len(w)/2 - 1
		if w[k] == w[k+1] {
			continue
		}
		w[k], w[k+1] = w[k+1], w[k]
		words[best] = string(w)
		t := q
		t.Q = strings.Join(words, " ")
		t.Kind = "typo"
		out = append(out, t)
	}
	return out
}

func isLetters(w string) bool {
	for _, c := range w {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// Write prints the report as a table, then up to misses queries that were
// not fully right.
func (rep Report) Write(w io.Writer, misses int) {
	fmt.Fprintf(w, "query resolution over %d labelled queries (vocabulary: %s)\n\n", rep.Total.Queries, rep.Vocabulary)
	fmt.Fprintf(w, "%-9s %7s %10s %10s %10s %10s %8s %8s\n", "kind", "queries", "captured", "strict", "right", "strict ok", "exact", "brand")
	row := func(s Stats) {
		brand := "-"
		if s.BrandExpected > 0 {
			brand = pct(s.BrandCaptured, s.BrandExpected)
		}
		fmt.Fprintf(w, "%-9s %7d %10s %10s %10s %10s %8s %8s\n", s.Kind, s.Queries,
			pct(s.Captured, s.Expected), pct(s.CapturedStrict, s.Expected),
			pct(s.Right, s.Resolved), pct(s.StrictRight, s.StrictTotal), pct(s.Exact, s.Queries), brand)
	}
	for _, s := range rep.Kinds {
		row(s)
	}
	row(rep.Total)
	fmt.Fprintln(w, `
captured:  expected constraints (expect, expect_not) found in the tuple, soft or strict
strict:    expected constraints found as strict attributes or exclusions
right:     resolved attributes and exclusions that agree with the labels
strict ok: the same over strict attributes and exclusions only (what filters)
exact:     queries with every constraint captured strictly and nothing strict wrong
brand:     brand queries whose title word resolved as a brand attribute`)
	if misses > 0 && len(rep.Misses) > 0 {
		fmt.Fprintf(w, "\n%d queries not fully right; the first %d by kind:\n", len(rep.Misses), min(misses, len(rep.Misses)))
		ms := append([]Miss(nil), rep.Misses...)
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].Kind < ms[j].Kind })
		for _, m := range ms[:min(misses, len(ms))] {
			fmt.Fprintf(w, "  [%s] %q -> %s", m.Kind, m.Q, m.Resolved)
			if len(m.Missed) > 0 {
				fmt.Fprintf(w, "; missed %s", strings.Join(m.Missed, ", "))
			}
			if len(m.Wrong) > 0 {
				fmt.Fprintf(w, "; wrong %s", strings.Join(m.Wrong, ", "))
			}
			fmt.Fprintln(w)
		}
	}
}

func pct(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
}
