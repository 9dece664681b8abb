package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/singleflight"
)

// Cache is a byte cache the server keeps rendered responses in (each with
// its compressed forms and ETag, laid out by entry.encode): Redis or an
// in-process LRU (package cache provides both). A miss is (nil, false, nil);
// an error means the backend failed, and the server then answers uncached.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Ping(ctx context.Context) error
	Name() string
}

// CacheTier is one level of the response cache with the lifetime of its
// entries. Tiers are consulted nearest first; a hit in a farther tier fills
// the nearer ones.
type CacheTier struct {
	Cache Cache
	// TTL is the lifetime of an entry before jitter; zero means DefaultCacheTTL.
	TTL time.Duration
}

const (
	// DefaultCacheTTL is the lifetime of a cached response when a tier
	// names none.
	DefaultCacheTTL = 5 * time.Minute
	// cacheJitter is the largest share of the TTL added at random, so that
	// entries written together do not expire together.
	cacheJitter = 0.1
	// cacheBackoff is how long a tier that failed is skipped before it is
	// tried again, so that a dead Redis costs one failed call per second,
	// not one per request.
	cacheBackoff = time.Second
	// cacheCallTimeout bounds one call to a tier.
	cacheCallTimeout = 250 * time.Millisecond
	// keyVersion changes when the layout of cached responses changes.
	keyVersion = "v2"
)

// tier is a CacheTier with its failure state.
type tier struct {
	CacheTier
	downUntil atomic.Int64 // unix nanoseconds; skip the tier until then
}

// pageCache is cache-aside over the tiers with one computation per key at a
// time (singleflight). Backend failures are counted and otherwise ignored.
type pageCache struct {
	tiers   []*tier
	flight  singleflight.Group
	metrics *metrics
	now     func() time.Time
}

func newPageCache(tiers []CacheTier, m *metrics) *pageCache {
	pc := &pageCache{metrics: m, now: time.Now}
	for _, t := range tiers {
		if t.Cache == nil {
			continue
		}
		if t.TTL <= 0 {
			t.TTL = DefaultCacheTTL
		}
		pc.tiers = append(pc.tiers, &tier{CacheTier: t})
	}
	return pc
}

// jitter returns ttl lengthened by up to cacheJitter of itself.
func jitter(ttl time.Duration) time.Duration {
	return ttl + time.Duration(rand.Float64()*cacheJitter*float64(ttl))
}

// get looks key up tier by tier and fills the tiers nearer than the one that
// had it.
func (pc *pageCache) get(ctx context.Context, key string) ([]byte, bool) {
	for i, t := range pc.tiers {
		name := t.Cache.Name()
		if pc.now().UnixNano() < t.downUntil.Load() {
			pc.metrics.cacheLookups.WithLabelValues(name, "skipped").Inc()
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, cacheCallTimeout)
		b, ok, err := t.Cache.Get(cctx, key)
		cancel()
		switch {
		case err != nil:
			pc.fault(t, "get")
			pc.metrics.cacheLookups.WithLabelValues(name, "error").Inc()
		case ok:
			pc.metrics.cacheLookups.WithLabelValues(name, "hit").Inc()
			pc.fill(ctx, pc.tiers[:i], key, b)
			return b, true
		default:
			pc.metrics.cacheLookups.WithLabelValues(name, "miss").Inc()
		}
	}
	return nil, false
}

// set stores value in every tier that is up.
func (pc *pageCache) set(ctx context.Context, key string, value []byte) {
	pc.fill(ctx, pc.tiers, key, value)
}

func (pc *pageCache) fill(ctx context.Context, tiers []*tier, key string, value []byte) {
	for _, t := range tiers {
		if pc.now().UnixNano() < t.downUntil.Load() {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, cacheCallTimeout)
		err := t.Cache.Set(cctx, key, value, jitter(t.TTL))
		cancel()
		if err != nil {
			pc.fault(t, "set")
		}
	}
}

// fault counts a failed call and rests the tier for cacheBackoff.
func (pc *pageCache) fault(t *tier, op string) {
	pc.metrics.cacheErrors.WithLabelValues(t.Cache.Name(), op).Inc()
	t.downUntil.Store(pc.now().Add(cacheBackoff).UnixNano())
}

// generationKey names a generation in cache keys: its number and commit
// time, so that two data directories at the same number do not collide.
func generationKey(ix *Index) string {
	return fmt.Sprintf("g%d.%d", ix.Manifest.Generation, ix.Manifest.CreatedAt.UnixNano())
}

// cacheKey is the key of a response of kind for params, under the current
// generation and overrides version: a new generation or an override change
// never reads an old entry.
func (s *Server) cacheKey(ix *Index, kind string, params ...string) string {
	h := sha256.New()
	for _, p := range params {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return keyVersion + ":" + generationKey(ix) + ":" + s.overrides.Version() + ":" + kind + ":" + hex.EncodeToString(h.Sum(nil)[:12])
}

// serveCached answers c with the JSON that compute renders, through the
// cache: a hit is written as stored, in the encoding the request accepts;
// a miss is computed once for all the requests that wait on the same key,
// encoded, stored, and written.
func (s *Server) serveCached(c *gin.Context, key string, compute func(ctx context.Context) (any, error)) {
	e, hit, err := s.cachedJSONEntry(c.Request.Context(), key, compute)
	if err != nil {
		s.fail(c, err)
		return
	}
	writeEntry(c, e, jsonContentType, hit)
}

// cachedJSONEntry is cachedEntry for a response that compute returns and
// JSON renders.
func (s *Server) cachedJSONEntry(ctx context.Context, key string, compute func(ctx context.Context) (any, error)) (entry, bool, error) {
	return s.cachedEntry(ctx, key, func(ctx context.Context) ([]byte, error) {
		body, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		return b, nil
	})
}

// cachedEntry returns the entry stored under key, or builds its body once
// for all the callers waiting on key, hashes and compresses it, and stores
// it. An entry that does not decode is built again.
func (s *Server) cachedEntry(ctx context.Context, key string, build func(ctx context.Context) ([]byte, error)) (entry, bool, error) {
	if b, ok := s.cache.get(ctx, key); ok {
		if e, err := decodeEntry(b); err == nil {
			return e, true, nil
		}
	}
	v, err, _ := s.cache.flight.Do(key, func() (any, error) {
		// The computation is shared: it must not die with the first caller.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.RequestTimeout)
		defer cancel()
		raw, err := build(fctx)
		if err != nil {
			return nil, err
		}
		e, err := newEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		s.cache.set(fctx, key, e.encode())
		return e, nil
	})
	if err != nil {
		return entry{}, false, err
	}
	return v.(entry), false, nil
}

const jsonContentType = "application/json; charset=utf-8"
