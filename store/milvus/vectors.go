package milvus

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"lander/store"
)

// Vectors is a set of named vectors (the embeddings of vocabulary attributes
// or of topics) in one Milvus collection with two fields: the name, hex
// encoded as the primary key, and the vector. It answers the same contract
// as store.Vectors.
type Vectors struct{ s *Store }

// OpenVectors connects to Milvus and opens the named-vector collection
// opts.Collection, creating it when missing. Options.Index and the retry
// options apply as for Open.
func OpenVectors(ctx context.Context, opts Options) (*Vectors, error) {
	s, err := open(ctx, opts, vectorsSchema)
	if err != nil {
		return nil, fmt.Errorf("open milvus vectors %q: %w", opts.Collection, err)
	}
	return &Vectors{s}, nil
}

func vectorsSchema(name string, dim int) *entity.Schema {
	return entity.NewSchema().WithName(name).WithAutoID(false).WithDynamicFieldEnabled(false).
		WithField(entity.NewField().WithName(fieldID).WithDataType(entity.FieldTypeVarChar).WithIsPrimaryKey(true).WithMaxLength(maxIDLen)).
		WithField(entity.NewField().WithName(fieldVector).WithDataType(entity.FieldTypeFloatVector).WithDim(int64(dim)))
}

// Close closes the connection to Milvus. The collection stays.
func (v *Vectors) Close(ctx context.Context) error { return v.s.Close(ctx) }

// Drop deletes the collection and everything in it.
func (v *Vectors) Drop(ctx context.Context) error { return v.s.Drop(ctx) }

// Upsert stores vs, replacing any vector with the same name. It validates
// every vector before sending any.
func (v *Vectors) Upsert(ctx context.Context, vs []store.NamedVector) error {
	for _, x := range vs {
		if err := store.ValidateNamed(x, v.s.dim); err != nil {
			return fmt.Errorf("upsert vectors: %w", err)
		}
		if len(x.Name) > maxIDLen/2 {
			return fmt.Errorf("upsert vectors: name %q longer than %d bytes", x.Name, maxIDLen/2)
		}
	}
	for lo := 0; lo < len(vs); lo += v.s.batch {
		batch := vs[lo:min(lo+v.s.batch, len(vs))]
		keys, vecs := make([]string, len(batch)), make([][]float32, len(batch))
		for i, x := range batch {
			keys[i], vecs[i] = pk(x.Name), x.Vector
		}
		opt := milvusclient.NewColumnBasedInsertOption(v.s.coll,
			column.NewColumnVarChar(fieldID, keys), column.NewColumnFloatVector(fieldVector, v.s.dim, vecs))
		if err := v.s.retry(ctx, func(ctx context.Context) error { _, err := v.s.cli.Upsert(ctx, opt); return err }); err != nil {
			return fmt.Errorf("upsert vectors: %w", err)
		}
	}
	return nil
}

// Delete removes the vectors with the given names. Unknown names are ignored.
func (v *Vectors) Delete(ctx context.Context, names []string) error {
	if err := v.s.Delete(ctx, names); err != nil {
		return fmt.Errorf("vectors: %w", err)
	}
	return nil
}

// Get returns the vectors with the given names, in the order of names.
// Unknown names are skipped.
func (v *Vectors) Get(ctx context.Context, names []string) ([]store.NamedVector, error) {
	found := map[string][]float32{}
	for lo := 0; lo < len(names); lo += getBatch {
		rs, err := v.s.query(ctx, milvusclient.NewQueryOption(v.s.coll).
			WithFilter(idsExpr(names[lo:min(lo+getBatch, len(names))])).
			WithOutputFields(fieldID, fieldVector).WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			return nil, fmt.Errorf("get vectors: %w", err)
		}
		if rs.ResultCount == 0 {
			continue
		}
		keys, ok1 := rs.GetColumn(fieldID).(*column.ColumnVarChar)
		vecs, ok2 := rs.GetColumn(fieldVector).(*column.ColumnFloatVector)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("get vectors: unexpected result columns")
		}
		for i := range rs.ResultCount {
			name, err := hex.DecodeString(keys.MustValue(i))
			if err != nil {
				return nil, fmt.Errorf("get vectors: primary key %q: %w", keys.MustValue(i), err)
			}
			found[string(name)] = append([]float32(nil), vecs.MustValue(i)...)
		}
	}
	out := []store.NamedVector{}
	for _, n := range names {
		if vec, ok := found[n]; ok {
			out = append(out, store.NamedVector{Name: n, Vector: vec})
			delete(found, n)
		}
	}
	return out, nil
}

// Search returns the k vectors with the highest inner product with q, as hits
// whose ID is the name; equal scores are ordered by name.
func (v *Vectors) Search(ctx context.Context, q []float32, k int) ([]store.Hit, error) {
	if err := store.ValidateQuery(q, store.Filter{}, k, 0, v.s.dim); err != nil {
		return nil, fmt.Errorf("search vectors: %w", err)
	}
	hits := []store.Hit{}
	if k == 0 {
		return hits, nil
	}
	opt := milvusclient.NewSearchOption(v.s.coll, min(k, maxWindow), []entity.Vector{entity.FloatVector(q)}).
		WithANNSField(fieldVector).WithConsistencyLevel(entity.ClStrong)
	var rss []milvusclient.ResultSet
	if err := v.s.retry(ctx, func(ctx context.Context) (err error) { rss, err = v.s.cli.Search(ctx, opt); return err }); err != nil {
		return nil, fmt.Errorf("search vectors: %w", err)
	}
	for _, rs := range rss {
		if rs.Err != nil {
			return nil, fmt.Errorf("search vectors: %w", rs.Err)
		}
		for i := range rs.ResultCount {
			key, err := rs.IDs.GetAsString(i)
			if err != nil {
				return nil, fmt.Errorf("search vectors: %w", err)
			}
			name, err := hex.DecodeString(key)
			if err != nil {
				return nil, fmt.Errorf("search vectors: primary key %q: %w", key, err)
			}
			hits = append(hits, store.Hit{ID: string(name), Score: rs.Scores[i]})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return store.Less(hits[i], hits[j]) })
	return hits, nil
}
