package extract

import (
	"context"
	"strings"

	"lander/catalog"
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

// Tags extracts merchant tags: the structured columns of the catalog.
type Tags struct{}

// Source returns SourceTag.
func (Tags) Source() string { return SourceTag }

// Extract returns each product's tags (see TagsOf).
func (Tags) Extract(_ context.Context, products []catalog.Product) ([][]Attr, error) {
	out := make([][]Attr, len(products))
	for i, p := range products {
		out[i] = TagsOf(p)
	}
	return out, nil
}

// TagsOf returns the product's merchant tags as attributes under the
// contract's keys, with normalised values and confidence 1, one per
// (key, Fold(value)), sorted by key then value.
func TagsOf(p catalog.Product) []Attr {
	var out []Attr
	for k, v := range p.Tags {
		k = strings.ToLower(strings.TrimSpace(k))
		if dropKeys[k] {
			continue
		}
		if mapped, ok := tagKeys[k]; ok {
			k = mapped
		}
		v = Normalize(v)
		if k == "" || v == "" || v == "na" || v == "n a" || v == "none" || v == "null" {
			continue
		}
		out = append(out, Attr{Key: k, Value: v, Source: SourceTag, Confidence: 1})
	}
	return Merge(out)
}
