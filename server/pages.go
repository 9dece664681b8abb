package server

// The HTML pages: the shoppers' collection directory, landing pages, search
// and sitemap, and the merchandisers' console. They are rendered on the
// server from package web's templates, work without JavaScript, and read
// the same cached responses as the JSON API.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"lander/query"
	"lander/store"
	"lander/web"
)

// Page sizes and limits of the HTML pages.
const (
	// landingPageSize is the number of products on a landing or search
	// page: the API's default, so that both share cache entries.
	landingPageSize = 24
	// directoryPageSize is the number of collections on a directory page.
	directoryPageSize = 120
	// merchPageSize is the number of collections on a console page.
	merchPageSize = 50
	// merchFeedPageSize is the number of products on a console feed page.
	merchFeedPageSize = 48
	// eagerImages is the number of grid images loaded eagerly: the first
	// row on a wide screen. The others load lazily.
	eagerImages = 6
	// maxRelated bounds the related collections of a landing page.
	maxRelated = 12
	// maxPage bounds the page parameter.
	maxPage = 10000
	// metaDescriptionLen bounds a meta description, in characters.
	metaDescriptionLen = 160
	// maxSitemapURLs is the sitemap protocol's limit per file.
	maxSitemapURLs = 50000
	// priceCurrency is the currency of catalog prices.
	priceCurrency = "USD"
)

// Signals are the quality signals behind a topic's score, as the topic
// generator computed them.
type Signals struct {
	// Demand is the topic's relative search demand.
	Demand float64
	// Judge is the judge's overall score.
	Judge float64
	// Coherence is how much of the rarest attribute's products carry the
	// whole tuple.
	Coherence float64
	// Precision is the estimated precision of the top of the feed.
	Precision float64
	// Reasons say why the publish rule passed or refused the topic.
	Reasons []string
}

// SignalSource is implemented by Collections that know the quality signals
// of their topics; the merchandiser console shows them when they do.
type SignalSource interface {
	// Signals returns the signals of the topic slug; ok is false when the
	// topic has none.
	Signals(slug string) (s Signals, ok bool)
}

// pageSet is the parsed templates, one per page, each with the layout, and
// the assets the pages share.
type pageSet struct {
	pages map[string]*template.Template
	// css is the style sheet inlined into every page.
	css template.CSS
	// shopCSP and merchCSP are the Content Security Policies of the
	// shoppers' pages (no script at all) and of the console (its own
	// script only).
	shopCSP, merchCSP string
	// script is the console's script and scriptETag its validator.
	script     []byte
	scriptETag string
}

// site is parsed once; the templates are embedded, so a parse error is a
// programming error caught by every test.
var site = mustLoadSite()

func mustLoadSite() *pageSet {
	ps, err := loadSite(web.Templates, web.Static)
	if err != nil {
		panic(err)
	}
	return ps
}

var pageFuncs = template.FuncMap{}

// pageNames are the templates of templates/ besides the layout.
var pageNames = []string{"home", "collection", "search", "error", "merch", "merchcollection"}

func loadSite(templates, static fs.FS) (*pageSet, error) {
	css, err := fs.ReadFile(static, "static/site.css")
	if err != nil {
		return nil, fmt.Errorf("load site.css: %w", err)
	}
	script, err := fs.ReadFile(static, "static/merch.js")
	if err != nil {
		return nil, fmt.Errorf("load merch.js: %w", err)
	}
	base, err := template.New("layout.html").Funcs(pageFuncs).ParseFS(templates, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	ps := &pageSet{pages: map[string]*template.Template{}, css: template.CSS(css), script: script}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templates, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		ps.pages[name] = t
	}
	sum := sha256.Sum256(css)
	style := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	common := "default-src 'none'; img-src 'self' data:; style-src " + style +
		"; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	ps.shopCSP = common
	ps.merchCSP = common + "; script-src 'self'; connect-src 'self'"
	js := sha256.Sum256(script)
	ps.scriptETag = `"` + hex.EncodeToString(js[:12]) + `"`
	return ps, nil
}

