package milvus

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"lander/store"
)

// payloadAttr is an attribute as kept in the payload field.
type payloadAttr struct {
	K string  `json:"k"`
	V string  `json:"v"`
	S float32 `json:"s"`
	O string  `json:"o,omitempty"`
}

// Upsert stores products, replacing any product with the same id, in batches of
// Options.InsertBatch rows. It validates every product before sending any.
// Within one call the last product given for an id wins.
func (s *Store) Upsert(ctx context.Context, products []store.Product) error {
	if err := s.upsert(ctx, products); err != nil {
		return fmt.Errorf("upsert: %w", err)
	}
	return nil
}

func (s *Store) upsert(ctx context.Context, products []store.Product) error {
	for _, p := range products {
		if err := validate(p, s.dim); err != nil {
			return err
		}
	}
	products = store.Dedupe(products)
	for lo := 0; lo < len(products); lo += s.batch {
		batch := products[lo:min(lo+s.batch, len(products))]
		n := len(batch)
		ids, titles, payloads := make([]string, n), make([]string, n), make([]string, n)
		vecs, attrs := make([][]float32, n), make([][]string, n)
		prices, hasPrice := make([]float64, n), make([]bool, n)
		for i, p := range batch {
			ids[i], titles[i], vecs[i] = pk(p.ID), p.Title, p.Vector
			if p.Price != nil {
				prices[i], hasPrice[i] = *p.Price, true
			}
			attrs[i] = make([]string, 0, len(p.Attributes))
			pa := make([]payloadAttr, len(p.Attributes))
			for j, a := range p.Attributes {
				if a.Filterable() {
					attrs[i] = append(attrs[i], attrKey(a.Key, a.Value))
				}
				pa[j] = payloadAttr{a.Key, a.Value, a.Score, a.Source}
			}
			b, err := json.Marshal(pa)
			if err != nil {
				return fmt.Errorf("product %q: %w", p.ID, err)
			}
			payloads[i] = string(b)
		}
		opt := milvusclient.NewColumnBasedInsertOption(s.coll,
			column.NewColumnVarChar(fieldID, ids),
			column.NewColumnFloatVector(fieldVector, s.dim, vecs),
			column.NewColumnVarCharArray(fieldAttrs, attrs),
			column.NewColumnDouble(fieldPrice, prices),
			column.NewColumnBool(fieldHasPrice, hasPrice),
			column.NewColumnVarChar(fieldTitle, titles),
			column.NewColumnVarChar(fieldPayload, payloads),
		)
		if err := s.retry(ctx, func(ctx context.Context) error { _, err := s.cli.Upsert(ctx, opt); return err }); err != nil {
			return err
		}
	}
	return nil
}

// validate checks p against the store contract and the field limits.
func validate(p store.Product, dim int) error {
	if err := store.ValidateProduct(p, dim); err != nil {
		return err
	}
	switch {
	case len(p.ID) > maxIDLen/2:
		return fmt.Errorf("product %q: id longer than %d bytes", p.ID, maxIDLen/2)
	case len(p.Title) > maxTitleLen:
		return fmt.Errorf("product %q: title longer than %d bytes", p.ID, maxTitleLen)
	case len(p.Attributes) > maxAttrs:
		return fmt.Errorf("product %q: more than %d attributes", p.ID, maxAttrs)
	}
	size := 2
	for _, a := range p.Attributes {
		if len(attrKey(a.Key, a.Value)) > maxAttrLen {
			return fmt.Errorf("product %q: attribute %s=%s longer than %d bytes", p.ID, a.Key, a.Value, maxAttrLen)
		}
		size += 2*len(a.Key) + 2*len(a.Value) + 2*len(a.Source) + 48 // JSON escaping, upper bound
	}
	if size > maxPayloadLen {
		return fmt.Errorf("product %q: attributes too large", p.ID)
	}
	return nil
}

// Delete removes the products with the given ids. Unknown ids are ignored.
func (s *Store) Delete(ctx context.Context, ids []string) error {
	for lo := 0; lo < len(ids); lo += getBatch {
		expr := idsExpr(ids[lo:min(lo+getBatch, len(ids))])
		opt := milvusclient.NewDeleteOption(s.coll).WithExpr(expr)
		if err := s.retry(ctx, func(ctx context.Context) error { _, err := s.cli.Delete(ctx, opt); return err }); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
	}
	return nil
}

