package topics

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestSaveReplacesTheFileWhole checks that File.Save publishes a new file
// (written aside, synced and renamed over the old one) instead of rewriting
// the old one in place: a reader that opened the old topics keeps reading
// all of them, and the new file holds exactly the compact JSON.
func TestSaveReplacesTheFileWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	old := File{Format: FormatVersion, Vocabulary: "old", Topics: []Topic{{Slug: "black-watches", Title: "Black Watches"}}}
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	oldBytes, _ := os.ReadFile(path)
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	next := File{Format: FormatVersion, Vocabulary: "new", Topics: []Topic{}}
	if err := next.Save(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(reader); !bytes.Equal(got, oldBytes) {
		t.Errorf("a reader of the old file read %q, want the old content (Save rewrote the file in place)", got)
	}
	want, _ := json.Marshal(next)
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("saved %q, want %q", got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("saved file mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}
}
