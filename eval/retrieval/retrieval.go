// Package retrieval measures an index's retrieval against a catalog's true
// labels: query Precision@10 over labelled shopper queries, searched the
// way the server searches (resolver filters plus the text embedding of the
// query), and attribute Recall@10: the share of a product's true category,
// colour and gender among the ten vocabulary attributes nearest to its
// product embedding. Attribute vectors come from a pluggable
// AttributeEmbedder; TextAttributes embeds the values' text.
package retrieval

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"lander/eval/labels"
	"lander/eval/queryeval"
	"lander/indexer/topics"
	"lander/query"
	"lander/store"
	"lander/vocab"
)

// K is the depth of both measures.
const K = 10

// Searcher answers filtered vector searches (the store's Search).
type Searcher interface {
	Search(ctx context.Context, q []float32, f store.Filter, k, offset int) ([]store.Hit, int, error)
}

// EmbedFunc embeds texts into unit vectors.
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// AttributeEmbedder embeds vocabulary attributes into the product space.
type AttributeEmbedder func(ctx context.Context, attrs []topics.KV) ([][]float32, error)

// TextAttributes embeds each attribute's value text with a text encoder.
func TextAttributes(embed EmbedFunc) AttributeEmbedder {
	return func(ctx context.Context, attrs []topics.KV) ([][]float32, error) {
		texts := make([]string, len(attrs))
		for i, a := range attrs {
			texts[i] = a.Value
		}
		return embed(ctx, texts)
	}
}

// KindPrecision is the query precision of one kind of query.
type KindPrecision struct {
	Kind      string  `json:"kind"`
	Queries   int     `json:"queries"`
	Precision float64 `json:"precision_at_10"`
}

// QueryReport is the query Precision@10.
type QueryReport struct {
	Queries   int             `json:"queries"`
	Skipped   int             `json:"skipped"`
	Precision float64         `json:"precision_at_10"`
	Kinds     []KindPrecision `json:"kinds"`
}

// Queries searches every labelled query and scores its top 10 against the
// labels: the fraction of results that satisfy expect, expect_not and
// title_any, over min(10, matching). Queries with no matching product are
// skipped.
func Queries(ctx context.Context, r *query.Resolver, s Searcher, embed EmbedFunc, qs []queryeval.Query, l labels.Set) (QueryReport, error) {
	rep := QueryReport{Kinds: []KindPrecision{}}
	byKind := map[string]*KindPrecision{}
	sum := 0.0
	for _, q := range qs {
		if q.Matching <= 0 {
			rep.Skipped++
			continue
		}
		res := r.Resolve(q.Q)
		f := store.Filter{MinPrice: res.Price.Min, MaxPrice: res.Price.Max}
		f.All = res.Strict()
		f.None = slices.Clone(res.Excluded)
		vecs, err := embed(ctx, []string{q.Q})
		if err != nil {
			return rep, fmt.Errorf("query precision: %w", err)
		}
		hits, _, err := s.Search(ctx, vecs[0], f, K, 0)
		if err != nil {
			return rep, fmt.Errorf("query precision %q: %w", q.Q, err)
		}
		right := 0
		for _, h := range hits {
			if p := l[h.ID]; p != nil && satisfies(p, q) {
				right++
			}
		}
		prec := float64(right) / float64(min(K, q.Matching))
		prec = min(prec, 1)
		sum += prec
		rep.Queries++
		k := byKind[q.Kind]
		if k == nil {
			k = &KindPrecision{Kind: q.Kind}
			byKind[q.Kind] = k
		}
		k.Queries++
		k.Precision += prec
	}
	if rep.Queries > 0 {
		rep.Precision = sum / float64(rep.Queries)
	}
	for _, k := range byKind {
		k.Precision /= float64(k.Queries)
		rep.Kinds = append(rep.Kinds, *k)
	}
	slices.SortFunc(rep.Kinds, func(a, b KindPrecision) int { return cmp.Compare(a.Kind, b.Kind) })
	return rep, nil
}

