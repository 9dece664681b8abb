package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"lander/cache"
	"lander/changes"
	"lander/config"
	"lander/datadir"
	"lander/encoder"
	"lander/llm"
	"lander/queryllm"
	"lander/server"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer, environ []string) error {
	f := newFlags("serve", stderr)
	f.common()
	f.str("redis", "Redis `host:port` for the page cache (default in-process)", func(c *config.Config) *string { return &c.Redis })
	f.str("addr", "listen `address`", func(c *config.Config) *string { return &c.Serve.Addr })
	f.str("merch-token", "bearer `token` for merchandiser writes (none: refused)", func(c *config.Config) *string { return &c.Serve.MerchToken })
	f.str("base-url", "scheme and host of canonical links and the sitemap, such as https://shop.example.com (default: each request's Host header)", func(c *config.Config) *string { return &c.Serve.BaseURL })
	f.str("query-llm-url", "OpenAI-compatible API `root` of a chat model for low-confidence search queries (offline resolver alone when empty)", func(c *config.Config) *string { return &c.Serve.QueryLLM.URL })
	f.str("query-llm-model", "query model `name`", func(c *config.Config) *string { return &c.Serve.QueryLLM.Model })
	consoleFlags(f)
	f.boolean("quantize-store", "open the embedded store in its memory mode: int8 codes on the heap, float32 vectors mapped from its file and read to re-rank", func(c *config.Config) *bool { return &c.Serve.QuantizeStore })
	f.str("pprof-addr", "serve Go's profiles (/debug/pprof/) on this `address`, apart from the site (off by default; the soak test samples goroutines and heap there)", func(c *config.Config) *string { return &c.Serve.PprofAddr })
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if cfg.Serve.PprofAddr != "" {
		stop, err := servePprof(cfg.Serve.PprofAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	return runServe(ctx, cfg, stderr)
}

// consoleFlags declares the flags that guard the merchandisers' routes.
func consoleFlags(f *flags) {
	f.boolean("merch-private", "the console, the preview and reading overrides need the merchandiser token too (a browser asks for it as a password)", func(c *config.Config) *bool { return &c.Serve.MerchPrivate })
	f.boolean("require-if-match", "refuse an overrides write without If-Match (428)", func(c *config.Config) *bool { return &c.Serve.RequireIfMatch })
	f.integer("preview-rate", "previews a second one client may ask for (default 5)", func(c *config.Config) *int { return &c.Serve.PreviewRate })
}

// servePprof serves net/http/pprof on its own listener, so that profiles
// are never reachable through the site's address.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	// stop owns the serving goroutine: it closes the listener and waits.
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	return func() { srv.Close(); <-done }, nil
}

// changes.History is the server's index history.
var _ server.History = (*changes.History)(nil)

// The in-process tier in front of Redis: small and short-lived, so that the
// hottest pages skip the round trip while Redis stays the shared copy.
const (
	localTierSize = 1024
	localTierTTL  = 2 * time.Second
)

func runServe(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	dir, err := datadir.Open(cfg.Data)
	if err != nil {
		return err
	}
	threads, parallel := serveThreads(cfg.Encoder.Threads, runtime.GOMAXPROCS(0))
	ecfg := cfg
	ecfg.Encoder.Threads = threads
	enc, err := openEncoder(ecfg)
	if err != nil {
		return err
	}
	defer enc.Close()
	batcher := encoder.NewBatcher(enc, encoder.BatcherOptions{Parallel: parallel})
	overrides, err := server.OpenOverrides(dir.OverridesPath())
	if err != nil {
		return err
	}
	backends := map[string]server.Pinger{}
	// Without Redis the in-process LRU is the cache; with Redis it is a
	// short-lived first tier in front of it.
	tiers := []server.CacheTier{{Cache: cache.NewLRU(cfg.Serve.CacheSize), TTL: cfg.Serve.CacheTTL}}
	var llmCaches []queryllm.Cache
	if cfg.Redis != "" {
		r := cache.NewRedis(cache.RedisOptions{Addr: cfg.Redis, Prefix: "lander:"})
		llmCaches = append(llmCaches, r)
		defer r.Close()
		backends["redis"] = r
		tiers = []server.CacheTier{
			{Cache: cache.NewLRU(min(cfg.Serve.CacheSize, localTierSize)), TTL: min(cfg.Serve.CacheTTL, localTierTTL)},
			{Cache: r, TTL: cfg.Serve.CacheTTL},
		}
	}
	srv := server.New(server.Options{
		QueryLLM: queryLLM(cfg, log, llmCaches...),
		Addr:     cfg.Serve.Addr, ShutdownTimeout: cfg.Serve.ShutdownTimeout,
		Logger: log, Embedder: batcher, EmbedCacheSize: embedCacheSize, Backends: backends,
		Cache: tiers, Overrides: overrides, MerchToken: cfg.Serve.MerchToken,
		BaseURL:      cfg.Serve.BaseURL,
		History:      changes.NewHistory(dir, dir.OverridesPath()),
		PrivateMerch: cfg.Serve.MerchPrivate, RequireIfMatch: cfg.Serve.RequireIfMatch,
		PreviewRate: float64(cfg.Serve.PreviewRate), PreviewBurst: max(20, 2*cfg.Serve.PreviewRate),
	})
	if cfg.Milvus != "" {
		backends["milvus"] = storePinger{srv: srv}
	}
	rl := &reloader{cfg: cfg, dir: dir, srv: srv, overrides: overrides, log: log, interval: 2 * time.Second}
	if err := rl.load(ctx); err != nil {
		if !errors.Is(err, datadir.ErrNoIndex) {
			return fmt.Errorf("load index: %w", err)
		}
		log.Warn("no index yet; /readyz fails until lander index commits one", "data", cfg.Data)
	}
	g, gctx := errgroup.WithContext(ctx)
	// The batcher stops after the server, so that the requests drained at
	// shutdown still get their embeddings.
	bctx, stopBatcher := context.WithCancel(context.WithoutCancel(gctx))
	g.Go(func() error { return batcher.Run(bctx) })
	g.Go(func() error {
		defer stopBatcher()
		return srv.Run(gctx)
	})
	g.Go(func() error { return rl.Run(gctx) })
	return g.Wait()
}

// embedCacheSize is the number of query embeddings the server keeps (about
// 1.6 KB each).
const embedCacheSize = 8192

// serveThreads returns the ONNX Runtime intra-op threads of the serving
// encoder and the number of batches it runs at once on cpus CPUs. Serving
// runs one thread per batch and as many batches as CPUs: a short query
// gains little from a second thread (its cost is reading the weights) but
// pays for the hand-off, and requests keep the CPUs busy instead.
// encoder.threads, when set, is kept, with CPUs/threads batches at once.
func serveThreads(configured, cpus int) (threads, parallel int) {
	threads = 1
	if configured > 0 {
		threads = configured
	}
	return threads, max(1, cpus/threads)
}

// queryLLMCacheSize is the number of model answers kept in process.
const queryLLMCacheSize = 4096

// queryLLM returns the model resolver of serve.query_llm, or nil when no
// URL is configured. Its answers are cached in process, then in caches.
func queryLLM(cfg config.Config, log *slog.Logger, caches ...queryllm.Cache) *queryllm.Resolver {
	m := cfg.Serve.QueryLLM
	if m.URL == "" {
		return nil
	}
	client := llm.New(llm.Options{BaseURL: m.URL, APIKey: m.APIKey, Model: m.Model, Timeout: m.Timeout,
		MaxRetries: m.Retries, RequestsPerSecond: m.RequestsPerSecond, Logger: log})
	return queryllm.New(queryllm.Options{Client: client, Model: m.Model, Budget: m.Timeout,
		Caches: append([]queryllm.Cache{cache.NewLRU(queryLLMCacheSize)}, caches...)})
}
