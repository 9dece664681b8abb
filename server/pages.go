package server

// The HTML pages: the shoppers' collection directory, landing pages, search
// and sitemap (pages_shop.go), and the merchandisers' console
// (pages_merch.go). They are rendered on the server from package web's
// templates, work without JavaScript, and read the same cached responses as
// the JSON API. This file holds what both sides share: the site's templates
// and routes, rendering, paging and the product grid.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"lander/web"
)

// Limits shared by the HTML pages.
const (
	// eagerImages is the number of grid images loaded eagerly: the first
	// row on a wide screen. The others load lazily.
	eagerImages = 6
	// maxPage bounds the page parameter.
	maxPage = 10000
)

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
	// script is the console's script, scriptETag its validator and
	// scriptURL its versioned URL.
	script                []byte
	scriptETag, scriptURL string
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
var pageNames = []string{"home", "collection", "search", "error", "merch", "merchcollection", "merchgaps", "merchpreview", "merchgenerations", "merchchanges"}

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
	// Shopper pages run no script, but audit tools (Lighthouse's SEO
	// check) fetch /robots.txt from inside the page: same-origin
	// connections stay open to them.
	ps.shopCSP = common + "; connect-src 'self'"
	ps.merchCSP = common + "; script-src 'self'; connect-src 'self'"
	js := sha256.Sum256(script)
	ps.scriptETag = `"` + hex.EncodeToString(js[:12]) + `"`
	ps.scriptURL = "/static/merch.js?v=" + hex.EncodeToString(js[:6])
	return ps, nil
}

// pageRoutes registers the HTML pages, the sitemap and the console's
// script.
func (s *Server) pageRoutes(r *gin.Engine) {
	r.GET("/", s.homePage)
	r.GET("/c/:slug", s.collectionPage)
	r.GET("/search", s.searchPage)
	r.GET("/sitemap.xml", s.sitemap)
	merch := s.merchOnly()
	r.GET("/merch", merch, s.merchPage)
	r.GET("/merch/c/:slug", merch, s.merchCollectionPage)
	r.GET("/merch/gaps", merch, s.merchGapsPage)
	r.GET("/merch/preview", merch, s.merchPreviewPage)
	r.GET("/merch/generations", merch, s.merchGenerationsPage)
	r.GET("/merch/changes", merch, s.merchChangesPage)
	r.GET("/robots.txt", s.robots)
	r.GET("/static/merch.js", func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		if "/static/merch.js?"+c.Request.URL.RawQuery == site.scriptURL {
			c.Header("Cache-Control", immutable)
		}
		c.Header("ETag", site.scriptETag)
		c.Header("X-Content-Type-Options", "nosniff")
		if noneMatch(c.Request.Header.Values("If-None-Match"), site.scriptETag) {
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

// render writes the page name with status, uncached: the console's pages
// and error pages, which are never stored. The shoppers' pages go through
// servePage.
func (s *Server) render(c *gin.Context, status int, name string, v layoutView) {
	b, err := s.renderBytes(name, v)
	if err != nil {
		s.log.Error("render page", "page", name, "err", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	csp := site.shopCSP
	if v.Merch {
		csp = site.merchCSP
	}
	pageHeaders(c.Writer.Header(), csp)
	c.Header("Cache-Control", "no-store")
	c.Data(status, htmlContentType, b)
}

// renderBytes executes the page name and counts it.
func (s *Server) renderBytes(name string, v layoutView) ([]byte, error) {
	v.CSS = site.css
	if v.Merch {
		v.Script = site.scriptURL
	}
	var buf bytes.Buffer
	if err := site.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	s.renders.Add(1)
	return buf.Bytes(), nil
}

// servePage answers c with the shoppers' page stored under key, or has
// build render it once for all the requests waiting on key, stores it with
// its encodings and ETag, and writes it. Pages are revalidated on each use.
// A failed build is answered with an error page and not stored.
func (s *Server) servePage(c *gin.Context, key string, build func(ctx context.Context) ([]byte, error)) {
	e, hit, err := s.cachedEntry(c.Request.Context(), key, build)
	if err != nil {
		s.failPage(c, err)
		return
	}
	h := c.Writer.Header()
	pageHeaders(h, site.shopCSP)
	h["Cache-Control"] = noCache
	writeEntry(c, e, htmlContentType, hit)
}

// Header values of the pages; the slices are never changed.
var (
	noCache        = []string{"no-cache"}
	nosniff        = []string{"nosniff"}
	referrerPolicy = []string{"strict-origin-when-cross-origin"}
)

const htmlContentType = "text/html; charset=utf-8"

// pageHeaders sets the security headers of a page with policy csp.
func pageHeaders(h http.Header, csp string) {
	h["Content-Security-Policy"] = []string{csp}
	h["X-Content-Type-Options"] = nosniff
	h["Referrer-Policy"] = referrerPolicy
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
	case ae.code == errNoHistory.code:
		msg = "This server was started without the index history."
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

// pageStart is the start of a paged page: the served index and the page
// number; false when it has answered already (no index, a bad page number).
func (s *Server) pageStart(c *gin.Context) (*Index, int, bool) {
	ix, ok := s.pageIndex(c)
	if !ok {
		return nil, 0, false
	}
	page, err := pageParam(c)
	if err != nil {
		s.failPage(c, err)
		return nil, 0, false
	}
	return ix, page, true
}

// cachedJSON decodes into into the response stored under key, or computes
// it once for all the callers waiting on key, stores it and decodes it: the
// pages share the API's entries and its single flight.
func (s *Server) cachedJSON(ctx context.Context, key string, into any, compute func(ctx context.Context) (any, error)) error {
	e, _, err := s.cachedJSONEntry(ctx, key, compute)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(e.raw, into); err != nil {
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
