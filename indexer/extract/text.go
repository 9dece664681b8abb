package extract

import (
	"context"
	"strings"

	"lander/catalog"
)

// Confidences of text attributes.
const (
	confTitle       = 0.9
	confDescription = 0.7
	confBrand       = 0.8
)

// brandStops end a brand candidate: the words that follow a brand in a
// title ("Puma Men ...", "Crocs Kids ...") besides lexicon phrases.
var brandStops = map[string]bool{"kid": true, "teen": true, "infant": true, "baby": true, "pack": true, "set": true, "combo": true}

// notBrands never start a brand: placeholders and filler words.
var notBrands = map[string]bool{"na": true, "new": true, "the": true, "a": true, "an": true, "free": true, "buy": true, "and": true, "of": true}

// maxBrandTokens bounds the length of a learned brand.
const maxBrandTokens = 4

// BrandRecurrence is the number of titles a prefix must start to be
// learned as a brand candidate; the frequency filter of curation then keeps
// those with enough support, like any value.
const BrandRecurrence = 2

// FromTitles returns a text extractor with the brands learned from titles
// (see BrandLearner), as the indexer builds it over a catalog.
func FromTitles(titles []string) *TextExtractor {
	l := NewBrandLearner(nil)
	for _, t := range titles {
		l.Observe(t)
	}
	return NewText(nil, l.Brands(BrandRecurrence))
}

// TextExtractor reads attributes from titles and descriptions with a
// lexicon, and the brand from the start of the title with brands learned
// from the catalog (see BrandLearner).
// Only the last category phrase of a title is kept: the product type comes
// last ("Chain Reaction T-shirt" is a t-shirt).
type TextExtractor struct {
	lex    *Lexicon
	brands *Brands
}

// NewText returns a text extractor; brands may be nil (no brand detection).
func NewText(lex *Lexicon, brands *Brands) *TextExtractor {
	if lex == nil {
		lex = DefaultLexicon()
	}
	return &TextExtractor{lex: lex, brands: brands}
}

// Source returns SourceText.
func (t *TextExtractor) Source() string { return SourceText }

// Extract returns the text attributes of each product.
func (t *TextExtractor) Extract(_ context.Context, products []catalog.Product) ([][]Attr, error) {
	out := make([][]Attr, len(products))
	for i, p := range products {
		out[i] = t.Of(p.Title, p.Description)
	}
	return out, nil
}

// Of returns the attributes read from a title and a description.
func (t *TextExtractor) Of(title, description string) []Attr {
	var attrs []Attr
	toks := tokens(title)
	start := 0
	if t.brands != nil {
		if b, n := t.brands.Match(toks); n > 0 {
			attrs = append(attrs, Attr{Key: "brand", Value: b, Source: SourceText, Confidence: confBrand})
			start = n
		}
	}
	attrs = append(attrs, t.scan(toks[start:], confTitle, true)...)
	if description != "" {
		attrs = append(attrs, t.scan(tokens(description), confDescription, false)...)
	}
	return Merge(attrs)
}

// scan matches lexicon phrases left to right, longest first.
func (t *TextExtractor) scan(toks []string, conf float32, lastCategory bool) []Attr {
	folded := make([]string, len(toks))
	for i, tk := range toks {
		folded[i] = tokenFold(tk)
	}
	var out []Attr
	cat := -1
	with := false // past "with" after a category: "Kurta with Dupatta" is a kurta
	for i := 0; i < len(toks); {
		if lastCategory && folded[i] == "with" && cat >= 0 {
			with = true
		}
		p, n := t.lex.match(folded, i)
		if n == 0 {
			i++
			continue
		}
		if with && (p.key == "category" || p.key == "color") {
			i += n // the accessory's type and colour are not the product's
			continue
		}
		a := Attr{Key: p.key, Value: p.value, Source: SourceText, Confidence: conf}
		if s := strings.Join(toks[i:i+n], " "); Fold(s) != Fold(p.value) {
			a.Surface = s
		}
		if lastCategory && p.key == "category" {
			if cat >= 0 {
				out = append(out[:cat], out[cat+1:]...)
			}
			cat = len(out)
		}
		out = append(out, a)
		i += n
	}
	return out
}

// BrandLearner counts the leading words of titles to learn brands: a brand
// is a title prefix, before the gender word or the first lexicon phrase,
// that many products share. It is not safe for concurrent use.
type BrandLearner struct {
	lex    *Lexicon
	counts map[string]int
}

// NewBrandLearner returns an empty learner using lex to find where a brand
// candidate ends.
func NewBrandLearner(lex *Lexicon) *BrandLearner {
	if lex == nil {
		lex = DefaultLexicon()
	}
	return &BrandLearner{lex: lex, counts: map[string]int{}}
}

// Observe counts the brand candidates of one title.
func (l *BrandLearner) Observe(title string) {
	toks := l.candidate(tokens(title))
	for n := 1; n <= len(toks); n++ {
		l.counts[strings.Join(toks[:n], " ")]++
	}
}

// candidate returns the leading tokens that may name a brand.
func (l *BrandLearner) candidate(toks []string) []string {
	end := len(toks)
	gendered := false
	for i, tk := range toks {
		if p, ok := l.lex.phrases[tokenFold(tk)]; ok && p.key == "gender" || brandStops[tokenFold(tk)] {
			end, gendered = i, ok && p.key == "gender"
			break
		}
	}
	if end == len(toks) { // no gender word: stop at the first lexicon phrase
		folded := foldTokens(toks)
		for i := range toks {
			if _, n := l.lex.match(folded, i); n > 0 {
				end = i
				break
			}
		}
	}
	toks = toks[:min(end, maxBrandTokens)]
	if len(toks) == 0 || notBrands[toks[0]] {
		return nil
	}
	// A candidate made of lexicon words or numbers only is no brand,
	// unless a gender word ends it and its words are several phrases, not
	// one: "Red Rose Women ..." names the brand Red Rose, whose words must
	// not read as colours; "Navy Blue Men ..." is one colour phrase.
	for _, tk := range toks {
		if !l.lex.Has(tk) && !isNumber(tk) {
			return toks
		}
	}
	if gendered && len(toks) >= 2 {
		if _, n := l.lex.match(foldTokens(toks), 0); n < len(toks) {
			return toks
		}
	}
	return nil
}

func isNumber(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Brands returns the learned brands: prefixes shared by at least minSupport
// titles.
func (l *BrandLearner) Brands(minSupport int) *Brands {
	b := &Brands{counts: map[string]int{}, min: max(minSupport, 1)}
	for p, n := range l.counts {
		if n >= b.min {
			b.counts[p] = n
		}
	}
	return b
}

// Brands is a learned set of brand names.
type Brands struct {
	counts map[string]int
	min    int
}

// Len returns the number of learned brand prefixes.
func (b *Brands) Len() int { return len(b.counts) }

// brandRatio is the share of a brand's first word's titles that a longer
// prefix must keep to be the brand: "peter england" keeps all of "peter",
// "colorbar pro" few of "colorbar".
const brandRatio = 0.5

// Match returns the brand that starts toks and the number of tokens it
// spans, or "", 0.
func (b *Brands) Match(toks []string) (string, int) {
	if len(toks) == 0 {
		return "", 0
	}
	first := b.counts[toks[0]]
	for n := min(maxBrandTokens, len(toks)); n >= 1; n-- {
		p := strings.Join(toks[:n], " ")
		c, ok := b.counts[p]
		if ok && (n == 1 || float64(c) >= brandRatio*float64(first)) {
			return p, n
		}
	}
	return "", 0
}
