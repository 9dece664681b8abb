package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"lander/query"
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
		if e != nil || n < 0 || n > 100000 {
			return 0, 0, errBadRequest("offset must be an integer in [0, 100000]")
		}
		offset = n
	}
	return limit, offset, nil
}

func (s *Server) search(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	q := strings.TrimSpace(c.Query("q"))
	if q == "" {
		s.fail(c, errBadRequest("missing query parameter q"))
		return
	}
	if len(q) > 512 {
		s.fail(c, errBadRequest("q is longer than 512 bytes"))
		return
	}
	limit, offset, err := paging(c, 10)
	if err != nil {
		s.fail(c, err)
		return
	}
	res := ix.Resolver.Resolve(q)
	f := store.Filter{MinPrice: res.Price.Min, MaxPrice: res.Price.Max}
	for _, a := range res.Attributes {
		if a.Strict {
			f.All = append(f.All, store.KV{Key: a.Key, Value: a.Value})
		}
	}
	for _, e := range res.Excluded {
		f.None = append(f.None, store.KV{Key: e.Key, Value: e.Value})
	}
	vecs, err := s.opts.Embedder.Embed(c.Request.Context(), []string{q})
	if err != nil {
		s.fail(c, err)
		return
	}
	hits, total, err := ix.Store.Search(c.Request.Context(), vecs[0], f, limit, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	results, err := s.results(c, ix, hits)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, SearchJSON{Query: q, Resolved: res, Results: results, Total: total})
}

// results loads the products of hits, in hit order.
func (s *Server) results(c *gin.Context, ix *Index, hits []store.Hit) ([]ResultJSON, error) {
	out := []ResultJSON{}
	if len(hits) == 0 {
		return out, nil
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	prods, err := ix.Store.Get(c.Request.Context(), ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]store.Product, len(prods))
	for _, p := range prods {
		byID[p.ID] = p
	}
	for _, h := range hits {
		p, ok := byID[h.ID]
		if !ok {
			continue
		}
		out = append(out, ResultJSON{ID: p.ID, Title: p.Title, Score: h.Score, ImageURL: imageURL(p.ID), Price: p.Price, Attributes: attrs(p.Attributes, false)})
	}
	return out, nil
}

func imageURL(id string) string { return "/images/" + pathEscape(id) }

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
	prods, err := ix.Store.Get(c.Request.Context(), []string{id})
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(prods) == 0 {
		s.fail(c, errNotFound("no product with id "+strconv.Quote(id)))
		return
	}
	p := prods[0]
	c.JSON(http.StatusOK, ProductJSON{ID: p.ID, Title: p.Title, ImageURL: imageURL(p.ID), Price: p.Price, Attributes: attrs(p.Attributes, true)})
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
	c.Header("Cache-Control", "public, max-age=86400")
	c.Header("ETag", strconv.Quote(strconv.Itoa(ix.Manifest.Generation)+"-"+id))
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

func pathEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "/", "%2F", "?", "%3F", "#", "%23", " ", "%20")
	return r.Replace(s)
}
