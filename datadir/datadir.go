// Package datadir lays out lander's data directory: one folder per index
// generation, each with a manifest of its files and their checksums, a
// CURRENT pointer replaced atomically, and merchandiser overrides kept apart
// from generations so that a reindex keeps them.
//
//	data/
//	  CURRENT              name of the live generation, e.g. "gen-000003"
//	  gen-000003/          one complete index
//	    manifest.json
//	    ...                files written by the stages
//	  overrides.json       merchandiser pins, excludes and publish flags
//
// A generation is built in a temporary folder and renamed into place only
// when complete, so a crash mid-write never exposes a partial index.
package datadir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ManifestFile is the name of a generation's manifest.
const ManifestFile = "manifest.json"

// currentFile names the pointer to the live generation.
const currentFile = "CURRENT"

// externalFile, in a generation under construction, records the
// collection its rows go to outside the data directory (Milvus), written
// before the first row: pruning an interrupted build reads it to drop that
// collection too. Commit removes it; the manifest records the collection.
const externalFile = ".external.json"

// RecordExternal records, in the folder of a generation under construction,
// the collection of backend that the build writes its rows to, so that
// Prune drops it should the build be interrupted.
func RecordExternal(dir, backend, collection string) error {
	return WriteJSON(filepath.Join(dir, externalFile), Manifest{Backend: backend, MilvusCollection: collection})
}

// ErrNoIndex is returned when the data directory holds no committed generation.
var ErrNoIndex = errors.New("no index in data directory (run lander index first)")

// Manifest describes one index generation.
type Manifest struct {
	// Generation is the sequence number of this index.
	Generation int `json:"generation"`
	// Name is the generation's folder name.
	Name string `json:"name"`
	// CreatedAt is when the generation was committed.
	CreatedAt time.Time `json:"created_at"`
	// Model names the encoder that produced the vectors.
	Model string `json:"model"`
	// Vocabulary is the version of the attribute vocabulary.
	Vocabulary string `json:"vocabulary"`
	// Backend is "embedded" or "milvus".
	Backend string `json:"backend"`
	// Milvus holds the collection name when Backend is milvus.
	MilvusCollection string `json:"milvus_collection,omitempty"`
	// Dim is the vector dimension.
	Dim int `json:"dim"`
	// Counts holds named counts (products, rejected, ...).
	Counts map[string]int `json:"counts"`
	// Files maps each file of the generation to its size and SHA-256.
	Files map[string]FileSum `json:"files"`
}

// FileSum is the size and checksum of one file.
type FileSum struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Dir is an opened data directory.
type Dir struct {
	root string
}

// Open opens (creating if needed) the data directory at root.
func Open(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("open data dir: %w", err)
	}
	return &Dir{root: root}, nil
}

// Root returns the directory's path.
func (d *Dir) Root() string { return d.root }

// OverridesPath is where merchandiser overrides live, outside any generation.
func (d *Dir) OverridesPath() string { return filepath.Join(d.root, "overrides.json") }

// Builder is a generation under construction.
type Builder struct {
	d    *Dir
	gen  int
	path string
}

// NewGeneration starts a new generation in a temporary folder.
func (d *Dir) NewGeneration() (*Builder, error) {
	gens, err := d.generations()
	if err != nil {
		return nil, err
	}
	next := 1
	if len(gens) > 0 {
		next = gens[len(gens)-1] + 1
	}
	path, err := os.MkdirTemp(d.root, fmt.Sprintf(".tmp-%s-", genName(next)))
	if err != nil {
		return nil, fmt.Errorf("new generation: %w", err)
	}
	return &Builder{d: d, gen: next, path: path}, nil
}

// Path is the folder the stages write into.
func (b *Builder) Path() string { return b.path }

// Generation is the number the generation will have once committed.
func (b *Builder) Generation() int { return b.gen }

// Abort removes the unfinished generation.
func (b *Builder) Abort() error { return os.RemoveAll(b.path) }

