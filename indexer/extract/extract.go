// Package extract turns a catalog product into raw attributes: merchant tags
// mapped onto the contract's keys, as they come. Later stages (curation,
// model assignment) refine them.
package extract

import (
	"sort"
	"strings"
	"unicode"

	"lander/catalog"
	"lander/store"
)

// Source values of extracted attributes.
const (
	SourceTag = "tag"
)

// tagKeys maps merchant-tag columns onto the contract's fixed keys. Columns
// not listed keep their own (lowercased) name.
var tagKeys = map[string]string{
	"articletype": "category",
	"category":    "category",
	"basecolour":  "color",
	"basecolor":   "color",
	"colour":      "color",
	"color":       "color",
	"gender":      "gender",
	"season":      "season",
	"usage":       "occasion",
	"occasion":    "occasion",
	"brand":       "brand",
	"pattern":     "pattern",
	"material":    "material",
}

// dropKeys are merchant columns that describe the row rather than the
// product a shopper asks for.
var dropKeys = map[string]bool{"year": true, "productdisplayname": true}

// Tags returns the product's merchant tags as attributes under the
// contract's keys, with normalised values, sorted by key then value.
func Tags(p catalog.Product) []store.Attribute {
	seen := map[store.KV]bool{}
	var out []store.Attribute
	for k, v := range p.Tags {
		k = strings.ToLower(strings.TrimSpace(k))
		if dropKeys[k] {
			continue
		}
		if mapped, ok := tagKeys[k]; ok {
			k = mapped
		}
		v = Normalize(v)
		if k == "" || v == "" || v == "na" || v == "n a" {
			continue
		}
		kv := store.KV{Key: k, Value: v}
		if seen[kv] {
			continue
		}
		seen[kv] = true
		out = append(out, store.Attribute{Key: k, Value: v, Score: 1, Source: SourceTag})
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
	return b.String()
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
