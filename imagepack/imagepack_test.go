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
