package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// recordingEmbedder embeds with bagOfWords and records each call's texts;
// it fails while err is set.
type recordingEmbedder struct {
	mu    sync.Mutex
	calls [][]string
	err   error
}

func (r *recordingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	r.mu.Lock()
	r.calls = append(r.calls, slices.Clone(texts))
	err := r.err
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return bagOfWords{dim: 64}.Embed(ctx, texts)
}

func (r *recordingEmbedder) recorded() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func TestEmbedCacheHitMissAndBound(t *testing.T) {
	next := &recordingEmbedder{}
	m := newMetrics()
	c := newEmbedCache(next, 2, m)
	ctx := context.Background()
	embed := func(texts ...string) [][]float32 {
		t.Helper()
		vecs, err := c.Embed(ctx, texts)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := bagOfWords{dim: 64}.Embed(ctx, texts)
		for i := range texts {
			if !slices.Equal(vecs[i], want[i]) {
				t.Fatalf("vector of %q is not its own", texts[i])
			}
		}
		return vecs
	}
	embed("red shoes", "gym")
	embed("Red  shoes", "gym") // the same keys: both hit
	embed("gym", "beach")      // gym hits; beach evicts red shoes
	embed("red shoes")         // a miss again
	want := [][]string{{"red shoes", "gym"}, {"beach"}, {"red shoes"}}
	if got := next.recorded(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("calls of the encoder %q, want %q", got, want)
	}
	if n := c.Len(); n != 2 {
		t.Errorf("%d entries, want the bound 2", n)
	}
	hits, misses := cacheLookups(t, m, "hit"), cacheLookups(t, m, "miss")
	if hits != 3 || misses != 4 {
		t.Errorf("hits %v, misses %v; want 3 and 4", hits, misses)
	}
}

func TestEmbedCacheKeepsCopies(t *testing.T) {
	next := &recordingEmbedder{}
	c := newEmbedCache(next, 8, newMetrics())
	ctx := context.Background()
	first, err := c.Embed(ctx, []string{"blue jeans"})
	if err != nil {
		t.Fatal(err)
	}
	first[0][0] = 42 // the caller's slice, not the cache's
	again, err := c.Embed(ctx, []string{"blue jeans"})
	if err != nil {
		t.Fatal(err)
	}
	if again[0][0] == 42 {
		t.Error("the cache returned the vector a caller modified")
	}
}

func TestEmbedCacheErrorsAndBulkCalls(t *testing.T) {
	next := &recordingEmbedder{err: errors.New("encoder down")}
	c := newEmbedCache(next, 8, newMetrics())
	ctx := context.Background()
	if _, err := c.Embed(ctx, []string{"red shoes"}); err == nil {
		t.Fatal("no error from a failing encoder")
	}
	next.mu.Lock()
	next.err = nil
	next.mu.Unlock()
	if _, err := c.Embed(ctx, []string{"red shoes"}); err != nil {
		t.Fatal(err)
	}
	if n := len(next.recorded()); n != 2 {
		t.Errorf("%d calls of the encoder, want 2: a failure is not cached", n)
	}
	var bulk []string
	for i := range maxCachedCall + 1 {
		bulk = append(bulk, fmt.Sprint("value ", i))
	}
	if _, err := c.Embed(ctx, bulk); err != nil {
		t.Fatal(err)
	}
	if n := c.Len(); n != 1 {
		t.Errorf("%d entries after a bulk call, want 1: bulk calls pass by", n)
	}
}

func TestEmbedKey(t *testing.T) {
	for in, want := range map[string]string{
		"red shoes":            "red shoes",
		"  Red \t SHOES\r\n":   "red shoes",
		"crème Brûlée":         "crème brûlée",
		"a\u00a0b":             "a\u00a0b", // not white space to the key
		"Ä":                    "Ä",        // non-ASCII is kept
		"t-shirt under $20 ":   "t-shirt under $20",
		"":                     "",
		"already normal query": "already normal query",
	} {
		if got := embedKey(in); got != want {
			t.Errorf("embedKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// cacheLookups returns the embedding cache's lookups with result.
func cacheLookups(t *testing.T, m *metrics, result string) float64 {
	t.Helper()
	mfs, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lander_embed_cache_lookups_total" {
			continue
		}
		for _, c := range mf.GetMetric() {
			for _, l := range c.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return c.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