// pageRoutes registers the HTML pages, the sitemap and the console's
// script.
func (s *Server) pageRoutes(r *gin.Engine) {
	r.GET("/", s.homePage)
	r.GET("/c/:slug", s.collectionPage)
	r.GET("/search", s.searchPage)
	r.GET("/sitemap.xml", s.sitemap)
	r.GET("/merch", s.merchPage)
	r.GET("/merch/c/:slug", s.merchCollectionPage)
	r.GET("/static/merch.js", func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Header("ETag", site.scriptETag)
		c.Header("X-Content-Type-Options", "nosniff")
		if c.GetHeader("If-None-Match") == site.scriptETag {
			c.Status(http.StatusNotModified)
			return
		}
		c.Data(http.StatusOK, "text/javascript; charset=utf-8", site.script)
	})
}

// layoutView is what the layout template renders: the page's head and its
// body, Body, which the page's "content" template renders.
type layoutView struct {
	Title       string
	Description string
	// Canonical, Prev and Next are absolute URLs, or empty.
	Canonical, Prev, Next string
	// Query fills the search box.
	Query   string
	NoIndex bool
	// Merch marks the console's pages: its header, policy and script.
	Merch  bool
	CSS    template.CSS
	JSONLD any
	Script string
	Body   any
}

// render writes the page name with status. Successful pages carry an ETag
// and are revalidated on each use; the console's pages are never stored.
func (s *Server) render(c *gin.Context, status int, name string, v layoutView) {
	v.CSS = site.css
	csp := site.shopCSP
	if v.Merch {
		csp, v.Script = site.merchCSP, "/static/merch.js"
	}
	var buf bytes.Buffer
	if err := site.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	switch {
	case v.Merch || status != http.StatusOK:
		h.Set("Cache-Control", "no-store")
	default:
		sum := sha256.Sum256(buf.Bytes())
		etag := `"` + hex.EncodeToString(sum[:12]) + `"`
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		if c.GetHeader("If-None-Match") == etag {
			c.Status(http.StatusNotModified)
			return
		}
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorView is the body of an error page.
type errorView struct {
	Heading, Message string
}

// failPage writes err as an HTML page, with the status that classify gives
// it.
func (s *Server) failPage(c *gin.Context, err error) {
	ae := s.classify(c, err)
	heading := "Something went wrong"
	msg := "Please try again in a moment."
	switch {
	case ae.status == http.StatusNotFound:
		heading, msg = "Page not found", "We could not find that page: "+ae.message+"."
	case ae.status < 500:
		heading, msg = "We could not read that request", ae.message+"."
	case ae.status == http.StatusServiceUnavailable:
		msg = "The catalog is being loaded. " + msg
	}
	s.render(c, ae.status, "error", layoutView{Title: heading + " · lander", NoIndex: true, Body: errorView{heading, msg}})
	c.Abort()
}

// noRoute answers unknown paths: an HTML page for browsers, the contract's
// JSON error for everyone else and everything under /api/.
func (s *Server) noRoute(c *gin.Context) {
	err := errNotFound("no such route")
	if !strings.HasPrefix(c.Request.URL.Path, "/api/") && strings.Contains(c.GetHeader("Accept"), "text/html") {
		s.failPage(c, errNotFound("no page at "+c.Request.URL.Path))
		return
	}
	s.fail(c, err)
}

// pageIndex returns the current generation, or fails the page.
func (s *Server) pageIndex(c *gin.Context) (*Index, bool) {
	ix := s.Current()
	if ix == nil {
		s.failPage(c, errNoIndex)
		return nil, false
	}
	return ix, true
}

// cachedJSON decodes into into the response stored under key, or computes
// it once for all the callers waiting on key, stores it and decodes it: the
// pages share the API's entries and its single flight.
func (s *Server) cachedJSON(ctx context.Context, key string, into any, compute func(ctx context.Context) (any, error)) error {
	b, _, err := s.cachedBytes(ctx, key, compute)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("decode cached response: %w", err)
	}
	return nil
}

// baseURL is the scheme and host that absolute URLs start with: the
// configured base URL, or the request's.
func (s *Server) baseURL(c *gin.Context) string {
	if s.opts.BaseURL != "" {
		return strings.TrimRight(s.opts.BaseURL, "/")
	}
	scheme := "http"
	if c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	host := c.Request.Host
	if host == "" || strings.ContainsAny(host, "/\\@ ") {
		host = "localhost"
	}
	return scheme + "://" + host
}

// pageParam reads the 1-based page parameter.
func pageParam(c *gin.Context) (int, error) {
	p := c.Query("page")
	if p == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > maxPage {
		return 0, errBadRequest("page must be an integer in [1, " + strconv.Itoa(maxPage) + "]")
	}
	return n, nil
}

// pageCount is the number of pages of total items, at least one.
func pageCount(total, size int) int {
	return max(1, (total+size-1)/size)
}

// pageURL is path with params and page (page 1 being the bare path).
func pageURL(path string, params url.Values, page int) string {
	q := url.Values{}
	for k, v := range params {
		if k != "page" {
			q[k] = v
		}
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// pagerView is the paging links of a list.
type pagerView struct {
	Page, Pages      int
	PrevURL, NextURL string
	Links            []pageLink
}

// pageLink is one link of a pager; Gap stands for the pages left out.
type pageLink struct {
	N            int
	URL          string
	Current, Gap bool
}

func pager(path string, params url.Values, page, pages int) pagerView {
	p := pagerView{Page: page, Pages: pages}
	if page > 1 {
		p.PrevURL = pageURL(path, params, page-1)
	}
	if page < pages {
		p.NextURL = pageURL(path, params, page+1)
	}
	last := 0
	for n := 1; n <= pages; n++ {
		if n != 1 && n != pages && (n < page-2 || n > page+2) {
			continue
		}
		if last != 0 && n > last+1 {
			p.Links = append(p.Links, pageLink{Gap: true})
		}
		p.Links = append(p.Links, pageLink{N: n, URL: pageURL(path, params, n), Current: n == page})
		last = n
	}
	return p
}

// collectionURL is the path of a landing page.
func collectionURL(slug string) string { return "/c/" + url.PathEscape(slug) }

// merchURL is the path of a collection in the console.
func merchURL(slug string) string { return "/merch/c/" + url.PathEscape(slug) }

// formatPrice renders a price, or "" when it is unknown.
func formatPrice(p *float64) string {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return ""
	}
	return "$" + strconv.FormatFloat(*p, 'f', 2, 64)
}

// cardView is one product of a grid.
type cardView struct {
	ID, Title, Alt, ImageURL, Price string
	// Lazy says the image loads when it nears the viewport.
	Lazy bool
}

func card(r ResultJSON, i int) cardView {
	alt := r.Title
	if alt == "" {
		alt = "Product " + r.ID
	}
	return cardView{ID: r.ID, Title: alt, Alt: alt, ImageURL: r.ImageURL, Price: formatPrice(r.Price), Lazy: i >= eagerImages}
}

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
	ix, ok := s.pageIndex(c)
	if !ok {
		return nil, 0, nil, false
	}
	page, err := pageParam(c)
	if err != nil {
		s.failPage(c, err)
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
	_, page, ts, ok := s.topicsPage(c)
	if !ok {
		return
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
		s.failPage(c, errNotFound("there is no page "+strconv.Itoa(page)))
		return
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
	base := s.baseURL(c)
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
	s.render(c, http.StatusOK, "home", lv)
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
	ix, ok := s.pageIndex(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	slug := c.Param("slug")
	page, err := pageParam(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	offset := (page - 1) * landingPageSize
	var cj CollectionJSON
	// The key is the API's for limit=24&offset=..., so that the page and
	// the API share the entry.
	key := s.cacheKey(ix, "collection", slug, strconv.Itoa(landingPageSize), strconv.Itoa(offset))
	if err := s.cachedJSON(ctx, key, &cj, func(ctx context.Context) (any, error) {
		return s.landingPage(ctx, ix, slug, landingPageSize, offset)
	}); err != nil {
		s.failPage(c, err)
		return
	}
	pages := pageCount(cj.Total, landingPageSize)
	if page > pages {
		s.failPage(c, errNotFound("collection "+strconv.Quote(cj.Title)+" has no page "+strconv.Itoa(page)))
		return
	}
	ts, err := s.topics(ctx, ix)
	if err != nil {
		s.failPage(c, err)
		return
	}
	path := collectionURL(cj.Slug)
	v := collectionView{Title: cj.Title, Description: cj.Description, Total: cj.Total, Pager: pager(path, nil, page, pages)}
	for i, p := range cj.Products {
		v.Products = append(v.Products, card(p.ResultJSON, i))
	}
	v.Parents, v.Related = related(ts, cj.Slug, cj.Attributes)

	base := s.baseURL(c)
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
	s.render(c, http.StatusOK, "collection", lv)
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
}

// searchView is the body of a search page.
type searchView struct {
	Query      string
	Chips      []chipView
	Collection *linkView
	Total      int
	Products   []cardView
	Pager      pagerView
}

func (s *Server) searchPage(c *gin.Context) {
	ix, ok := s.pageIndex(c)
	if !ok {
		return
	}
	q := strings.Join(strings.Fields(c.Query("q")), " ")
	lv := layoutView{Title: "Search · lander", Query: q, NoIndex: true, Description: "Search the catalog."}
	if q == "" {
		lv.Body = searchView{}
		s.render(c, http.StatusOK, "search", lv)
		return
	}
	if len(q) > maxQueryLen {
		s.failPage(c, errBadRequest("the search is longer than "+strconv.Itoa(maxQueryLen)+" bytes"))
		return
	}
	page, err := pageParam(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	offset := (page - 1) * landingPageSize
	if offset > maxOffset {
		s.failPage(c, errNotFound("there is no page "+strconv.Itoa(page)))
		return
	}
	var sj SearchJSON
	key := s.cacheKey(ix, "search", q, strconv.Itoa(landingPageSize), strconv.Itoa(offset))
	if err := s.cachedJSON(c.Request.Context(), key, &sj, func(ctx context.Context) (any, error) {
		return s.runSearch(ctx, ix, q, landingPageSize, offset)
	}); err != nil {
		s.failPage(c, err)
		return
	}
	pages := pageCount(sj.Total, landingPageSize)
	v := searchView{Query: q, Total: sj.Total, Chips: chips(sj.Resolved, ix.Resolver.Resolve(q).Rest),
		Pager: pager("/search", url.Values{"q": {q}}, min(page, pages), pages)}
	if sj.Collection != nil {
		v.Collection = &linkView{Title: sj.Collection.Title, URL: collectionURL(sj.Collection.Slug)}
	}
	for i, r := range sj.Results {
		v.Products = append(v.Products, card(r, i))
	}
	lv.Title = q + " · lander"
	lv.Body = v
	s.render(c, http.StatusOK, "search", lv)
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
		if !a.Strict {
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

// merchRow is one collection of the console's list.
type merchRow struct {
	Slug, Title, Tuple, MerchURL string
	Size                         int
	Score                        float64
	// Published is the verdict served; Forced says an override set it.
	Published, Forced bool
	Pins, Excludes    int
	Signals           *Signals
}

// option is an option of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// changeView is a merchandiser override, as a change to the generation.
type changeView struct {
	Slug, Title, MerchURL, What, When string
	// SinceIndex says the change was made after the generation was built;
	// Stale that the collection is not in this generation.
	SinceIndex, Stale bool
}

// merchView is the body of the console's list.
type merchView struct {
	Generation      int
	IndexedAt       string
	Published, All  int
	Q               string
	Statuses, Sorts []option
	Total           int
	Rows            []merchRow
	HasSignals      bool
	Pager           pagerView
	Keys            []string
	PreviewRows     []int
	Changes         []changeView
}

func tupleLabel(kvs []store.KV) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = kv.Key + "=" + kv.Value
	}
	return strings.Join(parts, ", ")
}

func options(values []string, labels []string, selected string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Label: labels[i], Selected: v == selected}
	}
	return out
}

func (s *Server) signals(ix *Index, slug string) *Signals {
	src, ok := ix.Collections.(SignalSource)
	if !ok {
		return nil
	}
	sig, ok := src.Signals(slug)
	if !ok {
		return nil
	}
	return &sig
}

func (s *Server) merchPage(c *gin.Context) {
	ix, page, ts, ok := s.topicsPage(c)
	if !ok {
		return
	}
	q := strings.TrimSpace(c.Query("q"))
	if len(q) > maxCollectionQuery {
		s.failPage(c, errBadRequest("the filter is longer than "+strconv.Itoa(maxCollectionQuery)+" bytes"))
		return
	}
	status, sortBy := c.DefaultQuery("status", "all"), c.DefaultQuery("sort", "score")
	v := merchView{Generation: ix.Manifest.Generation, All: len(ts), Q: q,
		Statuses: options([]string{"all", "published", "unpublished", "overridden"}, []string{"All", "Published", "Not published", "Overridden"}, status),
		Sorts:    options([]string{"score", "size", "judge", "precision", "demand", "title"}, []string{"Score", "Size", "Judge score", "Estimated precision", "Demand", "Title"}, sortBy),
	}
	if !ix.Manifest.CreatedAt.IsZero() {
		v.IndexedAt = ix.Manifest.CreatedAt.UTC().Format("2006-01-02 15:04 MST")
	}
	words := strings.Fields(strings.ToLower(q))
	for _, t := range ts {
		if t.Published {
			v.Published++
		}
		ov, _ := s.overrides.Get(t.Slug)
		row := merchRow{Slug: t.Slug, Title: t.Title, Tuple: tupleLabel(t.Attributes), MerchURL: merchURL(t.Slug), Size: t.Size, Score: t.Score,
			Published: t.Published, Forced: ov.Published != nil, Pins: len(ov.Pins), Excludes: len(ov.Excludes), Signals: s.signals(ix, t.Slug)}
		keep := t.matches(words)
		switch status {
		case "published":
			keep = keep && row.Published
		case "unpublished":
			keep = keep && !row.Published
		case "overridden":
			keep = keep && (row.Forced || row.Pins+row.Excludes > 0)
		}
		if keep {
			v.Rows = append(v.Rows, row)
			v.HasSignals = v.HasSignals || row.Signals != nil
		}
	}
	sortRows(v.Rows, sortBy)
	v.Total = len(v.Rows)
	pages := pageCount(v.Total, merchPageSize)
	page = min(page, pages)
	v.Rows = v.Rows[(page-1)*merchPageSize : min(page*merchPageSize, len(v.Rows))]
	v.Pager = pager("/merch", c.Request.URL.Query(), page, pages)
	for k := range ix.Vocabulary.Keys {
		v.Keys = append(v.Keys, k)
	}
	slices.Sort(v.Keys)
	v.PreviewRows = []int{1, 2, 3}
	v.Changes = s.changes(ix, ts)
	s.render(c, http.StatusOK, "merch", layoutView{Title: "Collections · lander console", NoIndex: true, Merch: true, Body: v})
}

func sortRows(rows []merchRow, by string) {
	sig := func(r merchRow, f func(Signals) float64) float64 {
		if r.Signals == nil {
			return -1
		}
		return f(*r.Signals)
	}
	key := map[string]func(merchRow) float64{
		"size":      func(r merchRow) float64 { return float64(r.Size) },
		"judge":     func(r merchRow) float64 { return sig(r, func(s Signals) float64 { return s.Judge }) },
		"precision": func(r merchRow) float64 { return sig(r, func(s Signals) float64 { return s.Precision }) },
		"demand":    func(r merchRow) float64 { return sig(r, func(s Signals) float64 { return s.Demand }) },
	}[by]
	switch {
	case by == "title":
		slices.SortStableFunc(rows, func(a, b merchRow) int { return strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)) })
	case key != nil:
		slices.SortStableFunc(rows, func(a, b merchRow) int { return cmp.Compare(key(b), key(a)) })
	}
}

// changes lists the merchandisers' overrides, newest first, as changes to
// the generation the index built.
func (s *Server) changes(ix *Index, ts []Topic) []changeView {
	titles := make(map[string]string, len(ts))
	for _, t := range ts {
		titles[t.Slug] = t.Title
	}
	var out []changeView
	snapshot := s.overrides.cur.Load().bySlug
	type entry struct {
		slug string
		ov   Override
	}
	var all []entry
	for slug, ov := range snapshot {
		all = append(all, entry{slug, ov})
	}
	slices.SortFunc(all, func(a, b entry) int { return b.ov.UpdatedAt.Compare(a.ov.UpdatedAt) })
	for _, e := range all {
		var what []string
		if e.ov.Published != nil {
			what = append(what, map[bool]string{true: "published", false: "unpublished"}[*e.ov.Published])
		}
		if n := len(e.ov.Pins); n > 0 {
			what = append(what, strconv.Itoa(n)+" pinned")
		}
		if n := len(e.ov.Excludes); n > 0 {
			what = append(what, strconv.Itoa(n)+" excluded")
		}
		title, ok := titles[e.slug]
		out = append(out, changeView{Slug: e.slug, Title: title, MerchURL: merchURL(e.slug), What: strings.Join(what, ", "),
			When: e.ov.UpdatedAt.UTC().Format(time.DateTime), SinceIndex: e.ov.UpdatedAt.After(ix.Manifest.CreatedAt), Stale: !ok})
	}
	return out
}

// merchProduct is a product of the console's feed, with its evidence.
type merchProduct struct {
	cardView
	Score    float32
	Pinned   bool
	Evidence []AttributeJSON
}

// merchCollectionView is the body of a collection in the console.
type merchCollectionView struct {
	Slug, Title, Tuple, PublicURL, Reasons string
	Published, Forced                      bool
	Total                                  int
	Signals                                *Signals
	Products                               []merchProduct
	Excluded                               []cardView
	Pager                                  pagerView
}

func (s *Server) merchCollectionPage(c *gin.Context) {
	ix, ok := s.pageIndex(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	slug := c.Param("slug")
	page, err := pageParam(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	if ix.Collections == nil {
		s.failPage(c, errNotFound("no collection "+strconv.Quote(slug)))
		return
	}
	t, items, err := s.feed(ctx, ix, slug)
	if err != nil {
		s.failPage(c, err)
		return
	}
	ov, _ := s.overrides.Get(slug)
	pinned := make(map[string]bool, len(ov.Pins))
	for _, id := range ov.Pins {
		pinned[id] = true
	}
	pages := pageCount(len(items), merchFeedPageSize)
	page = min(page, pages)
	prods, err := s.feedProducts(ctx, ix, items[(page-1)*merchFeedPageSize:min(page*merchFeedPageSize, len(items))], t.Attributes, pinned)
	if err != nil {
		s.failPage(c, err)
		return
	}
	v := merchCollectionView{Slug: t.Slug, Title: t.Title, Tuple: tupleLabel(t.Attributes), PublicURL: collectionURL(t.Slug),
		Published: s.visible(t), Forced: ov.Published != nil, Total: len(items), Signals: s.signals(ix, t.Slug),
		Pager: pager(merchURL(t.Slug), nil, page, pages)}
	if v.Signals != nil {
		v.Reasons = strings.Join(v.Signals.Reasons, "; ")
	}
	for i, p := range prods {
		v.Products = append(v.Products, merchProduct{cardView: card(p.ResultJSON, i), Score: p.Score, Pinned: p.Pinned, Evidence: p.Evidence})
	}
	if len(ov.Excludes) > 0 {
		hits := make([]store.Hit, 0, len(ov.Excludes))
		for _, id := range ov.Excludes[:min(len(ov.Excludes), MaxLimit)] {
			hits = append(hits, store.Hit{ID: id})
		}
		byID, err := s.products(ctx, ix, hits)
		if err != nil {
			s.failPage(c, err)
			return
		}
		for i, h := range hits {
			if p, ok := byID[h.ID]; ok {
				v.Excluded = append(v.Excluded, card(result(p, 0), i))
			} else {
				v.Excluded = append(v.Excluded, cardView{ID: h.ID, Title: "Product " + h.ID})
			}
		}
	}
	s.render(c, http.StatusOK, "merchcollection", layoutView{Title: t.Title + " · lander console", NoIndex: true, Merch: true, Body: v})
}
