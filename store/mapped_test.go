package store_test

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"lander/store"
	"lander/store/storetest"
)

// TestEmbeddedMappedContract runs the suite against stores saved and
// reopened in the quantised memory mode (vectors mapped from the file) after
// every write, scanning and walking the graph.
func TestEmbeddedMappedContract(t *testing.T) {
	for _, graphOnly := range []bool{false, true} {
		name := "scan"
		if graphOnly {
			name = "graph"
		}
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, dim int) storetest.Backend {
				opts := store.Options{Quantize: true, GraphOnly: graphOnly}
				r := &remapping{t: t, dir: t.TempDir(), opts: opts, Embedded: store.NewEmbeddedWith(dim, opts)}
				t.Cleanup(func() { r.Close() })
				return r
			})
		})
	}
}

// remapping saves and reopens its store with opts after every write,
// closing the previous one.
type remapping struct {
	t    *testing.T
	dir  string
	opts store.Options
	*store.Embedded
}

func (r *remapping) cycle(ctx context.Context) {
	r.t.Helper()
	if err := r.Save(ctx, r.dir); err != nil {
		r.t.Fatalf("save: %v", err)
	}
	e, err := store.OpenEmbeddedWith(ctx, r.dir, r.opts)
	if err != nil {
		r.t.Fatalf("open: %v", err)
	}
	if e.Len() > 0 && !e.Mapped() {
		r.t.Fatalf("reopened store of %d products is not mapped", e.Len())
	}
	if err := r.Close(); err != nil {
		r.t.Fatalf("close: %v", err)
	}
	r.Embedded = e
}

func (r *remapping) Upsert(ctx context.Context, ps []store.Product) error {
	if err := r.Embedded.Upsert(ctx, ps); err != nil {
		return err
	}
	r.cycle(ctx)
	return nil
}

func (r *remapping) Delete(ctx context.Context, ids []string) error {
	if err := r.Embedded.Delete(ctx, ids); err != nil {
		return err
	}
	r.cycle(ctx)
	return nil
}

// toV2 rewrites a version 3 store file as version 2: no padding before the
// vectors, and the checksum recomputed.
func toV2(t *testing.T, v3 []byte) []byte {
	t.Helper()
	const header = 48
	if binary.LittleEndian.Uint32(v3[8:]) != 3 {
		t.Fatalf("file is version %d, want 3", binary.LittleEndian.Uint32(v3[8:]))
	}
	metaEnd := header + binary.LittleEndian.Uint64(v3[24:])
	pad := (64 - metaEnd%64) % 64
	v2 := append([]byte(nil), v3[:metaEnd]...)
	v2 = append(v2, v3[metaEnd+pad:]...)
	binary.LittleEndian.PutUint32(v2[8:], 2)
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	crc.Write(v2[:40])
	crc.Write(v2[header:])
	binary.LittleEndian.PutUint32(v2[40:], crc.Sum32())
	return v2
}

// TestOpenVersion2 checks that a file of format version 2 still opens, in
// both modes (a mapped open copies its unaligned vectors), and answers as
// version 3 does.
func TestOpenVersion2(t *testing.T) {
	dir, ps := saved(t)
	path := filepath.Join(dir, store.FileName)
	v3, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := store.OpenEmbedded(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, store.FileName), toV2(t, v3), 0o644); err != nil {
		t.Fatal(err)
	}
	q := storetest.UnitVector(rand.New(rand.NewPCG(4, 2)), 32)
	f := store.Filter{All: []store.KV{{Key: "size", Value: "m"}}}
	want, wantN, err := ref.Search(t.Context(), q, f, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, quant := range []bool{false, true} {
		e, err := store.OpenEmbeddedWith(t.Context(), dir2, store.Options{Quantize: quant})
		if err != nil {
			t.Fatalf("quantize %v: open version 2: %v", quant, err)
		}
		if e.Len() != len(ps) || e.Mapped() {
			t.Fatalf("quantize %v: len %d, mapped %v", quant, e.Len(), e.Mapped())
		}
		got, n, err := e.Search(t.Context(), q, f, 10, 0)
		if err != nil || n != wantN || len(got) != len(want) {
			t.Fatalf("quantize %v: search = %v, %d, %v; want %v, %d", quant, got, n, err, want, wantN)
		}
		for i := range want {
			if got[i].ID != want[i].ID {
				t.Fatalf("quantize %v: hit %d is %s, want %s", quant, i, got[i].ID, want[i].ID)
			}
		}
		// Saving writes version 3, which maps.
		out := t.TempDir()
		if err := e.Save(t.Context(), out); err != nil {
			t.Fatal(err)
		}
		if m, err := store.OpenEmbeddedWith(t.Context(), out, store.Options{Quantize: true}); err != nil || !m.Mapped() {
			t.Fatalf("quantize %v: resaved store: %v", quant, err)
		}
	}
}

