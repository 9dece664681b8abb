// Package server is lander's HTTP front: the JSON API of the contract
// (search, collections and landing pages, products, vocabulary, the
// merchandiser's preview and overrides), the product images, health,
// readiness and Prometheus metrics, on gin. It serves one index generation
// at a time and swaps to a new one atomically; every response is computed
// from a single generation.
//
// Searches, collection lists and landing pages are cached as rendered JSON,
// and the shoppers' HTML pages as rendered HTML, each with its gzip and
// brotli encodings and ETag (cache-aside, one computation per key at a
// time), under keys that carry the generation and the overrides' version,
// so that neither a new index nor a merchandiser's change is ever answered
// from an old entry. A failing
// cache backend is counted in /metrics and otherwise ignored: the server
// answers uncached.
package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"lander/datadir"
	"lander/query"
	"lander/queryllm"
	"lander/store"
	"lander/vocab"
)

// Searcher is what the server needs from a vector store.
type Searcher interface {
	Search(ctx context.Context, q []float32, f store.Filter, k, offset int) ([]store.Hit, int, error)
	Get(ctx context.Context, ids []string) ([]store.Product, error)
}

// Images returns product images.
type Images interface {
	Get(id string) (data []byte, format string, ok bool, err error)
}

// Embedder embeds query text.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Pinger is a backend that readiness checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Index is one loaded generation: everything a response reads.
type Index struct {
	Manifest   datadir.Manifest
	Store      Searcher
	Images     Images
	Vocabulary vocab.Vocabulary
	Resolver   *query.Resolver
	// Collections are the generation's topics and feeds; nil when the
	// generation has none.
	Collections Collections
	// Gaps are where the generation's search demand has no collection,
	// highest demand first; nil when it has none.
	Gaps []Gap
	// ImageVersion names the content of the generation's images in their
	// URLs (a hash of the image pack), so that a new generation with the
	// same images keeps them cached; empty names the generation instead.
	ImageVersion string

	vibes   vibeCache   // the embedding fallback's vocabulary vectors, built on first use
	subsets topicIndex  // the topics by their first attribute, for searches; built on first use
	links   linkCache   // the landing pages' parent and related links, computed on first use
	narrow  narrowCache // catalog counts for narrowing generic search words, computed on first use
}

// NewIndex builds the resolver of a generation from its vocabulary.
func NewIndex(m datadir.Manifest, s Searcher, img Images, v vocab.Vocabulary) *Index {
	return &Index{Manifest: m, Store: s, Images: img, Vocabulary: v, Resolver: query.NewResolver(vocab.Terms(v))}
}

// Options configures a Server.
type Options struct {
	// Addr is the listen address.
	Addr string
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration
	// Logger receives request logs; nil discards them.
	Logger *slog.Logger
	// Embedder embeds queries.
	Embedder Embedder
	// EmbedCacheSize bounds the cache of query embeddings in front of
	// Embedder, in entries; zero means no cache.
	EmbedCacheSize int
	// Backends are pinged by /readyz, by name.
	Backends map[string]Pinger
	// Cache holds the tiers of the response cache, nearest first; none
	// means no caching.
	Cache []CacheTier
	// Overrides are the merchandisers' overrides; nil keeps them in memory.
	Overrides *Overrides
	// MerchToken is the bearer token of merchandiser writes; empty refuses
	// them.
	MerchToken string
	// RequestTimeout bounds each request; zero means 10s.
	RequestTimeout time.Duration
	// MaxBodyBytes bounds request bodies; zero means 64 KiB.
	MaxBodyBytes int64
	// History is the index's history, which the generations and changes
	// routes read; nil answers them 503.
	History History
	// BaseURL is the scheme and host of the canonical links, the JSON-LD,
	// the sitemap and robots.txt ("https://shop.example.com"); empty takes
	// them from each request's Host header (and X-Forwarded-Proto), and
	// caches pages per host.
	BaseURL string
	// ReadTimeout bounds reading a whole request, body included, so that
	// a trickled body cannot hold a connection; zero means 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, from the end of its
	// request's headers; zero means 60s, or twice RequestTimeout when that
	// is longer.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request; zero means 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers; zero means 64 KiB.
	MaxHeaderBytes int
	// QueryLLM, when set, resolves the queries the offline resolver marks
	// as low-confidence, within its latency budget; nil keeps the offline
	// resolver alone.
	QueryLLM *queryllm.Resolver
	// PrivateMerch makes the console's pages, the preview and reading
	// overrides need the merchandiser token too (as a bearer token, or as
	// the password of HTTP Basic authentication, which browsers prompt
	// for); false leaves them open and protects writes only.
	PrivateMerch bool
	// RequireIfMatch refuses an overrides write without If-Match (428);
	// false accepts it, and a write with If-Match is checked either way.
	RequireIfMatch bool
	// PreviewRate bounds the previews a client (by IP address) may ask
	// for, per second; zero means 5. PreviewBurst is how many it may ask
	// for at once; zero means 20.
	PreviewRate  float64
	PreviewBurst int
}

