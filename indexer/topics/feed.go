package topics

import (
	"cmp"
	"context"
	"fmt"
	"lander/indexer/arbitrate"
	"math"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"lander/indexer/judge"
	"lander/store"
)

// pattr is one attribute a product carries.
type pattr struct {
	id     int32
	score  float32
	source string
}

// index holds the catalog as attribute postings: for each attribute, the
// products (by position) that carry it with at least MinConfidence.
type index struct {
	products  []store.Product
	byID      map[string]int32
	attrs     []KV
	ids       map[KV]int32
	postings  [][]int32
	prodAttrs [][]pattr // sorted by attribute id
	hasVec    bool
	anchor    map[string]bool
	skip      map[string]bool
}

func newIndex(products []store.Product, opts Options) *index {
	ix := &index{products: products, byID: make(map[string]int32, len(products)), ids: map[KV]int32{},
		prodAttrs: make([][]pattr, len(products)), anchor: map[string]bool{}, skip: map[string]bool{}}
	for _, k := range opts.Anchors {
		ix.anchor[k] = true
	}
	for _, k := range opts.Skip {
		ix.skip[k] = true
	}
	exclusive := map[string]bool{}
	for _, k := range opts.Exclusive {
		exclusive[k] = true
	}
	best := map[string]float32{}
	label := map[string]bool{}
	for _, k := range opts.LabelKeys {
		label[k] = true
	}
	vecs := 0
	for i, p := range products {
		ix.byID[p.ID] = int32(i)
		if len(p.Vector) > 0 {
			vecs++
		}
		var pas []pattr
		var title []string
		clear(best)
		for _, a := range p.Attributes {
			if exclusive[a.Key] && a.Source != arbitrate.SourceSecondary {
				best[a.Key] = max(best[a.Key], a.Score)
			}
		}
		for _, a := range p.Attributes {
			// Secondary values (the other colours of a multi-colour title)
			// rank but never enter a strict feed.
			if a.Source == arbitrate.SourceSecondary || exclusive[a.Key] && a.Score < best[a.Key] {
				continue
			}
			if float64(a.Score) < opts.MinConfidence || a.Key == "" || a.Value == "" {
				continue
			}
			if !label[a.Key] {
				if title == nil {
					title = normWords(p.Title)
				}
				if !names(title, a.Value) {
					continue
				}
			}
			kv := KV{Key: a.Key, Value: a.Value}
			id, ok := ix.ids[kv]
			if !ok {
				id = int32(len(ix.attrs))
				ix.ids[kv] = id
				ix.attrs = append(ix.attrs, kv)
				ix.postings = append(ix.postings, nil)
			}
			if j := slices.IndexFunc(pas, func(x pattr) bool { return x.id == id }); j >= 0 {
				if a.Score > pas[j].score {
					pas[j].score, pas[j].source = a.Score, a.Source
				}
				continue
			}
			pas = append(pas, pattr{id: id, score: a.Score, source: a.Source})
			ix.postings[id] = append(ix.postings[id], int32(i))
		}
		slices.SortFunc(pas, func(a, b pattr) int { return cmp.Compare(a.id, b.id) })
		ix.prodAttrs[i] = pas
	}
	ix.hasVec = len(products) > 0 && vecs == len(products)
	return ix
}

func (ix *index) title(id string) string {
	if i, ok := ix.byID[id]; ok {
		return ix.products[i].Title
	}
	return ""
}

// support returns the number of products carrying every attribute.
func (ix *index) support(attrs []KV) int {
	ids, ok := ix.lookup(attrs)
	if !ok {
		return 0
	}
	return len(ix.members(ids))
}

func (ix *index) lookup(attrs []KV) ([]int32, bool) {
	ids := make([]int32, len(attrs))
	for i, a := range attrs {
		id, ok := ix.ids[a]
		if !ok {
			return nil, false
		}
		ids[i] = id
	}
	return ids, true
}

// members intersects the postings of ids, rarest first.
func (ix *index) members(ids []int32) []int32 {
	if len(ids) == 0 {
		return nil
	}
	lists := make([][]int32, len(ids))
	for i, id := range ids {
		lists[i] = ix.postings[id]
	}
	slices.SortFunc(lists, func(a, b []int32) int { return cmp.Compare(len(a), len(b)) })
	cur := lists[0]
	for _, l := range lists[1:] {
		cur = judge.Intersect(cur, l)
	}
	return cur
}

func (ix *index) judgeProducts() [][]judge.KV {
	out := make([][]judge.KV, len(ix.products))
	for i, pas := range ix.prodAttrs {
		kvs := make([]judge.KV, len(pas))
		for j, pa := range pas {
			kvs[j] = ix.attrs[pa.id]
		}
		out[i] = kvs
	}
	return out
}

