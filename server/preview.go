package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"lander/store"
)

// PreviewRequest is the body of POST /api/v1/preview.
type PreviewRequest struct {
	Attributes []KVJSON `json:"attributes"`
	// Limit is the feed length; nil means 24.
	Limit *int `json:"limit"`
	// Offset pages the feed.
	Offset int `json:"offset"`
}

// PreviewJSON is the body of a preview: the feed the tuple would have.
type PreviewJSON struct {
	Attributes []KVJSON          `json:"attributes"`
	Title      string            `json:"title"`
	Products   []FeedProductJSON `json:"products"`
	Total      int               `json:"total"`
	Collection *CollectionLink   `json:"collection"`
}

// maxPreviewAttributes bounds the tuple of a preview.
const maxPreviewAttributes = 8

// previewOrder orders a tuple's values into a natural phrase ("navy blue
// striped cotton shirts men").
var previewOrder = []string{"color", "pattern", "material", "style", "fit", "sleeve", "occasion", "season", "brand", "category", "gender"}

// tupleText is the text whose embedding ranks a tuple's feed.
func tupleText(kvs []store.KV) string {
	sorted := slices.Clone(kvs)
	rank := func(k string) int {
		if i := slices.Index(previewOrder, k); i >= 0 {
			return i
		}
		return len(previewOrder)
	}
	slices.SortStableFunc(sorted, func(a, b store.KV) int { return rank(a.Key) - rank(b.Key) })
	words := make([]string, len(sorted))
	for i, kv := range sorted {
		words[i] = kv.Value
	}
	return strings.Join(words, " ")
}

// tupleTitle is a plain title for a tuple that names no collection.
func tupleTitle(kvs []store.KV) string {
	return capitalize(tupleText(kvs))
}

// capitalize upper-cases the first letter of s, whatever its width in
// bytes ("écharpes" is "Écharpes").
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func (s *Server) preview(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	var req PreviewRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	limit := 24
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 1 || limit > MaxLimit {
		s.fail(c, errBadRequest("limit must be in [1, "+strconv.Itoa(MaxLimit)+"]"))
		return
	}
	if req.Offset < 0 || req.Offset > maxOffset {
		s.fail(c, errBadRequest("offset must be in [0, "+strconv.Itoa(maxOffset)+"]"))
		return
	}
	tuple, err := previewTuple(req.Attributes)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.runPreview(c.Request.Context(), ix, tuple, limit, req.Offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// Limits of a preview's attribute, in characters.
const (
	maxPreviewKey   = 64
	maxPreviewValue = 128
)

// previewTuple checks and normalises the tuple of a preview: 1 to
// maxPreviewAttributes pairs, each with a key and a value, in lower case,
// without repeats. Too many or too long is a 400, as openapi.json says; a
// key or value that is blank once trimmed is a 422.
func previewTuple(attrs []KVJSON) ([]store.KV, error) {
	if len(attrs) == 0 || len(attrs) > maxPreviewAttributes {
		return nil, errBadRequest("attributes must hold 1 to " + strconv.Itoa(maxPreviewAttributes) + " key-value pairs")
	}
	var tuple []store.KV
	for _, a := range attrs {
		kv := store.KV{Key: strings.ToLower(strings.TrimSpace(a.Key)), Value: strings.ToLower(strings.TrimSpace(a.Value))}
		if utf8.RuneCountInString(kv.Key) > maxPreviewKey || utf8.RuneCountInString(kv.Value) > maxPreviewValue {
			return nil, errBadRequest("each attribute needs a key of at most " + strconv.Itoa(maxPreviewKey) +
				" characters and a value of at most " + strconv.Itoa(maxPreviewValue))
		}
		if kv.Key == "" || kv.Value == "" {
			return nil, errUnprocessable("each attribute needs a key and a value that are not blank")
		}
		if !slices.Contains(tuple, kv) {
			tuple = append(tuple, kv)
		}
	}
	return tuple, nil
}

// runPreview ranks the products that carry every attribute of tuple by
// their similarity to the tuple's text, and names the collection, if any,
// that has exactly the tuple.
func (s *Server) runPreview(ctx context.Context, ix *Index, tuple []store.KV, limit, offset int) (PreviewJSON, error) {
	vec, err := s.embed(ctx, tupleText(tuple))
	if err != nil {
		return PreviewJSON{}, err
	}
	hits, total, err := s.storeSearch(ctx, ix, vec, store.Filter{All: tuple}, limit, offset)
	if err != nil {
		return PreviewJSON{}, err
	}
	items := make([]FeedItem, len(hits))
	for i, h := range hits {
		items[i] = FeedItem{ID: h.ID, Score: h.Score}
	}
	prods, err := s.feedProducts(ctx, ix, items, tuple, nil)
	if err != nil {
		return PreviewJSON{}, err
	}
	ts, err := s.topics(ctx, ix)
	if err != nil {
		return PreviewJSON{}, err
	}
	out := PreviewJSON{Attributes: kvJSON(tuple), Title: tupleTitle(tuple), Products: prods, Total: total}
	if link := exactTopic(ts, tuple); link != nil {
		out.Collection, out.Title = link, link.Title
	}
	return out, nil
}

// exactTopic returns the topic, published or not, whose attributes are the
// tuple.
func exactTopic(ts []Topic, tuple []store.KV) *CollectionLink {
	for _, t := range ts {
		if len(t.Attributes) != len(tuple) {
			continue
		}
		same := true
		for _, kv := range t.Attributes {
			if !slices.Contains(tuple, kv) {
				same = false
				break
			}
		}
		if same {
			return &CollectionLink{Slug: t.Slug, Title: t.Title}
		}
	}
	return nil
}

// embed encodes one text, timing it.
func (s *Server) embed(ctx context.Context, text string) ([]float32, error) {
	defer since(s.metrics.encode, time.Now())
	vecs, err := s.opts.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return vecs[0], nil
}

// storeGet loads products by id, timing it.
func (s *Server) storeGet(ctx context.Context, ix *Index, ids []string) ([]store.Product, error) {
	defer since(s.metrics.store.WithLabelValues("get"), time.Now())
	return ix.Store.Get(ctx, ids)
}
