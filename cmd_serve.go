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
	backends := map[string]server.Pinger{}
	if cfg.Redis != "" {
		r := cache.NewRedis(cache.RedisOptions{Addr: cfg.Redis, Prefix: "lander:"})
		defer r.Close()
		backends["redis"] = r
	}
	srv := server.New(server.Options{
		Addr: cfg.Serve.Addr, ShutdownTimeout: cfg.Serve.ShutdownTimeout,
		Logger: log, Embedder: enc, Backends: backends,
	})
	rl := &reloader{cfg: cfg, dir: dir, srv: srv, log: log, interval: 2 * time.Second}
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