// tuple is a frequent set of non-anchor attributes inside a partition,
// sorted by attribute id, with the partition members that carry it.
type tuple struct {
	ids  []int32
	post []int32
}

func idsKey(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "%d,", id)
	}
	return b.String()
}

// generate enumerates the frequent tuples of every anchor partition and
// builds their feeds, partitions in parallel.
func (ix *index) generate(ctx context.Context, opts Options) ([]candidate, error) {
	var parts []int32
	for id, a := range ix.attrs {
		if ix.anchor[a.Key] && len(ix.postings[id]) >= opts.MinFeed {
			parts = append(parts, int32(id))
		}
	}
	slices.SortFunc(parts, func(a, b int32) int { return cmp.Compare(tupleKey([]KV{ix.attrs[a]}), tupleKey([]KV{ix.attrs[b]})) })
	out := make([][]candidate, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, a0 := range parts {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			out[i] = ix.partition(a0, opts)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("generate topics: %w", err)
	}
	var all []candidate
	for _, c := range out {
		all = append(all, c...)
	}
	return all, nil
}

// partition builds the topics anchored on attribute a0.
func (ix *index) partition(a0 int32, opts Options) []candidate {
	members := ix.postings[a0]
	anchorKey := ix.attrs[a0].Key
	local := map[int32][]int32{}
	for _, p := range members {
		for _, pa := range ix.prodAttrs[p] {
			k := ix.attrs[pa.id].Key
			if pa.id == a0 || ix.anchor[k] || ix.skip[k] {
				continue
			}
			local[pa.id] = append(local[pa.id], p)
		}
	}
	var out []candidate
	emit := func(ids []int32, post []int32, parent []int32) {
		attrs := append([]int32{a0}, ids...)
		c := ix.feed(attrs, post, opts)
		c.anchor = anchorKey
		if parent != nil {
			c.parent = ix.kvs(append([]int32{a0}, parent...))
		}
		out = append(out, c)
	}
	emit(nil, members, nil)
	var level []tuple
	for id, post := range local {
		if len(post) >= opts.MinFeed && len(post) < len(members) {
			level = append(level, tuple{ids: []int32{id}, post: post})
		}
	}
	slices.SortFunc(level, func(a, b tuple) int { return cmp.Compare(a.ids[0], b.ids[0]) })
	for _, t := range level {
		emit(t.ids, t.post, []int32{})
	}
	for k := 1; k+1 < opts.MaxAttributes && len(level) > 1; k++ {
		sizes := make(map[string]int, len(level))
		for _, t := range level {
			sizes[idsKey(t.ids)] = len(t.post)
		}
		var next []tuple
		for i := 0; i < len(level); i++ {
			ti := level[i]
			for j := i + 1; j < len(level) && slices.Equal(ti.ids[:k-1], level[j].ids[:k-1]); j++ {
				tj := level[j]
				a, b := ti.ids[k-1], tj.ids[k-1]
				if ix.attrs[a].Key == ix.attrs[b].Key {
					continue
				}
				ids := append(slices.Clone(ti.ids), b)
				// A-priori: every k-subset must be a frequent topic.
				ok := true
				smallest := min(len(ti.post), len(tj.post))
				for d := 0; d < k-1 && ok; d++ {
					sub := append(slices.Clone(ids[:d]), ids[d+1:]...)
					n, found := sizes[idsKey(sub)]
					ok = found
					smallest = min(smallest, n)
				}
				if !ok {
					continue
				}
				post := judge.Intersect(ti.post, local[b])
				// A tuple whose feed equals a parent's adds nothing.
				if len(post) < opts.MinFeed || len(post) == smallest {
					continue
				}
				next = append(next, tuple{ids: ids, post: post})
			}
		}
		for _, t := range next {
			emit(t.ids, t.post, t.ids[:len(t.ids)-1])
		}
		level = next
	}
	return out
}

func (ix *index) kvs(ids []int32) []KV {
	out := make([]KV, len(ids))
	for i, id := range ids {
		out[i] = ix.attrs[id]
	}
	return out
}

// orderTuple puts the anchor first, then the other attributes in title
// order.
func orderTuple(attrs []KV, anchor map[string]bool) []KV {
	out := slices.Clone(attrs)
	rank := func(a KV) int {
		if anchor[a.Key] {
			return -1
		}
		if a.Key == "gender" {
			return 1000
		}
		return modifierRank(a.Key)
	}
	slices.SortStableFunc(out, func(a, b KV) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}

// scoredSlot is a member during ranking.
type scoredSlot struct {
	p          int32
	score, sim float64
	minConf    float64
}

// feed ranks the members of a tuple. Every member carries every attribute
// (the prefilter); the score is (1-w) * mean matched confidence + w *
// similarity to the topic vector, the normalised mean of the members'
// vectors.
func (ix *index) feed(ids []int32, members []int32, opts Options) candidate {
	attrs := orderTuple(ix.kvs(ids), ix.anchor)
	order := make([]int32, len(attrs))
	for i, a := range attrs {
		order[i] = ix.ids[a]
	}
	c := candidate{attrs: attrs, size: len(members)}
	if len(members) == 0 {
		return c
	}
	w := opts.SimilarityWeight
	var centroid []float32
	if ix.hasVec {
		centroid = make([]float32, len(ix.products[members[0]].Vector))
		for _, p := range members {
			for d, x := range ix.products[p].Vector {
				centroid[d] += x
			}
		}
		var n float64
		for _, x := range centroid {
			n += float64(x) * float64(x)
		}
		if n = math.Sqrt(n); n > 0 {
			for d := range centroid {
				centroid[d] = float32(float64(centroid[d]) / n)
			}
		}
	} else {
		w = 0
	}
	slots := make([]scoredSlot, len(members))
	for i, p := range members {
		s := scoredSlot{p: p, minConf: 1}
		sum := 0.0
		for _, id := range order {
			conf := float64(ix.conf(p, id))
			sum += conf
			s.minConf = min(s.minConf, conf)
		}
		mean := sum / float64(len(order))
		if centroid != nil {
			s.sim = dot(ix.products[p].Vector, centroid)
		}
		s.score = (1-w)*mean + w*max(s.sim, 0)
		slots[i] = s
	}
	slices.SortFunc(slots, func(a, b scoredSlot) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(ix.products[a.p].ID, ix.products[b.p].ID)
	})
	top := min(10, len(slots))
	for _, s := range slots[:top] {
		c.precision += s.minConf
		c.sim += s.sim
	}
	c.precision /= float64(top)
	c.sim /= float64(top)
	keep := min(opts.MaxFeed, len(slots))
	c.feed = make([]Slot, keep)
	for i, s := range slots[:keep] {
		slot := Slot{ID: ix.products[s.p].ID, Score: round3(s.score), Similarity: round3(s.sim),
			Matched: make([]float32, len(order)), Sources: make([]string, len(order))}
		for j, id := range order {
			pa := ix.pattr(s.p, id)
			slot.Matched[j], slot.Sources[j] = pa.score, pa.source
		}
		c.feed[i] = slot
	}
	return c
}

func (ix *index) pattr(p, id int32) pattr {
	pas := ix.prodAttrs[p]
	if j, ok := slices.BinarySearchFunc(pas, id, func(x pattr, id int32) int { return cmp.Compare(x.id, id) }); ok {
		return pas[j]
	}
	return pattr{id: id}
}

func (ix *index) conf(p, id int32) float32 { return ix.pattr(p, id).score }

func dot(a, b []float32) float64 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return float64(s)
}

