// Package curate compresses raw extracted attributes into the vocabulary:
// values that fold alike are one value; a frequency filter drops values
// with too little support; embedding clustering merges surface variants
// within each key, the merchant-tag form (else the most frequent) becoming
// canonical and the others its aliases. Every step records what it removed
// or merged, for the vocabulary's curation report.
package curate

import (
	"context"
	"errors"
	"fmt"
	"lander/similarity"
	"math"
	"sort"

	"lander/indexer/extract"
	"lander/store"
	"lander/vocab"
)

// Defaults of Options.
const (
	DefaultMinSupport = 5
	DefaultThreshold  = 0.88
)

// Curation steps, as named in the report.
const (
	StepNormalise = "normalise"
	StepFrequency = "frequency"
	StepCluster   = "cluster"
	StepJudge     = "judge"
)

// Embedder embeds texts into unit vectors (the text encoder does).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Options configures curation.
type Options struct {
	// MinSupport is the number of products a value needs; 0 means
	// DefaultMinSupport.
	MinSupport int
	// Threshold is the cosine similarity above which two values of a key
	// merge; 0 means DefaultThreshold, above 1 disables clustering.
	Threshold float64
	// Embedder embeds values for clustering; nil skips clustering.
	Embedder Embedder
}

// id is a raw value: a key and the fold of its value.
type id struct{ key, fold string }

// value gathers what extraction said about one raw value.
type value struct {
	id          id
	support     int            // products carrying it
	tag         int            // products where a merchant tag said it
	surfaces    map[string]int // normalised surface forms, by products
	tagSurfaces map[string]int // the surface forms merchant tags used
	alias       map[string]int // lexicon synonyms it was read from
	display     string         // the chosen surface form
	canon       *value         // the value it merged into; itself when canonical
	dropped     string         // the step that removed it, or ""
	cosine      float64        // similarity to canon when merged by clustering
}

// Curator holds the raw attributes of every product and the curation
// decisions taken on them. Build one with New, then call Frequency,
// Cluster and Drop as needed, and read the outcome with Apply, Vocabulary
// and Report.
type Curator struct {
	opts     Options
	products [][]extract.Attr
	values   map[id]*value
	steps    []StepCount
	removed  []Removed
	merged   []Merged
}

// StepCount is the vocabulary size after one step.
type StepCount struct {
	Step   string         `json:"step"`
	Values int            `json:"values"`
	PerKey map[string]int `json:"per_key"`
}

// Removed is a value a step dropped.
type Removed struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Support int    `json:"support"`
	Step    string `json:"step"`
	Reason  string `json:"reason"`
}

// Merged is a group of surface forms that became one value.
type Merged struct {
	Key       string   `json:"key"`
	Canonical string   `json:"canonical"`
	Step      string   `json:"step"`
	Members   []Member `json:"members"`
}

// Member is one merged surface form.
type Member struct {
	Value   string  `json:"value"`
	Support int     `json:"support"`
	Cosine  float64 `json:"cosine,omitempty"`
}

// Report is the curation report written beside the vocabulary.
type Report struct {
	MinSupport int         `json:"min_support"`
	Threshold  float64     `json:"threshold"`
	Steps      []StepCount `json:"steps"`
	Removed    []Removed   `json:"removed"`
	Merged     []Merged    `json:"merged"`
}

// New gathers the raw attributes of every product (products[i] is one
// product's attributes, as extract.Merge returns them). Values that fold
// alike become one value: the normalise step.
func New(products [][]extract.Attr, opts Options) *Curator {
	if opts.MinSupport <= 0 {
		opts.MinSupport = DefaultMinSupport
	}
	if opts.Threshold <= 0 {
		opts.Threshold = DefaultThreshold
	}
	c := &Curator{opts: opts, products: products, values: map[id]*value{}}
	for _, attrs := range products {
		for _, a := range attrs {
			i := id{a.Key, extract.Fold(a.Value)}
			if i.fold == "" {
				continue
			}
			v := c.values[i]
			if v == nil {
				v = &value{id: i, surfaces: map[string]int{}, tagSurfaces: map[string]int{}, alias: map[string]int{}}
				v.canon = v
				c.values[i] = v
			}
			v.support++
			v.surfaces[a.Value]++
			if a.Source == extract.SourceTag {
				v.tag++
				v.tagSurfaces[a.Value]++
			}
			if a.Surface != "" {
				v.alias[a.Surface]++
			}
		}
	}
	for _, v := range c.values {
		v.display = pickDisplay(v)
		if len(v.surfaces) > 1 {
			m := Merged{Key: v.id.key, Canonical: v.display, Step: StepNormalise}
			for _, s := range sortedByCount(v.surfaces) {
				m.Members = append(m.Members, Member{Value: s, Support: v.surfaces[s]})
			}
			c.merged = append(c.merged, m)
		}
	}
	c.record(StepNormalise)
	return c
}

