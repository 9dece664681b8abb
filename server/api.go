package server

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"lander/query"
	"lander/queryllm"
	"lander/store"
)

// MaxLimit is the largest page a list endpoint returns.
const MaxLimit = 100

// AttributeJSON is an attribute in API responses.
type AttributeJSON struct {
	Key    string  `json:"key"`
	Value  string  `json:"value"`
	Score  float32 `json:"score"`
	Source string  `json:"source,omitempty"`
}

// ResultJSON is one product in a result list.
type ResultJSON struct {
	ID         string          `json:"id"`
	Title      string          `json:"title"`
	Score      float32         `json:"score"`
	ImageURL   string          `json:"image_url"`
	Price      *float64        `json:"price"`
	Attributes []AttributeJSON `json:"attributes"`
}

// SearchJSON is the body of /api/v1/search.
type SearchJSON struct {
	Query      string          `json:"query"`
	Resolved   query.Resolved  `json:"resolved"`
	Results    []ResultJSON    `json:"results"`
	Total      int             `json:"total"`
	Collection *CollectionLink `json:"collection"`
}

// CollectionLink names a collection matching a search.
type CollectionLink struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
}

func paging(c *gin.Context, defLimit int) (limit, offset int, err error) {
	limit, offset = defLimit, 0
	if s := c.Query("limit"); s != "" {
		n, e := strconv.Atoi(s)
		if e != nil || n < 1 || n > MaxLimit {
			return 0, 0, errBadRequest("limit must be an integer in [1, " + strconv.Itoa(MaxLimit) + "]")
		}
		limit = n
	}
	if s := c.Query("offset"); s != "" {
		n, e := strconv.Atoi(s)
		if e != nil || n < 0 || n > maxOffset {
			return 0, 0, errBadRequest("offset must be an integer in [0, " + strconv.Itoa(maxOffset) + "]")
		}
		offset = n
	}
	return limit, offset, nil
}

// Limits on request parameters.
const (
	// maxQueryLen bounds the search text, in characters.
	maxQueryLen = 512
	// maxOffset bounds paging.
	maxOffset = 100000
)

func (s *Server) search(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	q := strings.Join(strings.Fields(c.Query("q")), " ")
	if q == "" {
		s.fail(c, errBadRequest("missing query parameter q"))
		return
	}
	if utf8.RuneCountInString(q) > maxQueryLen {
		s.fail(c, errBadRequest("q is longer than "+strconv.Itoa(maxQueryLen)+" characters"))
		return
	}
	limit, offset, err := paging(c, 10)
	if err != nil {
		s.fail(c, err)
		return
	}
	key := s.cacheKey(ix, "search", q, strconv.Itoa(limit), strconv.Itoa(offset))
	var rendering time.Time // set when this request computes the search
	s.serveCached(c, key, func(ctx context.Context) (any, error) {
		out, start, err := s.searchResults(ctx, ix, q, limit, offset)
		rendering = start
		return out, err
	})
	if !rendering.IsZero() {
		since(s.metrics.stage.render, rendering)
	}
}

// runSearch resolves q, searches the store with the strict filter and the
// query's embedding, re-ranks a window of hits by the soft attributes and
// for brand diversity, and names the best matching published collection.
func (s *Server) runSearch(ctx context.Context, ix *Index, q string, limit, offset int) (SearchJSON, error) {
	out, rendering, err := s.searchResults(ctx, ix, q, limit, offset)
	if err != nil {
		return SearchJSON{}, err
	}
	since(s.metrics.stage.render, rendering)
	return out, nil
}

