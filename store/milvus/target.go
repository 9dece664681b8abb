package milvus

import (
	"context"

	"lander/indexer"
	"lander/store"
)

// The indexer stores attribute embeddings, and records the collection,
// through these optional interfaces.
var (
	_ indexer.NamedTarget      = (*Target)(nil)
	_ indexer.CollectionTarget = (*Target)(nil)
)

// CollectionName is the Milvus collection of an index generation's
// products: Milvus names allow letters, digits and underscores only.
func CollectionName(generation string) string {
	b := []byte("lander_" + generation)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// AttributesCollection names the collection of a generation's attribute
// embeddings, beside its products collection.
func AttributesCollection(products string) string { return products + "_attributes" }

// Target writes the products of one index generation into their own
// collection, and its attribute embeddings into a second one beside it:
// the indexer's target with --milvus.
type Target struct {
	st    *Store
	opts  Options
	attrs *Vectors // opened by the first UpsertNamed
}

// OpenTarget opens (creating it when missing) the products collection
// CollectionName(generation) for vectors of length dim. opts.Collection
// and opts.Dim are set from generation and dim.
func OpenTarget(ctx context.Context, opts Options, generation string, dim int) (*Target, error) {
	opts.Collection, opts.Dim = CollectionName(generation), dim
	st, err := Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Target{st: st, opts: opts}, nil
}

// Collection names the products collection.
func (t *Target) Collection() string { return t.st.Collection() }

// Upsert adds or replaces products.
func (t *Target) Upsert(ctx context.Context, p []store.Product) error {
	return t.st.Upsert(ctx, p)
}

// UpsertNamed stores attribute embeddings in the collection
// AttributesCollection(products collection).
func (t *Target) UpsertNamed(ctx context.Context, vs []store.NamedVector) error {
	if len(vs) == 0 {
		return nil
	}
	if t.attrs == nil {
		o := t.opts
		o.Collection, o.Dim = AttributesCollection(t.st.Collection()), len(vs[0].Vector)
		v, err := OpenVectors(ctx, o)
		if err != nil {
			return err
		}
		t.attrs = v
	}
	return t.attrs.Upsert(ctx, vs)
}

// Commit closes the connections; Milvus has the rows already.
func (t *Target) Commit(ctx context.Context) error {
	if t.attrs != nil {
		if err := t.attrs.Close(ctx); err != nil {
			t.st.Close(ctx)
			return err
		}
	}
	return t.st.Close(ctx)
}

// DropGenerations drops the collections of pruned index generations (their
// products collections, named, and the attribute collections beside them),
// which would otherwise pile up on the cluster. Missing ones are skipped.
func DropGenerations(ctx context.Context, addr string, products []string) error {
	names := make([]string, 0, 2*len(products))
	for _, p := range products {
		names = append(names, p, AttributesCollection(p))
	}
	return DropCollections(ctx, addr, names)
}
