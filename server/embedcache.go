package server

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// maxCachedCall is the most texts of an Embed call that the embedding cache
// serves; larger calls (a generation's vocabulary) go straight to the
// encoder, so that they do not flush the queries out of the cache.
const maxCachedCall = 8

// embedCache is a bounded LRU of text embeddings in front of an Embedder,
// keyed by the text as the tokenizer sees it (embedKey): a repeated query
// or leftover phrase skips the model. Vectors it returns are shared and must
// not be modified.
type embedCache struct {
	next    Embedder
	size    int
	hits    prometheus.Counter
	misses  prometheus.Counter
	mu      sync.Mutex
	ll      *list.List // of *embedEntry, most recently used first
	entries map[string]*list.Element
}

type embedEntry struct {
	key string
	vec []float32
}

// newEmbedCache returns a cache of at most size embeddings over next,
// counting its lookups in m.
func newEmbedCache(next Embedder, size int, m *metrics) *embedCache {
	return &embedCache{
		next:    next,
		size:    size,
		hits:    m.embedCacheLookups.WithLabelValues("hit"),
		misses:  m.embedCacheLookups.WithLabelValues("miss"),
		ll:      list.New(),
		entries: make(map[string]*list.Element, size),
	}
}

// Embed returns one vector per text, in order: cached ones from the cache,
// the others from one call of the next embedder, which the cache then keeps.
func (c *embedCache) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) > maxCachedCall {
		return c.next.Embed(ctx, texts)
	}
	out := make([][]float32, len(texts))
	var keys [maxCachedCall]string
	var missed []string
	var at []int // indexes of missed in texts
	c.mu.Lock()
	for i, t := range texts {
		keys[i] = embedKey(t)
		if e, ok := c.entries[keys[i]]; ok {
			c.ll.MoveToFront(e)
			out[i] = e.Value.(*embedEntry).vec
			continue
		}
		missed, at = append(missed, t), append(at, i)
	}
	c.mu.Unlock()
	c.hits.Add(float64(len(texts) - len(missed)))
	c.misses.Add(float64(len(missed)))
	if len(missed) == 0 {
		return out, nil
	}
	vecs, err := c.next.Embed(ctx, missed)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(missed) {
		return nil, fmt.Errorf("embed: %d vectors for %d texts", len(vecs), len(missed))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, i := range at {
		out[i] = vecs[j]
		c.add(keys[i], vecs[j])
	}
	return out, nil
}

// add keeps a copy of vec under key, evicting the least recently used
// entry when the cache is full. c.mu must be held.
func (c *embedCache) add(key string, vec []float32) {
	if e, ok := c.entries[key]; ok {
		c.ll.MoveToFront(e)
		return
	}
	if c.ll.Len() >= c.size {
		oldest := c.ll.Back()
		c.ll.Remove(oldest)
		delete(c.entries, oldest.Value.(*embedEntry).key)
	}
	// A copy: vec may share its array with the rest of a batch.
	c.entries[key] = c.ll.PushFront(&embedEntry{key: key, vec: slices.Clip(slices.Clone(vec))})
}

// Len returns the number of cached embeddings.
func (c *embedCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// embedKey normalises text into the cache's key without changing what the
// tokenizer reads: runs of ASCII white space (space, tab, CR, LF, which the
// tokenizer splits on) become one space and are trimmed at the ends, and
// ASCII letters are lower-cased (the model is uncased: its tokenizer
// lower-cases). Every other byte is kept.
func embedKey(text string) string {
	if isEmbedKey(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	space := false
	for i := 0; i < len(text); i++ {
		ch := text[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			space = b.Len() > 0
			continue
		case 'A' <= ch && ch <= 'Z':
			ch += 'a' - 'A'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// isEmbedKey reports whether text is its own key, as most queries are.
func isEmbedKey(text string) bool {
	for i := 0; i < len(text); i++ {
		switch ch := text[i]; {
		case ch == '\t' || ch == '\n' || ch == '\r' || 'A' <= ch && ch <= 'Z':
			return false
		case ch == ' ' && (i == 0 || i == len(text)-1 || text[i+1] == ' '):
			return false
		}
	}
	return true
}