// baseline builds the feeds of the distinct strict tuples the resolver
// found in the log, with the same feed code: inside the anchor's
// partition when the tuple names an anchor value, over the whole catalog
// otherwise.
func (ix *index) baseline(intents Intents, opts Options) []candidate {
	seen := map[string]bool{}
	var out []candidate
	for _, in := range intents {
		if len(in.Attributes) == 0 {
			continue
		}
		key := tupleKey(in.Attributes)
		if seen[key] {
			continue
		}
		seen[key] = true
		attrs := orderTuple(in.Attributes, ix.anchor)
		anchor := ""
		if ix.anchor[attrs[0].Key] {
			anchor = attrs[0].Key
		}
		ids, ok := ix.lookup(attrs)
		if !ok {
			out = append(out, candidate{attrs: attrs, anchor: anchor})
			continue
		}
		c := ix.feed(ids, ix.members(ids), opts)
		c.anchor = anchor
		out = append(out, c)
	}
	return out
}

// normWords splits text into lower-case alphanumeric words without a
// plural ending.
func normWords(s string) []string {
	ws := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
	for i, w := range ws {
		ws[i] = singular(w)
	}
	return ws
}

func singular(w string) string {
	for _, suf := range []string{"ies", "es", "s"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			return w[:len(w)-len(suf)]
		}
	}
	return w
}

// names reports whether the words of value appear in title, in order and
// next to each other, or joined ("tshirt" for "t shirt").
func names(title []string, value string) bool {
	v := normWords(value)
	if len(v) == 0 {
		return false
	}
	for i := 0; i+len(v) <= len(title); i++ {
		if slices.Equal(title[i:i+len(v)], v) {
			return true
		}
	}
	joined := strings.Join(v, "")
	for _, w := range title {
		if w == joined {
			return true
		}
	}
	return false
}
