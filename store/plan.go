package store

// The planner: which of an exact scan, a plain filtered walk and a two-hop
// walk answers a search, by estimated cost.

// Plan names the way the store would answer a search whose filter passes
// total rows, for n results: "exact", "graph" or, for a filtered walk that
// crosses failing rows, "two-hop".
func (e *Embedded) Plan(total, n int) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	switch {
	case !e.useGraph(total, n):
		return "exact"
	case total < len(e.byID) && e.twoHop(total):
		return "two-hop"
	}
	return "graph"
}

// The planner's cost model, in rows scored by a float32 scan. An unfiltered
// walk scores about graphCostPerEf rows per unit of ef, each graphAccessCost
// times dearer than a row of a scan (a walk scores a few rows at a time and
// waits on memory between expansions; a scan streams with prefetching). A
// plain filtered walk scores 1/selectivity times as many; a two-hop walk
// about twoHopCost times as many as an unfiltered one, whatever the
// selectivity. A quantised scan moves a quarter of the bytes and costs about
// quantScanCost of a float32 one. Measured on 100k vectors of dimension 384
// on an idle 2-core EPYC (2026-12-05; the same box under load 12-15 gave
// about twice the access cost): an unfiltered walk at ef 96 took 0.30 ms at
// the median, about 2 times as long per scored row as the 1.08 ms scan of a
// 10% filter, and a two-hop walk of that filter 0.68 ms, 2.3 times as long
// as an unfiltered walk.
const (
	graphCostPerEf  = 13
	graphAccessCost = 2
	twoHopCost      = 2.5
	quantScanCost   = 0.3
)

// twoHopMin is the selectivity under which two-hop walks are not used: the
// passing rows two hops away are then too few to connect (recall 0.70 at 1%
// on 100k clustered vectors), and an exact scan is cheaper anyway.
const twoHopMin = 0.02

// useGraph reports whether a filtered graph walk is expected to be cheaper
// than scoring the total candidate rows exactly, for n results.
func (e *Embedded) useGraph(total, n int) bool {
	g := e.graph
	if g == nil || g.size == 0 || total == 0 {
		return false
	}
	if e.opts.GraphOnly {
		return true
	}
	sel := float64(total) / float64(len(e.byID))
	ef := float64(max(e.efSearch(), n))
	walk := ef * graphCostPerEf * graphAccessCost
	switch {
	case total < len(e.byID) && e.twoHop(total):
		walk *= twoHopCost
	default:
		walk /= sel
	}
	scan := float64(total)
	if e.codes != nil {
		scan *= quantScanCost
	}
	return walk < scan
}

// twoHop reports whether a filtered walk over total passing rows takes two
// hops.
func (e *Embedded) twoHop(total int) bool {
	sel := float64(total) / float64(len(e.byID))
	return sel >= twoHopMin && sel < e.opts.TwoHopBelow
}