// Request limits.
const (
	defaultRequestTimeout = 10 * time.Second
	defaultMaxBodyBytes   = 64 << 10
	// maxRawQuery bounds the query string of a request, in bytes. It holds
	// every query that openapi.json calls valid, percent-encoded: the
	// largest, /merch/preview's 8 attributes of up to 193 characters, is
	// under 19 KB.
	maxRawQuery = 32 << 10
)

// Server serves the API over the current index.
type Server struct {
	opts      Options
	log       *slog.Logger
	index     atomic.Pointer[Index]
	engine    *gin.Engine
	metrics   *metrics
	cache     *pageCache
	overrides *Overrides
	// merchDigest is the SHA-256 of the merchandiser token, computed once.
	merchDigest [sha256.Size]byte
	// renders counts the templates executed: a cached page is not rendered
	// again.
	renders atomic.Int64
	// previews limits the previews of each client.
	previews *rateLimiter
	// backendDown remembers which backends /readyz found failing, so that
	// each failure is logged once, when it starts.
	backendMu   sync.Mutex
	backendDown map[string]bool
}

// New returns a server with no index loaded; /readyz fails until SetIndex.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = defaultRequestTimeout
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = defaultMaxBodyBytes
	}
	if opts.Overrides == nil {
		opts.Overrides, _ = OpenOverrides("") // in memory: cannot fail
	}
	// A token pasted with a newline or spaces around it would never match
	// what a client sends.
	opts.MerchToken = strings.TrimSpace(opts.MerchToken)
	if opts.PreviewRate <= 0 {
		opts.PreviewRate = defaultPreviewRate
	}
	if opts.PreviewBurst <= 0 {
		opts.PreviewBurst = defaultPreviewBurst
	}
	gin.SetMode(gin.ReleaseMode)
	m := newMetrics()
	if opts.EmbedCacheSize > 0 && opts.Embedder != nil {
		opts.Embedder = newEmbedCache(opts.Embedder, opts.EmbedCacheSize, m)
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: m, cache: newPageCache(opts.Cache, m), overrides: opts.Overrides,
		previews: newRateLimiter(opts.PreviewRate, opts.PreviewBurst), backendDown: map[string]bool{}, merchDigest: sha256.Sum256([]byte(opts.MerchToken))}
	s.engine = s.routes()
	return s
}

// SetIndex swaps in a new generation; requests in flight keep the old one.
func (s *Server) SetIndex(ix *Index) {
	s.index.Store(ix)
	if ix != nil {
		s.metrics.generation.Set(float64(ix.Manifest.Generation))
	}
}

// Current returns the generation being served, or nil.
func (s *Server) Current() *Index { return s.index.Load() }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Run serves on Addr until ctx is cancelled, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.opts.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("serving", "addr", ln.Addr().String())
	return serveUntil(ctx, s.opts.httpServer(s.engine), ln, s.opts.ShutdownTimeout)
}

