package store

import (
	"context"
	"path/filepath"
)

// GenerationDir is the embedded store's folder inside an index generation.
const GenerationDir = "store"

// Target writes the products of one index generation into an embedded
// store and saves it in the generation's folder on Commit: the indexer's
// target when no Milvus is configured.
type Target struct {
	st  *Embedded
	dir string
}

// NewTarget returns a Target for vectors of length dim that saves into the
// generation folder dir.
func NewTarget(dim int, dir string) *Target {
	return &Target{st: NewEmbedded(dim), dir: dir}
}

// Upsert adds or replaces products.
func (t *Target) Upsert(ctx context.Context, products []Product) error {
	return t.st.Upsert(ctx, products)
}

// Commit builds the graph and saves the store into the generation's
// folder, durably.
func (t *Target) Commit(ctx context.Context) error {
	return t.st.Save(ctx, filepath.Join(t.dir, GenerationDir))
}

// OpenGeneration opens the embedded store that a Target saved in the
// generation folder dir.
func OpenGeneration(ctx context.Context, dir string) (*Embedded, error) {
	return OpenEmbedded(ctx, filepath.Join(dir, GenerationDir))
}

// OpenGenerationWith is OpenGeneration with options (see OpenEmbeddedWith).
func OpenGenerationWith(ctx context.Context, dir string, opts Options) (*Embedded, error) {
	return OpenEmbeddedWith(ctx, filepath.Join(dir, GenerationDir), opts)
}
