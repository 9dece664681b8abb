package store

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"golang.org/x/sync/errgroup"
)

// graph is a hierarchical navigable small world graph (Malkov and Yashunin,
// "Efficient and robust approximate nearest neighbor search using Hierarchical
// Navigable Small World graphs", 2016) over the rows of an Embedded store.
// Nodes are row numbers; closeness is the inner product of the rows' vectors.
//
// Rows [0, size) are in the graph. Layer 0 keeps up to m0 = 2m neighbours per
// node in one flat array; the few nodes above layer 0 keep up to m neighbours
// per upper layer in a map.
//
// A graph is read by any number of searches at once, or written by one build,
// which may insert from several goroutines: each node then has a lock, and the
// entry point another.
type graph struct {
	dim    int
	m, m0  int
	efc    int
	size   int
	entry  uint32
	top    int // level of entry; -1 while the graph is empty
	levels []uint8
	n0     []uint8
	l0     []uint32 // node r's layer-0 neighbours: l0[r*m0 : r*m0+n0[r]], or see off
	// off, when set, packs layer 0 for a graph that only searches (one
	// opened from a file): node r's neighbours are l0[off[r]:off[r+1]], with
	// no free slots. A build unpacks it first.
	off   []uint32
	upper map[uint32][][]uint32

	// Held only while a build runs.
	locks []sync.Mutex
	topMu sync.Mutex
}

// Graph defaults. M=24 from measurement on 100k vectors in 20 clusters
// (5,000 per cluster, as hard to search as 1M in 200), efConstruction 200:
// unfiltered recall@10 at ef 96 was 0.859 with M=16 and 0.934 with M=24, at
// ef 160 0.934 and 0.981. efConstruction 200 gave no more recall than 100
// at M=16 (0.859 and 0.860 at ef 96), so the build keeps the cheaper beam.
const (
	defaultM              = 24
	defaultEfConstruction = 100
	baseEfSearch          = 96
	efPerTenfold          = 160
	defaultTwoHopBelow    = 0.3
	maxM                  = 127
	maxLevel              = 24
)

// defaultEfSearch returns the default search beam for a store of n
// products: baseEfSearch up to 100k, then efPerTenfold more per tenfold
// (256 at 1M). Measured on 1M clustered vectors with M=24: recall@10 at 10%,
// 50% and unfiltered was 0.950 / 0.966 / 0.944 at ef 160 and 0.966 / 0.979
// / 0.968 at ef 256, so 256 is the smallest measured beam above 0.95.
func defaultEfSearch(n int) int {
	if n <= 100_000 {
		return baseEfSearch
	}
	return int(math.Round(baseEfSearch + efPerTenfold*(math.Log10(float64(n))-5)))
}

func newGraph(dim, m, efc int) *graph {
	return &graph{dim: dim, m: m, m0: 2 * m, efc: efc, top: -1, upper: map[uint32][][]uint32{}}
}

// level draws the level of row r from a hash of r, so that the same rows
// always give the same graph shape.
func (g *graph) level(r uint32) uint8 {
	x := uint64(r) + 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	u := (float64(x>>11) + 1) / (1 << 53) // (0, 1]
	l := int(-math.Log(u) / math.Log(float64(g.m)))
	return uint8(min(l, maxLevel))
}

func (g *graph) vec(vecs []float32, r uint32) []float32 {
	return vecs[int(r)*g.dim : int(r+1)*g.dim]
}

// neighbours appends the neighbours of r on layer l to buf. It locks r while a
// build runs.
func (g *graph) neighbours(r uint32, l int, buf []uint32) []uint32 {
	if g.locks != nil {
		g.locks[r].Lock()
		defer g.locks[r].Unlock()
	}
	if l == 0 {
		return append(buf, g.layer0(r)...)
	}
	return append(buf, g.upper[r][l-1]...)
}

// setNeighbours replaces the neighbours of r on layer l. The caller holds r's
// lock while a build runs.
func (g *graph) setNeighbours(r uint32, l int, ns []item) {
	if l == 0 {
		base := int(r) * g.m0
		for i, n := range ns {
			g.l0[base+i] = n.row
		}
		g.n0[r] = uint8(len(ns))
		return
	}
	up := g.upper[r][l-1][:0]
	for _, n := range ns {
		up = append(up, n.row)
	}
	g.upper[r][l-1] = up
}

// l0Start returns where node r's layer-0 links start in l0. It is only a
// prefetch hint: an unpacked graph of over 89M rows would wrap it, which
// costs a useless prefetch, never a wrong read.
func (g *graph) l0Start(r uint32) uint32 {
	if g.off != nil {
		return g.off[r]
	}
	return r * uint32(g.m0)
}

