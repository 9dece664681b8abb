package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lander/config"
	"lander/datadir"
	"lander/imagepack"
	"lander/indexer"
	"lander/server"
	"lander/store"
	"lander/vocab"
)

// commitGeneration commits a small servable generation into dir, with its
// image pack torn when corrupt, so that it fails verification, and returns
// its manifest. A corrupt generation is committed aside and torn before it
// is moved in and CURRENT names it: tearing it after the commit raced the
// reloader, which could load it intact first.
func commitGeneration(t *testing.T, dir *datadir.Dir, corrupt bool) datadir.Manifest {
	t.Helper()
	ctx := context.Background()
	into := dir
	if corrupt {
		next, err := dir.NewGeneration()
		if err != nil {
			t.Fatal(err)
		}
		next.Abort()
		aside, err := datadir.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for g := 1; g < next.Generation(); g++ {
			os.Mkdir(filepath.Join(aside.Root(), fmt.Sprintf("gen-%06d", g)), 0o755)
		}
		into = aside
	}
	b, err := into.NewGeneration()
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewEmbedded(4)
	if err := st.Upsert(ctx, []store.Product{{ID: "1", Title: "Red Shirt", Vector: []float32{1, 0, 0, 0}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, filepath.Join(b.Path(), store.GenerationDir)); err != nil {
		t.Fatal(err)
	}
	pack, err := imagepack.Create(filepath.Join(b.Path(), indexer.ImagesFile))
	if err != nil {
		t.Fatal(err)
	}
	pack.Add("1", "png", []byte("\x89PNG"))
	if err := pack.Close(); err != nil {
		t.Fatal(err)
	}
	if err := (vocab.Vocabulary{Keys: map[string][]vocab.Value{}}).Save(filepath.Join(b.Path(), indexer.VocabularyFile)); err != nil {
		t.Fatal(err)
	}
	m, err := b.Commit(datadir.Manifest{Backend: "embedded", Dim: 4, Model: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if corrupt {
		f, err := os.OpenFile(filepath.Join(b.Path(), indexer.ImagesFile), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("torn"))
		f.Close()
		if err := os.Rename(b.Path(), filepath.Join(dir.Root(), m.Name)); err != nil {
			t.Fatal(err)
		}
		if err := datadir.WriteFileAtomic(filepath.Join(dir.Root(), "CURRENT"), []byte(m.Name+"\n")); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// errorCounter is a slog handler that counts error records.
type errorCounter struct{ n atomic.Int64 }

func (h *errorCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *errorCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.n.Add(1)
	}
	return nil
}
func (h *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorCounter) WithGroup(string) slog.Handler      { return h }

// TestReloaderTriesAFailingGenerationOnce serves a good generation, then
// commits one that fails verification, and checks that the reloader tries
// it once and logs it once over many ticks, and loads the next generation
// that CURRENT names, or the same number committed anew.
func TestReloaderTriesAFailingGenerationOnce(t *testing.T) {
	const settle = 300 * time.Millisecond // 60 ticks of 5ms
	for _, tc := range []struct {
		name string
		// then runs after the failing generation has been tried; dir's
		// CURRENT names the failing generation bad.
		then      func(t *testing.T, dir *datadir.Dir, bad datadir.Manifest)
		wantLoads int
		wantGen   int
	}{
		{"the failing generation stays current", func(*testing.T, *datadir.Dir, datadir.Manifest) {}, 1, 1},
		{"a new generation is committed", func(t *testing.T, dir *datadir.Dir, _ datadir.Manifest) {
			commitGeneration(t, dir, false)
		}, 2, 3},
		{"the same number is committed anew", func(t *testing.T, dir *datadir.Dir, bad datadir.Manifest) {
			if err := os.RemoveAll(filepath.Join(dir.Root(), bad.Name)); err != nil {
				t.Fatal(err)
			}
			if m := commitGeneration(t, dir, false); m.Generation != bad.Generation {
				t.Fatalf("recommitted generation %d, want %d", m.Generation, bad.Generation)
			}
		}, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := datadir.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			commitGeneration(t, dir, false)
			overrides, _ := server.OpenOverrides("")
			errs := &errorCounter{}
			var loads atomic.Int64
			r := &reloader{dir: dir, srv: server.New(server.Options{}), overrides: overrides, log: slog.New(errs), interval: 5 * time.Millisecond}
			if err := r.load(context.Background()); err != nil {
				t.Fatal(err)
			}
			r.open = func(ctx context.Context) (*loaded, error) {
				loads.Add(1)
				return loadGeneration(ctx, config.Config{}, dir)
			}
			// The bad generation is committed (and then torn) before the
			// reloader runs, so that no tick can catch it still intact.
			bad := commitGeneration(t, dir, true)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { r.Run(ctx) })
			// Wait for the events themselves (a busy machine can delay a
			// tick by seconds), then settle to see that nothing more comes.
			eventually(t, func() bool { return loads.Load() >= 1 && errs.n.Load() >= 1 })
			time.Sleep(settle)
			tc.then(t, dir, bad)
			eventually(t, func() bool {
				cur := r.srv.Current()
				return loads.Load() >= int64(tc.wantLoads) && cur != nil && cur.Manifest.Generation == tc.wantGen
			})
			time.Sleep(settle)
			cancel()
			wg.Wait()
			if n := loads.Load(); n != int64(tc.wantLoads) {
				t.Errorf("%d loads, want %d", n, tc.wantLoads)
			}
			if n := errs.n.Load(); n != 1 {
				t.Errorf("%d errors logged, want 1", n)
			}
			if g := r.srv.Current().Manifest.Generation; g != tc.wantGen {
				t.Errorf("serving generation %d, want %d", g, tc.wantGen)
			}
		})
	}
}

// eventually fails t unless cond holds within 30 seconds.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
	}
}

// TestLoadGenerationQuantizeStore checks that serve.quantize_store opens
// the embedded store mapped, and that closing the generation closes the
// store: a late request gets store.ErrClosed.
func TestLoadGenerationQuantizeStore(t *testing.T) {
	dir, err := datadir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commitGeneration(t, dir, false)
	var c config.Config
	c.Serve.QuantizeStore = true
	ctx := context.Background()
	l, err := loadGeneration(ctx, c, dir)
	if err != nil {
		t.Fatal(err)
	}
	es, ok := l.index.Store.(*store.Embedded)
	if !ok || !es.Mapped() {
		t.Fatalf("store %T is not a mapped embedded store", l.index.Store)
	}
	hits, _, err := es.Search(ctx, []float32{1, 0, 0, 0}, store.Filter{}, 1, 0)
	if err != nil || len(hits) != 1 || hits[0].ID != "1" {
		t.Fatalf("search = %v, %v", hits, err)
	}
	l.close()
	if _, _, err := es.Search(ctx, []float32{1, 0, 0, 0}, store.Filter{}, 1, 0); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("search after close: %v", err)
	}
}
