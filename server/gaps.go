package server

// Demand gaps: the tuples shoppers search for strongly that no published
// collection serves, as the index found them (GET /api/v1/gaps and the
// console's /merch/gaps), and the console's preview of the collection such
// a tuple would have (/merch/preview).

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"lander/store"
)

// Gap is a tuple with strong search demand and no collection that serves
// it well: no product carries it, the catalog covers it thinly, or no
// published collection has exactly its attributes.
type Gap struct {
	Attributes []store.KV
	// Query is the tuple's most searched phrasing.
	Query string
	// Band is the search log's volume band of that phrasing: head, torso,
	// or tail for a tuple asked steadily there.
	Band string
	// Demand is the search volume of the queries asking the tuple, and
	// DemandShare its share of the resolved volume.
	Demand      int
	DemandShare float64
	// Supply is the number of products carrying the whole tuple, and
	// SupplyShare its share of the catalog.
	Supply      int
	SupplyShare float64
	// Reason says why the tuple is a gap: "no products", "thin supply" or
	// "no published collection".
	Reason string
	// Nearest are the published collections nearest the tuple, nearest
	// first.
	Nearest []NearCollection
}

// NearCollection is a published collection near a gap's tuple.
type NearCollection struct {
	Slug, Title string
	Size        int
	// Shared is the number of the gap's attributes the collection has.
	Shared int
}

// NearCollectionJSON is a collection near a gap in API responses; URL is
// its page in the console.
type NearCollectionJSON struct {
	Slug   string `json:"slug"`
	Title  string `json:"title"`
	Size   int    `json:"size"`
	Shared int    `json:"shared"`
	URL    string `json:"url"`
}

// GapJSON is one gap of /api/v1/gaps; PreviewURL is the console's preview
// of the collection the tuple would have.
type GapJSON struct {
	Attributes  []KVJSON             `json:"attributes"`
	Query       string               `json:"query"`
	Band        string               `json:"band"`
	Demand      int                  `json:"demand"`
	DemandShare float64              `json:"demand_share"`
	Supply      int                  `json:"supply"`
	SupplyShare float64              `json:"supply_share"`
	Reason      string               `json:"reason"`
	Nearest     []NearCollectionJSON `json:"nearest"`
	PreviewURL  string               `json:"preview_url"`
}

// GapListJSON is the body of /api/v1/gaps.
type GapListJSON struct {
	Generation int       `json:"generation"`
	Total      int       `json:"total"`
	Gaps       []GapJSON `json:"gaps"`
}

// defaultGapLimit is the page size of /api/v1/gaps and of the console's
// gap list.
const defaultGapLimit = 50

// previewURL is the console's preview of tuple.
func previewURL(tuple []store.KV) string {
	vals := make([]string, len(tuple))
	for i, kv := range tuple {
		vals[i] = kv.Key + ":" + kv.Value
	}
	return "/merch/preview?" + url.Values{"a": vals}.Encode()
}

// gapList renders a page of the generation's gaps.
func gapList(ix *Index, limit, offset int) GapListJSON {
	out := GapListJSON{Generation: ix.Manifest.Generation, Total: len(ix.Gaps), Gaps: []GapJSON{}}
	for _, g := range ix.Gaps[min(offset, len(ix.Gaps)):min(offset+limit, len(ix.Gaps))] {
		j := GapJSON{Attributes: kvJSON(g.Attributes), Query: g.Query, Band: g.Band, Demand: g.Demand, DemandShare: g.DemandShare,
			Supply: g.Supply, SupplyShare: g.SupplyShare, Reason: g.Reason, Nearest: []NearCollectionJSON{}, PreviewURL: previewURL(g.Attributes)}
		for _, n := range g.Nearest {
			j.Nearest = append(j.Nearest, NearCollectionJSON{Slug: n.Slug, Title: n.Title, Size: n.Size, Shared: n.Shared, URL: merchURL(n.Slug)})
		}
		out.Gaps = append(out.Gaps, j)
	}
	return out
}

func (s *Server) listGaps(c *gin.Context) {
	ix, limit, offset, ok := s.pagedIndex(c, defaultGapLimit)
	if !ok {
		return
	}
	key := s.cacheKey(ix, "gaps", strconv.Itoa(limit), strconv.Itoa(offset))
	s.serveCached(c, key, func(context.Context) (any, error) { return gapList(ix, limit, offset), nil })
}

// nearView is a collection near a gap, in the console.
type nearView struct {
	Title, URL   string
	Size, Shared int
}

// gapRow is one gap of the console's list.
type gapRow struct {
	Query, Tuple, Band, Reason, PreviewURL string
	Demand, Supply                         int
	// DemandShare and SupplyShare are percentages, ready to print.
	DemandShare, SupplyShare string
	// Of is the number of attributes of the tuple.
	Of      int
	Nearest []nearView
}

