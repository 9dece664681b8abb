package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"lander/datadir"
)

// TestOverridesShareAFile plays two replicas on one data directory: a
// change made on one reaches the other at its next Refresh, and
// concurrent changes to different collections from both are all kept.
func TestOverridesShareAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	a, err := OpenOverrides(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenOverrides(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(context.Background(), "red-dresses", Override{Pins: []string{"1"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Get("red-dresses"); ok {
		t.Fatal("b saw the change before refreshing")
	}
	v0 := b.Version()
	if err := b.Refresh(); err != nil {
		t.Fatal(err)
	}
	if ov, ok := b.Get("red-dresses"); !ok || len(ov.Pins) != 1 || ov.Pins[0] != "1" {
		t.Fatalf("b after refresh: %+v %v", ov, ok)
	}
	if b.Version() == v0 || b.Version() != a.Version() {
		t.Fatalf("versions: before %s, a %s, b %s", v0, a.Version(), b.Version())
	}

	// Both write at once, each to its own collections.
	var wg sync.WaitGroup
	for r, o := range []*Overrides{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if err := o.Put(context.Background(), fmt.Sprintf("c-%d-%d", r, i), Override{Excludes: []string{"x"}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	c, err := OpenOverrides(path)
	if err != nil {
		t.Fatal(err)
	}
	for r := range 2 {
		for i := range 20 {
			if _, ok := c.Get(fmt.Sprintf("c-%d-%d", r, i)); !ok {
				t.Errorf("c-%d-%d lost", r, i)
			}
		}
	}
	if _, ok := c.Get("red-dresses"); !ok {
		t.Error("red-dresses lost")
	}
}

// TestOverridesLockTimesOut holds the file lock elsewhere: a write waits
// no longer than its context allows, and serving is not held up.
func TestOverridesLockTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	o, err := OpenOverrides(path)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := datadir.LockFile(context.Background(), path+".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := o.Put(ctx, "c", Override{Pins: []string{"1"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put with the lock held elsewhere: %v", err)
	}
	if err := o.Refresh(); err != nil {
		t.Fatalf("Refresh while a write waits: %v", err)
	}
	if _, ok := o.Get("c"); ok {
		t.Fatal("a failed write became visible")
	}
}
