// Package extract turns catalog products into raw attributes. Each source of
// attributes is an Extractor: merchant tags mapped onto the contract's keys
// (Tags), titles and descriptions read with lexicons and learned brands
// (Text), and a vision-language model behind an OpenAI-compatible endpoint
// (VLM). Their output is raw: high recall, surface forms as found. The vocab
// package curates it into the vocabulary.
package extract

import (
	"context"
	"sort"
	"strings"
	"unicode"

	"lander/catalog"
)

// Sources of extracted attributes, as stored with each product attribute.
const (
	SourceTag  = "tag"
	SourceText = "text"
	SourceVLM  = "vlm"
)

// Attr is one raw attribute of one product.
type Attr struct {
	// Key is the attribute key: a contract key (category, color, ...) or a
	// merchant column name, lowercase.
	Key string
	// Value is the normalised value (see Normalize).
	Value string
	// Surface is the normalised text the value was read from when it
	// differs from Value (a lexicon synonym such as "navy" for "navy blue");
	// empty otherwise.
	Surface string
	// Source is one of the Source* constants.
	Source string
	// Confidence is in (0, 1]; merchant tags have 1.
	Confidence float32
}

// Extractor produces raw attributes for a batch of products: out[i] holds
// the attributes of products[i]. A product the extractor cannot read yields
// no attributes and is counted by the extractor, not returned as an error;
// the error is for failures that stop the run, such as a cancelled context.
type Extractor interface {
	// Source names the extractor's attributes (SourceTag, SourceText, ...).
	Source() string
	// Extract returns the attributes of each product of the batch.
	Extract(ctx context.Context, products []catalog.Product) ([][]Attr, error)
}

// sourceRank orders sources when two extractors produce the same value:
// merchant tags win, then the model, then text.
var sourceRank = map[string]int{SourceTag: 0, SourceVLM: 1, SourceText: 2}

// Merge combines the attributes several extractors produced for one
// product: one attribute per (key, Fold(value)), keeping the highest
// confidence and, on ties, the more trusted source. The result is sorted by
// key then value.
func Merge(lists ...[]Attr) []Attr {
	type id struct{ k, f string }
	best := map[id]int{}
	var out []Attr
	for _, l := range lists {
		for _, a := range l {
			i := id{a.Key, Fold(a.Value)}
			j, ok := best[i]
			if !ok {
				best[i] = len(out)
				out = append(out, a)
				continue
			}
			b := out[j]
			if a.Confidence > b.Confidence || a.Confidence == b.Confidence && sourceRank[a.Source] < sourceRank[b.Source] {
				out[j] = a
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// Normalize lowercases a value and collapses punctuation and whitespace to
// single spaces, keeping '&' and '-' inside words ("t-shirt" stays).
func Normalize(s string) string {
	var b strings.Builder
	space := false
	for _, c := range strings.ToLower(strings.TrimSpace(s)) {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == '&' || c == '-' {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(c)
			continue
		}
		space = true
	}
	return strings.Trim(b.String(), "-&")
}

// Fold is the identity of a value: lowercase letters and digits only, each
// word without its plural ending. "T-Shirts", "tshirt" and "t shirt" fold
// alike, as do "Casual Shoes" and "casual shoe". Two values with the same
// fold are one raw value; the evaluation compares values the same way.
func Fold(s string) string {
	var b strings.Builder
	for _, w := range words(s) {
		b.WriteString(FoldWord(w))
	}
	return b.String()
}

// FoldWord strips a plural ending from one lowercase alphanumeric word.
func FoldWord(w string) string {
	n := len(w)
	switch {
	case n <= 3:
		return w
	case strings.HasSuffix(w, "ies") && n > 4:
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"),
		strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "zes"):
		return w[:n-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), w == "tennis":
		return w
	case strings.HasSuffix(w, "s"):
		return w[:n-1]
	}
	return w
}

// words splits s into lowercase runs of letters and digits. A possessive
// "'s" is dropped with its apostrophe ("men's" is "men").
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(strings.ToLower(s))
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			cur = append(cur, c)
			continue
		}
		if (c == '\'' || c == '’') && i+1 < len(rs) && rs[i+1] == 's' && (i+2 == len(rs) || !unicode.IsLetter(rs[i+2])) {
			i++ // skip the possessive s
		}
		flush()
	}
	flush()
	return out
}

// Text is the product text the text encoder reads: the title and the
// description, never the merchant tags, which are labels.
func Text(p catalog.Product) string {
	switch {
	case p.Title != "" && p.Description != "":
		return p.Title + ". " + p.Description
	case p.Title != "":
		return p.Title
	default:
		return p.Description
	}
}
