package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"lander/datadir"
	"lander/store"
	"lander/vocab"
)

// newRecordingServer is newTestServer's index served with a recording
// embedder and an embedding cache of size entries (none when 0).
func newRecordingServer(t *testing.T, size int) (*httptest.Server, *recordingEmbedder) {
	t.Helper()
	_, base := newTestServer(t)
	rec := &recordingEmbedder{}
	s := New(Options{Embedder: rec, EmbedCacheSize: size})
	s.SetIndex(base.Current())
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, rec
}

// TestSearchEmbedsQueryWithLeftoverWords checks that a query's leftover
// words are embedded in the same call as the query, and a query without
// any alone.
func TestSearchEmbedsQueryWithLeftoverWords(t *testing.T) {
	ts, rec := newRecordingServer(t, 0)
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("black watch for men"), 200, nil)
	before := len(rec.recorded()) // the vocabulary's vectors, then the query
	if got := rec.recorded()[before-1]; !slices.Equal(got, []string{"black watch for men"}) {
		t.Errorf("last call %q, want the query alone", got)
	}
	q := "black watch for men zebra"
	get(t, ts, "/api/v1/search?q="+url.QueryEscape(q), 200, nil)
	calls := rec.recorded()[before:]
	if len(calls) != 1 || !slices.Equal(calls[0], []string{q, "zebra"}) {
		t.Errorf("calls %q, want one of the query and its leftover word", calls)
	}
}

// TestMetricsSearchStages checks that /metrics exposes the four stage
// histograms of search and the embedding cache's lookups.
func TestMetricsSearchStages(t *testing.T) {
	ts, _ := newRecordingServer(t, 16)
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("black watch for men"), 200, nil)
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("black watch for men")+"&limit=5", 200, nil)
	resp, err := ts.Client().Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, stage := range []string{"resolve", "encode", "store", "render"} {
		want := fmt.Sprintf(`lander_search_stage_duration_seconds_count{stage=%q} 2`, stage)
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The second search's query hits; the first's and the vocabulary's
	// values missed.
	for _, want := range []string{`lander_embed_cache_lookups_total{result="hit"} 1`, `lander_embed_cache_lookups_total{result="miss"} `} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestSearchCollectionMatchesBestCollection compares the indexed lookup of
// a search's collection with bestCollection over every topic, with
// overrides, on random topics and tuples.
func TestSearchCollectionMatchesBestCollection(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	values := map[string][]string{"category": {"watches", "shoes", "bags"}, "color": {"black", "red"}, "gender": {"men", "women"}}
	keys := []string{"category", "color", "gender"}
	tuple := func() []store.KV {
		var kv []store.KV
		for _, k := range keys {
			if rng.IntN(3) > 0 {
				kv = append(kv, store.KV{Key: k, Value: values[k][rng.IntN(len(values[k]))]})
			}
		}
		rng.Shuffle(len(kv), func(i, j int) { kv[i], kv[j] = kv[j], kv[i] })
		return kv
	}
	var topics []Topic
	for i := range 300 {
		// Few distinct scores, so that ties are common.
		topics = append(topics, Topic{Slug: fmt.Sprint("t", i), Title: fmt.Sprint("T", i), Attributes: tuple(), Score: float64(rng.IntN(3)), Published: rng.IntN(2) == 0})
	}
	s := New(Options{Embedder: bagOfWords{dim: 8}})
	for _, i := range []int{0, 5, 17, 40, 99} {
		published := !topics[i].Published
		if err := s.overrides.Put(context.Background(), topics[i].Slug, Override{Published: &published}); err != nil {
			t.Fatal(err)
		}
	}
	ix := NewIndex(datadir.Manifest{Generation: 1}, nil, nil, vocab.NewCounter().Vocabulary(1))
	ix.Collections = &fakeCollections{topics: topics}
	ctx := context.Background()
	all, err := s.topics(ctx, ix)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for range 500 {
		strict := tuple()
		got, err := s.searchCollection(ctx, ix, strict)
		if err != nil {
			t.Fatal(err)
		}
		if want := bestCollection(all, strict); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("searchCollection(%v) = %v, want %v", strict, got, want)
		}
		if got != nil {
			found++
		}
	}
	if found < 100 {
		t.Errorf("%d of 500 tuples have a collection: the test topics are too sparse", found)
	}
}

// TestEntryCompressorsReused builds entries of different sizes in turn,
// reusing the pooled compressors, and decodes each encoding.
func TestEntryCompressorsReused(t *testing.T) {
	for i, n := range []int{600, 5000, 600, 70000, 5000} {
		raw := []byte(strings.Repeat(fmt.Sprintf(`{"entry":%d,"text":"black watches for men"},`, i), n/40))
		e, err := newEntry(raw)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(e.gzip))
		if err != nil {
			t.Fatal(err)
		}
		gz, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(gz, raw) {
			t.Errorf("entry %d: gzip decodes to %d bytes (%v), want the body's %d", i, len(gz), err, len(raw))
		}
		br, err := io.ReadAll(brotli.NewReader(bytes.NewReader(e.br)))
		if err != nil || !bytes.Equal(br, raw) {
			t.Errorf("entry %d: brotli decodes to %d bytes (%v), want the body's %d", i, len(br), err, len(raw))
		}
	}
}