// layer0 returns node r's layer-0 neighbours, without locking.
func (g *graph) layer0(r uint32) []uint32 {
	if g.off != nil {
		return g.l0[g.off[r]:g.off[r+1]]
	}
	base := int(r) * g.m0
	return g.l0[base : base+int(g.n0[r])]
}

// pack drops layer 0's free slots (see off). It keeps the slots when the
// links would not fit uint32 offsets.
func (g *graph) pack() {
	if g.off != nil {
		return
	}
	total := 0
	for r := range g.size {
		total += int(g.n0[r])
	}
	if total >= math.MaxUint32 {
		return
	}
	off := make([]uint32, g.size+1)
	l0 := make([]uint32, 0, total)
	for r := range g.size {
		off[r] = uint32(len(l0))
		l0 = append(l0, g.layer0(uint32(r))...)
	}
	off[g.size] = uint32(len(l0))
	g.l0, g.off = l0, off
}

// unpack restores layer 0's fixed slots, for a build.
func (g *graph) unpack() {
	if g.off == nil {
		return
	}
	l0 := make([]uint32, len(g.levels)*g.m0)
	for r := range g.size {
		copy(l0[r*g.m0:], g.layer0(uint32(r)))
	}
	g.l0, g.off = l0, nil
}

// grow makes room for rows up to n and draws their levels.
func (g *graph) grow(n int) {
	if n <= len(g.levels) {
		return
	}
	old := len(g.levels)
	g.levels = append(g.levels, make([]uint8, n-old)...)
	g.n0 = append(g.n0, make([]uint8, n-old)...)
	g.l0 = append(g.l0, make([]uint32, (n-old)*g.m0)...)
	for r := old; r < n; r++ {
		lv := g.level(uint32(r))
		g.levels[r] = lv
		if lv > 0 {
			up := make([][]uint32, lv)
			for i := range up {
				up[i] = make([]uint32, 0, g.m)
			}
			g.upper[uint32(r)] = up
		}
	}
}