// satisfies reports whether a product's labels meet a labelled query.
func satisfies(p *labels.Product, q queryeval.Query) bool {
	for col, vals := range q.Expect {
		if !oneOf(p.Cols[strings.ToLower(col)], vals) {
			return false
		}
	}
	for col, vals := range q.ExpectNot {
		if oneOf(p.Cols[strings.ToLower(col)], vals) {
			return false
		}
	}
	for _, w := range q.TitleNone {
		if p.TitleContains(w) {
			return false
		}
	}
	if len(q.TitleAny) > 0 {
		ok := false
		for _, w := range q.TitleAny {
			ok = ok || p.TitleContains(w)
		}
		return ok
	}
	return true
}

func oneOf(v string, vals []string) bool {
	for _, x := range vals {
		if labels.Same(x, v) {
			return true
		}
	}
	return false
}

// KeyRecall is the attribute recall of one key.
type KeyRecall struct {
	Key    string  `json:"key"`
	Total  int     `json:"total"`
	Found  int     `json:"found"`
	Recall float64 `json:"recall_at_10"`
}

// RecallReport is the attribute Recall@10.
type RecallReport struct {
	Products   int         `json:"products"`
	Attributes int         `json:"attributes"`
	Recall     float64     `json:"recall_at_10"`
	Keys       []KeyRecall `json:"keys"`
}

// RecallKeys are the label keys attribute recall looks for.
var RecallKeys = []string{"category", "color", "gender"}

// Attributes measures, for each product with a vector and labels, the
// share of its true category, colour and gender among the ten vocabulary
// attributes nearest to its vector.
func Attributes(ctx context.Context, products []store.Product, v vocab.Vocabulary, embed AttributeEmbedder, l labels.Set) (RecallReport, error) {
	var attrs []topics.KV
	for _, k := range RecallKeys {
		for _, val := range v.Keys[k] {
			attrs = append(attrs, topics.KV{Key: k, Value: val.Value})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(v.Keys)) {
		if !slices.Contains(RecallKeys, k) {
			for _, val := range v.Keys[k] {
				attrs = append(attrs, topics.KV{Key: k, Value: val.Value})
			}
		}
	}
	rep := RecallReport{Attributes: len(attrs), Keys: []KeyRecall{}}
	if len(attrs) == 0 {
		return rep, nil
	}
	vecs, err := embed(ctx, attrs)
	if err != nil {
		return rep, fmt.Errorf("attribute recall: %w", err)
	}
	per := map[string]*KeyRecall{}
	for _, k := range RecallKeys {
		per[k] = &KeyRecall{Key: k}
	}
	type sim struct {
		i int
		s float32
	}
	sims := make([]sim, len(attrs))
	for _, p := range products {
		lp := l[p.ID]
		if lp == nil || len(p.Vector) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rep.Products++
		for i, av := range vecs {
			var s float32
			for d := range av {
				s += av[d] * p.Vector[d]
			}
			sims[i] = sim{i, s}
		}
		slices.SortFunc(sims, func(a, b sim) int { return cmp.Compare(b.s, a.s) })
		for _, k := range RecallKeys {
			kr := per[k]
			kr.Total++
			for _, s := range sims[:min(K, len(sims))] {
				if a := attrs[s.i]; a.Key == k && lp.Match(k, a.Value) {
					kr.Found++
					break
				}
			}
		}
	}
	found, total := 0, 0
	for _, k := range RecallKeys {
		kr := per[k]
		if kr.Total > 0 {
			kr.Recall = float64(kr.Found) / float64(kr.Total)
		}
		found += kr.Found
		total += kr.Total
		rep.Keys = append(rep.Keys, *kr)
	}
	if total > 0 {
		rep.Recall = float64(found) / float64(total)
	}
	return rep, nil
}
