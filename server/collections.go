package server

import (
	"cmp"
	"context"
	"lander/vocab"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"lander/store"
)

// Topic is a collection of one generation: an attribute tuple with its title,
// the length of its feed and whether the publish rule passed it.
type Topic struct {
	Slug        string
	Title       string
	Description string
	Attributes  []store.KV
	// Size is the number of products in the topic's feed.
	Size int
	// Score orders topics, higher first.
	Score float64
	// Published says whether the generation's publish rule passed the topic;
	// a merchandiser override may say otherwise.
	Published bool
}

// FeedItem is one product of a topic's ranked feed, with the attributes that
// put it there and their scores.
type FeedItem struct {
	ID       string
	Score    float32
	Evidence []store.Attribute
}

// Collections is what the server needs from a generation's topics and feeds.
type Collections interface {
	// Topics returns every topic of the generation, published or not, best
	// first.
	Topics(ctx context.Context) ([]Topic, error)
	// Feed returns the topic with slug and its ranked feed; ok is false when
	// there is no such topic.
	Feed(ctx context.Context, slug string) (t Topic, feed []FeedItem, ok bool, err error)
}

// KVJSON is a key and a value in API responses.
type KVJSON = vocab.KV

// CollectionSummaryJSON is one entry of /api/v1/collections.
type CollectionSummaryJSON struct {
	Slug       string   `json:"slug"`
	Title      string   `json:"title"`
	Attributes []KVJSON `json:"attributes"`
	Size       int      `json:"size"`
	Score      float64  `json:"score"`
}

// CollectionListJSON is the body of /api/v1/collections.
type CollectionListJSON struct {
	Collections []CollectionSummaryJSON `json:"collections"`
	Total       int                     `json:"total"`
}

// FeedProductJSON is a product of a landing page or a preview: a search
// result with the evidence that placed it in the feed.
type FeedProductJSON struct {
	ResultJSON
	// Evidence holds the collection's attributes as the product carries
	// them, with their scores and sources.
	Evidence []AttributeJSON `json:"evidence"`
	// Pinned says a merchandiser placed the product.
	Pinned bool `json:"pinned,omitempty"`
}

