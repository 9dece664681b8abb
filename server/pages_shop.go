package server

// The shoppers' pages: the collection directory, the landing pages, search
// and the sitemap.

import (
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"lander/query"
	"lander/store"
)

// Page sizes and limits of the shoppers' pages.
const (
	// landingPageSize is the number of products on a landing or search
	// page: the API's default, so that both share cache entries.
	landingPageSize = 24
	// directoryPageSize is the number of collections on a directory page.
	directoryPageSize = 120
	// maxRelated bounds the related collections of a landing page.
	maxRelated = 12
	// metaDescriptionLen bounds a meta description, in characters.
	metaDescriptionLen = 160
	// maxSitemapURLs is the sitemap protocol's limit per file.
	maxSitemapURLs = 50000
	// priceCurrency is the currency of catalog prices.
	priceCurrency = "USD"
)

// truncate shortens s to at most n characters at a word boundary.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	if i := strings.LastIndexByte(string(r), ' '); i > n/2 {
		return string(r)[:i] + "…"
	}
	return string(r) + "…"
}

// linkView is a link to a collection.
type linkView struct {
	Title, URL string
	Size       int
}

// groupView is a heading of the directory with its collections.
type groupView struct {
	Name  string
	Items []linkView
}

// homeView is the body of the directory.
type homeView struct {
	Total  int
	Groups []groupView
	Pager  pagerView
}

// groupName is the directory heading of a topic: its anchor value.
func groupName(t Topic) string {
	if len(t.Attributes) == 0 {
		return "more"
	}
	return t.Attributes[0].Value
}

// topicsPage is the start of the pages that list collections: the served
// index, the page number and the generation's topics; false when it has
// answered already (no index, a bad page number, a failed read).
func (s *Server) topicsPage(c *gin.Context) (*Index, int, []Topic, bool) {
	ix, page, ok := s.pageStart(c)
	if !ok {
		return nil, 0, nil, false
	}
	ts, err := s.topics(c.Request.Context(), ix)
	if err != nil {
		s.failPage(c, err)
		return nil, 0, nil, false
	}
	return ix, page, ts, true
}

func (s *Server) homePage(c *gin.Context) {
	ix, page, ok := s.pageStart(c)
	if !ok {
		return
	}
	base := s.baseURL(c)
	s.servePage(c, s.cacheKey(ix, "page:home", base, strconv.Itoa(page)), func(ctx context.Context) ([]byte, error) {
		return s.renderHome(ctx, ix, base, page)
	})
}

