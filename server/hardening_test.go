package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"lander/datadir"
	"lander/store"
	"lander/vocab"
)

// TestSearchWithAnOverflowingPrice checks that price phrases whose amount
// overflows a float64 are answered, not failed with a 500.
func TestSearchWithAnOverflowingPrice(t *testing.T) {
	ts, _ := newTestServer(t)
	for _, q := range []string{"under 1e308k", "around 1.7e308", "black watch over 1e308 thousand", "between 1 and 1e308k dollars"} {
		t.Run(q, func(t *testing.T) {
			var got SearchJSON
			get(t, ts, "/api/v1/search?q="+url.QueryEscape(q), http.StatusOK, &got)
		})
	}
}

// TestConnectionTimeouts serves on a real listener and checks that the
// http.Server's timeouts close connections that trickle a body or idle
// between requests, and that oversized headers are refused.
func TestConnectionTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		// client talks to the server over conn and returns what it read
		// before the server closed the connection.
		client func(t *testing.T, conn net.Conn, stop <-chan struct{}) string
		// wantClosed is true when the server must close the connection
		// within a few seconds.
		wantClosed bool
		wantStatus string
	}{
		{
			name: "trickled body", opts: Options{ReadTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute},
			client: func(t *testing.T, conn net.Conn, stop <-chan struct{}) string {
				fmt.Fprintf(conn, "POST /api/v1/preview HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
				go func() { // a byte every 50ms: the body would take 50s
					for range 999 {
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
						}
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}()
				return ""
			},
			wantClosed: true,
		},
		{
			name: "idle keep-alive", opts: Options{ReadTimeout: time.Minute, IdleTimeout: 300 * time.Millisecond},
			client: func(t *testing.T, conn net.Conn, _ <-chan struct{}) string {
				fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
				conn.SetReadDeadline(time.Now().Add(3 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatalf("first request: %v", err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.Close {
					t.Fatal("the server closed the connection after the first request; want keep-alive")
				}
				return ""
			},
			wantClosed: true,
		},
		{
			name: "oversized headers", opts: Options{MaxHeaderBytes: 4 << 10},
			client: func(t *testing.T, conn net.Conn, _ <-chan struct{}) string {
				fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 32<<10))
				return ""
			},
			wantClosed: true, wantStatus: "431",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.opts)
			s.SetIndex(NewIndex(datadir.Manifest{Generation: 1}, store.NewEmbedded(4), memImages{}, vocab.Vocabulary{Keys: map[string][]vocab.Value{}}))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx, ln) }()
			defer func() {
				cancel()
				<-served
			}()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			stop := make(chan struct{})
			defer close(stop)
			start := time.Now()
			tc.client(t, conn, stop)
			conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			got, err := io.ReadAll(conn)
			var ne net.Error
			closed := err == nil || !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, os.ErrDeadlineExceeded)
			if closed != tc.wantClosed {
				t.Errorf("connection closed by the server within 3s: %v (after %v, err %v), want %v; read %q", closed, time.Since(start).Round(time.Millisecond), err, tc.wantClosed, got)
			}
			if tc.wantStatus != "" && !strings.HasPrefix(string(got), "HTTP/1.1 "+tc.wantStatus) {
				t.Errorf("response %.60q, want status %s", got, tc.wantStatus)
			}
		})
	}
}

// TestHTTPServerLimits checks the connection limits' defaults and that
// set ones are kept.
func TestHTTPServerLimits(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		opts                      Options
		header, read, write, idle time.Duration
		maxHeader                 int
	}{
		{"defaults", Options{}, 10 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second, 64 << 10},
		{"long requests write longer", Options{RequestTimeout: 45 * time.Second}, 10 * time.Second, 30 * time.Second, 90 * time.Second, 120 * time.Second, 64 << 10},
		{"set", Options{ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second, MaxHeaderBytes: 5},
			2 * time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.opts.httpServer(http.NotFoundHandler())
			if srv.ReadHeaderTimeout != tc.header || srv.ReadTimeout != tc.read || srv.WriteTimeout != tc.write || srv.IdleTimeout != tc.idle || srv.MaxHeaderBytes != tc.maxHeader {
				t.Errorf("limits = header %v, read %v, write %v, idle %v, max header %d; want %v, %v, %v, %v, %d",
					srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes, tc.header, tc.read, tc.write, tc.idle, tc.maxHeader)
			}
		})
	}
}
