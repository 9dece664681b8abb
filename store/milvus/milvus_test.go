package milvus_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lander/store"
	"lander/store/milvus"
	"lander/store/storetest"
)

// addr returns the Milvus Lite address from LANDER_TEST_MILVUS. It skips the
// test when unset, unless LANDER_REQUIRE_SERVICES=1.
func addr(t *testing.T) string {
	t.Helper()
	a := os.Getenv("LANDER_TEST_MILVUS")
	if a == "" {
		if os.Getenv("LANDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("LANDER_TEST_MILVUS is not set and LANDER_REQUIRE_SERVICES=1; run under scripts/with-services.sh")
		}
		t.Skip("LANDER_TEST_MILVUS is not set; run under scripts/with-services.sh")
	}
	return a
}

var seq atomic.Int64

// openTemp opens a store on a fresh collection that is dropped when t ends.
func openTemp(t *testing.T, dim int) *milvus.Store {
	t.Helper()
	name := fmt.Sprintf("lander_test_%d_%d", time.Now().UnixNano(), seq.Add(1))
	s, err := milvus.Open(t.Context(), milvus.Options{Addr: addr(t), Collection: name, Dim: dim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Drop(ctx); err != nil {
			t.Errorf("drop: %v", err)
		}
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestMilvusContract(t *testing.T) {
	addr(t)
	storetest.Run(t, func(t *testing.T, dim int) storetest.Backend { return openTemp(t, dim) })
}

// TestMilvusRoundTrip is the create, insert, filtered search, drop round trip,
// with more rows than one insert batch.
func TestMilvusRoundTrip(t *testing.T) {
	s := openTemp(t, 32)
	ps := storetest.Catalog(450, 32, 9)
	start := time.Now()
	if err := s.Upsert(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	t.Logf("upserted %d rows in %v", len(ps), time.Since(start))
	f := store.Filter{All: []store.KV{{Key: "size", Value: "l"}}, None: []store.KV{{Key: "color", Value: "red"}}, MaxPrice: ptr(60)}
	want := 0
	for _, p := range ps {
		if storetest.Passes(p, f) {
			want++
		}
	}
	hits, total, err := s.Search(t.Context(), ps[0].Vector, f, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != want || len(hits) != min(10, want) {
		t.Fatalf("search: %d hits, total %d; want total %d", len(hits), total, want)
	}
}

func TestMilvusReopen(t *testing.T) {
	s := openTemp(t, 8)
	p := store.Product{ID: "a", Vector: []float32{1, 0, 0, 0, 0, 0, 0, 0}}
	if err := s.Upsert(t.Context(), []store.Product{p}); err != nil {
		t.Fatal(err)
	}
	// The same collection opens again with the same dimension and keeps its rows.
	name := s.Collection()
	s2, err := milvus.Open(t.Context(), milvus.Options{Addr: addr(t), Collection: name, Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close(t.Context())
	if n, err := s2.Count(t.Context(), store.Filter{}); err != nil || n != 1 {
		t.Fatalf("count after reopen = %d, %v", n, err)
	}
	// Another dimension is refused.
	_, err = milvus.Open(t.Context(), milvus.Options{Addr: addr(t), Collection: name, Dim: 16})
	if err == nil || !strings.Contains(err.Error(), "dimension") {
		t.Fatalf("open with another dimension: %v", err)
	}
}

func ptr(v float64) *float64 { return &v }

// TestMilvusDown checks that a server that is not there fails Open with an
// error that says so, instead of hanging.
func TestMilvusDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = milvus.Open(ctx, milvus.Options{Addr: a, Collection: "x", Dim: 4, ConnectTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "cannot reach Milvus at "+a) {
		t.Fatalf("open on a closed port: %v", err)
	}
	t.Log(err)
}

// TestMilvusIndexChoice checks that Milvus Lite, which refuses HNSW, gets a
// FLAT index, and that asking for HNSW outright fails with a clear error.
func TestMilvusIndexChoice(t *testing.T) {
	s := openTemp(t, 8)
	if s.Index() != milvus.IndexFlat && s.Index() != milvus.IndexHNSW {
		t.Fatalf("index = %q", s.Index())
	}
	t.Logf("server gave index %s", s.Index())
	if s.Index() == milvus.IndexHNSW {
		return
	}
	name := fmt.Sprintf("lander_test_hnsw_%d", time.Now().UnixNano())
	_, err := milvus.Open(t.Context(), milvus.Options{Addr: addr(t), Collection: name, Dim: 8, Index: milvus.IndexHNSW})
	if err == nil || !strings.Contains(err.Error(), "HNSW") {
		t.Fatalf("open with HNSW on a server without it: %v", err)
	}
}

func TestMilvusVectorsContract(t *testing.T) {
	storetest.RunVectors(t, func(t *testing.T, dim int) storetest.VectorsBackend {
		name := fmt.Sprintf("lander_test_vec_%d_%d", time.Now().UnixNano(), seq.Add(1))
		v, err := milvus.OpenVectors(t.Context(), milvus.Options{Addr: addr(t), Collection: name, Dim: dim})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := v.Drop(ctx); err != nil {
				t.Errorf("drop: %v", err)
			}
			v.Close(ctx)
		})
		return v
	})
}

func TestMilvusPing(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, 4)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping of a live collection: %v", err)
	}
	if err := s.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("Ping after Drop = %v, want a collection-gone error", err)
	}
}