// Commit checksums every file, writes the manifest, moves the folder into
// place and points CURRENT at it. It returns the final manifest.
func (b *Builder) Commit(m Manifest) (Manifest, error) {
	m.Generation = b.gen
	m.Name = genName(b.gen)
	m.CreatedAt = time.Now().UTC()
	if m.Counts == nil {
		m.Counts = map[string]int{}
	}
	if err := os.Remove(filepath.Join(b.path, externalFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("commit generation: %w", err)
	}
	files, err := sumFiles(b.path)
	if err != nil {
		return m, fmt.Errorf("commit generation: %w", err)
	}
	m.Files = files
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("commit generation: %w", err)
	}
	if err := WriteFileAtomic(filepath.Join(b.path, ManifestFile), data); err != nil {
		return m, fmt.Errorf("commit generation: %w", err)
	}
	final := filepath.Join(b.d.root, m.Name)
	if err := os.Rename(b.path, final); err != nil {
		return m, fmt.Errorf("commit generation: %w", err)
	}
	b.path = final
	if err := syncDir(b.d.root); err != nil {
		return m, fmt.Errorf("commit generation: %w", err)
	}
	if err := WriteFileAtomic(filepath.Join(b.d.root, currentFile), []byte(m.Name+"\n")); err != nil {
		return m, fmt.Errorf("commit generation: %w", err)
	}
	return m, nil
}

// Current returns the live generation's manifest and folder.
func (d *Dir) Current() (Manifest, string, error) {
	b, err := os.ReadFile(filepath.Join(d.root, currentFile))
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, "", ErrNoIndex
	}
	if err != nil {
		return Manifest{}, "", fmt.Errorf("read current generation: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if _, err := parseGen(name); err != nil {
		return Manifest{}, "", fmt.Errorf("read current generation: bad pointer %q", name)
	}
	path := filepath.Join(d.root, name)
	m, err := ReadManifest(path)
	if err != nil {
		return Manifest{}, "", err
	}
	return m, path, nil
}

// Generations returns the committed generations the directory keeps, oldest
// first, with their manifests. A generation whose manifest cannot be read
// (removed by a concurrent prune, or damaged) is left out; the error is
// returned only when generations exist and none of them could be read. An
// empty directory yields no generations and no error.
func (d *Dir) Generations() ([]Manifest, error) {
	gens, err := d.generations()
	if err != nil {
		return nil, err
	}
	out := make([]Manifest, 0, len(gens))
	var errs []error
	for _, g := range gens {
		m, err := ReadManifest(filepath.Join(d.root, genName(g)))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("list generations: %w", errors.Join(errs...))
	}
	return out, nil
}

// Generation returns the manifest and folder of committed generation n. When
// the directory does not keep it (never built, pruned, or n < 1) the error
// wraps os.ErrNotExist.
func (d *Dir) Generation(n int) (Manifest, string, error) {
	if n < 1 {
		return Manifest{}, "", fmt.Errorf("generation %d: %w", n, os.ErrNotExist)
	}
	path := filepath.Join(d.root, genName(n))
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist) || (err == nil && !fi.IsDir()):
		return Manifest{}, "", fmt.Errorf("generation %d: not kept in %s: %w", n, d.root, os.ErrNotExist)
	case err != nil:
		return Manifest{}, "", fmt.Errorf("generation %d: %w", n, err)
	}
	m, err := ReadManifest(path)
	if err != nil {
		return Manifest{}, "", err
	}
	return m, path, nil
}

