package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"lander/catalog/demo"
	"lander/config"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("demo", stderr)
	f.common()
	f.str("addr", "listen `address`", func(c *config.Config) *string { return &c.Serve.Addr })
	f.str("redis", "Redis `host:port` for the page cache (default in-process)", func(c *config.Config) *string { return &c.Redis })
	f.str("merch-token", "bearer `token` for merchandiser writes (none: refused)", func(c *config.Config) *string { return &c.Serve.MerchToken })
	f.str("base-url", "scheme and host of canonical links and the sitemap, such as https://shop.example.com (default: each request's Host header)", func(c *config.Config) *string { return &c.Serve.BaseURL })
	consoleFlags(f)
	n := f.fs.Int("products", 480, "number of synthetic products")
	seed := f.fs.Int64("seed", 1, "random seed of the synthetic catalog")
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if *n < 1 || *n > 100000 {
		return usageError{fmt.Errorf("-products must be in [1, 100000]")}
	}
	catDir := filepath.Join(cfg.Data, "demo-catalog")
	path, err := demo.Generate(catDir, *n, *seed)
	if err != nil {
		return fmt.Errorf("generate demo catalog: %w", err)
	}
	fmt.Fprintf(stdout, "demo catalog: %d products in %s\n", *n, path)
	cfg.Index.Catalog = path
	if err := runIndex(ctx, cfg, stdout, stderr); err != nil {
		return err
	}
	return runServe(ctx, cfg, stderr)
}
