package vocab

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCounterAndRoundTrip(t *testing.T) {
	c := NewCounter()
	for _, kv := range [][2]string{{"color", "black"}, {"color", "black"}, {"color", "red"}, {"gender", "men"}} {
		c.Add(kv[0], kv[1])
	}
	if n, per := c.Distinct(); n != 3 || per["color"] != 2 || per["gender"] != 1 {
		t.Fatalf("Distinct = %d, %v", n, per)
	}
	v := c.Vocabulary(2)
	want := Vocabulary{Keys: map[string][]Value{"color": {{Value: "black", Count: 2, Aliases: []string{}}}}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Fatalf("Vocabulary(2) (-want +got):\n%s", diff)
	}
	path := filepath.Join(t.TempDir(), "v.json")
	if err := v.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestSaveReplacesTheFileWhole checks that Save publishes a new file
// (written aside, synced and renamed over the old one) instead of rewriting
// the old one in place: a reader that opened the old vocabulary keeps
// reading all of it, and the new file holds exactly the indented JSON.
func TestSaveReplacesTheFileWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vocabulary.json")
	old := Vocabulary{Version: "old", Keys: map[string][]Value{"color": {{Value: "black", Count: 2, Aliases: []string{}}}}}
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	oldBytes, _ := os.ReadFile(path)
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	next := Vocabulary{Version: "new", Keys: map[string][]Value{"gender": {{Value: "women", Count: 9, Aliases: []string{"ladies"}}}}}
	if err := next.Save(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(reader); !bytes.Equal(got, oldBytes) {
		t.Errorf("a reader of the old file read %q, want the old content %q (Save rewrote the file in place)", got, oldBytes)
	}
	want, _ := json.MarshalIndent(next, "", " ")
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("saved %q, want %q", got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("saved file mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
