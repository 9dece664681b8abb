package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"lander/datadir"
	"lander/store"
	"lander/vocab"
)

// benchVocab is the synthetic catalogue's vocabulary, by key.
var benchVocab = map[string][]string{
	"category": {"watches", "tshirts", "shirts", "jeans", "casual shoes", "sports shoes", "kurtas", "tops", "handbags", "sunglasses", "belts", "heels"},
	"color":    {"black", "white", "blue", "red", "green", "navy blue", "grey", "brown", "pink", "yellow"},
	"gender":   {"men", "women", "boys", "girls"},
	"brand":    {"nike", "puma", "adidas", "titan", "fastrack", "arrow", "catwalk", "wrangler"},
	"occasion": {"casual", "formal", "sports", "party"},
}

// newBenchServer returns a server over n synthetic products (bag-of-words
// vectors of 384 dimensions, five attributes each) and 3,000 topics of
// distinct tuples (a fashion-small generation has about 10,000), with no
// response cache, so that every search is computed.
func newBenchServer(b *testing.B, n int) *Server {
	b.Helper()
	const dim = 384
	enc := bagOfWords{dim: dim}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(key string) string { vs := benchVocab[key]; return vs[rng.IntN(len(vs))] }
	counter := vocab.NewCounter()
	prods := make([]store.Product, n)
	for i := range prods {
		var attrs []store.Attribute
		for _, key := range []string{"category", "color", "gender", "brand", "occasion"} {
			v := pick(key)
			attrs = append(attrs, store.Attribute{Key: key, Value: v, Score: 0.5 + rng.Float32()/2, Source: "tag"})
			counter.Add(key, v)
		}
		title := fmt.Sprintf("%s %s %s %s %d", attrs[3].Value, attrs[2].Value, attrs[1].Value, attrs[0].Value, i)
		v, _ := enc.Embed(context.Background(), []string{title})
		prods[i] = store.Product{ID: fmt.Sprint(i), Title: title, Attributes: attrs, Vector: v[0]}
	}
	st := store.NewEmbedded(dim)
	if err := st.Upsert(context.Background(), prods); err != nil {
		b.Fatal(err)
	}
	if err := st.Build(context.Background()); err != nil {
		b.Fatal(err)
	}
	var topics []Topic
	seen := map[string]bool{}
	for i := 0; len(topics) < 3000; i++ {
		tuple := kvs("category", pick("category"), "color", pick("color"), "gender", pick("gender"), "brand", pick("brand"))[:1+i%4]
		if key := fmt.Sprint(tuple); !seen[key] {
			seen[key] = true
			topics = append(topics, Topic{Slug: fmt.Sprintf("t-%d", i), Title: fmt.Sprint("topic ", i), Attributes: tuple, Size: 30, Score: rng.Float64(), Published: i%2 == 0})
		}
	}
	s := New(Options{Embedder: enc})
	ix := NewIndex(datadir.Manifest{Generation: 1}, st, memImages{}, counter.Vocabulary(1))
	ix.Collections = &fakeCollections{topics: topics}
	s.SetIndex(ix)
	return s
}

// benchQueries are searches with hits, some with leftover words for the
// embedding fallback.
var benchQueries = []string{
	"black watches for men", "navy blue tshirts for women", "red heels party", "nike sports shoes for boys",
	"grey kurtas for women festive", "white casual shoes", "titan watches", "brown belts for men gift",
	"blue jeans for men slim", "pink tops for girls beach holiday",
}

// BenchmarkSearchHandler serves uncached /api/v1/search requests through the
// whole handler: resolve, encode (a bag-of-words stand-in for the model),
// store, re-rank and render.
func BenchmarkSearchHandler(b *testing.B) {
	s := newBenchServer(b, 5000)
	h := s.Handler()
	reqs := make([]*http.Request, len(benchQueries))
	for i, q := range benchQueries {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/api/v1/search?q="+url.QueryEscape(q), nil)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, reqs[i%len(reqs)])
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		i++
	}
}

// BenchmarkRunSearch computes searches without the HTTP handler and the
// response's encoding.
func BenchmarkRunSearch(b *testing.B) {
	s := newBenchServer(b, 5000)
	ix := s.Current()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.runSearch(ctx, ix, benchQueries[i%len(benchQueries)], 10, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
