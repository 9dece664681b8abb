package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lander/cache"
	"lander/datadir"
	"lander/query"
	"lander/store"
)

// mapCache is an in-memory Cache that can be made to fail.
type mapCache struct {
	mu      sync.Mutex
	m       map[string][]byte
	failing atomic.Bool
	sets    atomic.Int64
}

func newMapCache() *mapCache { return &mapCache{m: map[string][]byte{}} }

var errDown = errors.New("cache down")

func (c *mapCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	if c.failing.Load() {
		return nil, false, errDown
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	return b, ok, nil
}

func (c *mapCache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if c.failing.Load() {
		return errDown
	}
	if ttl < DefaultCacheTTL || ttl > DefaultCacheTTL*11/10 {
		return fmt.Errorf("ttl %v outside the jitter range", ttl)
	}
	c.sets.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
	return nil
}

func (c *mapCache) Ping(context.Context) error { return nil }
func (c *mapCache) Name() string               { return "map" }

// fetch GETs path and returns the status, body and X-Cache header.
func fetch(t *testing.T, base, path string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("X-Cache")
}

func TestCacheAsideAndGenerations(t *testing.T) {
	mc := newMapCache()
	ts, s, fc := newCollectionServer(t, Options{Cache: []CacheTier{{Cache: mc}}})
	for _, path := range []string{"/api/v1/collections/watches", "/api/v1/collections", "/api/v1/search?q=black+watches"} {
		st, first, xc := fetch(t, ts.URL, path)
		if st != 200 || xc != "miss" {
			t.Fatalf("%s: %d %s", path, st, xc)
		}
		st, second, xc := fetch(t, ts.URL, path)
		if st != 200 || xc != "hit" || second != first {
			t.Errorf("%s again: %d %s; same body %v", path, st, xc, second == first)
		}
	}
	if n := fc.calls.Load(); n != 1 { // the page's; the list reads no feed
		t.Errorf("%d feed calls, want 1", n)
	}

	// A new generation never reads the old generation's entries.
	old := s.Current()
	next := NewIndex(datadir.Manifest{Generation: old.Manifest.Generation + 1, CreatedAt: time.Now()}, old.Store, old.Images, old.Vocabulary)
	nc := newFakeCollections()
	nc.feeds["watches"] = items("4", "3")
	next.Collections = nc
	s.SetIndex(next)
	st, body, xc := fetch(t, ts.URL, "/api/v1/collections/watches")
	var p CollectionJSON
	json.Unmarshal([]byte(body), &p)
	if st != 200 || xc != "miss" || p.Total != 2 || p.Products[0].ID != "4" {
		t.Errorf("after a new generation: %d %s %s", st, xc, body)
	}
}

func TestSingleflight(t *testing.T) {
	ts, _, fc := newCollectionServer(t, Options{Cache: []CacheTier{{Cache: newMapCache()}}})
	fc.gate = make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 20 {
		wg.Go(func() {
			resp, err := http.Get(ts.URL + "/api/v1/collections/watches")
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // let every request reach the flight
	close(fc.gate)
	wg.Wait()
	if failed.Load() != 0 || fc.calls.Load() != 1 {
		t.Errorf("%d failed, %d feed computations for 20 concurrent requests; want 0 and 1", failed.Load(), fc.calls.Load())
	}
}

func TestCacheFailureAnswersUncached(t *testing.T) {
	mc := newMapCache()
	ts, _, _ := newCollectionServer(t, Options{Cache: []CacheTier{{Cache: mc}}})
	mc.failing.Store(true)
	for range 3 {
		if st, _, xc := fetch(t, ts.URL, "/api/v1/collections/watches"); st != 200 || xc != "miss" {
			t.Fatalf("with the cache down: %d %s", st, xc)
		}
	}
	_, m, _ := fetch(t, ts.URL, "/metrics")
	// One failed get; then the backend rests and later lookups skip it.
	for _, want := range []string{
		`lander_cache_errors_total{backend="map",op="get"} 1`,
		`lander_cache_lookups_total{backend="map",result="error"} 1`,
		`lander_cache_lookups_total{backend="map",result="skipped"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestTwoTiers(t *testing.T) {
	near, far := cache.NewLRU(10), newMapCache()
	ts, _, _ := newCollectionServer(t, Options{Cache: []CacheTier{{Cache: near, TTL: time.Second}, {Cache: far}}})
	fetch(t, ts.URL, "/api/v1/collections/watches")
	if near.Len() != 1 || far.sets.Load() != 1 {
		t.Fatalf("after a miss: near %d, far %d", near.Len(), far.sets.Load())
	}
	// A hit in the far tier fills the near one.
	near2 := cache.NewLRU(10)
	ts2, _, _ := newCollectionServer(t, Options{Cache: []CacheTier{{Cache: near2, TTL: time.Second}, {Cache: far}}})
	if _, _, xc := fetch(t, ts2.URL, "/api/v1/collections/watches"); xc != "hit" || near2.Len() != 1 {
		t.Errorf("far hit: %s, near %d", xc, near2.Len())
	}
}

func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("LANDER_TEST_REDIS")
	if addr == "" {
		if os.Getenv("LANDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("LANDER_TEST_REDIS is not set; run the tests through scripts/with-services.sh")
		}
		t.Skip("LANDER_TEST_REDIS is not set")
	}
	return addr
}

func TestRedisCache(t *testing.T) {
	r := cache.NewRedis(cache.RedisOptions{Addr: redisAddr(t), Prefix: fmt.Sprintf("test-%d:", time.Now().UnixNano())})
	defer r.Close()
	ts, _, _ := newCollectionServer(t, Options{Cache: []CacheTier{{Cache: r}}, Backends: map[string]Pinger{"redis": r}})
	for _, want := range []string{"miss", "hit"} {
		if st, _, xc := fetch(t, ts.URL, "/api/v1/search?q=black+watches"); st != 200 || xc != want {
			t.Errorf("%d %s, want %s", st, xc, want)
		}
	}
	get(t, ts, "/readyz", 200, nil)
}

// startRedis runs a private redis-server on a free port and returns its
// address and a function that kills it.
func startRedis(t *testing.T, port string) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("LANDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("redis-server is not installed (scripts/setup-services.sh)")
		}
		t.Skip("redis-server is not installed")
	}
	if port == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		ln.Close()
	}
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + port
	r := cache.NewRedis(cache.RedisOptions{Addr: addr})
	defer r.Close()
	deadline := time.Now().Add(5 * time.Second)
	for r.Ping(context.Background()) != nil {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return addr, stop
}

func TestRedisKilledMidLoad(t *testing.T) {
	addr, stop := startRedis(t, "")
	r := cache.NewRedis(cache.RedisOptions{Addr: addr})
	defer r.Close()
	ts, _, _ := newCollectionServer(t, Options{Cache: []CacheTier{{Cache: r}}})
	paths := []string{"/api/v1/collections/watches", "/api/v1/collections", "/api/v1/collections/black-watches?limit=2"}
	for _, q := range []string{"black watches", "watches for men", "silver watch", "black shoes"} {
		paths = append(paths, "/api/v1/search?q="+url.QueryEscape(q))
	}
	var ok, failed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				resp, err := http.Get(ts.URL + paths[i%len(paths)])
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Errorf("%d requests failed, %d succeeded; want none failed", failed.Load(), ok.Load())
	}
	_, m, _ := fetch(t, ts.URL, "/metrics")
	if !strings.Contains(m, `lander_cache_errors_total{backend="redis"`) {
		t.Error("metrics do not count the Redis failures")
	}

	// Redis comes back: after the back-off the cache is used again.
	_, port, _ := net.SplitHostPort(addr)
	startRedis(t, port)
	time.Sleep(cacheBackoff + 100*time.Millisecond)
	fetch(t, ts.URL, "/api/v1/collections/watches")
	if _, _, xc := fetch(t, ts.URL, "/api/v1/collections/watches"); xc != "hit" {
		t.Errorf("after Redis returned: X-Cache %s, want hit", xc)
	}
}

func TestMetrics(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{Cache: []CacheTier{{Cache: newMapCache()}}})
	fetch(t, ts.URL, "/api/v1/search?q=black+watches")
	fetch(t, ts.URL, "/api/v1/search?q=black+watches")
	fetch(t, ts.URL, "/api/v1/products/1")
	st, m, _ := fetch(t, ts.URL, "/metrics")
	if st != 200 {
		t.Fatal(st)
	}
	for _, want := range []string{
		`lander_http_request_duration_seconds_bucket{method="GET",route="/api/v1/search",status="200",le="0.005"}`,
		`lander_http_request_duration_seconds_count{method="GET",route="/api/v1/products/:id",status="200"} 1`,
		`lander_cache_lookups_total{backend="map",result="hit"} 1`,
		`lander_cache_lookups_total{backend="map",result="miss"} 1`,
		`lander_store_duration_seconds_count{op="search"} 1`,
		`lander_encode_duration_seconds_count 1`,
		`lander_index_generation 7`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestOpenAPICoversRoutes(t *testing.T) {
	_, s := newTestServer(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	routes := s.engine.Routes()
	if len(routes) < 10 {
		t.Fatalf("%d routes", len(routes))
	}
	for _, r := range routes {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if name, ok := strings.CutPrefix(p, ":"); ok {
				parts[i] = "{" + name + "}"
			}
		}
		path := strings.Join(parts, "/")
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is not in openapi.json", r.Method, path)
		}
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if st, body, _ := fetch(t, ts.URL, "/api/v1/openapi.json"); st != 200 || !strings.HasPrefix(body, `{`) || doc.OpenAPI == "" {
		t.Errorf("openapi.json: %d", st)
	}
}

// slowEmbedder blocks until the request's deadline.
type slowEmbedder struct{}

func (slowEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestLimits(t *testing.T) {
	ts, _, _ := newCollectionServer(t, Options{RequestTimeout: 50 * time.Millisecond, Embedder: slowEmbedder{}})
	get(t, ts, "/api/v1/search?q="+strings.Repeat("a", 513), 400, nil)
	get(t, ts, "/api/v1/collections?x="+strings.Repeat("a", maxRawQuery), 414, nil)
	var body struct{ Error struct{ Code string } }
	get(t, ts, "/api/v1/search?q=black+watches", 504, &body)
	if body.Error.Code != "timeout" {
		t.Errorf("timeout code = %q", body.Error.Code)
	}
}

func TestDiversity(t *testing.T) {
	prods := map[string]store.Product{}
	var hits []store.Hit
	add := func(id, title string) {
		prods[id] = store.Product{ID: id, Title: title}
		hits = append(hits, store.Hit{ID: id, Score: 1 - float32(len(hits))/100})
	}
	for i := range 8 {
		add(fmt.Sprint("a", i), "Titan Men Watch")
	}
	for i := range 8 {
		add(fmt.Sprint("b", i), fmt.Sprintf("Brand%d Men Watch", i))
	}
	b := brands(hits, prods)
	got := diversify(hits, b)
	if len(got) != len(hits) {
		t.Fatalf("%d hits, want %d", len(got), len(hits))
	}
	titan := 0
	for _, h := range got[:10] {
		if b[h.ID] == "titan" {
			titan++
		}
	}
	if titan != MaxPerBrand || got[0].ID != "a0" || got[3].ID != "b0" {
		t.Errorf("top 10 holds %d Titan; order %v", titan, got[:10])
	}
	if !asksForBrand(queryResolved(), "titan watches", b) || asksForBrand(queryResolved(), "watches for men", b) {
		t.Error("asksForBrand")
	}
}

func queryResolved() query.Resolved {
	return query.Resolved{Attributes: []query.Attribute{}, Excluded: []query.KV{}}
}
