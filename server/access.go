package server

// Who may use the merchandisers' routes, and how often a client may ask
// for a preview.

import (
	"crypto/sha256"
	"crypto/subtle"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Preview limits, per client, where Options leaves them zero.
const (
	defaultPreviewRate  = 5
	defaultPreviewBurst = 20
	// maxLimitedClients bounds the clients the limiter remembers; past it,
	// the full buckets are forgotten (they would start full anyway).
	maxLimitedClients = 10000
)

// merchToken reports whether c carries the merchandiser token: as a bearer
// token, or as the password of HTTP Basic authentication (any user name),
// which is what a browser sends for a page after prompting.
func (s *Server) merchToken(c *gin.Context) bool {
	var tok string
	auth := c.GetHeader("Authorization")
	if t, ok := strings.CutPrefix(auth, "Bearer "); ok {
		tok = t
	} else if _, pw, ok := c.Request.BasicAuth(); ok {
		tok = pw
	} else {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	// Comparing digests keeps the comparison constant-time whatever the
	// token's length.
	return subtle.ConstantTimeCompare(got[:], s.merchDigest[:]) == 1
}

// requireMerchant admits requests that carry the merchandiser token. With no
// token configured every write is refused.
func (s *Server) requireMerchant() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.opts.MerchToken == "" {
			s.failFor(c, errForbidden("merchandiser writes are disabled: start lander serve with --merch-token"))
			return
		}
		if !s.merchToken(c) {
			// Pages ask the browser to prompt (the token is the password);
			// the API names its bearer scheme.
			if isPageRoute(c.FullPath()) {
				c.Header("WWW-Authenticate", `Basic realm="lander console", charset="UTF-8"`)
			} else {
				c.Header("WWW-Authenticate", `Bearer realm="lander"`)
			}
			s.failFor(c, errUnauthorized("a valid merchandiser token is required"))
			return
		}
		c.Next()
	}
}

// merchOnly guards the console's reads (its pages, the preview, an
// override): open unless Options.PrivateMerch, then as writes are.
func (s *Server) merchOnly() gin.HandlerFunc {
	guard := s.requireMerchant()
	return func(c *gin.Context) {
		if !s.opts.PrivateMerch {
			c.Next()
			return
		}
		guard(c)
	}
}

// limitPreviews answers 429, with Retry-After, to a client that asks for
// previews faster than Options.PreviewRate allows: each one embeds text
// and searches the store, which a shopper's page never does uncached.
func (s *Server) limitPreviews() gin.HandlerFunc {
	return func(c *gin.Context) {
		if wait := s.previews.take(c.RemoteIP(), time.Now()); wait > 0 {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.fail(c, &apiError{http.StatusTooManyRequests, "rate_limited", "too many previews: try again in a moment"})
			return
		}
		c.Next()
	}
}

// rateLimiter is a token bucket per client key.
type rateLimiter struct {
	rate  float64 // tokens a second
	burst float64
	mu    sync.Mutex
	// buckets hold each client's tokens as of its last request.
	buckets map[string]bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newRateLimiter(rate float64, burst int) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), buckets: map[string]bucket{}}
}

// take spends a token of key at now; when there is none it spends nothing
// and returns how long until there is one.
func (l *rateLimiter) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimitedClients {
			l.forgetFull(now)
		}
		b = bucket{tokens: l.burst, at: now}
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		l.buckets[key] = b
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	l.buckets[key] = b
	return 0
}

// forgetFull drops the buckets that have refilled, or every bucket when
// none has: a client forgotten starts with a full bucket.
func (l *rateLimiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimitedClients {
		clear(l.buckets)
	}
}
