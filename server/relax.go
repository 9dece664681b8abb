package server

import (
	"context"
	"slices"
	"strings"
	"sync"

	"lander/query"
	"lander/store"
)

// Search relaxation and narrowing. A strict tuple is relaxed one attribute
// at a time in the resolver's order (context words first, the product type
// last): context and descriptive words (occasion, season, pattern,
// material ...) while the search finds fewer results than the page asks
// for, product words (category, colour, gender, brand) only while it finds
// nothing at all, so that "black watch for men" with two matches shows
// those two rather than women's watches. What was dropped is listed in
// resolved.relaxed and keeps ranking as a soft attribute. A generic product word ("shoes", "bag") is
// narrowed to the leaf category that the query's context words single out
// in the catalog ("shoes for my morning jog": sports shoes).

// relaxedSearch searches with res's strict filter and relaxes res while
// the search finds fewer than need results (context and descriptive words)
// or none (product words). It returns the tuple as searched, its hits and their
// total.
func (s *Server) relaxedSearch(ctx context.Context, ix *Index, vec []float32, res query.Resolved, need, k, off int) (query.Resolved, []store.Hit, int, error) {
	f := filterOf(res)
	hits, total, err := s.storeSearch(ctx, ix, vec, f, k, off)
	if err != nil || total >= need {
		return res, hits, total, err
	}
	order := ix.Resolver.RelaxOrder(res)
	for len(order) > 0 {
		kv := order[0]
		order = order[1:]
		if total > 0 && query.IsProductWord(kv.Key) {
			break // a product word is dropped only when nothing matches
		}
		if broader, _ := res.Relax(kv); broader.Key != "" {
			order = append([]query.KV{broader}, order...) // tried next, dropped if it fails too
		}
		f.All = res.Strict()
		if hits, total, err = s.storeSearch(ctx, ix, vec, f, k, off); err != nil || total >= need {
			break
		}
	}
	return res, hits, total, err
}

// filterOf is the store filter of a resolved query.
func filterOf(res query.Resolved) store.Filter {
	return store.Filter{MinPrice: res.Price.Min, MaxPrice: res.Price.Max, All: res.Strict(), None: slices.Clone(res.Excluded)}
}

// counter counts the products a filter matches; both stores implement it.
type counter interface {
	Count(ctx context.Context, f store.Filter) (int, error)
}

// The embedded store counts; so does the Milvus store.
var _ counter = (*store.Embedded)(nil)

// Narrowing thresholds.
const (
	// leafShare is the least share of a category's products under a
	// generic value for the category to be one of its leaves.
	leafShare = 0.5
	// narrowShare is the least share of a leaf's products that carry the
	// context value for the leaf to be chosen.
	narrowShare = 0.5
	// narrowSupport is the least number of products of the leaf that
	// carry the context value.
	narrowSupport = 10
)

// narrowCache holds one generation's catalog counts for narrowing.
type narrowCache struct {
	mu     sync.Mutex
	leaves map[string][]string // generic subcategory -> its leaf categories
	counts map[string]int      // filter key -> count
}

// count counts the products carrying every kv, once per generation.
func (ix *Index) count(ctx context.Context, c counter, kvs ...store.KV) (int, error) {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = kv.Key + "=" + kv.Value
	}
	key := strings.Join(parts, "\x00")
	nc := &ix.narrow
	nc.mu.Lock()
	n, ok := nc.counts[key]
	nc.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := c.Count(ctx, store.Filter{All: kvs})
	if err != nil {
		return 0, err
	}
	nc.mu.Lock()
	if nc.counts == nil {
		nc.counts = map[string]int{}
	}
	nc.counts[key] = n
	nc.mu.Unlock()
	return n, nil
}

