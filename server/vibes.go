package server

import (
	"context"
	"fmt"
	"sync"

	"lander/query"
)

// vibeKeys are the keys whose values the embedding fallback may suggest:
// what a vibe word ("beach", "grunge", "wedding") can mean. Gender, brand
// and colour are named, not evoked, and are left to the rules.
var vibeKeys = []string{"occasion", "season", "category", "pattern", "material", "style"}

// maxVibeValues bounds the vocabulary values embedded per generation.
const maxVibeValues = 600

// vibeCache holds a generation's fallback vectors, built once on first use.
// A failed build is retried by a later request.
type vibeCache struct {
	mu    sync.Mutex
	vibes *query.Vibes
}

// Vibes returns the embedding fallback of the generation, embedding its
// vocabulary values with e on first use (a few hundred short texts, once
// per generation).
func (ix *Index) Vibes(ctx context.Context, e Embedder) (*query.Vibes, error) {
	ix.vibes.mu.Lock()
	defer ix.vibes.mu.Unlock()
	if ix.vibes.vibes != nil {
		return ix.vibes.vibes, nil
	}
	var attrs []query.KV
	var texts []string
	for _, k := range vibeKeys {
		for _, v := range ix.Vocabulary.Keys[k] {
			if len(attrs) == maxVibeValues {
				break
			}
			attrs = append(attrs, query.KV{Key: k, Value: v.Value})
			texts = append(texts, v.Value)
		}
	}
	v := &query.Vibes{
		Embed:      func(ctx context.Context, texts []string) ([][]float32, error) { return e.Embed(ctx, texts) },
		Attributes: attrs,
	}
	if len(texts) > 0 {
		vecs, err := e.Embed(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("embed vocabulary: %w", err)
		}
		if len(vecs) != len(texts) {
			return nil, fmt.Errorf("embed vocabulary: %d vectors for %d values", len(vecs), len(texts))
		}
		v.Vectors = vecs
	}
	ix.vibes.vibes = v
	return v, nil
}
