package store

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// Embedded is an in-process vector store. Rows live in memory: vectors in one
// contiguous slab (or mapped from the store's file, see OpenEmbeddedWith),
// an HNSW graph over them, an inverted index from each attribute (key,
// value) to a roaring bitmap of rows, and a price per row.
//
// A search evaluates its filter as bitmap operations, which gives the exact
// number of passing rows. A planner then compares the cost of scoring those
// rows exactly with the cost of a filtered walk of the graph, whose beam widens
// with the inverse of the filter's selectivity, and takes the cheaper. Selective
// filters are scanned exactly; broad ones walk the graph, and fall back to the
// exact scan when the walk finds fewer rows than asked for.
//
// Rows enter the graph in Build (Save calls it). Until then they are scored
// exactly, so a store is always complete, only slower.
//
// Embedded is safe for concurrent use: searches and reads share a read lock,
// writes and Build take the write lock. To keep serving during a long build,
// build a new store on the side and swap it in.
type Embedded struct {
	mu   sync.RWMutex
	dim  int
	opts Options

	// Per row. A deleted row keeps its slot (with an empty id) until the next
	// compaction.
	ids    []string
	titles []string
	prices []float64
	attrs  [][]Attribute
	vecs   []float32 // row r is vecs[r*dim : (r+1)*dim]
	// mapped is the file mapping that vecs points into, for a store opened
	// in the quantised mode (see OpenEmbeddedWith); nil when vecs is on the
	// heap.
	mapped []byte
	closed bool
	// With Options.Quantize, row r's int8 codes (codes[r*dim : (r+1)*dim])
	// and scale; nil otherwise.
	codes  []int8
	scales []float32

	byID     map[string]uint32
	live     *roaring.Bitmap // rows that hold a product
	hasPrice *roaring.Bitmap
	postings map[KV]*roaring.Bitmap
	dead     int // deleted rows not yet compacted away

	// graph indexes rows [0, graph.size); nil until the first Build and after
	// a compaction.
	graph  *graph
	visits sync.Pool // of *visited
	dense  denseCache
}

// ErrClosed is returned by the methods of a store after Close.
var ErrClosed = errors.New("store closed")

// Close releases the store: its file mapping, if it has one, and its
// memory. It waits for searches in flight; every later call returns
// ErrClosed (or reports an empty store). Closing twice is harmless.
func (e *Embedded) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.unmap()
	e.ids, e.titles, e.prices, e.attrs, e.vecs, e.codes, e.scales = nil, nil, nil, nil, nil, nil, nil
	e.byID, e.postings, e.graph = map[string]uint32{}, map[KV]*roaring.Bitmap{}, nil
	e.live, e.hasPrice = roaring.New(), roaring.New()
	e.dense.clear()
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Mapped reports whether the store reads its float32 vectors from a mapping
// of its file rather than from the heap.
func (e *Embedded) Mapped() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.mapped != nil
}

// unmap drops the file mapping, if any. vecs must no longer point into it.
// The caller holds the write lock.
func (e *Embedded) unmap() error {
	if e.mapped == nil {
		return nil
	}
	m := e.mapped
	e.mapped = nil
	return unmapFile(m)
}

// materialise copies mapped vectors to the heap, with room for extra more
// rows, and drops the mapping, so that rows can be appended. The caller
// holds the write lock.
func (e *Embedded) materialise(extra int) error {
	if e.mapped == nil {
		return nil
	}
	vecs := make([]float32, len(e.vecs), len(e.vecs)+extra*e.dim)
	copy(vecs, e.vecs)
	e.vecs = vecs
	return e.unmap()
}

// Options tune the graph of an Embedded store. Zero fields take defaults.
type Options struct {
	// M is the number of neighbours a node keeps on the upper layers of the
	// graph, twice that on the bottom layer (default 24, at most 127).
	M int
	// EfConstruction is the beam width used to link a new row (default 100).
	EfConstruction int
	// EfSearch is the beam width of a search, raised to offset+k when that is
	// larger. The default grows with the store: 96 up to 100k products, then
	// 160 more per tenfold (256 at 1M), since a fixed beam finds less of a
	// larger graph. A plain filtered walk widens it further by itself.
	EfSearch int
	// Workers is how many goroutines Build uses (default GOMAXPROCS).
	Workers int
	// Exact turns the graph off: every search scores its candidates exactly.
	Exact bool
	// TwoHopBelow is the selectivity below which a filtered graph walk
	// crosses failing rows to their neighbours instead of scoring them (see
	// searchTwoHop; default 0.3). Negative turns two-hop walks off.
	TwoHopBelow float64
	// Quantize keeps an int8 scalar quantisation of every vector besides it
	// (a quarter of its bytes more). Scans and graph walks then score rows
	// from the codes, which moves a quarter of the memory, and the best
	// candidates (a window of max(4n, 64) for n results, or the walk's beam)
	// are re-ranked exactly from the float32 vectors. Given to
	// OpenEmbeddedWith, it also leaves the float32 vectors in the file,
	// mapped, so that only the codes are on the heap.
	Quantize bool
	// GraphOnly makes every search that can walk the graph walk it, whatever
	// the planner would choose. It is for tests.
	GraphOnly bool
}

