package milvus

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"lander/indexer"
	"lander/store"
)

// The indexer stores attribute embeddings, and records the collection,
// through these optional interfaces.
var (
	_ indexer.NamedTarget      = (*Target)(nil)
	_ indexer.CollectionTarget = (*Target)(nil)
	_ indexer.DiscardTarget    = (*Target)(nil)
)

// CollectionName is the Milvus collection of one index run's products:
// the generation's name and the run's id, so that a failed or concurrent
// run's rows, under the same generation number, are never another run's.
// Milvus names allow letters, digits and underscores only.
func CollectionName(generation, run string) string {
	b := []byte("lander_" + generation + "_" + run)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// NewRunID returns a fresh random id for CollectionName.
func NewRunID() string {
	var b [6]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather)
	return hex.EncodeToString(b[:])
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

// OpenTarget creates the products collection named collection (see
// CollectionName) for vectors of length dim; it fails when that
// collection exists already. opts.Collection, opts.Dim and the Must
// options are set from the arguments.
func OpenTarget(ctx context.Context, opts Options, collection string, dim int) (*Target, error) {
	opts.Collection, opts.Dim, opts.MustCreate, opts.MustExist = collection, dim, true, false
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

// Discard drops the collections written so far: the run failed, and
// its rows must not linger.
// It drops them over a new connection, since Commit may have closed the
// target's.
func (t *Target) Discard(ctx context.Context) error {
	if t.attrs != nil {
		t.attrs.Close(ctx)
	}
	t.st.Close(ctx)
	return DropGenerations(ctx, t.opts.Addr, []string{t.st.Collection()})
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