// merchGapsView is the body of the console's gap list.
type merchGapsView struct {
	Generation int
	IndexedAt  string
	Total      int
	Rows       []gapRow
	Pager      pagerView
}

// percent prints a share as a percentage.
func percent(share float64) string {
	return strconv.FormatFloat(share*100, 'f', 1, 64) + "%"
}

func (s *Server) merchGapsPage(c *gin.Context) {
	ix, page, ok := s.pageStart(c)
	if !ok {
		return
	}
	pages := pageCount(len(ix.Gaps), defaultGapLimit)
	page = min(page, pages)
	offset := (page - 1) * defaultGapLimit
	var list GapListJSON
	// The key is the API's for limit=50&offset=..., so that the page and
	// the API share the entry.
	key := s.cacheKey(ix, "gaps", strconv.Itoa(defaultGapLimit), strconv.Itoa(offset))
	if err := s.cachedJSON(c.Request.Context(), key, &list, func(context.Context) (any, error) {
		return gapList(ix, defaultGapLimit, offset), nil
	}); err != nil {
		s.failPage(c, err)
		return
	}
	v := merchGapsView{Generation: list.Generation, Total: list.Total, Pager: pager("/merch/gaps", nil, page, pages)}
	if !ix.Manifest.CreatedAt.IsZero() {
		v.IndexedAt = ix.Manifest.CreatedAt.UTC().Format("2006-01-02 15:04 MST")
	}
	for _, g := range list.Gaps {
		row := gapRow{Query: g.Query, Tuple: tupleLabel(g.Attributes), Band: g.Band, Reason: g.Reason, PreviewURL: g.PreviewURL,
			Demand: g.Demand, Supply: g.Supply, DemandShare: percent(g.DemandShare), SupplyShare: percent(g.SupplyShare), Of: len(g.Attributes)}
		for _, n := range g.Nearest {
			row.Nearest = append(row.Nearest, nearView{Title: n.Title, URL: n.URL, Size: n.Size, Shared: n.Shared})
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(c, http.StatusOK, "merchgaps", layoutView{Title: "Demand gaps · lander console", NoIndex: true, Merch: true, Body: v})
}

// tupleParams reads a tuple from a=key:value parameters.
func tupleParams(values []string) ([]KVJSON, error) {
	if len(values) == 0 {
		return nil, errBadRequest("give the tuple as a=key:value parameters")
	}
	out := make([]KVJSON, 0, len(values))
	for _, v := range values {
		key, value, ok := strings.Cut(v, ":")
		if !ok {
			return nil, errBadRequest("a=" + strconv.Quote(v) + " is not key:value")
		}
		out = append(out, KVJSON{Key: key, Value: value})
	}
	return out, nil
}

// merchPreviewView is the body of the console's preview of a tuple.
type merchPreviewView struct {
	Title, Tuple string
	Total        int
	// Collection links to the collection, published or not, that has
	// exactly the tuple; nil when none has.
	Collection *linkView
	Products   []merchProduct
	Pager      pagerView
}

func (s *Server) merchPreviewPage(c *gin.Context) {
	ix, page, ok := s.pageStart(c)
	if !ok {
		return
	}
	kvs, err := tupleParams(c.QueryArray("a"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	tuple, err := previewTuple(kvs)
	if err != nil {
		s.failPage(c, err)
		return
	}
	for _, kv := range tuple {
		if _, ok := ix.Vocabulary.Keys[kv.Key]; !ok {
			s.failPage(c, errUnprocessable("the vocabulary has no key "+strconv.Quote(kv.Key)))
			return
		}
	}
	offset := (page - 1) * merchFeedPageSize
	if offset > maxOffset {
		s.failPage(c, errNotFound("there is no page "+strconv.Itoa(page)))
		return
	}
	p, err := s.runPreview(c.Request.Context(), ix, tuple, merchFeedPageSize, offset)
	if err != nil {
		s.failPage(c, err)
		return
	}
	pages := windowPages(ix, p.Total, merchFeedPageSize)
	if page > pageCount(p.Total, merchFeedPageSize) {
		s.failPage(c, errNotFound("the preview has no page "+strconv.Itoa(page)))
		return
	}
	v := merchPreviewView{Title: p.Title, Tuple: tupleLabel(p.Attributes), Total: p.Total,
		Pager: pager("/merch/preview", c.Request.URL.Query(), page, pages)}
	if p.Collection != nil {
		v.Collection = &linkView{Title: p.Collection.Title, URL: merchURL(p.Collection.Slug)}
	}
	for i, fp := range p.Products {
		v.Products = append(v.Products, merchProduct{cardView: card(fp.ResultJSON, i), Score: fp.Score, Evidence: fp.Evidence})
	}
	s.render(c, http.StatusOK, "merchpreview", layoutView{Title: "Preview: " + p.Title + " · lander console", NoIndex: true, Merch: true, Body: v})
}
