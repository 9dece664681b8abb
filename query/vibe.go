package query

import (
	"context"
	"fmt"
	"lander/similarity"
	"slices"
)

// EmbedFunc embeds texts into vectors, one per text. The caller supplies
// it, so the package stays pure.
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// Defaults of the embedding fallback.
const (
	// DefaultMinSimilarity is the least cosine similarity at which a
	// leftover phrase maps onto a vocabulary attribute.
	DefaultMinSimilarity = 0.5
	// DefaultPerPhrase is the most attributes one leftover phrase yields.
	DefaultPerPhrase = 2
	// maxVibePhrases bounds the phrases embedded per query.
	maxVibePhrases = 4
)

// Vibes is the embedding fallback: it maps the words the rules leave over
// ("beach holiday", "italian") onto the nearest vocabulary attributes, as
// soft attributes whose confidence is the cosine similarity.
type Vibes struct {
	// Embed embeds the leftover phrases.
	Embed EmbedFunc
	// Attributes are the vocabulary attributes that may be suggested, and
	// Vectors their embeddings (same order, same model as Embed).
	Attributes []KV
	Vectors    [][]float32
	// MinSimilarity is the least similarity kept; 0 means
	// DefaultMinSimilarity.
	MinSimilarity float64
	// PerPhrase is the most attributes, of distinct keys, one phrase
	// yields; 0 means DefaultPerPhrase.
	PerPhrase int
}

// ResolveContext resolves q like Resolve and then, when v is not nil, maps
// the leftover words through the embedding fallback. A key that the rules
// already resolved (or excluded) is never suggested. It fails only when the
// embedding function fails.
func (r *Resolver) ResolveContext(ctx context.Context, q string, v *Vibes) (Resolved, error) {
	res, runs := r.resolve(q)
	if v == nil || v.Embed == nil || len(runs) == 0 || len(v.Attributes) == 0 {
		return res, nil
	}
	if len(runs) > maxVibePhrases {
		runs = runs[:maxVibePhrases]
	}
	vecs, err := v.Embed(ctx, runs)
	if err != nil {
		return res, fmt.Errorf("embed leftover words: %w", err)
	}
	if len(vecs) != len(runs) {
		return res, fmt.Errorf("embed leftover words: %d vectors for %d phrases", len(vecs), len(runs))
	}
	minSim := v.MinSimilarity
	if minSim == 0 {
		minSim = DefaultMinSimilarity
	}
	per := v.PerPhrase
	if per <= 0 {
		per = DefaultPerPhrase
	}
	taken := map[string]bool{}
	for _, a := range res.Attributes {
		taken[a.Key] = true
	}
	for _, e := range res.Excluded {
		taken[e.Key] = true
	}
	type scored struct {
		i   int
		sim float64
	}
	for _, q := range vecs {
		var best []scored
		for i, av := range v.Vectors {
			if i >= len(v.Attributes) || taken[v.Attributes[i].Key] {
				continue
			}
			if s := similarity.Cosine(q, av); s >= minSim {
				best = append(best, scored{i, s})
			}
		}
		slices.SortFunc(best, func(a, b scored) int {
			if a.sim != b.sim {
				if a.sim > b.sim {
					return -1
				}
				return 1
			}
			return a.i - b.i
		})
		n := 0
		for _, b := range best {
			kv := v.Attributes[b.i]
			if n == per || taken[kv.Key] {
				continue
			}
			taken[kv.Key] = true
			n++
			res.Attributes = append(res.Attributes, Attribute{Key: kv.Key, Value: kv.Value, Strict: false, Confidence: round2(b.sim)})
		}
	}
	return res, nil
}