// serveUntil serves srv on ln until ctx is cancelled, then shuts it down
// gracefully within shutdownTimeout.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, shutdownTimeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func (s *Server) routes() *gin.Engine {
	r := gin.New()
	// Routing reads the path as sent, so that an escaped slash stays inside
	// its segment: a product id "a/b" is /api/v1/products/a%2Fb.
	r.UseRawPath = true
	r.UnescapePathValues = true
	r.Use(s.metrics.observe(), s.recoverer(), s.requestLog(), s.limits(), s.checkParams())
	r.NoRoute(s.noRoute)
	r.NoMethod(func(c *gin.Context) {
		s.fail(c, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed"})
	})
	r.HandleMethodNotAllowed = true
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(s.metrics.handler()))
	api := r.Group("/api/v1")
	api.GET("/search", s.search)
	api.GET("/products/:id", s.product)
	api.GET("/vocabulary", s.vocabulary)
	api.GET("/collections", s.listCollections)
	api.GET("/collections/:slug", s.collection)
	api.GET("/collections/:slug/overrides", s.merchOnly(), s.getOverrides)
	api.PUT("/collections/:slug/overrides", s.requireMerchant(), s.putOverrides)
	api.POST("/preview", s.merchOnly(), s.limitPreviews(), s.preview)
	api.GET("/gaps", s.listGaps)
	api.GET("/generations", s.listGenerations)
	api.GET("/changes", s.changesBetween)
	api.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, jsonContentType, openAPI) })
	r.GET("/images/:id", s.image)
	s.pageRoutes(r)
	return r
}

// limits bounds each request: its query string, its body and its time.
func (s *Server) limits() gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(c.Request.URL.RawQuery) > maxRawQuery {
			s.failFor(c, &apiError{http.StatusRequestURITooLong, "too_large", fmt.Sprintf("query string is longer than %d bytes", maxRawQuery)})
			return
		}
		if c.Request.ContentLength > s.opts.MaxBodyBytes {
			s.failFor(c, errTooLarge(fmt.Sprintf("request body is larger than %d bytes", s.opts.MaxBodyBytes)))
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes)
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), s.opts.RequestTimeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// requestLog writes one debug line per request (an access log at
// --log-level debug).
func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.log.Enabled(c.Request.Context(), slog.LevelDebug) {
			c.Next()
			return
		}
		start := time.Now()
		c.Next()
		s.log.Debug("request", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "bytes", c.Writer.Size(), "ms", float64(time.Since(start).Microseconds())/1000)
	}
}

func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic", "path", c.Request.URL.Path, "panic", fmt.Sprint(v))
				s.fail(c, fmt.Errorf("panic: %v", v))
			}
		}()
		c.Next()
	}
}

func (s *Server) readyz(c *gin.Context) {
	checks := map[string]string{}
	ok := true
	ix := s.Current()
	if ix == nil {
		checks["index"] = "not loaded"
		ok = false
	} else {
		checks["index"] = fmt.Sprintf("generation %d", ix.Manifest.Generation)
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	for name, p := range s.opts.Backends {
		err := p.Ping(ctx)
		s.backendState(name, err)
		if err != nil {
			// The error may name hosts, ports and collections: it is
			// logged, and the public answer only says which backend.
			checks[name] = "unavailable"
			ok = false
		} else {
			checks[name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
}

// backendState logs a backend's failure when it starts, and its recovery,
// rather than on every readiness probe.
func (s *Server) backendState(name string, err error) {
	s.backendMu.Lock()
	was := s.backendDown[name]
	s.backendDown[name] = err != nil
	s.backendMu.Unlock()
	switch {
	case err != nil && !was:
		s.log.Error("backend unavailable", "backend", name, "err", err)
	case err == nil && was:
		s.log.Info("backend available again", "backend", name)
	}
}
