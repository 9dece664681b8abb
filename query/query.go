// Package query resolves a shopper's text into an attribute tuple: strict
// attributes that filter, soft attributes that only rank, exclusions, and a
// price range. It is pure: it does no I/O and is built from the vocabulary
// the caller supplies, so the indexer (intent mining) and the server use the
// same resolver.
//
// Resolution runs in this order:
//
//  1. normalisation (Tokens): unicode, case, punctuation, whitespace,
//     plural endings, numbers and currency symbols;
//  2. price phrases ("under $200", "between 50 and 100 dollars", "2k");
//  3. typo correction of words that are neither vocabulary words nor
//     known English words (see typo.go for the guards);
//  4. longest-first n-gram matching against vocabulary values, their
//     curated aliases, then the built-in lexicon (lexicon.go), under a
//     fixed key priority when one phrase names values of several keys;
//  5. negation ("not black", "without lace", "except white", "no black
//     ones"), which turns the next match into an exclusion;
//  6. filler removal; what is left feeds the optional embedding fallback
//     (ResolveContext with Vibes), which adds soft attributes.
//
// Strictness comes in tiers (see relax.go). Product words (category, colour,
// gender, brand, price, explicit negation) named by the vocabulary, its
// aliases, common synonyms and corrected typos are strict. Context words
// (occasion and season, named or suggested by an activity or place cue:
// "party", "gym", "office", "beach") resolve strict too, but they are the
// first the search relaxes when the tuple leaves too few results, so they
// filter only where the catalog supports the combined tuple. Kinship cues
// ("a gift for my wife" suggests gender=women, but the gift may well be
// unisex) stay soft. Two different values of one key ("black or white
// shirts") are read as a choice and both become soft. Confidence is 1 for a value, 0.95
// for a curated alias, 0.9 for a built-in synonym, 0.8 or less for a cue
// word or a corrected typo, and the similarity for the embedding fallback.
package query

import (
	"cmp"
	"lander/vocab"
	"math"
	"slices"
	"strings"
)

// Term is one vocabulary value that queries can name.
type Term = vocab.Term

// Attribute is a resolved attribute. Strict attributes filter results;
// the others only rank them. Confidence is in [0, 1].
type Attribute struct {
	Key        string  `json:"key"`
	Value      string  `json:"value"`
	Strict     bool    `json:"strict"`
	Confidence float64 `json:"confidence"`
	// Broader is a context value the same words also suggest ("wedding":
	// occasion=ethnic), which Relax falls back to once; empty when none.
	Broader string `json:"-"`
}

// KV is a key and a value.
type KV = vocab.KV

