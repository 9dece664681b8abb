package store

import (
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// searchTwoHop is the beam search of layer 0 for a filter that keeps a
// minority of rows, after ACORN-1 (Patel et al., "ACORN: Performant and
// Predicate-Agnostic Search Over Vector Embeddings and Structured Data",
// 2024). The plain filtered walk (searchLayer with allow) scores every row it
// reaches, passing or not, so its cost grows with the inverse of the
// selectivity. This walk scores only passing rows: from each row it expands,
// it takes the passing neighbours and then crosses the failing ones to their
// own passing neighbours, up to m0 rows per expansion. A failing row is
// crossed at most once per search. The graph is the one built for unfiltered
// search; two hops make up for the links that the filter cuts.
func (g *graph) searchTwoHop(sv scorer, q []float32, ep item, ef int, vis *visited, allow denseSet, s *searchScratch) []item {
	cand, res := &s.cand, &s.res
	cand.items, res.items = cand.items[:0], res.items[:0]
	vis.visit(ep.row)
	cand.push(ep)
	if allow.has(ep.row) {
		res.push(ep)
	}
	for cand.len() > 0 {
		c := cand.pop()
		if res.len() >= ef && c.score < res.top().score {
			break
		}
		links := g.links0(c.row, &s.buf)
		fresh, cross := s.fresh[:0], s.cross[:0]
		for _, n := range links {
			switch {
			case allow.has(n):
				if !vis.visit(n) {
					fresh = append(fresh, n)
				}
			case !vis.seen(n):
				cross = append(cross, n)
			}
		}
		if len(fresh) < g.m0 && g.locks == nil {
			// The failing rows' link lists are read one after another, each
			// a cache miss: ask for the first few at once.
			offs := s.offs[:0]
			for _, n := range cross[:min(len(cross), prefetchCross)] {
				offs = append(offs, g.l0Start(n))
			}
			prefetchLinks(g.l0, offs)
			s.offs = offs
		}
		for _, n := range cross {
			if len(fresh) >= g.m0 {
				break
			}
			if vis.visit(n) {
				continue
			}
			for _, n2 := range g.links0(n, &s.hop) {
				if len(fresh) >= g.m0 {
					break
				}
				if allow.has(n2) && !vis.visit(n2) {
					fresh = append(fresh, n2)
				}
			}
		}
		s.cross = cross
		s.fresh = fresh
		scores := s.sc.get(len(fresh))
		sv.score(q, fresh, scores)
		for i, n := range fresh {
			sc := scores[i]
			if res.len() < ef || sc > res.top().score {
				cand.push(item{sc, n})
				res.push(item{sc, n})
				if res.len() > ef {
					res.pop()
				}
			}
		}
	}
	return res.items
}

// prefetchCross is how many failing neighbours' link lists a two-hop
// expansion prefetches: at 10% selectivity about ten of them fill the m0
// passing rows it needs.
const prefetchCross = 12

// links0 returns r's layer-0 neighbours: in place when no build runs, which
// spares a walk the copy (most of a two-hop walk's time is memory: a crossed
// row's links are read only up to the m0 passing rows it needs), or copied
// into buf under r's lock while one does.
func (g *graph) links0(r uint32, buf *[]uint32) []uint32 {
	if g.locks == nil {
		return g.layer0(r)
	}
	*buf = g.neighbours(r, 0, (*buf)[:0])
	return *buf
}

// searchScratch holds the buffers of one search.
type searchScratch struct {
	cand       maxHeap
	res        minHeap
	buf, fresh []uint32
	hop        []uint32
	cross      []uint32 // failing neighbours of the row a two-hop walk expands
	offs       []uint32
	sc         scoreBuf
}

// denseSet is a bitmap of rows as plain words, for the many membership tests
// of a two-hop walk: one load and a mask instead of a roaring lookup.
type denseSet []uint64

func (d denseSet) has(r uint32) bool {
	w := int(r >> 6)
	return w < len(d) && d[w]&(1<<(r&63)) != 0
}

// denseCacheBytes bounds the memory of the dense copies of shared bitmaps
// (the postings of single-attribute filters, which landing pages repeat).
const denseCacheBytes = 32 << 20

// denseCache keeps dense copies of bitmaps that searches share. Writes to
// the store clear it, since they change bitmaps in place.
type denseCache struct {
	mu    sync.Mutex
	sets  map[*roaring.Bitmap]denseSet
	bytes int
}

// get returns b as a dense set, from the cache when shared is true.
func (c *denseCache) get(b *roaring.Bitmap, shared bool) denseSet {
	if !shared {
		return b.ToDense()
	}
	c.mu.Lock()
	d, ok := c.sets[b]
	c.mu.Unlock()
	if ok {
		return d
	}
	d = b.ToDense()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sets == nil || c.bytes+8*len(d) > denseCacheBytes {
		c.sets, c.bytes = map[*roaring.Bitmap]denseSet{}, 0
	}
	c.sets[b] = d
	c.bytes += 8 * len(d)
	return d
}

// clear drops every cached set. The caller holds the store's write lock.
func (c *denseCache) clear() {
	c.mu.Lock()
	c.sets, c.bytes = nil, 0
	c.mu.Unlock()
}