// searchResults is runSearch without the render stage's observation: it
// also returns when rendering began, for a caller that goes on to encode
// the results to time the whole stage. It observes the other stages.
func (s *Server) searchResults(ctx context.Context, ix *Index, q string, limit, offset int) (SearchJSON, time.Time, error) {
	// The query is embedded with the phrases the resolver's fallback asks
	// for, in one call of the encoder, or alone when there are none.
	var (
		vec    []float32
		encode time.Duration
	)
	withQuery := func(ctx context.Context, texts []string) ([][]float32, error) {
		start := time.Now()
		defer func() { encode += time.Since(start) }()
		vecs, err := s.embedAll(ctx, append([]string{q}, texts...))
		if err != nil {
			return nil, err
		}
		vec = vecs[0]
		return vecs[1:], nil
	}
	start := time.Now()
	res := s.resolve(ctx, ix, q, withQuery)
	if res.LowConfidence && s.opts.QueryLLM != nil {
		var outcome queryllm.Outcome
		res, outcome = s.opts.QueryLLM.Resolve(ctx, q, ix.Vocabulary, ix.Manifest.Name+"@"+strconv.FormatInt(ix.Manifest.CreatedAt.UnixNano(), 10), res)
		s.metrics.queryLLM.WithLabelValues(string(outcome)).Inc()
	}
	s.metrics.stage.resolve.Observe((time.Since(start) - encode).Seconds())
	if vec == nil {
		start := time.Now()
		v, err := s.embedAll(ctx, []string{q})
		if err != nil {
			return SearchJSON{}, time.Time{}, err
		}
		vec, encode = v[0], encode+time.Since(start)
	}
	s.metrics.stage.encode.Observe(encode.Seconds())
	// Soft attributes and brand diversity re-rank a window of the filtered
	// hits, which is then paged; pages past the window keep the store's
	// order.
	rerank := offset+limit <= MaxRerankWindow
	k, off := limit, offset
	if rerank {
		k, off = min(MaxRerankWindow, max(RerankWindow, offset+limit)), 0
	}
	start = time.Now()
	res = s.narrowGeneric(ctx, ix, res)
	// Too few results for a page relax the tuple; the page size, not the
	// offset, sets the need, so that every page of a search reads the same
	// tuple.
	res, hits, total, err := s.relaxedSearch(ctx, ix, vec, res, limit, k, off)
	if err != nil {
		return SearchJSON{}, time.Time{}, err
	}
	if len(res.Relaxed) > 0 {
		s.metrics.searchRelaxed.Inc()
	}
	if total == 0 {
		s.metrics.searchZero.Inc()
	}
	prods, err := s.products(ctx, ix, hits)
	if err != nil {
		return SearchJSON{}, time.Time{}, err
	}
	since(s.metrics.stage.store, start)
	start = time.Now()
	if rerank {
		hits = boost(hits, prods, res)
		if b := brands(hits, prods); !asksForBrand(res, q, b) {
			hits = diversify(hits, b)
		}
		hits = hits[min(offset, len(hits)):min(offset+limit, len(hits))]
	}
	coll, err := s.searchCollection(ctx, ix, res.Strict())
	if err != nil {
		return SearchJSON{}, time.Time{}, err
	}
	return SearchJSON{Query: q, Resolved: res, Results: resultList(ix, hits, prods), Total: total, Collection: coll}, start, nil
}

// embedAll encodes texts in one call of the embedder, timing it as query
// encoding.
func (s *Server) embedAll(ctx context.Context, texts []string) ([][]float32, error) {
	defer since(s.metrics.encode, time.Now())
	vecs, err := s.opts.Embedder.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("embed query: %d vectors for %d texts", len(vecs), len(texts))
	}
	return vecs, nil
}

// Re-ranking by soft attributes.
const (
	// RerankWindow is the number of filtered hits re-ranked when a query
	// has soft attributes.
	RerankWindow = 200
	// MaxRerankWindow is the deepest page re-ranked; later pages keep the
	// store's order.
	MaxRerankWindow = 500
	// SoftBoost is added to a hit's score per soft attribute the product
	// carries, times the attribute's confidence and the product's score for
	// that attribute.
	SoftBoost = 0.15
	// StrictDemotion is subtracted from a hit's score times the gap between
	// the product's best score for a strict attribute's key and its score
	// for the asked value.
	StrictDemotion = 2.0
)

// resolve resolves q with the generation's resolver and the embedding
// fallback, whose leftover phrases embed embeds. A failing fallback is
// logged and the rules' tuple is used.
func (s *Server) resolve(ctx context.Context, ix *Index, q string, embed query.EmbedFunc) query.Resolved {
	vibes, err := ix.Vibes(ctx, s.opts.Embedder)
	if err != nil {
		s.log.Warn("query fallback unavailable", "err", err)
		return ix.Resolver.Resolve(q)
	}
	v := *vibes
	v.Embed = embed
	res, err := ix.Resolver.ResolveContext(ctx, q, &v)
	if err != nil {
		s.log.Warn("query fallback failed", "q", q, "err", err)
		return ix.Resolver.Resolve(q)
	}
	return res
}