// Price is an inclusive price range; nil bounds are open.
type Price struct {
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`
}

// Resolved is what a query asks for. Attributes and Excluded are never nil.
type Resolved struct {
	Attributes []Attribute `json:"attributes"`
	Excluded   []KV        `json:"excluded"`
	Price      Price       `json:"price"`
	// Relaxed lists the strict attributes the search dropped because
	// they left too few results (see Relax); never nil.
	Relaxed []KV `json:"relaxed"`
	// LowConfidence marks a query the rules read poorly: no product type
	// although words are left over, or a product type named only after a
	// complement word ("what do men wear under a formal shirt"). An
	// optional model resolver is asked about these only.
	LowConfidence bool `json:"-"`
	// Rest holds the normalised words that no vocabulary term, rule or
	// filler consumed, in query order.
	Rest string `json:"-"`
}

// Strict returns the strict attributes as key-value pairs.
func (r Resolved) Strict() []KV {
	var out []KV
	for _, a := range r.Attributes {
		if a.Strict {
			out = append(out, KV{Key: a.Key, Value: a.Value})
		}
	}
	return out
}

// Soft returns the attributes that only rank.
func (r Resolved) Soft() []Attribute {
	var out []Attribute
	for _, a := range r.Attributes {
		if !a.Strict {
			out = append(out, a)
		}
	}
	return out
}

// source says where a phrase comes from; lower is stronger.
type source uint8

const (
	srcValue source = iota
	srcAlias
	srcBuiltin
	srcCue
)

// confidence of a match by its source, before typo penalties.
var sourceConfidence = [...]float64{srcValue: 1, srcAlias: 0.95, srcBuiltin: 0.9, srcCue: 0.8}

type entry struct {
	kv  KV
	src source
}

// Resolver maps text onto vocabulary terms. It is immutable after
// NewResolver and safe for concurrent use.
type Resolver struct {
	phrases map[string][]entry // normalised phrase -> candidates, best first
	maxLen  int
	known   map[string]bool   // every token of every phrase
	spell   map[string]string // phrase words, as written and folded -> folded token
	byFirst map[byte][]string // keys of spell by first letter
	count   map[KV]int
	freq    map[string]int // folded phrase word -> support of the values it names
}

// keyRank orders keys when one phrase names values of several keys: the
// earlier key wins. Keys not listed come after, alphabetically.
var keyRank = []string{"category", "color", "gender", "occasion", "season", "pattern", "material", "brand", "subcategory", "mastercategory"}

func keyOrder(k string) int {
	if i := slices.Index(keyRank, k); i >= 0 {
		return i
	}
	return len(keyRank)
}

// NewResolver builds a resolver over the vocabulary terms. Built-in
// synonyms and cue words are added for the values that terms hold; a phrase
// that the vocabulary itself defines (as a value or an alias) is never
// overridden by the built-in lexicon.
func NewResolver(terms []Term) *Resolver {
	r := &Resolver{phrases: map[string][]entry{}, known: map[string]bool{}, spell: map[string]string{}, byFirst: map[byte][]string{}, count: map[KV]int{}, freq: map[string]int{}}
	add := func(phrase string, e entry, builtin bool) {
		ws := words(phrase)
		if len(ws) == 0 {
			return
		}
		toks := make([]string, len(ws))
		for i, w := range ws {
			toks[i] = Fold(w)
		}
		for i, t := range toks {
			r.spell[t] = t
			r.spell[ws[i]] = t
		}
		p := strings.Join(toks, " ")
		have := r.phrases[p]
		for _, h := range have {
			if h.kv == e.kv {
				return
			}
			if builtin && h.src <= srcAlias && keyOrder(h.kv.Key) <= keyOrder(e.kv.Key) &&
				!(e.src == srcCue && contextKeys[e.kv.Key] && h.kv.Key == e.kv.Key) {
				// The vocabulary defines this phrase for a key as strong. A
				// context cue of the same key stays as the phrase's broader
				// reading ("wedding": occasion=wedding, else ethnic), which
				// the search falls back to before dropping the key.
				return
			}
		}
		r.phrases[p] = append(have, e)
		r.maxLen = max(r.maxLen, len(toks))
		for _, t := range toks {
			r.known[t] = true
			r.freq[t] += r.count[e.kv]
		}
	}
	addAll := func(phrase string, e entry, vocabOnly bool) {
		add(phrase, e, vocabOnly)
		// "flip flops" is also "flipflops", "t shirt" also "tshirt".
		if toks := Tokens(phrase); len(toks) > 1 {
			if joined := strings.Join(toks, ""); len(joined) >= minTypoLen && isAlpha(joined) {
				add(joined, e, true)
			}
		}
	}
	for _, t := range terms {
		if t.Key == "" || t.Value == "" {
			continue
		}
		kv := KV{Key: t.Key, Value: t.Value}
		r.count[kv] = max(r.count[kv], t.Count)
	}
	for _, t := range terms {
		if t.Key != "" && t.Value != "" {
			addAll(t.Value, entry{KV{Key: t.Key, Value: t.Value}, srcValue}, false)
		}
	}
	for _, t := range terms {
		for _, a := range t.Aliases {
			if t.Key != "" && t.Value != "" {
				addAll(a, entry{KV{Key: t.Key, Value: t.Value}, srcAlias}, false)
			}
		}
	}
	for _, group := range [][]builtin{builtinAliases, builtinCues} {
		for _, b := range group {
			kv := KV{Key: b.key, Value: b.value}
			if _, ok := r.count[kv]; !ok {
				continue // the vocabulary lacks the target value
			}
			src := srcBuiltin
			if b.soft {
				src = srcCue
			}
			for _, p := range b.phrases {
				addAll(p, entry{kv, src}, true)
			}
		}
	}
	for p, es := range r.phrases {
		slices.SortStableFunc(es, func(a, b entry) int {
			if c := cmp.Compare(keyOrder(a.kv.Key), keyOrder(b.kv.Key)); c != 0 {
				return c
			}
			if c := cmp.Compare(a.src, b.src); c != 0 {
				return c
			}
			if c := cmp.Compare(a.kv.Key, b.kv.Key); c != 0 {
				return c
			}
			if c := cmp.Compare(r.count[b.kv], r.count[a.kv]); c != 0 {
				return c
			}
			return cmp.Compare(a.kv.Value, b.kv.Value)
		})
		r.phrases[p] = es
	}
	for w := range r.spell {
		if len(w) >= minTypoLen-1 && isAlpha(w) {
			r.byFirst[w[0]] = append(r.byFirst[w[0]], w)
		}
	}
	for _, ts := range r.byFirst {
		slices.Sort(ts)
	}
	return r
}

// negationWindow is how many words an open negation waits for its term.
const negationWindow = 3

// match is one phrase found in a query.
type match struct {
	entries []entry
	pos, n  int
	edits   int
	negated bool
}

// Resolve turns q into a tuple without the embedding fallback.
func (r *Resolver) Resolve(q string) Resolved {
	res, _ := r.resolve(q)
	return res
}

// resolve returns the tuple and the runs of leftover words that the
// embedding fallback may map.
func (r *Resolver) resolve(q string) (Resolved, []string) {
	out := Resolved{Attributes: []Attribute{}, Excluded: []KV{}, Relaxed: []KV{}}
	raw := words(q)
	folded := make([]string, len(raw))
	for i, w := range raw {
		folded[i] = Fold(w)
	}
	keep, price := extractPrice(folded)
	out.Price = price
	toks := make([]string, len(keep))
	for i, k := range keep {
		toks[i] = folded[k]
	}

	// Typo pass: correct unknown words; remember the edits per position.
	// A real English word is corrected only when the correction completes
	// a phrase of several words with a neighbour ("causal shoes").
	fixed := toks
	var edits []int
	for i, t := range toks {
		w := raw[keep[i]]
		c, d := r.correct(w, t, false)
		if c == "" && (commonWords[w] || commonWords[t]) {
			if c, d = r.correct(w, t, true); c != "" && !r.completes(toks, i, c) {
				c = ""
			}
		}
		if c != "" {
			if edits == nil {
				fixed = slices.Clone(toks)
				edits = make([]int, len(toks))
			}
			fixed[i], edits[i] = c, d
		}
	}

	var (
		matches []match
		rest    []string
		runs    []string
		run     []string
		negate  int
	)
	flush := func() {
		if len(run) > 0 {
			runs = append(runs, strings.Join(run, " "))
			run = run[:0]
		}
	}
	for i := 0; i < len(fixed); {
		if i+1 < len(fixed) && negatorPhrases[[2]string{fixed[i], fixed[i+1]}] {
			negate = negationWindow
			flush()
			i += 2
			continue
		}
		if negators[fixed[i]] {
			negate = negationWindow
			flush()
			i++
			continue
		}
		if n, es := r.longest(fixed[i:]); n > 0 {
			m := match{entries: es, pos: i, n: n, negated: negate > 0}
			for j := i; j < i+n && edits != nil; j++ {
				m.edits += edits[j]
			}
			matches = append(matches, m)
			flush()
			i += n
			if negate > 0 {
				negate = 0
				if i < len(fixed)-1 && negationJoins[fixed[i]] {
					negate = negationWindow // "not black or brown"
					i++
				}
			}
			continue
		}
		t := toks[i]
		switch {
		case fillers[t]:
			flush()
		case negate > 0:
			// A negated word the vocabulary lacks ("without lace") is
			// dropped: it must not reach the fallback as a wish.
			rest = append(rest, t)
			flush()
		default:
			rest = append(rest, t)
			run = append(run, t)
		}
		if negate > 0 {
			negate--
		}
		i++
	}
	flush()
	out.Rest = strings.Join(rest, " ")
	out.Attributes, out.Excluded = reconcile(complements(compoundColors(matches), fixed))
	out.LowConfidence = lowConfidence(out, matches, fixed)
	return out, runs
}

// completes reports whether c in place of toks[i] forms a phrase of two
// words or more with the words around it.
func (r *Resolver) completes(toks []string, i int, c string) bool {
	t := slices.Clone(toks)
	t[i] = c
	for start := max(0, i-r.maxLen+1); start <= i; start++ {
		if n, _ := r.longest(t[start:]); n >= 2 && start+n > i {
			return true
		}
	}
	return false
}

// longest returns the length of the longest phrase starting toks and its
// candidates.
func (r *Resolver) longest(toks []string) (int, []entry) {
	var buf [64]byte
	for n := min(r.maxLen, len(toks)); n > 0; n-- {
		b := buf[:0]
		for i, t := range toks[:n] {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, t...)
		}
		if es, ok := r.phrases[string(b)]; ok {
			return n, es
		}
	}
	return 0, nil
}

// basicHues are colour values that a preceding colour word qualifies:
// "olive green" is olive, "steel grey" is steel.
var basicHues = setOf("green", "blue", "red", "yellow", "pink", "purple", "orange", "brown", "grey", "black", "white")

// compoundColors drops a basic hue that directly follows another colour
// value, so that a shade named in two words ("olive green") resolves as the
// shade rather than as a choice of two colours.
func compoundColors(ms []match) []match {
	out := ms[:0:0]
	for i, m := range ms {
		if i > 0 {
			p := ms[i-1]
			if p.entries[0].kv.Key == "color" && m.entries[0].kv.Key == "color" && p.pos+p.n == m.pos &&
				p.negated == m.negated && basicHues[m.entries[0].kv.Value] {
				continue
			}
		}
		out = append(out, m)
	}
	return out
}

// complementMarkers introduce what the wanted product goes with rather than
// the product: "socks to wear with formal shoes", "a dupatta to match my
// kurta", "what shoes go with a saree".
var complementMarkers = setOf("with", "match", "matching", "under", "underneath", "complement", "complements")

// complements drops a product type named after a complement marker when
// another product type was named before the marker: the first is what the
// shopper wants, the later one only what it goes with.
func complements(ms []match, toks []string) []match {
	first := -1
	for i, m := range ms {
		if !m.negated && m.entries[0].kv.Key == "category" {
			first = i
			break
		}
	}
	if first < 0 {
		return ms
	}
	out := ms[: first+1 : first+1]
	for _, m := range ms[first+1:] {
		if !m.negated && m.entries[0].kv.Key == "category" && m.entries[0].src != srcCue {
			marked := false
			for j := ms[first].pos + ms[first].n; j < m.pos; j++ {
				marked = marked || complementMarkers[toks[j]]
			}
			if marked {
				continue
			}
		}
		out = append(out, m)
	}
	return out
}

// lowConfidence reports whether the rules' tuple is a weak reading of the
// query: words are left over and no product type was named, or the first
// product type follows a complement word.
func lowConfidence(res Resolved, ms []match, toks []string) bool {
	for _, m := range ms {
		if m.negated || m.entries[0].kv.Key != "category" && m.entries[0].kv.Key != "subcategory" {
			continue
		}
		for j := 0; j < m.pos; j++ {
			if complementMarkers[toks[j]] {
				return true
			}
		}
		return false
	}
	return res.Rest != ""
}

// candidate is one attribute a match proposes.
type candidate struct {
	kv   KV
	src  source
	conf float64
	pos  int
	alts []entry // the match's other readings, best first
}

// reconcile turns matches into attributes and exclusions: per key, a
// single named value is strict; several named values are a choice and all
// become soft; a built-in synonym yields to a vocabulary value of the same
// key ("denim jacket" is a jacket); cue words yield to any named value of
// their key. Exclusions win over attributes.
func reconcile(matches []match) ([]Attribute, []KV) {
	excluded := []KV{}
	var cands []candidate
	for _, m := range matches {
		es := m.entries[:1]
		if m.entries[0].src == srcCue {
			// A cue may suggest several values ("kids": boys and girls).
			es = m.entries
		}
		for _, e := range es {
			if m.negated {
				if !slices.Contains(excluded, e.kv) {
					excluded = append(excluded, e.kv)
				}
				continue
			}
			conf := sourceConfidence[e.src]
			switch {
			case m.edits == 1:
				conf = min(conf, 0.85)
			case m.edits > 1:
				conf = min(conf, 0.7)
			}
			cands = append(cands, candidate{kv: e.kv, src: e.src, conf: conf, pos: m.pos, alts: m.entries[1:]})
		}
	}
	// rival reports whether another candidate of c's key passes pred.
	rival := func(c candidate, pred func(o candidate) bool) bool {
		return slices.ContainsFunc(cands, func(o candidate) bool { return o.kv.Key == c.kv.Key && pred(o) })
	}
	var kept []candidate
	for i := 0; i < len(cands); i++ {
		c := cands[i]
		switch {
		case c.src == srcBuiltin && rival(c, func(o candidate) bool { return o.src <= srcAlias && o.kv != c.kv }):
			// "denim jacket": the named value wins over the synonym; the
			// phrase keeps its next reading (material=denim), if any.
			if len(c.alts) > 0 && c.alts[0].kv.Key != c.kv.Key {
				a := c.alts[0]
				cands = append(cands, candidate{kv: a.kv, src: a.src, conf: min(c.conf, sourceConfidence[a.src]), pos: c.pos, alts: c.alts[1:]})
			}
			continue
		case c.src == srcCue && rival(c, func(o candidate) bool { return o.src != srcCue }):
			continue // "casual office shirt": a named value wins over a cue
		}
		if slices.Contains(excluded, c.kv) {
			continue
		}
		if i := slices.IndexFunc(kept, func(o candidate) bool { return o.kv == c.kv }); i >= 0 {
			if c.src < kept[i].src || c.conf > kept[i].conf {
				kept[i].src, kept[i].conf = min(kept[i].src, c.src), max(kept[i].conf, c.conf)
			}
			continue
		}
		kept = append(kept, c)
	}
	values := map[string]int{}
	for _, c := range kept {
		if c.src != srcCue || contextKeys[c.kv.Key] {
			values[c.kv.Key]++
		}
	}
	attrs := make([]Attribute, 0, len(kept))
	for _, c := range kept {
		// A context cue ("gym", "beach") is as strict as a named context
		// value: the search relaxes context first when it leaves too few
		// results, so it only filters where the catalog supports it.
		strict := (c.src != srcCue || contextKeys[c.kv.Key]) && values[c.kv.Key] == 1
		a := Attribute{Key: c.kv.Key, Value: c.kv.Value, Strict: strict, Confidence: round2(c.conf)}
		if contextKeys[c.kv.Key] && c.src != srcCue {
			for _, e := range c.alts {
				if e.src == srcCue && e.kv.Key == c.kv.Key && e.kv != c.kv {
					a.Broader = e.kv.Value
					break
				}
			}
		}
		attrs = append(attrs, a)
	}
	return attrs, excluded
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
