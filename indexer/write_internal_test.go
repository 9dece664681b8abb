package indexer

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"lander/store"
)

// TestGenerationFilesAreReplacedWhole checks that the files the indexer
// writes into a generation or a shard with its own writers are published
// whole (written aside, synced and renamed over the path) rather than
// rewritten in place: a reader of an old file at the same path keeps
// reading all of it, and no temporary file is left.
func TestGenerationFilesAreReplacedWhole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(path string, n int) error
	}{
		{RejectedFile, func(path string, n int) error {
			rs := make([]Rejected, n)
			for i := range rs {
				rs[i] = Rejected{Row: i, ID: "x", Reason: "bad_json", Detail: "not json"}
			}
			return writeRejected(path, rs)
		}},
		{shardProductsFile, func(path string, n int) error {
			items := make([]item, n)
			for i := range items {
				items[i] = item{product: store.Product{ID: "p", Title: "Red Shirt", Vector: []float32{1, 0}}, row: i}
			}
			return writeRecords(path, items)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.name)
			if err := tc.write(path, 3); err != nil {
				t.Fatal(err)
			}
			old, _ := os.ReadFile(path)
			reader, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			if err := tc.write(path, 1); err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(reader); !bytes.Equal(got, old) {
				t.Errorf("a reader of the old file read %d bytes, want the old %d (the file was rewritten in place)", len(got), len(old))
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("file mode %v, %v; want 0644", fi.Mode().Perm(), err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestWriteRejectedKeepsItsFormat pins rejected.jsonl's bytes: one JSON
// object per line.
func TestWriteRejectedKeepsItsFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), RejectedFile)
	if err := writeRejected(path, []Rejected{{Row: 3, ID: "a", Reason: "bad_json", Detail: "x"}, {Row: 5, Reason: "missing_id"}}); err != nil {
		t.Fatal(err)
	}
	want := `{"row":3,"id":"a","reason":"bad_json","detail":"x"}` + "\n" + `{"row":5,"id":"","reason":"missing_id","detail":""}` + "\n"
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Errorf("rejected.jsonl = %q, want %q", got, want)
	}
}
