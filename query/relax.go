package query

import (
	"cmp"
	"slices"
)

// Relaxation. A strict tuple that leaves too few results is relaxed one
// attribute at a time, weakest first, until the search finds enough (the
// search decides what is enough: a page for context and descriptive words,
// one result for product words, see IsProductWord); the dropped attributes keep ranking as soft ones and are
// listed in Resolved.Relaxed, so the relaxation is never silent. Weakness
// is, in order: the attribute's tier (context words before descriptive
// product words, then colour, gender, brand, and the product type last),
// its confidence (a cue or a corrected typo before a named value), and its
// catalog support (the rarer value first: it is the likelier to empty the
// result).

// contextKeys are the keys of context words: where and when something is
// worn, rather than what it is.
var contextKeys = map[string]bool{"occasion": true, "season": true}

// relaxTier orders keys by how readily they are relaxed; lower goes first.
func relaxTier(key string) int {
	if contextKeys[key] {
		return 0
	}
	switch key {
	case "color":
		return 2
	case "gender":
		return 3
	case "brand":
		return 4
	case "category", "subcategory", "mastercategory":
		return 5
	}
	return 1 // pattern, material, fit, sleeve and other descriptive keys
}

// IsContext reports whether key holds context words (occasion, season),
// which are relaxed before any product word.
func IsContext(key string) bool { return contextKeys[key] }

// IsProductWord reports whether key names what the product is (category,
// colour, gender, brand): the search relaxes these only when nothing
// matches, and context and descriptive words (occasion, season, pattern,
// material, fit ...) whenever a page is not filled.
func IsProductWord(key string) bool { return relaxTier(key) >= 2 }

// RelaxOrder returns the strict attributes of res, weakest first: the
// order in which a search that finds too few results drops them.
func (r *Resolver) RelaxOrder(res Resolved) []KV {
	var strict []Attribute
	for _, a := range res.Attributes {
		if a.Strict {
			strict = append(strict, a)
		}
	}
	slices.SortStableFunc(strict, func(a, b Attribute) int {
		if c := cmp.Compare(relaxTier(a.Key), relaxTier(b.Key)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Confidence, b.Confidence); c != 0 {
			return c
		}
		return cmp.Compare(r.count[KV{Key: a.Key, Value: a.Value}], r.count[KV{Key: b.Key, Value: b.Value}])
	})
	out := make([]KV, len(strict))
	for i, a := range strict {
		out[i] = KV{Key: a.Key, Value: a.Value}
	}
	return out
}

// Relax turns the strict attribute kv into a soft one and records it in
// Relaxed. When the same words also suggest a broader context value
// (Attribute.Broader: "wedding" is occasion=wedding, else ethnic), that
// value takes kv's place as a strict attribute, with a cue's confidence,
// and the caller may relax it in turn. It returns the broader attribute
// added, if any, and whether kv was strict.
func (res *Resolved) Relax(kv KV) (KV, bool) {
	for i, a := range res.Attributes {
		if a.Strict && a.Key == kv.Key && a.Value == kv.Value {
			attrs := slices.Clone(res.Attributes)
			attrs[i].Strict = false
			var broader KV
			if a.Broader != "" && !slices.ContainsFunc(attrs, func(o Attribute) bool { return o.Key == a.Key && o.Value == a.Broader }) {
				broader = KV{Key: a.Key, Value: a.Broader}
				attrs = append(attrs, Attribute{Key: a.Key, Value: a.Broader, Strict: true, Confidence: min(a.Confidence, sourceConfidence[srcCue])})
			}
			res.Attributes = attrs
			res.Relaxed = append(slices.Clone(res.Relaxed), kv)
			return broader, true
		}
	}
	return KV{}, false
}

// Support returns the catalog support of kv in the resolver's vocabulary
// (0 when the vocabulary lacks it).
func (r *Resolver) Support(kv KV) int { return r.count[kv] }
