package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"lander/cache"
	"lander/config"
	"lander/datadir"
	"lander/server"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer, environ []string) error {
	f := newFlags("serve", stderr)
	f.common()
	f.str("redis", "Redis `host:port` for the page cache (default in-process)", func(c *config.Config) *string { return &c.Redis })
	f.str("addr", "listen `address`", func(c *config.Config) *string { return &c.Serve.Addr })
	f.str("merch-token", "bearer `token` for merchandiser writes (none: refused)", func(c *config.Config) *string { return &c.Serve.MerchToken })
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	return runServe(ctx, cfg, stderr)
}

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
	enc, err := openEncoder(cfg)
	if err != nil {
		return err
	}
	defer enc.Close()
	overrides, err := server.OpenOverrides(dir.OverridesPath())
	if err != nil {
		return err
	}
	backends := map[string]server.Pinger{}
	// Without Redis the in-process LRU is the cache; with Redis it is a
	// short-lived first tier in front of it.
	tiers := []server.CacheTier{{Cache: cache.NewLRU(cfg.Serve.CacheSize), TTL: cfg.Serve.CacheTTL}}
	if cfg.Redis != "" {
		r := cache.NewRedis(cache.RedisOptions{Addr: cfg.Redis, Prefix: "lander:"})
		defer r.Close()
		backends["redis"] = r
		tiers = []server.CacheTier{
			{Cache: cache.NewLRU(min(cfg.Serve.CacheSize, localTierSize)), TTL: min(cfg.Serve.CacheTTL, localTierTTL)},
			{Cache: r, TTL: cfg.Serve.CacheTTL},
		}
	}
	srv := server.New(server.Options{
		Addr: cfg.Serve.Addr, ShutdownTimeout: cfg.Serve.ShutdownTimeout,
		Logger: log, Embedder: enc, Backends: backends,
		Cache: tiers, Overrides: overrides, MerchToken: cfg.Serve.MerchToken,
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
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return rl.Run(gctx) })
	return g.Wait()
}