// TestMappedClose checks that Close waits for searches in flight and that
// every later call fails with ErrClosed instead of touching the unmapped
// vectors.
func TestMappedClose(t *testing.T) {
	dir, ps := saved(t)
	e, err := store.OpenEmbeddedWith(t.Context(), dir, store.Options{Quantize: true})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Mapped() {
		t.Fatal("store is not mapped")
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for {
				_, _, err := e.Search(ctx, storetest.UnitVector(r, 32), store.Filter{}, 10, 0)
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("search during close: %v", err)
		}
	}
	q := ps[0].Vector
	if _, _, err := e.Search(ctx, q, store.Filter{}, 10, 0); !errors.Is(err, store.ErrClosed) {
		t.Errorf("search after close: %v", err)
	}
	if _, err := e.Get(ctx, []string{ps[0].ID}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("get after close: %v", err)
	}
	if _, err := e.Count(ctx, store.Filter{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("count after close: %v", err)
	}
	if err := e.Upsert(ctx, ps[:1]); !errors.Is(err, store.ErrClosed) {
		t.Errorf("upsert after close: %v", err)
	}
	if err := e.Delete(ctx, []string{ps[0].ID}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("delete after close: %v", err)
	}
	if err := e.Save(ctx, t.TempDir()); !errors.Is(err, store.ErrClosed) {
		t.Errorf("save after close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestMappedWrite checks that a mapped store takes writes (its vectors move
// to the heap) and saves them.
func TestMappedWrite(t *testing.T) {
	dir, ps := saved(t)
	ctx := t.Context()
	e, err := store.OpenEmbeddedWith(ctx, dir, store.Options{Quantize: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p := ps[3].Clone()
	p.ID = "new"
	if err := e.Upsert(ctx, []store.Product{p}); err != nil {
		t.Fatal(err)
	}
	if e.Mapped() {
		t.Error("store still mapped after a write")
	}
	hits, _, err := e.Search(ctx, p.Vector, store.Filter{}, 2, 0)
	if err != nil || len(hits) != 2 || (hits[0].ID != "new" && hits[1].ID != "new") {
		t.Fatalf("search = %v, %v", hits, err)
	}
	if err := e.Save(ctx, dir); err != nil {
		t.Fatal(err)
	}
	e2, err := store.OpenEmbeddedWith(ctx, dir, store.Options{Quantize: true})
	if err != nil || e2.Len() != len(ps)+1 || !e2.Mapped() {
		t.Fatalf("reopen = %v, %v", e2, err)
	}
	e2.Close()
}

// TestOpenMappedDetectsDamage checks that a truncated or corrupt file is
// rejected with an error, never mapped past its end.
func TestOpenMappedDetectsDamage(t *testing.T) {
	dir, _ := saved(t)
	path := filepath.Join(dir, store.FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := store.Options{Quantize: true}
	for _, n := range []int{0, 10, 47, 100, len(data) / 2, len(data) - 1} {
		if err := os.WriteFile(path, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := store.OpenEmbeddedWith(t.Context(), dir, opts)
		if err == nil || !strings.Contains(err.Error(), "products.bin") {
			t.Fatalf("truncated to %d bytes: error %v", n, err)
		}
	}
	for _, off := range []int{20, 100, len(data) / 2, len(data) - 1} {
		bad := append([]byte(nil), data...)
		bad[off] ^= 0x10
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := store.OpenEmbeddedWith(t.Context(), dir, opts); err == nil {
			t.Fatalf("flipped byte %d: open succeeded", off)
		}
	}
}