// pickDisplay chooses a value's surface form: the most frequent one among
// merchant tags when a tag carried it, else the most frequent.
func pickDisplay(v *value) string {
	if len(v.tagSurfaces) > 0 {
		return sortedByCount(v.tagSurfaces)[0]
	}
	return sortedByCount(v.surfaces)[0]
}

func sortedByCount(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// live returns the canonical values still in the vocabulary, sorted by key,
// then tag forms first, then support, then value.
func (c *Curator) live() []*value {
	var out []*value
	for _, v := range c.values {
		if v.dropped == "" && v.canon == v {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.id.key != b.id.key:
			return a.id.key < b.id.key
		case (a.tag > 0) != (b.tag > 0):
			return a.tag > 0
		case a.support != b.support:
			return a.support > b.support
		}
		return a.display < b.display
	})
	return out
}

func (c *Curator) record(step string) {
	sc := StepCount{Step: step, PerKey: map[string]int{}}
	for _, v := range c.live() {
		sc.Values++
		sc.PerKey[v.id.key]++
	}
	c.steps = append(c.steps, sc)
}

// Frequency drops every value carried by fewer than MinSupport products.
func (c *Curator) Frequency() {
	for _, v := range c.live() {
		if v.support < c.opts.MinSupport {
			v.dropped = StepFrequency
			c.removed = append(c.removed, Removed{Key: v.id.key, Value: v.display, Support: v.support, Step: StepFrequency,
				Reason: fmt.Sprintf("support %d < %d", v.support, c.opts.MinSupport)})
		}
	}
	c.record(StepFrequency)
}

// Cluster embeds the surviving values of each key and merges each into the
// first earlier value (tag forms first, then by support) whose cosine
// similarity reaches Threshold. Two merchant-tag values never merge: the
// merchant distinguishes them on purpose ("blue", "navy blue").
func (c *Curator) Cluster(ctx context.Context) error {
	if c.opts.Embedder == nil || c.opts.Threshold > 1 {
		c.record(StepCluster)
		return nil
	}
	live := c.live()
	texts := make([]string, len(live))
	for i, v := range live {
		texts[i] = v.display
	}
	vecs, err := c.opts.Embedder.Embed(ctx, texts)
	if err != nil {
		return fmt.Errorf("cluster values: %w", err)
	}
	if len(vecs) != len(live) {
		return errors.New("cluster values: embedder returned a wrong number of vectors")
	}
	groups := map[*value]*Merged{}
	var heads []int
	for i, v := range live {
		if i > 0 && live[i-1].id.key != v.id.key {
			heads = heads[:0]
		}
		best, bestCos := -1, c.opts.Threshold
		for _, h := range heads {
			if v.tag > 0 && live[h].tag > 0 {
				continue
			}
			if cos := similarity.Cosine(vecs[i], vecs[h]); cos >= bestCos {
				best, bestCos = h, cos
			}
		}
		if best < 0 {
			heads = append(heads, i)
			continue
		}
		h := live[best]
		v.canon, v.cosine = h, bestCos
		m := groups[h]
		if m == nil {
			m = &Merged{Key: h.id.key, Canonical: h.display, Step: StepCluster, Members: []Member{{Value: h.display, Support: h.support}}}
			groups[h] = m
		}
		m.Members = append(m.Members, Member{Value: v.display, Support: v.support, Cosine: math.Round(bestCos*1000) / 1000})
	}
	for _, v := range live {
		if m := groups[v]; m != nil {
			c.merged = append(c.merged, *m)
		}
	}
	c.record(StepCluster)
	return nil
}

// Values returns the canonical values still in the vocabulary, by key,
// with their support (products carrying the value or a merged one).
func (c *Curator) Values() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, attrs := range c.products {
		for _, a := range c.Apply(attrs) {
			m := out[a.Key]
			if m == nil {
				m = map[string]int{}
				out[a.Key] = m
			}
			m[a.Value]++
		}
	}
	return out
}

// Drop removes a canonical value (and what merged into it) for a reason
// found by a later step, such as the judge.
func (c *Curator) Drop(key, val, step, reason string) bool {
	v := c.values[id{key, extract.Fold(val)}]
	if v == nil || v.dropped != "" {
		return false
	}
	v = v.canon
	v.dropped = step
	c.removed = append(c.removed, Removed{Key: key, Value: v.display, Support: v.support, Step: step, Reason: reason})
	return true
}

