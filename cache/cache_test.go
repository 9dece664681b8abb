package cache

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// backend is the method set both caches share.
type backend interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Ping(ctx context.Context) error
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

func testBackend(t *testing.T, c backend, expire func(time.Duration)) {
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Get(ctx, "absent"); ok || err != nil {
		t.Fatalf("Get(absent) = %v, %v", ok, err)
	}
	if err := c.Set(ctx, "k", []byte("v1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "k", []byte("v2"), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get(ctx, "k")
	if err != nil || !ok || string(got) != "v2" {
		t.Fatalf("Get(k) = %q, %v, %v; want v2", got, ok, err)
	}
	if err := c.Set(ctx, "short", []byte("x"), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	expire(150 * time.Millisecond)
	if _, ok, err := c.Get(ctx, "short"); ok || err != nil {
		t.Fatalf("Get(short) after expiry = %v, %v", ok, err)
	}
}

func TestRedisRoundTrip(t *testing.T) {
	r := NewRedis(RedisOptions{Addr: redisAddr(t), Prefix: fmt.Sprintf("test-%d:", time.Now().UnixNano())})
	defer r.Close()
	testBackend(t, r, time.Sleep)
}

func TestRedisDownIsAnError(t *testing.T) {
	r := NewRedis(RedisOptions{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond})
	defer r.Close()
	if err := r.Ping(context.Background()); err == nil {
		t.Fatal("Ping to a closed port succeeded")
	}
	if _, ok, err := r.Get(context.Background(), "k"); err == nil || ok {
		t.Fatalf("Get on a dead server = %v, %v; want an error", ok, err)
	}
}

func TestLRU(t *testing.T) {
	l := NewLRU(3)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	testBackend(t, l, func(d time.Duration) { now = now.Add(d) })

	ctx := context.Background()
	l = NewLRU(3)
	for i := 0; i < 4; i++ {
		l.Set(ctx, strconv.Itoa(i), []byte{byte(i)}, 0)
		if i == 2 {
			l.Get(ctx, "0") // touch 0 so that 1 is the oldest
		}
	}
	if l.Len() != 3 {
		t.Fatalf("Len = %d, want 3", l.Len())
	}
	if _, ok, _ := l.Get(ctx, "1"); ok {
		t.Error("1 should have been evicted")
	}
	for _, k := range []string{"0", "2", "3"} {
		if _, ok, _ := l.Get(ctx, k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
}