// renderHome renders page of the directory.
func (s *Server) renderHome(ctx context.Context, ix *Index, base string, page int) ([]byte, error) {
	ts, err := s.topics(ctx, ix)
	if err != nil {
		return nil, err
	}
	// Groups come in the order of their best collection; collections keep
	// the generation's order (best first) within a group.
	rank := map[string]int{}
	var pub []Topic
	for _, t := range ts {
		if !t.Published {
			continue
		}
		if _, ok := rank[groupName(t)]; !ok {
			rank[groupName(t)] = len(rank)
		}
		pub = append(pub, t)
	}
	slices.SortStableFunc(pub, func(a, b Topic) int { return rank[groupName(a)] - rank[groupName(b)] })
	pages := pageCount(len(pub), directoryPageSize)
	if page > pages {
		return nil, errNotFound("there is no page " + strconv.Itoa(page))
	}
	v := homeView{Total: len(pub), Pager: pager("/", nil, page, pages)}
	for _, t := range pub[(page-1)*directoryPageSize : min(page*directoryPageSize, len(pub))] {
		name := groupName(t)
		if n := len(v.Groups); n == 0 || v.Groups[n-1].Name != name {
			v.Groups = append(v.Groups, groupView{Name: name})
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Items = append(g.Items, linkView{Title: t.Title, URL: collectionURL(t.Slug), Size: t.Size})
	}
	lv := layoutView{
		Title:       "Shop by collection · lander",
		Description: truncate(fmt.Sprintf("Browse %d collections of the catalog, from %s.", len(pub), strings.Join(groupNames(v.Groups, 5), ", ")), metaDescriptionLen),
		Canonical:   base + pageURL("/", nil, page),
		Body:        v,
	}
	if page > 1 {
		lv.Title = fmt.Sprintf("Shop by collection, page %d · lander", page)
		lv.Prev = base + v.Pager.PrevURL
	}
	if v.Pager.NextURL != "" {
		lv.Next = base + v.Pager.NextURL
	}
	return s.renderBytes("home", lv)
}

func groupNames(gs []groupView, n int) []string {
	var out []string
	for _, g := range gs[:min(n, len(gs))] {
		out = append(out, g.Name)
	}
	return out
}

// collectionView is the body of a landing page.
type collectionView struct {
	Title, Description string
	Total              int
	Products           []cardView
	Parents, Related   []linkView
	Pager              pagerView
}

func (s *Server) collectionPage(c *gin.Context) {
	ix, page, ok := s.pageStart(c)
	if !ok {
		return
	}
	slug := c.Param("slug")
	base := s.baseURL(c)
	s.servePage(c, s.cacheKey(ix, "page:collection", base, slug, strconv.Itoa(page)), func(ctx context.Context) ([]byte, error) {
		return s.renderCollection(ctx, ix, base, slug, page)
	})
}

// renderCollection renders page of the landing page of slug.
func (s *Server) renderCollection(ctx context.Context, ix *Index, base, slug string, page int) ([]byte, error) {
	offset := (page - 1) * landingPageSize
	var cj CollectionJSON
	// The key is the API's for limit=24&offset=..., so that the page and
	// the API share the entry.
	key := s.cacheKey(ix, "collection", slug, strconv.Itoa(landingPageSize), strconv.Itoa(offset))
	if err := s.cachedJSON(ctx, key, &cj, func(ctx context.Context) (any, error) {
		return s.landingPage(ctx, ix, slug, landingPageSize, offset)
	}); err != nil {
		return nil, err
	}
	pages := pageCount(cj.Total, landingPageSize)
	if page > pages {
		return nil, errNotFound("collection " + strconv.Quote(cj.Title) + " has no page " + strconv.Itoa(page))
	}
	links, err := s.links(ctx, ix, cj.Slug)
	if err != nil {
		return nil, err
	}
	path := collectionURL(cj.Slug)
	v := collectionView{Title: cj.Title, Description: cj.Description, Total: cj.Total, Pager: pager(path, nil, page, pages),
		Parents: links.parents, Related: links.related}
	for i, p := range cj.Products {
		v.Products = append(v.Products, card(p.ResultJSON, i))
	}
	canonical := base + pageURL(path, nil, page)
	desc := cj.Description
	if desc == "" {
		desc = fmt.Sprintf("Shop %d products in %s.", cj.Total, cj.Title)
	}
	lv := layoutView{
		Title:       cj.Title + " · lander",
		Description: truncate(desc, metaDescriptionLen),
		Canonical:   canonical,
		JSONLD:      itemList(base, canonical, cj, offset),
		Body:        v,
	}
	if page > 1 {
		lv.Title = fmt.Sprintf("%s, page %d · lander", cj.Title, page)
		lv.Prev = base + v.Pager.PrevURL
	}
	if v.Pager.NextURL != "" {
		lv.Next = base + v.Pager.NextURL
	}
	return s.renderBytes("collection", lv)
}

// related returns the published collections around tuple: its parents
// (a chain of the collections it refines, broadest first) and, up to
// maxRelated, its refinements (one attribute more), its siblings (the same
// anchor and length, one attribute different) and its other parents.
func related(ts []Topic, slug string, tuple []store.KV) (parents, rel []linkView) {
	contains := func(set []store.KV, sub []store.KV) int {
		n := 0
		for _, kv := range sub {
			if slices.Contains(set, kv) {
				n++
			}
		}
		return n
	}
	var ps, children, siblings []Topic
	for _, t := range ts {
		if !t.Published || t.Slug == slug || len(t.Attributes) == 0 || len(tuple) == 0 {
			continue
		}
		shared := contains(tuple, t.Attributes)
		switch {
		case len(t.Attributes) < len(tuple) && shared == len(t.Attributes):
			ps = append(ps, t)
		case len(t.Attributes) == len(tuple)+1 && shared == len(tuple):
			children = append(children, t)
		case len(t.Attributes) == len(tuple) && shared == len(tuple)-1 && t.Attributes[0] == tuple[0]:
			siblings = append(siblings, t)
		}
	}
	// The breadcrumb is a chain, broadest first, each parent refining the
	// one before; the parents off the chain are related.
	slices.SortStableFunc(ps, func(a, b Topic) int { return cmp.Compare(len(a.Attributes), len(b.Attributes)) })
	var chain, others []Topic
	for _, t := range ps {
		n := len(chain)
		if n == 0 || (len(t.Attributes) > len(chain[n-1].Attributes) && contains(t.Attributes, chain[n-1].Attributes) == len(chain[n-1].Attributes)) {
			chain = append(chain, t)
		} else {
			others = append(others, t)
		}
	}
	for _, t := range chain {
		parents = append(parents, linkView{Title: t.Title, URL: collectionURL(t.Slug), Size: t.Size})
	}
	for _, t := range slices.Concat(children, siblings, others) {
		if len(rel) == maxRelated {
			break
		}
		rel = append(rel, linkView{Title: t.Title, URL: collectionURL(t.Slug), Size: t.Size})
	}
	return parents, rel
}

// JSON-LD types of a landing page's ItemList (schema.org).
type (
	ldItemList struct {
		Context       string       `json:"@context"`
		Type          string       `json:"@type"`
		Name          string       `json:"name"`
		URL           string       `json:"url"`
		NumberOfItems int          `json:"numberOfItems"`
		Items         []ldListItem `json:"itemListElement"`
	}
	ldListItem struct {
		Type     string    `json:"@type"`
		Position int       `json:"position"`
		Item     ldProduct `json:"item"`
	}
	ldProduct struct {
		Type   string   `json:"@type"`
		SKU    string   `json:"sku"`
		Name   string   `json:"name"`
		Image  string   `json:"image"`
		URL    string   `json:"url"`
		Offers *ldOffer `json:"offers,omitempty"`
	}
	ldOffer struct {
		Type          string `json:"@type"`
		Price         string `json:"price"`
		PriceCurrency string `json:"priceCurrency"`
	}
)

// itemList is the JSON-LD ItemList of a landing page's products; the
// template escapes it for the script element.
func itemList(base, canonical string, cj CollectionJSON, offset int) ldItemList {
	l := ldItemList{Context: "https://schema.org", Type: "ItemList", Name: cj.Title, URL: canonical, Items: []ldListItem{}}
	for i, p := range cj.Products {
		prod := ldProduct{Type: "Product", SKU: p.ID, Name: card(p.ResultJSON, 0).Title, Image: base + p.ImageURL, URL: canonical + "#p-" + url.PathEscape(p.ID)}
		if pr := formatPrice(p.Price); pr != "" {
			prod.Offers = &ldOffer{Type: "Offer", Price: pr[1:], PriceCurrency: priceCurrency}
		}
		l.Items = append(l.Items, ldListItem{Type: "ListItem", Position: offset + i + 1, Item: prod})
	}
	l.NumberOfItems = len(l.Items)
	return l
}

// chipView is a resolved attribute of a search, as a link to the search
// without it.
type chipView struct {
	Key, Label, URL string
	// Not marks an exclusion.
	Not bool
	// Relaxed marks a strict attribute the search dropped to fill the
	// page.
	Relaxed bool
}

// searchView is the body of a search page.
type searchView struct {
	Query string
	Chips []chipView
	// Relaxed are the chips of the attributes the search relaxed, shown
	// apart, and RelaxedNote says so ("No red party dresses; showing red
	// dresses.").
	Relaxed     []chipView
	RelaxedNote string
	Collection  *linkView
	Total       int
	Products    []cardView
	Pager       pagerView
}

func (s *Server) searchPage(c *gin.Context) {
	ix, ok := s.pageIndex(c)
	if !ok {
		return
	}
	q := strings.Join(strings.Fields(c.Query("q")), " ")
	if utf8.RuneCountInString(q) > maxQueryLen {
		s.failPage(c, errBadRequest("the search is longer than "+strconv.Itoa(maxQueryLen)+" characters"))
		return
	}
	page, err := pageParam(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	if (page-1)*landingPageSize > maxOffset {
		s.failPage(c, errNotFound("there is no page "+strconv.Itoa(page)))
		return
	}
	// A search page holds no absolute URL: its key leaves the base out.
	s.servePage(c, s.cacheKey(ix, "page:search", q, strconv.Itoa(page)), func(ctx context.Context) ([]byte, error) {
		return s.renderSearch(ctx, ix, q, page)
	})
}

// renderSearch renders page of the search for q; an empty q is the empty
// search page.
func (s *Server) renderSearch(ctx context.Context, ix *Index, q string, page int) ([]byte, error) {
	lv := layoutView{Title: "Search · lander", Query: q, NoIndex: true, Description: "Search the catalog."}
	if q == "" {
		lv.Body = searchView{}
		return s.renderBytes("search", lv)
	}
	offset := (page - 1) * landingPageSize
	var sj SearchJSON
	key := s.cacheKey(ix, "search", q, strconv.Itoa(landingPageSize), strconv.Itoa(offset))
	if err := s.cachedJSON(ctx, key, &sj, func(ctx context.Context) (any, error) {
		return s.runSearch(ctx, ix, q, landingPageSize, offset)
	}); err != nil {
		return nil, err
	}
	pages := windowPages(ix, sj.Total, landingPageSize)
	v := searchView{Query: q, Total: sj.Total, RelaxedNote: relaxedNote(sj.Resolved),
		Pager: pager("/search", url.Values{"q": {q}}, min(page, pages), pages)}
	for _, c := range chips(sj.Resolved, ix.Resolver.Resolve(q).Rest) {
		if c.Relaxed {
			v.Relaxed = append(v.Relaxed, c)
		} else {
			v.Chips = append(v.Chips, c)
		}
	}
	if sj.Collection != nil {
		v.Collection = &linkView{Title: sj.Collection.Title, URL: collectionURL(sj.Collection.Slug)}
	}
	for i, r := range sj.Results {
		v.Products = append(v.Products, card(r, i))
	}
	lv.Title = q + " · lander"
	lv.Body = v
	return s.renderBytes("search", lv)
}

// chips renders a resolved query as removable chips. Removing one searches
// for the query rebuilt from the rest of the tuple: the strict values, the
// words nothing consumed (rest), the price and the exclusions. Soft
// attributes came from cue words or the embedding fallback, which the rest
// words feed again; removing one drops the rest words too.
func chips(res query.Resolved, rest string) []chipView {
	const (
		strict = iota
		soft
		tail // price and exclusions
	)
	type part struct {
		chip chipView
		text string
		kind int
	}
	var parts []part
	for _, a := range res.Attributes {
		p := part{chip: chipView{Key: a.Key, Label: a.Value}, text: a.Value, kind: strict}
		switch {
		case slices.Contains(res.Relaxed, query.KV{Key: a.Key, Value: a.Value}):
			// Asked for strictly, so rebuilt queries keep it.
			p.chip.Relaxed = true
		case !a.Strict:
			p.chip.Label, p.kind = a.Value+" (maybe)", soft
		}
		parts = append(parts, p)
	}
	// Values read in a natural order ("black watches men").
	slices.SortStableFunc(parts, func(a, b part) int { return previewRank(a.chip.Key) - previewRank(b.chip.Key) })
	if p := priceText(res.Price); p != "" {
		parts = append(parts, part{chip: chipView{Key: "price", Label: p}, text: p, kind: tail})
	}
	for _, e := range res.Excluded {
		parts = append(parts, part{chip: chipView{Key: e.Key, Label: "not " + e.Value, Not: true}, text: "not " + e.Value, kind: tail})
	}
	out := make([]chipView, 0, len(parts))
	for i, p := range parts {
		var words []string
		for _, kind := range []int{strict, tail} {
			if kind == tail && rest != "" && p.kind != soft {
				words = append(words, rest)
			}
			for j, o := range parts {
				if j != i && o.kind == kind {
					words = append(words, o.text)
				}
			}
		}
		p.chip.URL = "/"
		if q := strings.Join(words, " "); q != "" {
			p.chip.URL = "/search?" + url.Values{"q": {q}}.Encode()
		}
		out = append(out, p.chip)
	}
	return out
}

// previewRank orders keys as previewOrder does.
func previewRank(k string) int {
	if i := slices.Index(previewOrder, k); i >= 0 {
		return i
	}
	return len(previewOrder)
}

// priceText writes a price range as a phrase the resolver reads back.
func priceText(p query.Price) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	switch {
	case p.Min != nil && p.Max != nil:
		return "between " + f(*p.Min) + " and " + f(*p.Max) + " dollars"
	case p.Max != nil:
		return "under $" + f(*p.Max)
	case p.Min != nil:
		return "over $" + f(*p.Min)
	}
	return ""
}

// sitemapXML is a sitemap (sitemaps.org 0.9).
type sitemapXML struct {
	XMLName xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

func (s *Server) sitemap(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	ts, err := s.topics(c.Request.Context(), ix)
	if err != nil {
		s.fail(c, err)
		return
	}
	base := s.baseURL(c)
	var mod string
	if !ix.Manifest.CreatedAt.IsZero() {
		mod = ix.Manifest.CreatedAt.UTC().Format("2006-01-02")
	}
	sm := sitemapXML{URLs: []sitemapURL{{Loc: base + "/", LastMod: mod}}}
	for _, t := range ts {
		if t.Published && len(sm.URLs) < maxSitemapURLs {
			sm.URLs = append(sm.URLs, sitemapURL{Loc: base + collectionURL(t.Slug), LastMod: mod})
		}
	}
	b, err := xml.Marshal(sm)
	if err != nil {
		s.fail(c, fmt.Errorf("render sitemap: %w", err))
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/xml; charset=utf-8", append([]byte(xml.Header), b...))
}

// robots is /robots.txt: every crawler may read the shoppers' pages but not
// the console or the preview, and is pointed at the sitemap.
func (s *Server) robots(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.String(http.StatusOK, "User-agent: *\nDisallow: /merch\nDisallow: /api/v1/preview\n\nSitemap: %s/sitemap.xml\n", s.baseURL(c))
}
