package imagepack

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.pack")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	imgs := map[string][]byte{"1": []byte("\xff\xd8jpeg-one"), "2": []byte("\x89PNG-two"), "empty": {}}
	for id, b := range imgs {
		if err := w.Add(id, "jpeg", b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for id, want := range imgs {
		got, format, ok, err := p.Get(id)
		if err != nil || !ok || format != "jpeg" || !bytes.Equal(got, want) {
			t.Errorf("Get(%q) = %q, %q, %v, %v", id, got, format, ok, err)
		}
	}
	if _, _, ok, _ := p.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
}

func TestTornPackIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.pack")
	w, _ := Create(path)
	w.Add("1", "png", bytes.Repeat([]byte("x"), 100))
	w.Close()
	b, _ := os.ReadFile(path)
	for _, cut := range []int{0, 10, len(b) - 1} {
		os.WriteFile(path, b[:cut], 0o644)
		if _, err := Open(path); !errors.Is(err, ErrTorn) {
			t.Errorf("Open of a pack cut at %d = %v, want ErrTorn", cut, err)
		}
	}
}

// TestCreateReplacesThePackWhole checks that a pack is published when
// Close succeeds (written aside, synced and renamed over the path), not
// written in place: a reader of the old pack at the same path keeps reading
// it, and no temporary file is left.
func TestCreateReplacesThePackWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.pack")
	write := func(id string, data []byte) {
		t.Helper()
		w, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Add(id, "png", data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write("old", []byte("old image"))
	old, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	write("new", bytes.Repeat([]byte("n"), 64))
	if got, _, ok, err := old.Get("old"); err != nil || !ok || string(got) != "old image" {
		t.Errorf("old pack Get(old) = %q, %v, %v after a new pack was written at its path", got, ok, err)
	}
	p, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, ok, _ := p.Get("new"); !ok || p.Len() != 1 {
		t.Errorf("new pack lacks its image (len %d)", p.Len())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("pack mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
