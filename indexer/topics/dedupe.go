package topics

import (
	"cmp"
	"fmt"
	"slices"
)

// Dedupe parameters: two published topics whose top DedupeDepth feed
// products overlap with a Jaccard index of at least DedupeJaccard are one
// collection under two names.
const (
	DedupeDepth   = 50
	DedupeJaccard = 0.9
)

// simpler orders topics by which to keep of two duplicates: fewer
// attributes, then the higher score, then the slug.
func simpler(a, b *Topic) int {
	if c := cmp.Compare(len(a.Attributes), len(b.Attributes)); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Score.Score, a.Score.Score); c != 0 {
		return c
	}
	return cmp.Compare(a.Slug, b.Slug)
}

// dedupe unpublishes the published topics that duplicate a simpler one:
// feeds that overlap almost entirely (DedupeJaccard over the top
// DedupeDepth), or the same title. The kept topic is named in the other's
// MergedInto and Reasons. It returns how many merged for each cause.
func dedupe(topics []Topic) (feeds, titles int) {
	var pub []int
	for i := range topics {
		if topics[i].Published {
			pub = append(pub, i)
		}
	}
	// Simplest first, so that each topic merges into the simplest duplicate
	// still published.
	slices.SortStableFunc(pub, func(a, b int) int { return simpler(&topics[a], &topics[b]) })
	tops := make([]map[string]bool, len(pub)) // top feed ids, by position in pub
	postings := map[string][]int{}            // product id -> kept published topics (positions in pub)
	byTitle := map[string]int{}
	for pi, i := range pub {
		t := &topics[i]
		top := map[string]bool{}
		for _, s := range t.Feed[:min(DedupeDepth, len(t.Feed))] {
			top[s.ID] = true
		}
		tops[pi] = top
		// Overlap counts with the kept topics sharing a product.
		shared := map[int]int{}
		for id := range top {
			for _, pj := range postings[id] {
				shared[pj]++
			}
		}
		into, best := -1, 0.0
		for pj, n := range shared {
			j := len(tops[pj]) + len(top) - n
			if jac := float64(n) / float64(j); jac >= DedupeJaccard && (into < 0 || jac > best || jac == best && pj < into) {
				into, best = pj, jac
			}
		}
		if into >= 0 {
			k := &topics[pub[into]]
			t.Published, t.MergedInto, t.MergedBy = false, k.Slug, "feed"
			t.Reasons = append(t.Reasons, fmt.Sprintf("duplicate of %s (top-%d feed Jaccard %.2f)", k.Slug, DedupeDepth, best))
			t.trimFeed()
			feeds++
			continue
		}
		if pj, ok := byTitle[t.Title]; ok {
			k := &topics[pub[pj]]
			t.Published, t.MergedInto, t.MergedBy = false, k.Slug, "title"
			t.Reasons = append(t.Reasons, fmt.Sprintf("title %q taken by %s", t.Title, k.Slug))
			t.trimFeed()
			titles++
			continue
		}
		byTitle[t.Title] = pi
		for id := range top {
			postings[id] = append(postings[id], pi)
		}
	}
	return feeds, titles
}

// unpublishedFeed is how much of its feed an unpublished topic keeps: enough
// to preview it, not the whole feed nobody serves.
const unpublishedFeed = 10

// trimFeed cuts an unpublished topic's feed to unpublishedFeed.
func (t *Topic) trimFeed() {
	if len(t.Feed) > unpublishedFeed {
		t.Feed = slices.Clip(t.Feed[:unpublishedFeed])
	}
}