func (o Options) withDefaults() Options {
	if o.M <= 0 {
		o.M = defaultM
	}
	o.M = min(o.M, maxM)
	if o.EfConstruction <= 0 {
		o.EfConstruction = defaultEfConstruction
	}
	if o.EfSearch < 0 {
		o.EfSearch = 0
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.TwoHopBelow == 0 {
		o.TwoHopBelow = defaultTwoHopBelow
	}
	return o
}

// NewEmbedded returns an empty store for vectors of dimension dim, with the
// default options.
func NewEmbedded(dim int) *Embedded { return NewEmbeddedWith(dim, Options{}) }

// NewEmbeddedWith returns an empty store for vectors of dimension dim.
func NewEmbeddedWith(dim int, opts Options) *Embedded {
	return &Embedded{
		dim:      dim,
		opts:     opts.withDefaults(),
		byID:     make(map[string]uint32),
		live:     roaring.New(),
		hasPrice: roaring.New(),
		postings: make(map[KV]*roaring.Bitmap),
	}
}

// Grow makes room for n more products, so that loading a known number of
// products allocates their vectors once.
func (e *Embedded) Grow(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || n <= 0 {
		return
	}
	e.materialise(n) // an unmap error only leaks the mapping
	e.vecs = slices.Grow(e.vecs, n*e.dim)
	e.ids = slices.Grow(e.ids, n)
	e.titles = slices.Grow(e.titles, n)
	e.prices = slices.Grow(e.prices, n)
	e.attrs = slices.Grow(e.attrs, n)
	if e.opts.Quantize {
		e.codes = slices.Grow(e.codes, n*e.dim)
		e.scales = slices.Grow(e.scales, n)
	}
}

// SetQuantize turns Options.Quantize on or off, computing or dropping the
// codes of every row: to quantise a store opened from a file, or to compare
// both modes on one graph.
func (e *Embedded) SetQuantize(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opts.Quantize == on || e.closed {
		return
	}
	e.opts.Quantize = on
	if !on {
		e.codes, e.scales = nil, nil
		return
	}
	rows := len(e.ids)
	e.codes, e.scales = make([]int8, rows*e.dim), make([]float32, rows)
	for r := range rows {
		e.scales[r] = quantize(e.vecs[r*e.dim:(r+1)*e.dim], e.codes[r*e.dim:])
	}
}

// scorer scores rows for scans and walks: from the int8 codes when the store
// is quantised, else exactly.
func (e *Embedded) scorer() scorer {
	return scorer{vecs: e.vecs, codes: e.codes, scales: e.scales}
}

// rerank returns the best n of rows by exact score, in order.
func (e *Embedded) rerank(q []float32, rows []uint32, n int) []Hit {
	t := &topK{ids: e.ids, n: n, items: make([]scored, 0, n)}
	scores := make([]float32, len(rows))
	dotRows(q, e.vecs, rows, scores)
	for i, r := range rows {
		t.push(r, scores[i])
	}
	return t.sorted()
}

// Build links every row added since the last Build into the graph, on
// Options.Workers goroutines. Searches wait while it runs. When ctx is
// cancelled the store drops its graph and answers exactly until the next
// Build.
func (e *Embedded) Build(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("build graph: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("build graph: %w", ErrClosed)
	}
	if e.opts.Exact || (e.graph != nil && e.graph.size == len(e.ids)) || len(e.ids) == 0 {
		return nil
	}
	if e.graph == nil {
		e.graph = newGraph(e.dim, e.opts.M, e.opts.EfConstruction)
	}
	if err := e.graph.build(ctx, e.vecs, len(e.ids), e.opts.Workers); err != nil {
		e.graph = nil
		return fmt.Errorf("build graph: %w", err)
	}
	return nil
}

// efSearch returns the search beam width: Options.EfSearch, or the default
// for the store's size.
func (e *Embedded) efSearch() int {
	if e.opts.EfSearch > 0 {
		return e.opts.EfSearch
	}
	return defaultEfSearch(len(e.byID))
}

// SetEfSearch changes Options.EfSearch (0 restores the default), so that a
// benchmark can try several beam widths on one graph.
func (e *Embedded) SetEfSearch(ef int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.EfSearch = ef
	e.opts = e.opts.withDefaults()
}

// Pending returns the number of rows that Build has not linked into the graph
// yet.
func (e *Embedded) Pending() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.opts.Exact {
		return 0
	}
	if e.graph == nil {
		return len(e.ids)
	}
	return len(e.ids) - e.graph.size
}