// Get returns the products with the given ids, in the order of ids. Unknown
// ids are skipped.
func (s *Store) Get(ctx context.Context, ids []string) ([]store.Product, error) {
	found := make(map[string]store.Product, len(ids))
	for lo := 0; lo < len(ids); lo += getBatch {
		batch := ids[lo:min(lo+getBatch, len(ids))]
		rs, err := s.query(ctx, milvusclient.NewQueryOption(s.coll).
			WithFilter(idsExpr(batch)).
			WithOutputFields(fieldID, fieldVector, fieldPrice, fieldHasPrice, fieldTitle, fieldPayload).
			WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		if err := decode(rs, found); err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
	}
	out := make([]store.Product, 0, len(found))
	for _, id := range ids {
		if p, ok := found[id]; ok {
			out = append(out, p)
			delete(found, id) // an id asked for twice comes back once
		}
	}
	return out, nil
}

// decode adds the rows of a query result to found.
func decode(rs milvusclient.ResultSet, found map[string]store.Product) error {
	if rs.ResultCount == 0 {
		return nil
	}
	ids, ok1 := rs.GetColumn(fieldID).(*column.ColumnVarChar)
	vecs, ok2 := rs.GetColumn(fieldVector).(*column.ColumnFloatVector)
	prices, ok3 := rs.GetColumn(fieldPrice).(*column.ColumnDouble)
	has, ok4 := rs.GetColumn(fieldHasPrice).(*column.ColumnBool)
	titles, ok5 := rs.GetColumn(fieldTitle).(*column.ColumnVarChar)
	payloads, ok6 := rs.GetColumn(fieldPayload).(*column.ColumnVarChar)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return errors.New("unexpected result columns")
	}
	for i := range rs.ResultCount {
		id, err := hex.DecodeString(ids.MustValue(i))
		if err != nil {
			return fmt.Errorf("primary key %q: %w", ids.MustValue(i), err)
		}
		p := store.Product{ID: string(id), Title: titles.MustValue(i)}
		p.Vector = append([]float32(nil), vecs.MustValue(i)...)
		if has.MustValue(i) {
			v := prices.MustValue(i)
			p.Price = &v
		}
		var pa []payloadAttr
		if err := json.Unmarshal([]byte(payloads.MustValue(i)), &pa); err != nil {
			return fmt.Errorf("product %q: payload: %w", p.ID, err)
		}
		if len(pa) > 0 {
			p.Attributes = make([]store.Attribute, len(pa))
			for j, a := range pa {
				p.Attributes[j] = store.Attribute{Key: a.K, Value: a.V, Score: a.S, Source: a.O}
			}
		}
		found[p.ID] = p
	}
	return nil
}

// Count returns the number of products that pass f.
func (s *Store) Count(ctx context.Context, f store.Filter) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	expr, err := s.expr(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	n, err := s.count(ctx, expr)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

func (s *Store) count(ctx context.Context, expr string) (int, error) {
	rs, err := s.query(ctx, milvusclient.NewQueryOption(s.coll).
		WithFilter(expr).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		return 0, err
	}
	if rs.ResultCount == 0 && len(rs.Fields) == 0 {
		return 0, nil
	}
	col := rs.GetColumn("count(*)")
	if col == nil || col.Len() != 1 {
		return 0, errors.New("no count in result")
	}
	n, err := col.GetAsInt64(0)
	return int(n), err
}

// MaxWindow is the deepest result a search reaches: Milvus answers
// offset+k up to 16384. The server pages no further.
func (s *Store) MaxWindow() int { return maxWindow }

// Search returns the k products after offset that pass f, ranked by inner
// product with q, and the number of products that pass f. Milvus answers at
// most offset+k = 16384.
func (s *Store) Search(ctx context.Context, q []float32, f store.Filter, k, offset int) ([]store.Hit, int, error) {
	if err := store.ValidateQuery(q, f, k, offset, s.dim); err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	expr, err := s.expr(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	total, err := s.count(ctx, expr)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	if k == 0 || offset >= total {
		return []store.Hit{}, total, nil
	}
	k = min(k, total-offset)
	if offset+k > maxWindow {
		return nil, 0, fmt.Errorf("search: offset+k %d above the %d Milvus allows", offset+k, maxWindow)
	}
	opt := milvusclient.NewSearchOption(s.coll, k, []entity.Vector{entity.FloatVector(q)}).
		WithANNSField(fieldVector).WithOffset(offset).WithConsistencyLevel(entity.ClStrong)
	if expr != "" {
		opt.WithFilter(expr)
	}
	if s.index == IndexHNSW {
		opt.WithAnnParam(index.NewHNSWAnnParam(max(hnswEf, offset+k)))
	}
	var rss []milvusclient.ResultSet
	err = s.retry(ctx, func(ctx context.Context) (err error) { rss, err = s.cli.Search(ctx, opt); return err })
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	hits := []store.Hit{}
	for _, rs := range rss {
		if rs.Err != nil {
			return nil, 0, fmt.Errorf("search: %w", rs.Err)
		}
		for i := range rs.ResultCount {
			key, err := rs.IDs.GetAsString(i)
			if err != nil {
				return nil, 0, fmt.Errorf("search: %w", err)
			}
			id, err := hex.DecodeString(key)
			if err != nil {
				return nil, 0, fmt.Errorf("search: primary key %q: %w", key, err)
			}
			hits = append(hits, store.Hit{ID: string(id), Score: rs.Scores[i]})
		}
	}
	// Milvus leaves the order of equal scores open; order them by id as the
	// embedded store does.
	sort.SliceStable(hits, func(i, j int) bool { return store.Less(hits[i], hits[j]) })
	return hits, total, nil
}