// RecordStep appends the vocabulary size after a step taken outside the
// curator (such as the judge).
func (c *Curator) RecordStep(step string) { c.record(step) }

// resolve returns the canonical value a raw value maps to, or nil when it
// was dropped.
func (c *Curator) resolve(key, val string) *value {
	v := c.values[id{key, extract.Fold(val)}]
	if v == nil || v.dropped != "" {
		return nil
	}
	v = v.canon
	if v.dropped != "" {
		return nil
	}
	return v
}

// Apply returns a product's curated attributes: each raw attribute mapped
// onto its canonical value, dropped ones left out, one per (key, value)
// with the highest confidence, sorted by key then value.
func (c *Curator) Apply(attrs []extract.Attr) []store.Attribute {
	out := make([]store.Attribute, 0, len(attrs))
	seen := map[store.KV]int{}
	for _, a := range attrs {
		v := c.resolve(a.Key, a.Value)
		if v == nil {
			continue
		}
		kv := store.KV{Key: a.Key, Value: v.display}
		if j, ok := seen[kv]; ok {
			if a.Confidence > out[j].Score {
				out[j].Score, out[j].Source = a.Confidence, a.Source
			}
			continue
		}
		seen[kv] = len(out)
		out = append(out, store.Attribute{Key: a.Key, Value: v.display, Score: a.Confidence, Source: a.Source})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// Vocabulary returns the curated vocabulary: each canonical value with its
// support after curation and its aliases (the other surface forms merged
// into it and the lexicon synonyms it was read from).
func (c *Curator) Vocabulary(version string) vocab.Vocabulary {
	counts := c.Values()
	aliases := map[*value]map[string]bool{}
	for _, v := range c.values {
		if v.dropped != "" || v.canon.dropped != "" {
			continue
		}
		h := v.canon
		set := aliases[h]
		if set == nil {
			set = map[string]bool{}
			aliases[h] = set
		}
		for s := range v.surfaces {
			set[s] = true
		}
		for s := range v.alias {
			set[s] = true
		}
	}
	voc := vocab.Vocabulary{Version: version, Keys: map[string][]vocab.Value{}}
	for _, h := range c.live() {
		n := counts[h.id.key][h.display]
		if n == 0 {
			continue
		}
		al := []string{}
		for s := range aliases[h] {
			if s != h.display {
				al = append(al, s)
			}
		}
		sort.Strings(al)
		voc.Keys[h.id.key] = append(voc.Keys[h.id.key], vocab.Value{Value: h.display, Count: n, Aliases: al})
	}
	for _, vals := range voc.Keys {
		vocab.SortValues(vals)
	}
	return voc
}

// Report returns what each step removed or merged.
func (c *Curator) Report() Report {
	r := Report{MinSupport: c.opts.MinSupport, Threshold: c.opts.Threshold, Steps: c.steps, Removed: c.removed, Merged: c.merged}
	if r.Removed == nil {
		r.Removed = []Removed{}
	}
	if r.Merged == nil {
		r.Merged = []Merged{}
	}
	sort.SliceStable(r.Merged, func(i, j int) bool {
		a, b := r.Merged[i], r.Merged[j]
		if a.Step != b.Step {
			return a.Step > b.Step
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Canonical < b.Canonical
	})
	sort.SliceStable(r.Removed, func(i, j int) bool {
		a, b := r.Removed[i], r.Removed[j]
		if a.Step != b.Step {
			return a.Step < b.Step
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Support != b.Support {
			return a.Support > b.Support
		}
		return a.Value < b.Value
	})
	return r
}

// RawCounts returns the number of raw values (distinct normalised
// (key, value) pairs), per key.
func (c *Curator) RawCounts() (int, map[string]int) {
	per := map[string]int{}
	for i := range c.values {
		per[i.key]++
	}
	return len(c.values), per
}

// Products returns every product's curated attributes, in input order.
func (c *Curator) Products() [][]store.Attribute {
	out := make([][]store.Attribute, len(c.products))
	for i, attrs := range c.products {
		out[i] = c.Apply(attrs)
	}
	return out
}

// Aliases returns the aliases of every canonical value, by key then value.
func (c *Curator) Aliases() map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for k, vals := range c.Vocabulary("").Keys {
		m := map[string][]string{}
		for _, v := range vals {
			m[v.Value] = v.Aliases
		}
		out[k] = m
	}
	return out
}

// RawSupport returns, per key, the sum over raw values of their support.
func (c *Curator) RawSupport() map[string]int {
	out := map[string]int{}
	for i, v := range c.values {
		out[i.key] += v.support
	}
	return out
}