// Dim returns the dimension of the store's vectors.
func (e *Embedded) Dim() int { return e.dim }

// Len returns the number of products in the store.
func (e *Embedded) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.byID)
}

// Upsert stores products, replacing any product with the same id. It validates
// every product first and stores none when one is invalid. Within one call the
// last product given for an id wins.
func (e *Embedded) Upsert(ctx context.Context, products []Product) error {
	for _, p := range products {
		if err := ValidateProduct(p, e.dim); err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upsert: %w", err)
	}
	products = Dedupe(products)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("upsert: %w", ErrClosed)
	}
	if len(products) == 0 {
		return nil
	}
	if err := e.materialise(len(products)); err != nil {
		return fmt.Errorf("upsert: %w", err)
	}
	e.vecs = slices.Grow(e.vecs, len(products)*e.dim)
	for _, p := range products {
		if row, ok := e.byID[p.ID]; ok {
			e.remove(row)
		}
		e.add(p)
	}
	e.maybeCompact()
	e.dense.clear()
	return nil
}

// Delete removes the products with the given ids. Unknown ids are ignored.
func (e *Embedded) Delete(ctx context.Context, ids []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("delete: %w", ErrClosed)
	}
	for _, id := range ids {
		if row, ok := e.byID[id]; ok {
			e.remove(row)
		}
	}
	e.maybeCompact()
	e.dense.clear()
	return nil
}

// Get returns the products with the given ids, in the order of ids. Unknown
// ids are skipped. The products are copies the caller may modify.
func (e *Embedded) Get(ctx context.Context, ids []string) ([]Product, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, fmt.Errorf("get: %w", ErrClosed)
	}
	out := make([]Product, 0, len(ids))
	for _, id := range ids {
		row, ok := e.byID[id]
		if !ok {
			continue
		}
		out = append(out, e.product(row))
	}
	return out, nil
}

// Count returns the number of products that pass f.
func (e *Embedded) Count(ctx context.Context, f Filter) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, fmt.Errorf("count: %w", ErrClosed)
	}
	cand, _ := e.candidates(f)
	return int(cand.GetCardinality()), nil
}

// Search returns the k products after offset that pass f, ranked by inner
// product with q (ties broken by id), and the number of products that pass f.
func (e *Embedded) Search(ctx context.Context, q []float32, f Filter, k, offset int) ([]Hit, int, error) {
	if err := ValidateQuery(q, f, k, offset, e.dim); err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, 0, fmt.Errorf("search: %w", ErrClosed)
	}
	cand, shared := e.candidates(f)
	total := int(cand.GetCardinality())
	if k == 0 || offset >= total {
		return []Hit{}, total, nil
	}
	hits := e.search(q, cand, shared, total, min(k+offset, total))
	return hits[offset:min(offset+k, len(hits))], total, nil
}

// search returns the best n rows of cand in order, from the graph or an
// exact scan as the planner decides.
func (e *Embedded) search(q []float32, cand *roaring.Bitmap, shared bool, total, n int) []Hit {
	if !e.useGraph(total, n) {
		return e.scan(q, cand, n)
	}
	g := e.graph
	var allow *roaring.Bitmap
	if cand != e.live || e.dead > 0 {
		allow = cand
	}
	vis, _ := e.visits.Get().(*visited)
	if vis == nil || len(vis.marks) < g.size {
		vis = newVisited(len(e.ids))
	}
	vis.reset()
	ef := max(e.efSearch(), n)
	var found []item
	if allow != nil && e.twoHop(total) {
		found = g.searchDense(e.scorer(), q, ef, e.dense.get(allow, shared), vis)
	} else {
		found = g.search(e.scorer(), q, ef, allow, vis)
	}
	if e.codes != nil {
		// Scores from codes are approximate: re-rank the beam exactly.
		rows := make([]uint32, len(found))
		scores := make([]float32, len(found))
		for i, it := range found {
			rows[i] = it.row
		}
		dotRows(q, e.vecs, rows, scores)
		for i := range found {
			found[i].score = scores[i]
		}
	}
	t := &topK{ids: e.ids, n: n, items: make([]scored, 0, n)}
	for _, it := range found {
		t.push(it.row, it.score)
	}
	e.visits.Put(vis)
	if len(e.ids) > g.size {
		// Rows not yet in the graph are scored exactly.
		rest := cand.Clone()
		rest.RemoveRange(0, uint64(g.size))
		it := rest.Iterator()
		for it.HasNext() {
			r := it.Next()
			t.push(r, dot(q, e.vecs[int(r)*e.dim:int(r+1)*e.dim]))
		}
	}
	if len(t.items) < n {
		return e.scan(q, cand, n)
	}
	return t.sorted()
}