// leavesOf returns the categories whose products mostly fall under the
// subcategory sub ("sports shoes", "heels" under "shoes").
func (ix *Index) leavesOf(ctx context.Context, c counter, sub string) ([]string, error) {
	nc := &ix.narrow
	nc.mu.Lock()
	ls, ok := nc.leaves[sub]
	nc.mu.Unlock()
	if ok {
		return ls, nil
	}
	ls = []string{}
	for _, v := range ix.Vocabulary.Keys["category"] {
		if v.Value == sub || v.Count == 0 {
			continue
		}
		n, err := ix.count(ctx, c, store.KV{Key: "category", Value: v.Value}, store.KV{Key: "subcategory", Value: sub})
		if err != nil {
			return nil, err
		}
		if float64(n) >= leafShare*float64(v.Count) {
			ls = append(ls, v.Value)
		}
	}
	nc.mu.Lock()
	if nc.leaves == nil {
		nc.leaves = map[string][]string{}
	}
	nc.leaves[sub] = ls
	nc.mu.Unlock()
	return ls, nil
}

// narrowGeneric replaces a strict generic product word (a subcategory, or
// a category that names a subcategory, such as "shoes") by the leaf
// category that the query's context attributes single out: the leaf whose
// products most often carry the context value, when at least narrowShare
// of them and narrowSupport products do. Without a store that counts, or
// on a counting error, res is returned as it is.
func (s *Server) narrowGeneric(ctx context.Context, ix *Index, res query.Resolved) query.Resolved {
	c, ok := ix.Store.(counter)
	if !ok {
		return res
	}
	var ctxAttrs []query.Attribute
	for _, a := range res.Attributes {
		if query.IsContext(a.Key) {
			ctxAttrs = append(ctxAttrs, a)
		}
	}
	if len(ctxAttrs) == 0 {
		return res
	}
	for i, a := range res.Attributes {
		if !a.Strict || (a.Key != "category" && a.Key != "subcategory") {
			continue
		}
		if a.Key == "category" && ix.Resolver.Support(query.KV{Key: "subcategory", Value: a.Value}) == 0 {
			continue
		}
		leaves, err := ix.leavesOf(ctx, c, a.Value)
		if err != nil {
			s.log.Warn("narrowing unavailable", "err", err)
			return res
		}
		best, bestShare := "", 0.0
		for _, ca := range ctxAttrs {
			for _, l := range leaves {
				total := ix.Resolver.Support(query.KV{Key: "category", Value: l})
				n, err := ix.count(ctx, c, store.KV{Key: "category", Value: l}, store.KV{Key: ca.Key, Value: ca.Value})
				if err != nil {
					s.log.Warn("narrowing unavailable", "err", err)
					return res
				}
				if total == 0 || n < narrowSupport {
					continue
				}
				if sh := float64(n) / float64(total); sh > bestShare {
					best, bestShare = l, sh
				}
			}
			if best != "" {
				break // the most confident context attribute decides
			}
		}
		if best == "" || bestShare < narrowShare {
			continue
		}
		attrs := slices.Clone(res.Attributes)
		attrs[i] = query.Attribute{Key: "category", Value: best, Strict: true, Confidence: min(a.Confidence, float64(int(bestShare*100))/100)}
		res.Attributes = attrs
		return res
	}
	return res
}

// tuplePhrase writes strict values as a phrase ("red party dresses for
// women"): values in the preview order, the wearer last.
func tuplePhrase(kvs []query.KV) string {
	kvs = slices.Clone(kvs)
	slices.SortStableFunc(kvs, func(a, b query.KV) int { return previewRank(a.Key) - previewRank(b.Key) })
	var words []string
	gender := ""
	for _, kv := range kvs {
		if kv.Key == "gender" {
			gender = kv.Value
			continue
		}
		words = append(words, kv.Value)
	}
	if gender != "" {
		if len(words) == 0 {
			words = append(words, "products")
		}
		words = append(words, "for", gender)
	}
	if len(words) == 0 {
		return "products"
	}
	return strings.Join(words, " ")
}

// relaxedNote says what a relaxed search dropped: "No red party dresses;
// showing red dresses." Empty when nothing was relaxed.
func relaxedNote(res query.Resolved) string {
	if len(res.Relaxed) == 0 {
		return ""
	}
	kept := res.Strict()
	asked := append(slices.Clone(res.Relaxed), kept...)
	return "No " + tuplePhrase(asked) + "; showing " + tuplePhrase(kept) + "."
}