// CollectionJSON is the body of /api/v1/collections/{slug}.
type CollectionJSON struct {
	Slug        string            `json:"slug"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Attributes  []KVJSON          `json:"attributes"`
	Products    []FeedProductJSON `json:"products"`
	Total       int               `json:"total"`
}

// maxCollectionQuery bounds the q of the collection list.
const maxCollectionQuery = 200

// kvJSON returns kvs for a response, where an empty tuple is [] rather
// than null.
func kvJSON(kvs []store.KV) []KVJSON {
	if kvs == nil {
		return []KVJSON{}
	}
	return kvs
}

// topics returns the generation's topics with the overrides' publish flags
// applied; a generation without topics has none.
func (s *Server) topics(ctx context.Context, ix *Index) ([]Topic, error) {
	if ix.Collections == nil {
		return nil, nil
	}
	ts, err := ix.Collections.Topics(ctx)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(ts)
	for i := range out {
		if ov, ok := s.overrides.Get(out[i].Slug); ok && ov.Published != nil {
			out[i].Published = *ov.Published
		}
	}
	return out, nil
}

// matches reports whether every word of q is in the topic's title or values.
func (t Topic) matches(words []string) bool {
	hay := strings.ToLower(t.Title)
	for _, kv := range t.Attributes {
		hay += " " + strings.ToLower(kv.Value)
	}
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// pagedIndex is the start of a paged API response: the served index, the
// limit and the offset; false when it has answered already (no index, bad
// paging parameters).
func (s *Server) pagedIndex(c *gin.Context, defLimit int) (ix *Index, limit, offset int, ok bool) {
	ix = s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return nil, 0, 0, false
	}
	limit, offset, err := paging(c, defLimit)
	if err != nil {
		s.fail(c, err)
		return nil, 0, 0, false
	}
	return ix, limit, offset, true
}

func (s *Server) listCollections(c *gin.Context) {
	ix, limit, offset, ok := s.pagedIndex(c, 24)
	if !ok {
		return
	}
	q := strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(q) > maxCollectionQuery {
		s.fail(c, errBadRequest("q is longer than "+strconv.Itoa(maxCollectionQuery)+" characters"))
		return
	}
	key := s.cacheKey(ix, "collections", strings.ToLower(q), strconv.Itoa(limit), strconv.Itoa(offset))
	s.serveCached(c, key, func(ctx context.Context) (any, error) {
		ts, err := s.topics(ctx, ix)
		if err != nil {
			return nil, err
		}
		words := strings.Fields(strings.ToLower(q))
		var pub []Topic
		for _, t := range ts {
			if t.Published && t.matches(words) {
				pub = append(pub, t)
			}
		}
		out := CollectionListJSON{Collections: []CollectionSummaryJSON{}, Total: len(pub)}
		for _, t := range pub[min(offset, len(pub)):min(offset+limit, len(pub))] {
			size := t.Size
			if ov, ok := s.overrides.Get(t.Slug); ok && (len(ov.Pins) > 0 || len(ov.Excludes) > 0) {
				_, items, err := s.feed(ctx, ix, t.Slug)
				if err != nil {
					return nil, err
				}
				size = len(items)
			}
			out.Collections = append(out.Collections, CollectionSummaryJSON{
				Slug: t.Slug, Title: t.Title, Attributes: kvJSON(t.Attributes), Size: size, Score: t.Score,
			})
		}
		return out, nil
	})
}

// feed returns a topic and its feed with its overrides applied: pins first
// in their order, then the ranked feed without pinned or excluded products.
func (s *Server) feed(ctx context.Context, ix *Index, slug string) (Topic, []FeedItem, error) {
	t, items, ok, err := ix.Collections.Feed(ctx, slug)
	if err != nil {
		return Topic{}, nil, err
	}
	if !ok {
		return Topic{}, nil, errNotFound("no collection " + strconv.Quote(slug))
	}
	ov, _ := s.overrides.Get(slug)
	return t, applyOverrides(items, ov), nil
}

func applyOverrides(items []FeedItem, ov Override) []FeedItem {
	if len(ov.Pins) == 0 && len(ov.Excludes) == 0 {
		return items
	}
	drop := make(map[string]bool, len(ov.Pins)+len(ov.Excludes))
	for _, id := range ov.Excludes {
		drop[id] = true
	}
	byID := make(map[string]FeedItem, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	out := make([]FeedItem, 0, len(items)+len(ov.Pins))
	for _, id := range ov.Pins {
		if drop[id] {
			continue
		}
		drop[id] = true
		it, ok := byID[id]
		if !ok {
			it = FeedItem{ID: id} // pinned from outside the feed: evidence comes from the product
		}
		out = append(out, it)
	}
	for _, it := range items {
		if !drop[it.ID] {
			out = append(out, it)
		}
	}
	return out
}

// pinSet is the set of the products an override pins.
func pinSet(ov Override) map[string]bool {
	pinned := make(map[string]bool, len(ov.Pins))
	for _, id := range ov.Pins {
		pinned[id] = true
	}
	return pinned
}

// visible reports whether a topic may be served: published by the rule or
// by an override.
func (s *Server) visible(t Topic) bool {
	if ov, ok := s.overrides.Get(t.Slug); ok && ov.Published != nil {
		return *ov.Published
	}
	return t.Published
}

func (s *Server) collection(c *gin.Context) {
	ix, limit, offset, ok := s.pagedIndex(c, 24)
	if !ok {
		return
	}
	slug := c.Param("slug")
	key := s.cacheKey(ix, "collection", slug, strconv.Itoa(limit), strconv.Itoa(offset))
	s.serveCached(c, key, func(ctx context.Context) (any, error) {
		return s.landingPage(ctx, ix, slug, limit, offset)
	})
}

// landingPage renders a page of a published collection.
func (s *Server) landingPage(ctx context.Context, ix *Index, slug string, limit, offset int) (CollectionJSON, error) {
	notFound := errNotFound("no published collection " + strconv.Quote(slug))
	if ix.Collections == nil {
		return CollectionJSON{}, notFound
	}
	t, items, err := s.feed(ctx, ix, slug)
	if err != nil {
		if isNotFound(err) {
			return CollectionJSON{}, notFound
		}
		return CollectionJSON{}, err
	}
	if !s.visible(t) {
		return CollectionJSON{}, notFound
	}
	ov, _ := s.overrides.Get(slug)
	pinned := pinSet(ov)
	page := items[min(offset, len(items)):min(offset+limit, len(items))]
	prods, err := s.feedProducts(ctx, ix, page, t.Attributes, pinned)
	if err != nil {
		return CollectionJSON{}, err
	}
	return CollectionJSON{
		Slug: t.Slug, Title: t.Title, Description: t.Description, Attributes: kvJSON(t.Attributes),
		Products: prods, Total: len(items),
	}, nil
}

// feedProducts loads the products of items and renders them with their
// evidence: the feed's own, or the product's scores for the tuple when the
// feed gave none.
func (s *Server) feedProducts(ctx context.Context, ix *Index, items []FeedItem, tuple []store.KV, pinned map[string]bool) ([]FeedProductJSON, error) {
	hits := make([]store.Hit, len(items))
	for i, it := range items {
		hits[i] = store.Hit{ID: it.ID, Score: it.Score}
	}
	byID, err := s.products(ctx, ix, hits)
	if err != nil {
		return nil, err
	}
	out := make([]FeedProductJSON, 0, len(items))
	for _, it := range items {
		p, ok := byID[it.ID]
		if !ok {
			continue
		}
		ev := it.Evidence
		if len(ev) == 0 {
			ev = evidence(p, tuple)
		}
		out = append(out, FeedProductJSON{ResultJSON: result(ix, p, it.Score), Evidence: attrs(ev, true), Pinned: pinned[it.ID]})
	}
	return out, nil
}

// evidence returns the attributes of p that are in tuple.
func evidence(p store.Product, tuple []store.KV) []store.Attribute {
	var out []store.Attribute
	for _, a := range p.Attributes {
		if slices.Contains(tuple, store.KV{Key: a.Key, Value: a.Value}) {
			out = append(out, a)
		}
	}
	return out
}

// bestCollection returns the published topic whose attributes are the
// largest subset of the strict attributes (an equal set being the largest),
// ties going to the higher score; nil when none is.
func bestCollection(ts []Topic, strict []store.KV) *CollectionLink {
	var best *Topic
	for i, t := range ts {
		if !t.Published || len(t.Attributes) == 0 || len(t.Attributes) > len(strict) {
			continue
		}
		subset := true
		for _, kv := range t.Attributes {
			if !slices.Contains(strict, kv) {
				subset = false
				break
			}
		}
		if !subset {
			continue
		}
		if best == nil || len(t.Attributes) > len(best.Attributes) ||
			(len(t.Attributes) == len(best.Attributes) && cmp.Compare(t.Score, best.Score) > 0) {
			best = &ts[i]
		}
	}
	if best == nil {
		return nil
	}
	return &CollectionLink{Slug: best.Slug, Title: best.Title}
}