// candidates returns the rows that pass f. The result may be e.live itself and
// must not be modified.
func (e *Embedded) candidates(f Filter) (*roaring.Bitmap, bool) {
	b := e.live
	shared := true
	if len(f.All) > 0 {
		bms := make([]*roaring.Bitmap, 0, len(f.All))
		for _, kv := range f.All {
			p, ok := e.postings[kv]
			if !ok {
				return roaring.New(), false
			}
			bms = append(bms, p)
		}
		if len(bms) == 1 {
			b = bms[0]
		} else {
			b = roaring.FastAnd(bms...)
			shared = false
		}
	}
	own := func() {
		if shared {
			b = b.Clone()
			shared = false
		}
	}
	for _, kv := range f.None {
		if p, ok := e.postings[kv]; ok {
			own()
			b.AndNot(p)
		}
	}
	if f.MinPrice != nil || f.MaxPrice != nil {
		own()
		b.And(e.hasPrice)
		out := roaring.New()
		it := b.Iterator()
		for it.HasNext() {
			r := it.Next()
			p := e.prices[r]
			if (f.MinPrice == nil || p >= *f.MinPrice) && (f.MaxPrice == nil || p <= *f.MaxPrice) {
				out.Add(r)
			}
		}
		b = out
	}
	return b, shared
}

// parallelMin is the number of candidate rows from which a scan is split over
// several goroutines.
const parallelMin = 8192

// scan scores every row of cand against q and returns the best n hits in
// order. A quantised store keeps a window of the best by codes and re-ranks
// it exactly.
func (e *Embedded) scan(q []float32, cand *roaring.Bitmap, n int) []Hit {
	rows := cand.ToArray()
	w := n
	if e.codes != nil {
		w = max(4*n, 64)
	}
	parts := min(runtime.GOMAXPROCS(0), len(rows)/parallelMin)
	var kept *topK
	if parts <= 1 {
		kept = e.scanRows(q, rows, w)
	} else {
		heaps := make([]*topK, parts)
		var wg sync.WaitGroup
		for i := range parts {
			lo, hi := i*len(rows)/parts, (i+1)*len(rows)/parts
			wg.Go(func() { heaps[i] = e.scanRows(q, rows[lo:hi], w) })
		}
		wg.Wait()
		kept = heaps[0]
		for _, h := range heaps[1:] {
			for _, c := range h.items {
				kept.push(c.row, c.score)
			}
		}
	}
	if e.codes == nil {
		return kept.sorted()
	}
	window := make([]uint32, len(kept.items))
	for i, c := range kept.items {
		window[i] = c.row
	}
	return e.rerank(q, window, n)
}

// scanBatch is how many rows scanRows scores in one call of the scorer.
const scanBatch = 256

// scanRows returns the best n of rows by the store's scorer.
func (e *Embedded) scanRows(q []float32, rows []uint32, n int) *topK {
	t := &topK{ids: e.ids, n: n, items: make([]scored, 0, n)}
	var scores [scanBatch]float32
	sv := e.scorer()
	for lo := 0; lo < len(rows); lo += scanBatch {
		batch := rows[lo:min(lo+scanBatch, len(rows))]
		sv.score(q, batch, scores[:])
		for i, r := range batch {
			// Most rows lose to the worst kept one: skip the heap for them.
			if len(t.items) == t.n && scores[i] < t.items[0].score {
				continue
			}
			t.push(r, scores[i])
		}
	}
	return t
}

// add appends p as a new row. The caller holds the write lock.
func (e *Embedded) add(p Product) {
	row := uint32(len(e.ids))
	e.ids = append(e.ids, p.ID)
	e.titles = append(e.titles, p.Title)
	price := 0.0
	if p.Price != nil {
		price = *p.Price
		e.hasPrice.Add(row)
	}
	e.prices = append(e.prices, price)
	e.attrs = append(e.attrs, append([]Attribute(nil), p.Attributes...))
	e.vecs = append(e.vecs, p.Vector...)
	if e.opts.Quantize {
		e.codes = append(e.codes, make([]int8, e.dim)...)
		e.scales = append(e.scales, quantize(p.Vector, e.codes[int(row)*e.dim:]))
	}
	e.byID[p.ID] = row
	e.live.Add(row)
	for _, a := range p.Attributes {
		if !a.Filterable() {
			continue
		}
		kv := KV{Key: a.Key, Value: a.Value}
		b, ok := e.postings[kv]
		if !ok {
			b = roaring.New()
			e.postings[kv] = b
		}
		b.Add(row)
	}
}

