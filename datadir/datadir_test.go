package datadir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func build(t *testing.T, d *Dir, content string) Manifest {
	t.Helper()
	b, err := d.NewGeneration()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Path(), "products.bin"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := b.Commit(Manifest{Model: "m1", Counts: map[string]int{"products": 1}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGenerations(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Current(); !errors.Is(err, ErrNoIndex) {
		t.Fatalf("Current on empty dir = %v, want ErrNoIndex", err)
	}
	m1 := build(t, d, "one")
	m2 := build(t, d, "two")
	if m1.Generation != 1 || m2.Generation != 2 {
		t.Fatalf("generations %d, %d; want 1, 2", m1.Generation, m2.Generation)
	}
	cur, path, err := d.Current()
	if err != nil || cur.Generation != 2 || filepath.Base(path) != "gen-000002" {
		t.Fatalf("Current = %+v, %q, %v", cur, path, err)
	}
	if err := Verify(path, cur); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if cur.Files["products.bin"].Size != 3 {
		t.Errorf("manifest files = %+v", cur.Files)
	}

	// An unfinished build is invisible, and pruned.
	b, _ := d.NewGeneration()
	os.WriteFile(filepath.Join(b.Path(), "partial"), []byte("x"), 0o644)
	if cur, _, _ := d.Current(); cur.Generation != 2 {
		t.Fatalf("an uncommitted build became current: %d", cur.Generation)
	}
	removed, err := d.Prune(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].Generation != 1 {
		t.Errorf("Prune reported %+v, want generation 1", removed)
	}
	if _, err := os.Stat(b.Path()); !os.IsNotExist(err) {
		t.Errorf("temporary build not pruned: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Root(), "gen-000001")); !os.IsNotExist(err) {
		t.Errorf("old generation not pruned: %v", err)
	}
}

func TestVerifyDetectsTornFile(t *testing.T) {
	d, _ := Open(t.TempDir())
	build(t, d, "abcdef")
	cur, path, _ := d.Current()
	if err := os.WriteFile(filepath.Join(path, "products.bin"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Verify(path, cur)
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("Verify after truncation = %v", err)
	}
}

func TestBadPointer(t *testing.T) {
	d, _ := Open(t.TempDir())
	os.WriteFile(filepath.Join(d.Root(), "CURRENT"), []byte("../etc\n"), 0o644)
	if _, _, err := d.Current(); err == nil || !strings.Contains(err.Error(), "bad pointer") {
		t.Fatalf("Current with a bad pointer = %v", err)
	}
}

func TestGenerationsListing(t *testing.T) {
	d, _ := Open(t.TempDir())
	if gens, err := d.Generations(); err != nil || len(gens) != 0 {
		t.Fatalf("Generations of an empty dir = %v, %v; want none", gens, err)
	}
	for _, c := range []string{"one", "two", "three"} {
		build(t, d, c)
	}
	// An unfinished build and a stray folder are not generations.
	b, _ := d.NewGeneration()
	defer b.Abort()
	os.Mkdir(filepath.Join(d.Root(), "gen-notanumber"), 0o755)

	gens, err := d.Generations()
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, m := range gens {
		got = append(got, m.Generation)
	}
	if want := []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("Generations = %v, want %v", got, want)
	}

	// A generation whose manifest is unreadable is left out.
	if err := os.Remove(filepath.Join(d.Root(), "gen-000002", ManifestFile)); err != nil {
		t.Fatal(err)
	}
	gens, err = d.Generations()
	if err != nil || len(gens) != 2 || gens[0].Generation != 1 || gens[1].Generation != 3 {
		t.Fatalf("Generations with gen 2 damaged = %+v, %v", gens, err)
	}

	// When none is readable, the listing fails.
	for _, g := range []string{"gen-000001", "gen-000003"} {
		os.WriteFile(filepath.Join(d.Root(), g, ManifestFile), []byte("{"), 0o644)
	}
	if gens, err := d.Generations(); err == nil {
		t.Fatalf("Generations with every manifest damaged = %+v, want an error", gens)
	}
}

func TestGeneration(t *testing.T) {
	d, _ := Open(t.TempDir())
	build(t, d, "one")
	build(t, d, "two")
	if _, err := d.Prune(1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		n       int
		missing bool
	}{
		{n: 2},
		{n: 1, missing: true}, // pruned
		{n: 3, missing: true}, // never built
		{n: 0, missing: true},
		{n: -1, missing: true},
	}
	for _, tt := range tests {
		m, path, err := d.Generation(tt.n)
		if tt.missing {
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Generation(%d) = %v, want os.ErrNotExist", tt.n, err)
			}
			continue
		}
		if err != nil || m.Generation != tt.n || path != filepath.Join(d.Root(), "gen-000002") {
			t.Errorf("Generation(%d) = %+v, %q, %v", tt.n, m, path, err)
		}
	}
}

// TestLockIndex plays two index runs in one process on one data
// directory: the second is refused at once while the first holds the
// lock, with an error that names the lock file, and gets it once the
// first releases it; reading the directory takes no lock.
func TestLockIndex(t *testing.T) {
	root := t.TempDir()
	first, _ := Open(root)
	second, _ := Open(root)
	unlock, err := first.LockIndex()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		try  func() error
	}{
		{"LockIndex", func() error {
			u, err := second.LockIndex()
			if err == nil {
				u()
			}
			return err
		}},
		{"TryLockFile", func() error {
			u, err := TryLockFile(filepath.Join(root, LockFileName))
			if err == nil {
				u()
			}
			return err
		}},
		{"LockFile with a deadline", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			u, err := LockFile(ctx, filepath.Join(root, LockFileName))
			if err == nil {
				u()
				return nil
			}
			return ErrLocked // waited out its deadline
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.try()
			if !errors.Is(err, ErrLocked) {
				t.Errorf("while held: %v, want ErrLocked", err)
			}
		})
	}
	u, err := second.LockIndex()
	if want := "another lander index holds " + filepath.Join(root, LockFileName); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("second LockIndex = %v, want an error naming %q", err, want)
		if u != nil {
			u()
		}
	}
	if _, _, err := second.Current(); !errors.Is(err, ErrNoIndex) {
		t.Errorf("Current while locked = %v, want ErrNoIndex", err)
	}
	unlock()
	u, err = second.LockIndex()
	if err != nil {
		t.Fatalf("LockIndex after release: %v", err)
	}
	u()
}

// TestPruneReturnsInterruptedBuildsCollections: the collection an
// interrupted build recorded comes back from Prune with its folder gone,
// and a committed generation does not keep the record.
func TestPruneReturnsInterruptedBuildsCollections(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	killed, err := d.NewGeneration()
	if err != nil {
		t.Fatal(err)
	}
	if err := RecordExternal(killed.Path(), "milvus", "lander_gen_000001_dead"); err != nil {
		t.Fatal(err)
	}
	b, err := d.NewGeneration()
	if err != nil {
		t.Fatal(err)
	}
	if err := RecordExternal(b.Path(), "milvus", "lander_gen_000001_live"); err != nil {
		t.Fatal(err)
	}
	m, err := b.Commit(Manifest{Backend: "milvus", MilvusCollection: "lander_gen_000001_live"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Files[externalFile]; ok {
		t.Errorf("committed generation lists %s", externalFile)
	}
	removed, err := d.Prune(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].MilvusCollection != "lander_gen_000001_dead" {
		t.Fatalf("Prune removed %+v, want the killed build's collection", removed)
	}
	if _, err := os.Stat(killed.Path()); !os.IsNotExist(err) {
		t.Errorf("killed build's folder: %v", err)
	}
}