// boost re-scores hits by the soft attributes their products carry, and
// demotes products whose strict value is not their main value of its key
// (a product tagged heels that a title word also calls flats is a flat
// only second), then sorts them by the new score (ties by the store's
// order).
func boost(hits []store.Hit, prods map[string]store.Product, res query.Resolved) []store.Hit {
	soft, strict := res.Soft(), res.Strict()
	if len(soft) == 0 && len(strict) == 0 {
		return hits
	}
	out := slices.Clone(hits)
	for i, h := range out {
		attrs := prods[h.ID].Attributes
		for _, a := range attrs {
			for _, sa := range soft {
				if a.Key == sa.Key && a.Value == sa.Value {
					out[i].Score += float32(SoftBoost * sa.Confidence * float64(min(max(a.Score, 0), 1)))
				}
			}
		}
		for _, sa := range strict {
			var own, best float32
			for _, a := range attrs {
				if a.Key != sa.Key {
					continue
				}
				best = max(best, a.Score)
				if a.Value == sa.Value {
					own = a.Score
				}
			}
			out[i].Score -= StrictDemotion * (best - own)
		}
	}
	slices.SortStableFunc(out, func(a, b store.Hit) int { return cmp.Compare(b.Score, a.Score) })
	return out
}

// products loads the products of hits by id.
func (s *Server) products(ctx context.Context, ix *Index, hits []store.Hit) (map[string]store.Product, error) {
	byID := make(map[string]store.Product, len(hits))
	if len(hits) == 0 {
		return byID, nil
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	prods, err := s.storeGet(ctx, ix, ids)
	if err != nil {
		return nil, err
	}
	for _, p := range prods {
		byID[p.ID] = p
	}
	return byID, nil
}

// resultList renders hits in order; hits whose product is gone are skipped.
func resultList(ix *Index, hits []store.Hit, byID map[string]store.Product) []ResultJSON {
	out := make([]ResultJSON, 0, len(hits))
	for _, h := range hits {
		p, ok := byID[h.ID]
		if !ok {
			continue
		}
		out = append(out, result(ix, p, h.Score))
	}
	return out
}

// result renders a product of ix as a result with score.
func result(ix *Index, p store.Product, score float32) ResultJSON {
	return ResultJSON{ID: p.ID, Title: p.Title, Score: score, ImageURL: ix.imageURL(p.ID), Price: p.Price, Attributes: attrs(p.Attributes, false)}
}

func attrs(in []store.Attribute, withSource bool) []AttributeJSON {
	out := make([]AttributeJSON, 0, len(in))
	for _, a := range in {
		j := AttributeJSON{Key: a.Key, Value: a.Value, Score: a.Score}
		if withSource {
			j.Source = a.Source
		}
		out = append(out, j)
	}
	return out
}

// ProductJSON is the body of /api/v1/products/{id}.
type ProductJSON struct {
	ID         string          `json:"id"`
	Title      string          `json:"title"`
	ImageURL   string          `json:"image_url"`
	Price      *float64        `json:"price"`
	Attributes []AttributeJSON `json:"attributes"`
}

func (s *Server) product(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	id := c.Param("id")
	prods, err := s.storeGet(c.Request.Context(), ix, []string{id})
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(prods) == 0 {
		s.fail(c, errNotFound("no product with id "+strconv.Quote(id)))
		return
	}
	p := prods[0]
	c.JSON(http.StatusOK, ProductJSON{ID: p.ID, Title: p.Title, ImageURL: ix.imageURL(p.ID), Price: p.Price, Attributes: attrs(p.Attributes, true)})
}

func (s *Server) image(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	id := c.Param("id")
	b, format, ok, err := ix.Images.Get(id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !ok {
		s.fail(c, errNotFound("no image for id "+strconv.Quote(id)))
		return
	}
	// Only the current version is immutable: a page of another generation
	// must not pin these bytes under its URL.
	c.Header("Cache-Control", shortLived)
	if c.Query("v") == ix.assetVersion() {
		c.Header("Cache-Control", immutable)
	}
	etag := strconv.Quote(ix.assetVersion() + "-" + id)
	c.Header("ETag", etag)
	if noneMatch(c.Request.Header.Values("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "image/"+format, b)
}

func (s *Server) vocabulary(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	c.JSON(http.StatusOK, ix.Vocabulary)
}

// pathEscaper escapes the characters that would end or split a path
// segment; built once, as a Replacer builds its tables on first use.
var pathEscaper = strings.NewReplacer("%", "%25", "/", "%2F", "?", "%3F", "#", "%23", " ", "%20")

func pathEscape(s string) string { return pathEscaper.Replace(s) }
