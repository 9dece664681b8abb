package server

import (
	"slices"
	"strings"

	"lander/query"
	"lander/store"
)

// Brand diversity of search results.
const (
	// DiversityBlock is the page of results within which one brand is
	// capped.
	DiversityBlock = 10
	// MaxPerBrand is the most results of one brand in each block of
	// DiversityBlock results, unless the query asks for a brand.
	MaxPerBrand = 3
)

// brandOf is the first token of the product's brand attribute or, when it
// has none, of its title (catalog titles such as Fashion Product Images'
// begin with the brand), normalised as query tokens are. Empty means
// unknown, which is never capped.
func brandOf(p store.Product) string {
	name := p.Title
	for _, a := range p.Attributes {
		if a.Key == "brand" {
			name = a.Value
			break
		}
	}
	first, _, _ := strings.Cut(strings.TrimSpace(name), " ")
	if toks := query.Tokens(first); len(toks) > 0 {
		return toks[0]
	}
	return ""
}

// asksForBrand reports whether the query names a brand: a resolved brand
// attribute, or a query word that is the brand of one of the hits.
func asksForBrand(res query.Resolved, q string, brand map[string]string) bool {
	for _, a := range res.Attributes {
		if a.Key == "brand" {
			return true
		}
	}
	words := query.Tokens(q)
	for _, b := range brand {
		if b != "" && slices.Contains(words, b) {
			return true
		}
	}
	return false
}

// brands maps each hit to its brand, computed once per search.
func brands(hits []store.Hit, prods map[string]store.Product) map[string]string {
	out := make(map[string]string, len(hits))
	for _, h := range hits {
		out[h.ID] = brandOf(prods[h.ID])
	}
	return out
}

// diversify reorders hits so that each block of DiversityBlock results
// holds at most MaxPerBrand of one brand: a hit over the cap waits for the
// next block, and the best hit under it takes its place. When every
// remaining hit is over the cap the best one is taken, so no hit is lost.
func diversify(hits []store.Hit, brand map[string]string) []store.Hit {
	rest := slices.Clone(hits)
	out := make([]store.Hit, 0, len(hits))
	counts := map[string]int{}
	for len(rest) > 0 {
		if len(out)%DiversityBlock == 0 {
			clear(counts)
		}
		pick := 0
		for i, h := range rest {
			if b := brand[h.ID]; b == "" || counts[b] < MaxPerBrand {
				pick = i
				break
			}
		}
		h := rest[pick]
		rest = slices.Delete(rest, pick, pick+1)
		counts[brand[h.ID]]++
		out = append(out, h)
	}
	return out
}
