// Package cache stores rendered pages and resolved queries for a while: in
// Redis when one is configured, or in a bounded in-process LRU otherwise.
// Both satisfy the same small method set, which the server declares.
//
// A miss is reported as (nil, false, nil); an error means the backend failed,
// and callers are expected to carry on uncached.
package cache

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a cache in a Redis server.
type Redis struct {
	client *redis.Client
	prefix string
}

// RedisOptions configures a Redis cache.
type RedisOptions struct {
	// Addr is host:port.
	Addr string
	// Prefix starts every key, so that several deployments can share a server.
	Prefix string
	// DialTimeout and ReadTimeout bound each call; zero means 2s and 500ms.
	DialTimeout, ReadTimeout time.Duration
}

// NewRedis returns a Redis cache. It does not connect until first use; call
// Ping to check the server.
func NewRedis(opts RedisOptions) *Redis {
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 500 * time.Millisecond
	}
	c := redis.NewClient(&redis.Options{
		Addr:         opts.Addr,
		DialTimeout:  opts.DialTimeout,
		ReadTimeout:  opts.ReadTimeout,
		WriteTimeout: opts.ReadTimeout,
		MaxRetries:   1,
	})
	return &Redis{client: c, prefix: opts.Prefix}
}

// Get returns the value of key, and false when it is absent or expired.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis get: %w", err)
	}
	return b, true, nil
}

// Set stores value under key for ttl.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := r.client.Set(ctx, r.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("redis set: %w", err)
	}
	return nil
}

// Ping checks that the server answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Name says which backend this is, for metrics and logs.
func (r *Redis) Name() string { return "redis" }

// Close releases the connections.
func (r *Redis) Close() error { return r.client.Close() }

// LRU is a bounded in-process cache with per-entry expiry.
type LRU struct {
	mu    sync.Mutex
	size  int
	ll    *list.List
	items map[string]*list.Element
	now   func() time.Time
}

type lruEntry struct {
	key     string
	value   []byte
	expires time.Time
}

// NewLRU returns an LRU that holds at most size entries.
func NewLRU(size int) *LRU {
	if size < 1 {
		size = 1
	}
	return &LRU{size: size, ll: list.New(), items: map[string]*list.Element{}, now: time.Now}
}

// Get returns the value of key, and false when it is absent or expired.
func (l *LRU) Get(_ context.Context, key string) ([]byte, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.items[key]
	if !ok {
		return nil, false, nil
	}
	ent := e.Value.(*lruEntry)
	if !ent.expires.IsZero() && !l.now().Before(ent.expires) {
		l.ll.Remove(e)
		delete(l.items, key)
		return nil, false, nil
	}
	l.ll.MoveToFront(e)
	return ent.value, true, nil
}

// Set stores value under key for ttl (zero means no expiry), evicting the
// least recently used entry when full.
func (l *LRU) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var exp time.Time
	if ttl > 0 {
		exp = l.now().Add(ttl)
	}
	if e, ok := l.items[key]; ok {
		e.Value = &lruEntry{key, value, exp}
		l.ll.MoveToFront(e)
		return nil
	}
	l.items[key] = l.ll.PushFront(&lruEntry{key, value, exp})
	for l.ll.Len() > l.size {
		last := l.ll.Back()
		l.ll.Remove(last)
		delete(l.items, last.Value.(*lruEntry).key)
	}
	return nil
}

// Ping always succeeds: the LRU lives in this process.
func (l *LRU) Ping(context.Context) error { return nil }

// Name says which backend this is, for metrics and logs.
func (l *LRU) Name() string { return "memory" }

// Len returns the number of entries, expired ones included until touched.
func (l *LRU) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ll.Len()
}
