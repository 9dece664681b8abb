package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// NamedVector is a vector with a name: the embedding of a vocabulary
// attribute ("color=navy blue") or of a topic.
type NamedVector struct {
	Name   string
	Vector []float32
}

// Vectors is an in-memory set of named vectors, searched exactly by inner
// product: vocabularies of attributes and topics hold thousands of entries,
// not millions. It is safe for concurrent use.
type Vectors struct {
	mu     sync.RWMutex
	dim    int
	names  []string
	vecs   []float32
	byName map[string]int
}

// NewVectors returns an empty set for vectors of dimension dim.
func NewVectors(dim int) *Vectors {
	return &Vectors{dim: dim, byName: map[string]int{}}
}

// ValidateNamed checks that v can be stored in a set of dimension dim.
func ValidateNamed(v NamedVector, dim int) error {
	if v.Name == "" {
		return errors.New("vector with empty name")
	}
	if len(v.Vector) != dim {
		return fmt.Errorf("vector %q: %w: %d values, set has %d", v.Name, ErrDimension, len(v.Vector), dim)
	}
	for i, x := range v.Vector {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("vector %q: value %d is %v", v.Name, i, x)
		}
	}
	return nil
}

// Len returns the number of vectors in the set.
func (s *Vectors) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.names)
}

// Upsert stores vs, replacing any vector with the same name. It validates
// every vector first and stores none when one is invalid.
func (s *Vectors) Upsert(ctx context.Context, vs []NamedVector) error {
	for _, v := range vs {
		if err := ValidateNamed(v, s.dim); err != nil {
			return fmt.Errorf("upsert vectors: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upsert vectors: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		if i, ok := s.byName[v.Name]; ok {
			copy(s.vecs[i*s.dim:], v.Vector)
			continue
		}
		s.byName[v.Name] = len(s.names)
		s.names = append(s.names, v.Name)
		s.vecs = append(s.vecs, v.Vector...)
	}
	return nil
}

// Delete removes the vectors with the given names. Unknown names are ignored.
func (s *Vectors) Delete(ctx context.Context, names []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete vectors: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		i, ok := s.byName[name]
		if !ok {
			continue
		}
		// Move the last vector into the hole.
		last := len(s.names) - 1
		s.names[i] = s.names[last]
		copy(s.vecs[i*s.dim:(i+1)*s.dim], s.vecs[last*s.dim:])
		s.byName[s.names[i]] = i
		s.names, s.vecs = s.names[:last], s.vecs[:last*s.dim]
		delete(s.byName, name)
	}
	return nil
}

// Get returns the vectors with the given names, in the order of names.
// Unknown names are skipped.
func (s *Vectors) Get(ctx context.Context, names []string) ([]NamedVector, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get vectors: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []NamedVector{}
	for _, name := range names {
		if i, ok := s.byName[name]; ok {
			out = append(out, NamedVector{Name: name, Vector: slices.Clone(s.vecs[i*s.dim : (i+1)*s.dim])})
		}
	}
	return out, nil
}

// Search returns the k vectors with the highest inner product with q, as hits
// whose ID is the name; equal scores are ordered by name.
func (s *Vectors) Search(ctx context.Context, q []float32, k int) ([]Hit, error) {
	if err := ValidateQuery(q, Filter{}, k, 0, s.dim); err != nil {
		return nil, fmt.Errorf("search vectors: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("search vectors: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := min(k, len(s.names))
	if n == 0 {
		return []Hit{}, nil
	}
	t := &topK{ids: s.names, n: n, items: make([]scored, 0, n)}
	for i := range s.names {
		t.push(uint32(i), dot(q, s.vecs[i*s.dim:(i+1)*s.dim]))
	}
	return t.sorted(), nil
}

// Dot returns the inner product of a and b, which have the same length,
// with the store's SIMD kernel where the CPU has one: for callers that score
// many vectors exactly, such as a benchmark's ground truth.
func Dot(a, b []float32) float32 { return dot(a, b) }
