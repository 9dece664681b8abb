// Package judge scores candidate collections: an attribute tuple with the
// query a shopper would type for it, on three criteria, each in [0, 1]:
// coherence (do the attributes go together in the catalog), plausibility
// as a shopping intent (search-log demand and catalog supply), and
// search-like phrasing. Offline judges from catalog co-occurrence, the
// search log and phrasing rules, with no model service; Online asks an
// OpenAI-compatible chat model the same questions. Topic generation and
// vocabulary curation use it through the Judge interface.
package judge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"lander/vocab"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"lander/indexer/extract"
)

// KV is one attribute of a tuple.
type KV = vocab.KV

// Candidate is a tuple and the query generated for it.
type Candidate struct {
	Attributes []KV   `json:"attributes"`
	Query      string `json:"query"`
}

// Score is a judge's verdict on one candidate.
type Score struct {
	// Coherence says how well the attributes go together, in [0, 1].
	Coherence float64 `json:"coherence"`
	// Plausibility says how likely a shopper wants this, in [0, 1].
	Plausibility float64 `json:"plausibility"`
	// Phrasing says how much the query reads like a search, in [0, 1].
	Phrasing float64 `json:"phrasing"`
	// Overall is the geometric mean of the three.
	Overall float64 `json:"overall"`
	// Judge names the judge that scored it ("offline", "online").
	Judge string `json:"judge"`
	// Notes explain low scores.
	Notes []string `json:"notes,omitempty"`
}

// Judge scores candidates; out[i] scores cands[i].
type Judge interface {
	Judge(ctx context.Context, cands []Candidate) ([]Score, error)
}

func overall(s *Score) {
	s.Overall = round(math.Cbrt(clamp(s.Coherence) * clamp(s.Plausibility) * clamp(s.Phrasing)))
	s.Coherence, s.Plausibility, s.Phrasing = round(clamp(s.Coherence)), round(clamp(s.Plausibility)), round(clamp(s.Phrasing))
}

