// Package store is the vector store domain of lander: the products that feeds and
// searches rank (an id, a title, an optional price, filterable attributes and a
// unit-length embedding), the filters that narrow them, and the embedded store
// that keeps them in memory and on disk.
//
// A store answers filtered inner-product searches: a query vector, a Filter over
// attributes and price, and a page (k results after offset). The embedded store
// keeps an HNSW graph over its vectors and roaring bitmaps per attribute, and
// plans each search: an exact scan over the rows that pass a selective filter,
// a filtered graph walk for a broad one (see Embedded). The Milvus backend in
// store/milvus answers the same contract from a Milvus server. Both pass the
// suite in store/storetest, as do the named-vector sets (Vectors) that hold the
// embeddings of attributes and topics.
package store

import (
	"errors"
	"fmt"
	"lander/vocab"
	"math"
	"strings"
)

// Attribute is one (key, value) pair assigned to a product, with the confidence
// of the assignment and where it came from.
type Attribute struct {
	Key    string
	Value  string
	Score  float32
	Source string // "tag", "text", "model", ...
}

// SourceSecondary marks an attribute kept for ranking and display only
// (such as the second colour of a "Blue & White" shirt): stores return it
// but never match a filter on it, so strict feeds hold primary values only.
const SourceSecondary = "secondary"

// Filterable reports whether a filter may match a.
func (a Attribute) Filterable() bool { return a.Source != SourceSecondary }

// Product is one stored product. Vector is unit length and has the dimension
// fixed for its store.
type Product struct {
	ID         string
	Title      string
	Price      *float64 // nil when unknown
	Attributes []Attribute
	Vector     []float32
}

// KV is an attribute (key, value) pair used in filters.
type KV = vocab.KV

// Filter restricts a search or a count. The zero Filter passes every product.
type Filter struct {
	All  []KV // the product must carry every one
	None []KV // the product must carry none
	// MinPrice and MaxPrice are inclusive bounds. A product with no price fails
	// any price bound.
	MinPrice, MaxPrice *float64
}

// IsZero reports whether f passes every product.
func (f Filter) IsZero() bool {
	return len(f.All) == 0 && len(f.None) == 0 && f.MinPrice == nil && f.MaxPrice == nil
}

// Validate reports a price bound that is not a finite number.
func (f Filter) Validate() error {
	for _, b := range []*float64{f.MinPrice, f.MaxPrice} {
		if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
			return fmt.Errorf("invalid price bound %v", *b)
		}
	}
	return nil
}

// Hit is one search result: a product id and its inner product with the query.
type Hit struct {
	ID    string
	Score float32
}

// ErrUnavailable is wrapped by the errors of a store whose server cannot be
// reached or does not answer in time, after its retries: the server
// answers 503 for it rather than 500.
var ErrUnavailable = errors.New("vector store unavailable")

// ErrDimension is wrapped by errors about a vector of the wrong dimension.
var ErrDimension = errors.New("dimension mismatch")

// ValidateProduct checks that p can be stored in a store of dimension dim: a
// non-empty id, a vector of that dimension with finite values, a finite price
// and attribute scores, and attribute keys that are non-empty and hold no '='.
// Errors name the product id.
func ValidateProduct(p Product, dim int) error {
	if p.ID == "" {
		return errors.New("product with empty id")
	}
	if len(p.Vector) != dim {
		return fmt.Errorf("product %q: %w: vector has %d values, store has %d", p.ID, ErrDimension, len(p.Vector), dim)
	}
	for i, v := range p.Vector {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("product %q: vector value %d is %v", p.ID, i, v)
		}
	}
	if p.Price != nil && (math.IsNaN(*p.Price) || math.IsInf(*p.Price, 0)) {
		return fmt.Errorf("product %q: price is %v", p.ID, *p.Price)
	}
	for _, a := range p.Attributes {
		if !ValidKey(a.Key) {
			return fmt.Errorf("product %q: invalid attribute key %q", p.ID, a.Key)
		}
		if math.IsNaN(float64(a.Score)) || math.IsInf(float64(a.Score), 0) {
			return fmt.Errorf("product %q: attribute %s=%s has score %v", p.ID, a.Key, a.Value, a.Score)
		}
	}
	return nil
}

// ValidKey reports whether key can be an attribute key: it is not empty
// and holds no '=', which joins a key and its value in the stores'
// attribute terms.
func ValidKey(key string) bool { return key != "" && !strings.Contains(key, "=") }

// ValidateQuery checks a search request against a store of dimension dim.
func ValidateQuery(q []float32, f Filter, k, offset, dim int) error {
	if len(q) != dim {
		return fmt.Errorf("query: %w: vector has %d values, store has %d", ErrDimension, len(q), dim)
	}
	for i, v := range q {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("query vector value %d is %v", i, v)
		}
	}
	if k < 0 || offset < 0 {
		return fmt.Errorf("invalid page: k=%d offset=%d", k, offset)
	}
	return f.Validate()
}

// Dedupe returns products with one entry per id, the last one given winning,
// in the order of first appearance.
func Dedupe(products []Product) []Product {
	seen := make(map[string]int, len(products))
	out := make([]Product, 0, len(products))
	for _, p := range products {
		if i, ok := seen[p.ID]; ok {
			out[i] = p
			continue
		}
		seen[p.ID] = len(out)
		out = append(out, p)
	}
	return out
}

// Less orders hits by score, highest first, and then by id, so that equal
// scores always come back in the same order.
func Less(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}

// Clone returns a deep copy of p.
func (p Product) Clone() Product {
	c := p
	if p.Price != nil {
		v := *p.Price
		c.Price = &v
	}
	if p.Attributes != nil {
		c.Attributes = append([]Attribute(nil), p.Attributes...)
	}
	if p.Vector != nil {
		c.Vector = append([]float32(nil), p.Vector...)
	}
	return c
}
