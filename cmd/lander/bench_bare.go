package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"lander/server"
)

// cmdBenchBare answers the bytes of one page of a running lander through a
// bare gin handler: the baseline of scripts/bench-serve.sh.
func cmdBenchBare(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("bench bare", stderr)
	addr := f.fs.String("addr", "127.0.0.1:0", "listen `address`")
	from := f.fs.String("url", "", "`URL` of the page whose bytes to serve (fetched once)")
	if _, err := f.load(args, environ); err != nil {
		return err
	}
	if *from == "" {
		return usageError{fmt.Errorf("--url is required")}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, *from, nil)
	if err != nil {
		return usageError{fmt.Errorf("--url: %w", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", *from, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("fetch %s: %w", *from, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: status %d", *from, resp.StatusCode)
	}
	return server.RunBare(ctx, *addr, body, resp.Header.Get("Content-Type"), func(a string) {
		fmt.Fprintf(stdout, "bare handler on %s answering %d bytes of %s\n", a, len(body), *from)
	})
}
