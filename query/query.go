// Package query resolves a shopper's text into an attribute tuple: strict
// attributes that filter, exclusions, and a price range. It is pure: it does
// no I/O and is built from the vocabulary the caller supplies, so the indexer
// (intent mining) and the server use the same resolver.
package query

import (
	"sort"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Term is one vocabulary value that queries can name.
type Term struct {
	Key     string
	Value   string
	Aliases []string
}

// Attribute is a resolved attribute.
type Attribute struct {
	Key        string  `json:"key"`
	Value      string  `json:"value"`
	Strict     bool    `json:"strict"`
	Confidence float64 `json:"confidence"`
}

// KV is a key and a value.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Price is an inclusive price range; nil bounds are open.
type Price struct {
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`
}

// Resolved is what a query asks for.
type Resolved struct {
	Attributes []Attribute `json:"attributes"`
	Excluded   []KV        `json:"excluded"`
	Price      Price       `json:"price"`
	// Rest holds the words no vocabulary term or rule consumed.
	Rest string `json:"-"`
}

// Resolver maps text onto vocabulary terms.
type Resolver struct {
	phrases map[string][]KV // folded phrase -> candidate attributes
	maxLen  int
	rank    map[string]int
}

// keyRank orders keys when one phrase names values of several keys: the
// earlier key wins (a "casual" in a query is more often the occasion).
var keyRank = []string{"category", "color", "gender", "occasion", "season", "pattern", "material", "brand"}

// NewResolver builds a resolver over terms.
func NewResolver(terms []Term) *Resolver {
	r := &Resolver{phrases: map[string][]KV{}, rank: map[string]int{}}
	for i, k := range keyRank {
		r.rank[k] = i
	}
	add := func(phrase string, kv KV) {
		toks := Tokens(phrase)
		if len(toks) == 0 {
			return
		}
		p := strings.Join(toks, " ")
		for _, have := range r.phrases[p] {
			if have == kv {
				return
			}
		}
		r.phrases[p] = append(r.phrases[p], kv)
		if len(toks) > r.maxLen {
			r.maxLen = len(toks)
		}
	}
	for _, t := range terms {
		kv := KV{Key: t.Key, Value: t.Value}
		add(t.Value, kv)
		for _, a := range t.Aliases {
			add(a, kv)
		}
	}
	for p, kvs := range r.phrases {
		sort.SliceStable(kvs, func(i, j int) bool { return r.keyOrder(kvs[i].Key) < r.keyOrder(kvs[j].Key) })
		r.phrases[p] = kvs
	}
	return r
}

func (r *Resolver) keyOrder(k string) int {
	if i, ok := r.rank[k]; ok {
		return i
	}
	return len(keyRank)
}

// negators start an exclusion that covers the next matched term.
var negators = map[string]bool{"not": true, "no": true, "without": true, "except": true, "excluding": true, "non": true}

// Resolve turns q into a tuple. Longer phrases win over shorter ones; a key
// named twice keeps its first value strict.
func (r *Resolver) Resolve(q string) Resolved {
	out := Resolved{Attributes: []Attribute{}, Excluded: []KV{}}
	toks := Tokens(q)
	toks, out.Price = extractPrice(toks)
	seen := map[string]bool{}
	var rest []string
	negate := false
	for i := 0; i < len(toks); {
		if negators[toks[i]] {
			negate = true
			i++
			continue
		}
		n, kvs := r.longest(toks[i:])
		if n == 0 {
			rest = append(rest, toks[i])
			i++
			continue
		}
		kv := kvs[0]
		if negate {
			out.Excluded = append(out.Excluded, kv)
		} else if !seen[kv.Key] {
			seen[kv.Key] = true
			out.Attributes = append(out.Attributes, Attribute{Key: kv.Key, Value: kv.Value, Strict: true, Confidence: 1})
		}
		negate = false
		i += n
	}
	out.Rest = strings.Join(rest, " ")
	return out
}

func (r *Resolver) longest(toks []string) (int, []KV) {
	for n := min(r.maxLen, len(toks)); n > 0; n-- {
		if kvs, ok := r.phrases[strings.Join(toks[:n], " ")]; ok {
			return n, kvs
		}
	}
	return 0, nil
}

// extractPrice takes "under 200", "below $50", "over 30", "between 50 and 100"
// (with currency symbols or words) out of the tokens.
func extractPrice(toks []string) ([]string, Price) {
	var p Price
	var rest []string
	num := func(i int) (float64, int, bool) { // value, tokens used
		j := i
		for j < len(toks) && currency[toks[j]] {
			j++
		}
		if j >= len(toks) {
			return 0, 0, false
		}
		v, err := strconv.ParseFloat(toks[j], 64)
		if err != nil {
			return 0, 0, false
		}
		j++
		for j < len(toks) && currency[toks[j]] {
			j++
		}
		return v, j - i, true
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case (t == "under" || t == "below" || t == "less" || t == "cheaper" || t == "max" || t == "upto"):
			j := i + 1
			if j < len(toks) && (toks[j] == "than" || toks[j] == "to") {
				j++
			}
			if v, n, ok := num(j); ok {
				p.Max = &v
				i = j + n - 1
				continue
			}
		case t == "over" || t == "above" || t == "more" || t == "min":
			j := i + 1
			if j < len(toks) && toks[j] == "than" {
				j++
			}
			if v, n, ok := num(j); ok {
				p.Min = &v
				i = j + n - 1
				continue
			}
		case t == "between" || t == "from":
			if a, n, ok := num(i + 1); ok {
				j := i + 1 + n
				if j < len(toks) && (toks[j] == "and" || toks[j] == "to") {
					if b, m, ok := num(j + 1); ok {
						lo, hi := min(a, b), max(a, b)
						p.Min, p.Max = &lo, &hi
						i = j + m
						continue
					}
				}
			}
		}
		rest = append(rest, t)
	}
	return rest, p
}

var currency = map[string]bool{"$": true, "usd": true, "dollar": true, "dollars": true, "rs": true, "inr": true, "rupee": true, "rupees": true, "eur": true, "euro": true, "euros": true, "€": true, "£": true, "gbp": true}

// Tokens normalises text into folded tokens: unicode-normalised, accents
// removed, lower case, apostrophes dropped ("women's" is "womens"), other
// punctuation split, plural endings folded. Numbers keep their decimal point
// and currency symbols stand alone.
func Tokens(s string) []string {
	s = norm.NFKD.String(s)
	var b strings.Builder
	prev := rune(0)
	for _, c := range s {
		switch {
		case unicode.Is(unicode.Mn, c):
			continue
		case c == '\'' || c == '’':
			continue
		case unicode.IsLetter(c) || unicode.IsDigit(c):
			b.WriteRune(unicode.ToLower(c))
		case c == '.' && unicode.IsDigit(prev):
			b.WriteRune(c)
		case c == '$' || c == '€' || c == '£':
			b.WriteString(" " + string(c) + " ")
		default:
			b.WriteRune(' ')
		}
		prev = c
	}
	f := strings.Fields(b.String())
	for i, w := range f {
		f[i] = Fold(strings.TrimSuffix(w, "."))
	}
	return f
}

// Fold removes an English plural ending: "dresses" and "dress" both fold to
// "dress", "watches" to "watch", "shoes" to "shoe", "accessories" to
// "accessory".
func Fold(w string) string {
	if len(w) <= 3 || !isAlpha(w) {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"), strings.HasSuffix(w, "xes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s"):
		return w[:len(w)-1]
	}
	return w
}

func isAlpha(w string) bool {
	for _, c := range w {
		if !unicode.IsLetter(c) {
			return false
		}
	}
	return true
}
