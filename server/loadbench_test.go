package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"lander/cache"
)

// The load benchmark's helpers. They are skipped unless their environment
// is set; the README's "Load benchmark" section runs them beside a real
// `lander serve --redis` and wrk.

// TestBareGinServe serves the bytes of LANDER_BARE_GIN_BODY from memory on
// LANDER_BARE_GIN_ADDR, through a gin engine with no middleware, for
// LANDER_BARE_GIN_SECONDS: the baseline that cached landing pages are
// compared with.
func TestBareGinServe(t *testing.T) {
	addr := os.Getenv("LANDER_BARE_GIN_ADDR")
	if addr == "" {
		t.Skip("LANDER_BARE_GIN_ADDR is not set (load benchmark helper)")
	}
	body, err := os.ReadFile(os.Getenv("LANDER_BARE_GIN_BODY"))
	if err != nil {
		t.Fatal(err)
	}
	secs, _ := strconv.Atoi(os.Getenv("LANDER_BARE_GIN_SECONDS"))
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/*path", func(c *gin.Context) { c.Data(http.StatusOK, jsonContentType, body) })
	srv := &http.Server{Addr: addr, Handler: r}
	time.AfterFunc(time.Duration(max(secs, 1))*time.Second, func() { srv.Close() })
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		t.Fatal(err)
	}
}

// loadReport is the outcome of an open-loop run.
type loadReport struct {
	Rate     float64        `json:"rate"`
	Seconds  float64        `json:"seconds"`
	Requests int            `json:"requests"`
	Failed   int            `json:"failed"`
	P50ms    float64        `json:"p50_ms"`
	P90ms    float64        `json:"p90_ms"`
	P99ms    float64        `json:"p99_ms"`
	Maxms    float64        `json:"max_ms"`
	Statuses map[string]int `json:"statuses"`
}

// TestOpenLoopLoad sends GET requests for the paths in LANDER_LOAD_PATHS
// (one a line, in turn) to LANDER_LOAD_BASE at a fixed LANDER_LOAD_RATE per
// second for LANDER_LOAD_SECONDS, open loop: each request starts on its
// schedule whether or not earlier ones have finished, and its latency is
// counted from its scheduled start, so that a stall is not hidden
// (coordinated omission). It prints a JSON report.
func TestOpenLoopLoad(t *testing.T) {
	base := os.Getenv("LANDER_LOAD_BASE")
	if base == "" {
		t.Skip("LANDER_LOAD_BASE is not set (load benchmark helper)")
	}
	rate, _ := strconv.ParseFloat(os.Getenv("LANDER_LOAD_RATE"), 64)
	secs, _ := strconv.ParseFloat(os.Getenv("LANDER_LOAD_SECONDS"), 64)
	f, err := os.Open(os.Getenv("LANDER_LOAD_PATHS"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() != "" {
			paths = append(paths, sc.Text())
		}
	}
	f.Close()
	if rate <= 0 || secs <= 0 || len(paths) == 0 {
		t.Fatal("LANDER_LOAD_RATE, LANDER_LOAD_SECONDS and a non-empty LANDER_LOAD_PATHS are required")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	n := int(rate * secs)
	lat := make([]time.Duration, n)
	status := make([]string, n)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+paths[i%len(paths)], nil)
			resp, err := client.Do(req)
			if err != nil {
				status[i] = "error"
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status[i] = strconv.Itoa(resp.StatusCode)
			}
			lat[i] = time.Since(at)
		})
	}
	wg.Wait()
	rep := loadReport{Rate: rate, Seconds: time.Since(start).Seconds(), Requests: n, Statuses: map[string]int{}}
	for _, s := range status {
		rep.Statuses[s]++
		if s != "200" {
			rep.Failed++
		}
	}
	slices.Sort(lat)
	ms := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	rep.P50ms, rep.P90ms, rep.P99ms, rep.Maxms = ms(0.5), ms(0.9), ms(0.99), ms(1)
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
}

// BenchmarkLandingPageCached serves one landing page from a warm
// in-process cache, as lander serve does without Redis, beside a bare gin
// handler answering the same bytes; the lander run reports its throughput
// as a share of the bare handler's (x-bare).
func BenchmarkLandingPageCached(b *testing.B) {
	f := newPagesServer(b, Options{Cache: []CacheTier{{Cache: cache.NewLRU(4096)}}})
	benchAgainstBareGin(b, f.s.Handler(), []string{"/c/black-watches-for-men"})
}

// BenchmarkLandingPagesCachedRotation is BenchmarkLandingPageCached over
// 200 landing pages in turn.
func BenchmarkLandingPagesCachedRotation(b *testing.B) {
	f := newPagesServer(b, Options{Cache: []CacheTier{{Cache: cache.NewLRU(4096)}}})
	feed := f.fc.feeds["black-watches-for-men"]
	var paths []string
	for i := range 200 {
		slug := fmt.Sprintf("black-watches-%03d", i)
		f.fc.topics = append(f.fc.topics, Topic{Slug: slug, Title: fmt.Sprintf("Black Watches %d", i),
			Attributes: kvs("category", "watches", "color", "black", "gender", "men", "style", strconv.Itoa(i)), Size: len(feed), Score: 0.2, Published: true})
		f.fc.feeds[slug] = feed
		paths = append(paths, collectionURL(slug))
	}
	benchAgainstBareGin(b, f.s.Handler(), paths)
}

// benchAgainstBareGin warms h's cache with paths, then serves them in turn
// from parallel goroutines through a bare gin engine holding the same
// bodies and through h.
func benchAgainstBareGin(b *testing.B, h http.Handler, paths []string) {
	bodies := map[string][]byte{}
	for _, p := range paths {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d", p, rec.Code)
		}
		bodies[p] = rec.Body.Bytes()
	}
	bare := gin.New()
	bare.GET("/*path", func(c *gin.Context) { c.Data(http.StatusOK, htmlContentType, bodies[c.Request.URL.Path]) })
	var bareNs float64
	b.Run("bare-gin", func(b *testing.B) { bareNs = serveInTurn(b, bare, paths) })
	b.Run("lander", func(b *testing.B) {
		ns := serveInTurn(b, h, paths)
		if bareNs > 0 {
			b.ReportMetric(bareNs/ns, "x-bare")
		}
	})
}

// serveInTurn serves paths in turn with h until b is done and returns the
// wall time per request in nanoseconds.
func serveInTurn(b *testing.B, h http.Handler, paths []string) float64 {
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := paths[int(next.Add(1))%len(paths)]
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			if rec.Code != http.StatusOK {
				b.Errorf("%s: %d", p, rec.Code)
			}
		}
	})
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}