// build inserts rows [g.size, n) into the graph with up to workers goroutines.
// When it fails the graph is left inconsistent and must be dropped.
func (g *graph) build(ctx context.Context, vecs []float32, n, workers int) error {
	if n <= g.size {
		return nil
	}
	g.unpack()
	g.grow(n)
	from := g.size
	if g.top < 0 {
		g.entry, g.top = uint32(from), int(g.levels[from])
		from++
	}
	// Small builds run on one goroutine, so that they are deterministic.
	if n-from < 4096 {
		workers = 1
	}
	g.locks = make([]sync.Mutex, n)
	defer func() { g.locks = nil }()
	var next atomic.Int64
	next.Store(int64(from))
	eg, ctx := errgroup.WithContext(ctx)
	for range max(workers, 1) {
		eg.Go(func() error {
			vis := newVisited(n)
			var scratch insertScratch
			for {
				r := next.Add(1) - 1
				if r >= int64(n) {
					return nil
				}
				if r%256 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				g.insert(vecs, uint32(r), vis, &scratch)
			}
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	g.size = n
	return nil
}

// insertScratch holds the buffers of one inserting goroutine.
type insertScratch struct {
	cand  maxHeap
	res   minHeap
	buf   []uint32
	sel   []item
	pool  []item
	links []item
	sc    scoreBuf
}

// insert links row r into the graph.
func (g *graph) insert(vecs []float32, r uint32, vis *visited, s *insertScratch) {
	q := g.vec(vecs, r)
	level := int(g.levels[r])
	g.topMu.Lock()
	ep, top := g.entry, g.top
	g.topMu.Unlock()

	cur := item{dot(q, g.vec(vecs, ep)), ep}
	for l := top; l > level; l-- {
		cur = g.greedy(scorer{vecs: vecs}, q, cur, l, &s.buf, &s.sc)
	}
	eps := []item{cur}
	for l := min(level, top); l >= 0; l-- {
		vis.reset()
		w := g.searchLayer(scorer{vecs: vecs}, q, eps, g.efc, l, vis, nil, &s.cand, &s.res, &s.buf, &s.sc)
		// Another goroutine may have linked r already; r is no neighbour of itself.
		w = slices.DeleteFunc(w, func(it item) bool { return it.row == r })
		slices.SortFunc(w, byScore)
		s.sel = g.selectNeighbours(vecs, w, g.m, s.sel[:0])
		if g.locks != nil {
			g.locks[r].Lock()
		}
		g.setNeighbours(r, l, s.sel)
		if g.locks != nil {
			g.locks[r].Unlock()
		}
		maxN := g.m
		if l == 0 {
			maxN = g.m0
		}
		for _, n := range s.sel {
			g.link(vecs, n.row, r, n.score, l, maxN, s)
		}
		if len(w) > 0 {
			eps = append(eps[:0], w...)
		}
	}
	if level > top {
		g.topMu.Lock()
		if level > g.top {
			g.entry, g.top = r, level
		}
		g.topMu.Unlock()
	}
}

// link adds r to the neighbours of n on layer l, pruning them back to maxN
// with the selection heuristic when they overflow.
func (g *graph) link(vecs []float32, n, r uint32, score float32, l, maxN int, s *insertScratch) {
	if g.locks != nil {
		g.locks[n].Lock()
		defer g.locks[n].Unlock()
	}
	var cur []uint32
	if l == 0 {
		base := int(n) * g.m0
		cur = g.l0[base : base+int(g.n0[n])]
	} else {
		cur = g.upper[n][l-1]
	}
	if slices.Contains(cur, r) {
		return
	}
	if len(cur) < maxN {
		if l == 0 {
			g.l0[int(n)*g.m0+len(cur)] = r
			g.n0[n]++
		} else {
			g.upper[n][l-1] = append(cur, r)
		}
		return
	}
	nv := g.vec(vecs, n)
	s.pool = append(s.pool[:0], item{score, r})
	for _, c := range cur {
		s.pool = append(s.pool, item{dot(nv, g.vec(vecs, c)), c})
	}
	slices.SortFunc(s.pool, byScore)
	s.links = g.selectNeighbours(vecs, s.pool, maxN, s.links[:0])
	g.setNeighbours(n, l, s.links)
}

// selectNeighbours picks up to m of cands (sorted best first) with the
// heuristic of the HNSW paper: a candidate is kept when it is closer to the
// base than to every candidate already kept, which keeps links spread out.
// Free slots are then filled with the closest of the candidates set aside.
func (g *graph) selectNeighbours(vecs []float32, cands []item, m int, out []item) []item {
	if len(cands) <= m {
		return append(out, cands...)
	}
	var skipped []item
	for _, c := range cands {
		if len(out) == m {
			break
		}
		cv := g.vec(vecs, c.row)
		good := true
		for _, o := range out {
			if dot(cv, g.vec(vecs, o.row)) > c.score {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		} else if len(skipped) < m {
			skipped = append(skipped, c)
		}
	}
	for _, c := range skipped {
		if len(out) == m {
			break
		}
		out = append(out, c)
	}
	return out
}

// greedy walks layer l from cur to the node closest to q that it can reach
// by always moving closer.
func (g *graph) greedy(sv scorer, q []float32, cur item, l int, buf *[]uint32, sc *scoreBuf) item {
	for changed := true; changed; {
		changed = false
		*buf = g.neighbours(cur.row, l, (*buf)[:0])
		scores := sc.get(len(*buf))
		sv.score(q, *buf, scores)
		for i, n := range *buf {
			if s := scores[i]; s > cur.score {
				cur, changed = item{s, n}, true
			}
		}
	}
	return cur
}

// searchLayer is the beam search of layer l from eps, keeping the ef best
// nodes that pass allow (nil passes every node). It returns the kept nodes in
// no order; the slice is reused by the next call with the same res.
//
// A filter does not restrict the walk, only what is kept: while fewer than ef
// passing nodes are kept, every node reached is expanded, so the beam widens
// by about the inverse of the filter's selectivity.
func (g *graph) searchLayer(sv scorer, q []float32, eps []item, ef, l int, vis *visited, allow *roaring.Bitmap,
	cand *maxHeap, res *minHeap, buf *[]uint32, sc *scoreBuf) []item {
	cand.items, res.items = cand.items[:0], res.items[:0]
	for _, ep := range eps {
		if vis.visit(ep.row) {
			continue
		}
		cand.push(ep)
		if allow == nil || allow.Contains(ep.row) {
			res.push(ep)
		}
	}
	for res.len() > ef {
		res.pop()
	}
	for cand.len() > 0 {
		c := cand.pop()
		if res.len() >= ef && c.score < res.top().score {
			break
		}
		*buf = g.neighbours(c.row, l, (*buf)[:0])
		fresh := (*buf)[:0]
		for _, n := range *buf {
			if !vis.visit(n) {
				fresh = append(fresh, n)
			}
		}
		scores := sc.get(len(fresh))
		sv.score(q, fresh, scores)
		for i, n := range fresh {
			s := scores[i]
			if res.len() < ef || s > res.top().score {
				cand.push(item{s, n})
				if allow == nil || allow.Contains(n) {
					res.push(item{s, n})
					if res.len() > ef {
						res.pop()
					}
				}
			}
		}
	}
	return res.items
}

// search returns up to ef nodes that pass allow, the closest to q that it
// finds by sv's scores, in no particular order.
func (g *graph) search(sv scorer, q []float32, ef int, allow *roaring.Bitmap, vis *visited) []item {
	if g.top < 0 {
		return nil
	}
	var s searchScratch
	cur := g.descend(sv, q, &s)
	return g.searchLayer(sv, q, []item{cur}, ef, 0, vis, allow, &s.cand, &s.res, &s.buf, &s.sc)
}

// descend walks the upper layers greedily from the entry point and returns
// where layer 0's search starts. The graph is not empty.
func (g *graph) descend(sv scorer, q []float32, s *searchScratch) item {
	s.buf = append(s.buf[:0], g.entry)
	sc := s.sc.get(1)
	sv.score(q, s.buf, sc)
	cur := item{sc[0], g.entry}
	for l := g.top; l > 0; l-- {
		cur = g.greedy(sv, q, cur, l, &s.buf, &s.sc)
	}
	return cur
}

// searchDense is search for a filter given as a dense set, with two-hop
// expansion (see searchTwoHop).
func (g *graph) searchDense(sv scorer, q []float32, ef int, allow denseSet, vis *visited) []item {
	if g.top < 0 {
		return nil
	}
	var s searchScratch
	cur := g.descend(sv, q, &s)
	return g.searchTwoHop(sv, q, cur, ef, vis, allow, &s)
}

// scoreBuf is a reusable slice of scores for dotRows.
type scoreBuf struct{ s []float32 }

func (b *scoreBuf) get(n int) []float32 {
	if cap(b.s) < n {
		b.s = make([]float32, n)
	}
	return b.s[:n]
}

// item is a node and its inner product with the query.
type item struct {
	score float32
	row   uint32
}

func byScore(a, b item) int {
	switch {
	case a.score > b.score:
		return -1
	case a.score < b.score:
		return 1
	}
	return 0
}

// maxHeap pops the item with the highest score first.
type maxHeap struct{ items []item }

func (h *maxHeap) len() int { return len(h.items) }

func (h *maxHeap) push(x item) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.items[p].score >= h.items[i].score {
			break
		}
		h.items[p], h.items[i] = h.items[i], h.items[p]
		i = p
	}
}

func (h *maxHeap) pop() item {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	for i := 0; ; {
		l, best := 2*i+1, i
		if l < last && h.items[l].score > h.items[best].score {
			best = l
		}
		if l+1 < last && h.items[l+1].score > h.items[best].score {
			best = l + 1
		}
		if best == i {
			break
		}
		h.items[i], h.items[best] = h.items[best], h.items[i]
		i = best
	}
	return top
}

// minHeap pops the item with the lowest score first.
type minHeap struct{ items []item }

func (h *minHeap) len() int  { return len(h.items) }
func (h *minHeap) top() item { return h.items[0] }

func (h *minHeap) push(x item) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.items[p].score <= h.items[i].score {
			break
		}
		h.items[p], h.items[i] = h.items[i], h.items[p]
		i = p
	}
}

func (h *minHeap) pop() item {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	for i := 0; ; {
		l, best := 2*i+1, i
		if l < last && h.items[l].score < h.items[best].score {
			best = l
		}
		if l+1 < last && h.items[l+1].score < h.items[best].score {
			best = l + 1
		}
		if best == i {
			break
		}
		h.items[i], h.items[best] = h.items[best], h.items[i]
		i = best
	}
	return top
}

// visited marks the nodes one search has reached. Marks carry an epoch, so
// that reset is free.
type visited struct {
	marks []uint32
	epoch uint32
}

func newVisited(n int) *visited { return &visited{marks: make([]uint32, n), epoch: 1} }

func (v *visited) reset() {
	v.epoch++
	if v.epoch == 0 {
		clear(v.marks)
		v.epoch = 1
	}
}

// seen reports whether r is marked, without marking it.
func (v *visited) seen(r uint32) bool { return v.marks[r] == v.epoch }

// visit marks r and reports whether it was marked already.
func (v *visited) visit(r uint32) bool {
	if v.marks[r] == v.epoch {
		return true
	}
	v.marks[r] = v.epoch
	return false
}
