package server

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"lander/store"
)

// topicIndex holds a generation's topics by their first attribute, built on
// first use: a topic whose attributes are all in a search's tuple is filed
// under one of the tuple's attributes, so that a search reads those few
// lists instead of every topic of the generation. A failed build is retried
// by a later search.
type topicIndex struct {
	mu    sync.Mutex // held while building
	built atomic.Pointer[topicsByFirst]
}

// topicsByFirst is a generation's topics (as Collections.Topics returned
// them) and the indexes of those with attributes, by their first one.
type topicsByFirst struct {
	topics  []Topic
	byFirst map[store.KV][]int
}

// topicsByFirst returns the index of ix's topics, building it on first use.
func (ix *Index) topicsByFirst(ctx context.Context) (*topicsByFirst, error) {
	if t := ix.subsets.built.Load(); t != nil {
		return t, nil
	}
	ix.subsets.mu.Lock()
	defer ix.subsets.mu.Unlock()
	if t := ix.subsets.built.Load(); t != nil {
		return t, nil
	}
	ts, err := ix.Collections.Topics(ctx)
	if err != nil {
		return nil, err
	}
	t := &topicsByFirst{topics: ts, byFirst: map[store.KV][]int{}}
	for i, topic := range ts {
		if len(topic.Attributes) > 0 {
			first := topic.Attributes[0]
			t.byFirst[first] = append(t.byFirst[first], i)
		}
	}
	ix.subsets.built.Store(t)
	return t, nil
}

// searchCollection returns the published collection whose attributes are
// the largest subset of strict (bestCollection), with the overrides'
// publish flags applied to the subsets only.
func (s *Server) searchCollection(ctx context.Context, ix *Index, strict []store.KV) (*CollectionLink, error) {
	if ix.Collections == nil || len(strict) == 0 {
		return nil, nil
	}
	t, err := ix.topicsByFirst(ctx)
	if err != nil {
		return nil, err
	}
	var at []int
	for _, kv := range strict {
		for _, i := range t.byFirst[kv] {
			if a := t.topics[i].Attributes; len(a) <= len(strict) && containsAll(strict, a) {
				at = append(at, i)
			}
		}
	}
	// In the generation's order, which breaks bestCollection's ties.
	slices.Sort(at)
	subsets := make([]Topic, len(at))
	for j, i := range at {
		subsets[j] = t.topics[i]
		if ov, ok := s.overrides.Get(subsets[j].Slug); ok && ov.Published != nil {
			subsets[j].Published = *ov.Published
		}
	}
	return bestCollection(subsets, strict), nil
}

// containsAll reports whether every attribute of sub is in set.
func containsAll(set, sub []store.KV) bool {
	for _, kv := range sub {
		if !slices.Contains(set, kv) {
			return false
		}
	}
	return true
}