// ReadManifest reads the manifest of the generation folder at path.
func ReadManifest(path string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(path, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("read manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("read manifest %s: %w", path, err)
	}
	return m, nil
}

// Verify checks every file of the generation at path against its manifest.
func Verify(path string, m Manifest) error {
	for name, want := range m.Files {
		got, err := sumFile(filepath.Join(path, name))
		if err != nil {
			return fmt.Errorf("verify %s: %w", name, err)
		}
		if got != want {
			return fmt.Errorf("verify %s: checksum mismatch (file torn or changed)", name)
		}
	}
	return nil
}

// Prune removes committed generations older than the newest keep, never the
// current one, and leftovers of interrupted builds. It returns the
// manifests of the generations it removed, so that the caller can drop what
// they kept outside the data directory (their Milvus collections); an
// interrupted build that recorded its collection (RecordExternal) is
// returned as a manifest with only Name, Backend and MilvusCollection.
func (d *Dir) Prune(keep int) ([]Manifest, error) {
	gens, err := d.generations()
	if err != nil {
		return nil, err
	}
	cur, _, _ := d.Current()
	var (
		errs    []error
		removed []Manifest
	)
	for i, g := range gens {
		if i >= len(gens)-keep || g == cur.Generation {
			continue
		}
		path := filepath.Join(d.root, genName(g))
		m, merr := ReadManifest(path)
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
			continue
		}
		if merr == nil {
			removed = append(removed, m)
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(d.root, ".tmp-gen-*"))
	for _, t := range tmps {
		var ext Manifest
		if b, err := os.ReadFile(filepath.Join(t, externalFile)); err == nil && json.Unmarshal(b, &ext) == nil && ext.MilvusCollection != "" {
			ext.Name = filepath.Base(t)
			removed = append(removed, ext)
		}
		if err := os.RemoveAll(t); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("prune generations: %w", err)
	}
	return removed, nil
}

func (d *Dir) generations() ([]int, error) {
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return nil, fmt.Errorf("list generations: %w", err)
	}
	var gens []int
	for _, e := range entries {
		if g, err := parseGen(e.Name()); err == nil && e.IsDir() {
			gens = append(gens, g)
		}
	}
	sort.Ints(gens)
	return gens, nil
}

func genName(g int) string { return fmt.Sprintf("gen-%06d", g) }

func parseGen(name string) (int, error) {
	s, ok := strings.CutPrefix(name, "gen-")
	if !ok {
		return 0, fmt.Errorf("not a generation: %q", name)
	}
	return strconv.Atoi(s)
}

func sumFiles(dir string) (map[string]FileSum, error) {
	out := map[string]FileSum{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ManifestFile {
			return nil
		}
		s, err := sumFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = s
		return nil
	})
	return out, err
}

func sumFile(path string) (FileSum, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileSum{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileSum{}, err
	}
	return FileSum{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// WriteFileAtomic writes data to path through a temporary file that is
// synced and renamed over path, then syncs the folder, so readers see the old
// or the new content and never a torn one.
func WriteFileAtomic(path string, data []byte) error {
	f, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// WriteJSON writes v as indented JSON to path with WriteFileAtomic,
// creating path's folder when it is missing.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := WriteFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// AtomicFile is a file written under a temporary name beside its path and
// published by Commit: synced, renamed over the path, folder synced. Until
// then readers see the old content or none, never a part. Writers that
// close their sink themselves (Parquet) may call Close before Commit.
type AtomicFile struct {
	*os.File
	path   string
	closed bool
	err    error
}

// CreateAtomic starts the file that Commit will publish at path.
func CreateAtomic(path string) (*AtomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file private (0600); the published file is
	// readable as os.WriteFile would leave it, for a server that runs as
	// another user of the same group.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &AtomicFile{File: f, path: path}, nil
}

// Close syncs and closes the temporary file; it may be called more than
// once and publishes nothing.
func (a *AtomicFile) Close() error {
	if a.closed {
		return a.err
	}
	a.closed = true
	a.err = a.File.Sync()
	if err := a.File.Close(); a.err == nil {
		a.err = err
	}
	return a.err
}

// Commit closes the file and renames it over path.
func (a *AtomicFile) Commit() error {
	if err := a.Close(); err != nil {
		os.Remove(a.File.Name())
		return err
	}
	if err := os.Rename(a.File.Name(), a.path); err != nil {
		os.Remove(a.File.Name())
		return err
	}
	return syncDir(filepath.Dir(a.path))
}

// Abort closes and removes the temporary file.
func (a *AtomicFile) Abort() {
	a.Close()
	os.Remove(a.File.Name())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
