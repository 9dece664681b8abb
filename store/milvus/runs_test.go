package milvus_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"lander/store"
	"lander/store/milvus"
	"lander/store/storetest"
)

// TestOpenMustExistCreatesNothing: a server opening a generation whose
// collection is missing gets ErrNoCollection, and no empty collection is
// left in its place.
func TestOpenMustExistCreatesNothing(t *testing.T) {
	a := addr(t)
	name := "lander_test_missing_" + milvus.NewRunID()
	_, err := milvus.Open(t.Context(), milvus.Options{Addr: a, Collection: name, Dim: 8, MustExist: true})
	if !errors.Is(err, milvus.ErrNoCollection) {
		t.Fatalf("open a missing collection: %v, want ErrNoCollection", err)
	}
	has, err := milvus.HasCollection(t.Context(), a, name)
	if err != nil || has {
		t.Fatalf("collection %s exists %v (%v), want none created", name, has, err)
	}
}

// TestTargetNeverAdoptsRows: a run killed after writing rows leaves its
// collection; the next run of the same generation writes a collection of
// its own, and a target refuses to open a collection that exists already.
func TestTargetNeverAdoptsRows(t *testing.T) {
	a := addr(t)
	ctx := t.Context()
	first, second := milvus.CollectionName("gen-000007", milvus.NewRunID()), milvus.CollectionName("gen-000007", milvus.NewRunID())
	if first == second {
		t.Fatalf("two runs of one generation share collection %s", first)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		milvus.DropGenerations(c, a, []string{first, second})
	})
	killed, err := milvus.OpenTarget(ctx, milvus.Options{Addr: a}, first, 16)
	if err != nil {
		t.Fatal(err)
	}
	if err := killed.Upsert(ctx, storetest.Catalog(30, 16, 3)); err != nil {
		t.Fatal(err)
	}
	killed.Commit(ctx) // closes the connection; the rows stay, as after SIGKILL
	if _, err := milvus.OpenTarget(ctx, milvus.Options{Addr: a}, first, 16); err == nil {
		t.Fatalf("OpenTarget adopted collection %s with another run's rows", first)
	}
	next, err := milvus.OpenTarget(ctx, milvus.Options{Addr: a}, second, 16)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Upsert(ctx, storetest.Catalog(5, 16, 4)); err != nil {
		t.Fatal(err)
	}
	// The failed run is discarded: both collections go.
	if err := next.Discard(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{second, milvus.AttributesCollection(second)} {
		if has, err := milvus.HasCollection(ctx, a, name); err != nil || has {
			t.Errorf("after Discard, %s exists %v (%v)", name, has, err)
		}
	}
	left, err := milvus.Collections(ctx, a, "lander_gen_000007_")
	if err != nil || len(left) != 1 || left[0] != first {
		t.Errorf("collections left: %v (%v), want only %s", left, err, first)
	}
}

// proxy forwards TCP connections to addr until cut, which closes the
// listener and every connection: Milvus going away under a client.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, addr string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go io.Copy(u, c)
			go io.Copy(c, u)
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestDownServerIsUnavailable: once Milvus is gone, a search fails within
// a few call timeouts (the client alone retries for about 20 s) with an
// error that wraps store.ErrUnavailable, which the server answers with 503.
func TestDownServerIsUnavailable(t *testing.T) {
	a := addr(t)
	p := newProxy(t, a)
	name := "lander_test_down_" + milvus.NewRunID()
	s, err := milvus.Open(t.Context(), milvus.Options{Addr: p.ln.Addr().String(), Collection: name, Dim: 8, CallTimeout: time.Second, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { milvus.DropCollections(context.Background(), a, []string{name}) })
	ps := storetest.Catalog(10, 8, 2)
	if err := s.Upsert(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Search(t.Context(), ps[0].Vector, store.Filter{}, 3, 0); err != nil {
		t.Fatal(err)
	}
	p.cut()
	start := time.Now()
	_, _, err = s.Search(t.Context(), ps[0].Vector, store.Filter{}, 3, 0)
	if took := time.Since(start); !errors.Is(err, store.ErrUnavailable) || took > 5*time.Second {
		t.Errorf("search with Milvus gone: %v after %v, want ErrUnavailable within 5s", err, took)
	}
}