// remove deletes row from every index. The caller holds the write lock.
func (e *Embedded) remove(row uint32) {
	for _, a := range e.attrs[row] {
		kv := KV{Key: a.Key, Value: a.Value}
		if b, ok := e.postings[kv]; ok {
			b.Remove(row)
			if b.IsEmpty() {
				delete(e.postings, kv)
			}
		}
	}
	delete(e.byID, e.ids[row])
	e.live.Remove(row)
	e.hasPrice.Remove(row)
	e.ids[row], e.titles[row], e.attrs[row] = "", "", nil
	e.dead++
}

// maybeCompact drops deleted rows once they are a good share of all rows.
func (e *Embedded) maybeCompact() {
	if e.dead < 1024 || e.dead < len(e.byID) {
		return
	}
	fresh := NewEmbeddedWith(e.dim, e.opts)
	it := e.live.Iterator()
	for it.HasNext() {
		fresh.add(e.product(it.Next()))
	}
	e.ids, e.titles, e.prices, e.attrs, e.vecs = fresh.ids, fresh.titles, fresh.prices, fresh.attrs, fresh.vecs
	e.codes, e.scales = fresh.codes, fresh.scales
	e.unmap() // vecs is on the heap now; an unmap error only leaks the mapping
	e.byID, e.live, e.hasPrice, e.postings, e.dead = fresh.byID, fresh.live, fresh.hasPrice, fresh.postings, 0
	// Row numbers changed: the graph is rebuilt by the next Build.
	e.graph = nil
}

// product returns a copy of row as a Product. The caller holds a lock.
func (e *Embedded) product(row uint32) Product {
	p := Product{
		ID:     e.ids[row],
		Title:  e.titles[row],
		Vector: append([]float32(nil), e.vecs[int(row)*e.dim:int(row+1)*e.dim]...),
	}
	if len(e.attrs[row]) > 0 {
		p.Attributes = append([]Attribute(nil), e.attrs[row]...)
	}
	if e.hasPrice.Contains(row) {
		v := e.prices[row]
		p.Price = &v
	}
	return p
}

// dotGeneric returns the inner product of a and b, which have the same
// length, in portable Go.
func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i]*b[i] + a[i+4]*b[i+4]
		s1 += a[i+1]*b[i+1] + a[i+5]*b[i+5]
		s2 += a[i+2]*b[i+2] + a[i+6]*b[i+6]
		s3 += a[i+3]*b[i+3] + a[i+7]*b[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotRowsGeneric is dotRows in portable Go.
func dotRowsGeneric(q, vecs []float32, rows []uint32, out []float32) {
	d := len(q)
	for i, r := range rows {
		out[i] = dot(q, vecs[int(r)*d:int(r+1)*d])
	}
}

type scored struct {
	row   uint32
	score float32
}

// topK keeps the best n rows seen, in a min-heap whose root is the worst kept.
type topK struct {
	ids   []string
	n     int
	items []scored
}

// worse reports whether a ranks below b.
func (t *topK) worse(a, b scored) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return t.ids[a.row] > t.ids[b.row]
}

func (t *topK) Len() int           { return len(t.items) }
func (t *topK) Less(i, j int) bool { return t.worse(t.items[i], t.items[j]) }
func (t *topK) Swap(i, j int)      { t.items[i], t.items[j] = t.items[j], t.items[i] }
func (t *topK) Push(x any)         { t.items = append(t.items, x.(scored)) }
func (t *topK) Pop() any {
	x := t.items[len(t.items)-1]
	t.items = t.items[:len(t.items)-1]
	return x
}

func (t *topK) push(row uint32, score float32) {
	c := scored{row, score}
	if len(t.items) < t.n {
		heap.Push(t, c)
		return
	}
	if t.worse(t.items[0], c) {
		t.items[0] = c
		heap.Fix(t, 0)
	}
}

// sorted empties t and returns its rows as hits, best first.
func (t *topK) sorted() []Hit {
	out := make([]Hit, len(t.items))
	for i := len(out) - 1; i >= 0; i-- {
		c := heap.Pop(t).(scored)
		out[i] = Hit{ID: t.ids[c.row], Score: c.score}
	}
	return out
}