func clamp(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return min(x, 1)
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// LogQuery is one search-log line.
type LogQuery struct {
	Query string
	Count int
}

// ReadSearchLog reads query<TAB>count lines; blank lines are skipped and a
// line without a count counts once.
func ReadSearchLog(r io.Reader) ([]LogQuery, error) {
	var out []LogQuery
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		q, c, _ := strings.Cut(sc.Text(), "\t")
		if strings.TrimSpace(q) == "" {
			continue
		}
		n := 1
		if c = strings.TrimSpace(c); c != "" {
			var err error
			if n, err = strconv.Atoi(c); err != nil || n < 0 {
				return nil, fmt.Errorf("search log line %d: bad count %q", line, c)
			}
		}
		out = append(out, LogQuery{Query: q, Count: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read search log: %w", err)
	}
	return out, nil
}

// OfflineOptions configures an offline judge.
type OfflineOptions struct {
	// MinFeed is the number of products a collection needs to be worth a
	// page; 0 means 10.
	MinFeed int
	// Aliases lists other surface forms of values, by key then value, for
	// matching search-log queries ("navy" for "navy blue").
	Aliases map[string]map[string][]string
	// Log is the search log; empty means plausibility from supply alone.
	Log []LogQuery
}

// Offline judges from catalog co-occurrence, the search log and phrasing
// rules. It is safe for concurrent use once built.
type Offline struct {
	opts     OfflineOptions
	postings map[KV][]int32
	logToks  [][]string // folded tokens per log query
	refCount float64
}

// NewOffline builds an offline judge over products, each a set of
// (curated) attributes.
func NewOffline(products [][]KV, opts OfflineOptions) *Offline {
	if opts.MinFeed <= 0 {
		opts.MinFeed = 10
	}
	o := &Offline{opts: opts, postings: map[KV][]int32{}}
	for i, attrs := range products {
		for _, a := range attrs {
			p := o.postings[a]
			if len(p) == 0 || p[len(p)-1] != int32(i) {
				o.postings[a] = append(p, int32(i))
			}
		}
	}
	counts := make([]int, 0, len(opts.Log))
	for _, q := range opts.Log {
		o.logToks = append(o.logToks, foldedWords(q.Query))
		counts = append(counts, q.Count)
	}
	// Demand is scored against the 90th percentile query count.
	sort.Ints(counts)
	if len(counts) > 0 {
		o.refCount = float64(counts[len(counts)*9/10])
	}
	return o
}

// Support returns the number of products carrying every attribute.
func (o *Offline) Support(attrs []KV) int {
	if len(attrs) == 0 {
		return 0
	}
	lists := make([][]int32, len(attrs))
	for i, a := range attrs {
		lists[i] = o.postings[a]
	}
	sort.Slice(lists, func(i, j int) bool { return len(lists[i]) < len(lists[j]) })
	cur := lists[0]
	for _, l := range lists[1:] {
		cur = Intersect(cur, l)
	}
	return len(cur)
}

// Intersect returns the ids in both of the sorted lists a and b (posting
// lists of products), sorted.
func Intersect(a, b []int32) []int32 {
	out := make([]int32, 0, min(len(a), len(b)))
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// Judge scores each candidate.
func (o *Offline) Judge(_ context.Context, cands []Candidate) ([]Score, error) {
	out := make([]Score, len(cands))
	for i, c := range cands {
		out[i] = o.score(c)
	}
	return out, nil
}

func (o *Offline) score(c Candidate) Score {
	s := Score{Judge: "offline"}
	n := o.Support(c.Attributes)
	rarest := math.MaxInt
	for _, a := range c.Attributes {
		rarest = min(rarest, len(o.postings[a]))
	}
	if len(c.Attributes) == 0 || rarest == 0 {
		s.Notes = append(s.Notes, "no product carries the attributes")
	} else {
		// Coherence: how much of the rarest attribute's products carry the
		// whole tuple, discounted below a full feed.
		s.Coherence = float64(n) / float64(rarest)
		if len(c.Attributes) == 1 {
			s.Coherence = 1
		}
		s.Coherence *= min(1, float64(n)/float64(o.opts.MinFeed))
		if n < o.opts.MinFeed {
			s.Notes = append(s.Notes, fmt.Sprintf("only %d products", n))
		}
	}
	supply := min(1, math.Log1p(float64(n))/math.Log1p(float64(10*o.opts.MinFeed)))
	if len(o.logToks) == 0 {
		s.Plausibility = supply
	} else {
		demand := o.demand(c.Attributes)
		d := 0.0
		if o.refCount > 0 {
			d = min(1, math.Log1p(float64(demand))/math.Log1p(o.refCount))
		}
		s.Plausibility = 0.6*d + 0.4*supply
		if demand == 0 {
			s.Notes = append(s.Notes, "never searched")
		}
	}
	var notes []string
	s.Phrasing, notes = Phrasing(c)
	s.Notes = append(s.Notes, notes...)
	overall(&s)
	return s
}

// demand sums the counts of log queries that mention every value (or one
// of its aliases).
func (o *Offline) demand(attrs []KV) int {
	forms := make([][][]string, len(attrs))
	for i, a := range attrs {
		forms[i] = append(forms[i], foldedWords(a.Value))
		for _, al := range o.opts.Aliases[a.Key][a.Value] {
			forms[i] = append(forms[i], foldedWords(al))
		}
	}
	total := 0
	for qi, q := range o.logToks {
		all := true
		for _, fs := range forms {
			any := false
			for _, f := range fs {
				if containsSeq(q, f) {
					any = true
					break
				}
			}
			if !any {
				all = false
				break
			}
		}
		if all {
			total += o.opts.Log[qi].Count
		}
	}
	return total
}

func containsSeq(hay, needle []string) bool {
	if len(needle) == 0 {
		return false
	}
	for i := 0; i+len(needle) <= len(hay); i++ {
		ok := true
		for j := range needle {
			if hay[i+j] != needle[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	// "tshirt" against "t shirt": compare the joined forms too.
	return strings.Contains(strings.Join(hay, ""), strings.Join(needle, ""))
}

func foldedWords(s string) []string {
	var out []string
	for _, w := range strings.Fields(extract.Normalize(s)) {
		if f := extract.Fold(w); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Phrasing scores how much a query reads like a search, by rules: it has
// words and letters, at most 8 words, no word over 20 characters, no
// repeated word, no sentence punctuation, and it names every attribute's
// value. The score is the share of rules passed; notes name the failures.
func Phrasing(c Candidate) (float64, []string) {
	q := strings.TrimSpace(c.Query)
	words := strings.Fields(strings.ToLower(q))
	var notes []string
	rules := 0
	check := func(ok bool, note string) {
		rules++
		if !ok {
			notes = append(notes, note)
		}
	}
	letters := strings.IndexFunc(q, unicode.IsLetter) >= 0
	check(len(words) > 0 && letters, "no words")
	check(len(words) <= 8, "over 8 words")
	long, rep := false, false
	seen := map[string]bool{}
	for _, w := range words {
		long = long || len(w) > 20
		rep = rep || seen[w]
		seen[w] = true
	}
	check(!long, "a word over 20 characters")
	check(!rep, "a repeated word")
	check(!strings.ContainsAny(q, ".!?;:{}[]<>\"|\\"), "sentence punctuation")
	qf := foldedWords(q)
	named := true
	for _, a := range c.Attributes {
		if !containsSeq(qf, foldedWords(a.Value)) {
			named = false
		}
	}
	check(named, "does not name every value")
	digits := 0
	for _, w := range words {
		if strings.IndexFunc(w, unicode.IsLetter) < 0 {
			digits++
		}
	}
	check(digits*2 <= len(words), "mostly numbers")
	return float64(rules-len(notes)) / float64(rules), notes
}
