// Package collectioneval measures the collections of a generation against
// a catalog's true labels, as the contract's evaluation does: for each
// published collection, the fraction of its top 10 products whose labels
// match every attribute of its tuple (Precision@10), averaged over all
// collections and per attribute family (the collections whose tuple holds
// that key); topic counts content-first against the search-log baseline;
// and the distribution of feed sizes.
package collectioneval

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"lander/eval/labels"
	"lander/indexer/topics"
)

// K is the depth of the precision.
const K = 10

// Family is the precision of the collections whose tuple holds one key.
type Family struct {
	Key         string  `json:"key"`
	Collections int     `json:"collections"`
	Precision   float64 `json:"precision_at_10"`
	// AttributeAccuracy is the share of top-10 products whose labels
	// match this key's value alone.
	AttributeAccuracy float64 `json:"attribute_accuracy"`
	// Slots and Right count the judged top-10 slots and those whose
	// labels match every attribute.
	Slots int `json:"slots"`
	Right int `json:"right"`
	// Interval is the 95% Wilson score interval of Right over Slots: how
	// far the precision may move on another sample of products. It treats
	// slots as independent; a product shown by several collections of the
	// family makes the true interval wider.
	Interval [2]float64 `json:"interval_95"`
}

// Collection is one collection's precision.
type Collection struct {
	Slug       string      `json:"slug"`
	Title      string      `json:"title"`
	Attributes []topics.KV `json:"attributes"`
	Size       int         `json:"size"`
	Judged     int         `json:"judged"`
	Precision  float64     `json:"precision_at_10"`
	Wrong      []WrongSlot `json:"wrong,omitempty"`
}

// WrongSlot is a top-10 product whose labels disagree.
type WrongSlot struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Missed []string `json:"missed"`
	// TitleConflict says that the product's own title names every value
	// its labels deny ("Rocia Women Black Flats" labelled Heels): the
	// catalogue contradicts itself, and a merchandiser should fix the
	// label or the title.
	TitleConflict bool `json:"title_conflict,omitempty"`
}

// Conflict is a product whose own title names a value that its label
// denies, shown in the top 10 of published collections of that value: a
// row of the catalogue for a merchandiser to correct.
type Conflict struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Named lists each value the title names against its label
	// ("category=flats, labelled Heels").
	Named []string `json:"named"`
	// Collections are the slugs of the collections showing it.
	Collections []string `json:"collections"`
}

// Bucket is one bin of the size distribution.
type Bucket struct {
	Label string `json:"label"`
	Min   int    `json:"min"`
	Max   int    `json:"max"` // inclusive; 0 means no bound
	Count int    `json:"count"`
}

// Side is the evaluation of one set of collections.
type Side struct {
	Generated int     `json:"generated"`
	Published int     `json:"published"`
	Judged    int     `json:"judged"`
	Precision float64 `json:"precision_at_10"`
	// Slots, Right and Interval are Family's, over every judged
	// collection.
	Slots    int        `json:"slots"`
	Right    int        `json:"right"`
	Interval [2]float64 `json:"interval_95"`
	// TitleConflicts counts the wrong slots that are title/label
	// conflicts (WrongSlot.TitleConflict).
	TitleConflicts int `json:"title_conflicts"`
	// Conflicts lists the products behind those slots, most shown first.
	Conflicts []Conflict   `json:"conflicts"`
	Families  []Family     `json:"families"`
	Sizes     []Bucket     `json:"sizes"`
	Arity     map[int]int  `json:"arity"`
	Worst     []Collection `json:"worst"`
	// SharedTitles counts the published collections whose title another
	// published collection also has.
	SharedTitles int `json:"shared_titles"`
}

// Report compares content-first collections with the baseline.
type Report struct {
	Content  Side `json:"content"`
	Baseline Side `json:"baseline"`
	// Ratio is content published over baseline published.
	Ratio float64 `json:"ratio"`
	// Unlabelled counts top-10 products without labels (skipped).
	Unlabelled int `json:"unlabelled"`
}

// maxWorst bounds the worst collections listed.
const maxWorst = 50

// Evaluate scores the published collections of f against the labels.
func Evaluate(f topics.File, l labels.Set) Report {
	var r Report
	r.Content = side(f.Topics, l, &r.Unlabelled)
	r.Baseline = side(f.Baseline, l, &r.Unlabelled)
	if r.Baseline.Published > 0 {
		r.Ratio = float64(r.Content.Published) / float64(r.Baseline.Published)
	}
	return r
}

func buckets() []Bucket {
	return []Bucket{{"10-19", 10, 19, 0}, {"20-49", 20, 49, 0}, {"50-99", 50, 99, 0}, {"100-199", 100, 199, 0},
		{"200-499", 200, 499, 0}, {"500-999", 500, 999, 0}, {"1000+", 1000, 0, 0}}
}

func side(ts []topics.Topic, l labels.Set, unlabelled *int) Side {
	s := Side{Generated: len(ts), Families: []Family{}, Sizes: buckets(), Arity: map[int]int{}, Worst: []Collection{}}
	type fam struct {
		n, slots, right int
		prec, acc       float64
	}
	fams := map[string]*fam{}
	conflicts := map[string]*Conflict{}
	var all []Collection
	total := 0.0
	titles := map[string]int{}
	for _, t := range ts {
		if t.Published {
			titles[t.Title]++
		}
	}
	for _, n := range titles {
		if n > 1 {
			s.SharedTitles += n
		}
	}
	for _, t := range ts {
		if !t.Published {
			continue
		}
		s.Published++
		s.Arity[len(t.Attributes)]++
		for i := range s.Sizes {
			b := &s.Sizes[i]
			if t.Size >= b.Min && (b.Max == 0 || t.Size <= b.Max) {
				b.Count++
			}
		}
		c := Collection{Slug: t.Slug, Title: t.Title, Attributes: t.Attributes, Size: t.Size}
		right := 0
		keyRight := map[string]int{}
		for _, slot := range t.Feed[:min(K, len(t.Feed))] {
			p := l[slot.ID]
			if p == nil {
				*unlabelled++
				continue
			}
			c.Judged++
			// named are the missed values that the product's title names
			// against its label; a slot whose misses all are is a conflict.
			var missed, named []string
			for _, a := range t.Attributes {
				if p.Match(a.Key, a.Value) {
					keyRight[a.Key]++
					continue
				}
				missed = append(missed, a.Key+"="+a.Value)
				if labels.Judged(a.Key) && p.TitleNames(a.Value) {
					named = append(named, fmt.Sprintf("%s=%s, labelled %s", a.Key, a.Value, p.Label(a.Key)))
				}
			}
			if len(missed) == 0 {
				right++
				continue
			}
			w := WrongSlot{ID: slot.ID, Title: p.Title, Missed: missed, TitleConflict: len(named) == len(missed)}
			if w.TitleConflict {
				s.TitleConflicts++
				cf := conflicts[slot.ID]
				if cf == nil {
					cf = &Conflict{ID: slot.ID, Title: p.Title}
					conflicts[slot.ID] = cf
				}
				cf.Collections = append(cf.Collections, t.Slug)
				for _, n := range named {
					if !slices.Contains(cf.Named, n) {
						cf.Named = append(cf.Named, n)
					}
				}
			}
			c.Wrong = append(c.Wrong, w)
		}
		if c.Judged == 0 {
			continue
		}
		s.Judged++
		s.Slots += c.Judged
		s.Right += right
		c.Precision = float64(right) / float64(c.Judged)
		total += c.Precision
		seen := map[string]bool{}
		for _, a := range t.Attributes {
			if seen[a.Key] {
				continue
			}
			seen[a.Key] = true
			f := fams[a.Key]
			if f == nil {
				f = &fam{}
				fams[a.Key] = f
			}
			f.n++
			f.slots += c.Judged
			f.right += right
			f.prec += c.Precision
			f.acc += float64(keyRight[a.Key]) / float64(c.Judged)
		}
		all = append(all, c)
	}
	if s.Judged > 0 {
		s.Precision = total / float64(s.Judged)
	}
	s.Conflicts = []Conflict{}
	for _, cf := range conflicts {
		s.Conflicts = append(s.Conflicts, *cf)
	}
	slices.SortFunc(s.Conflicts, func(a, b Conflict) int {
		if c := cmp.Compare(len(b.Collections), len(a.Collections)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	s.Interval = Wilson(s.Right, s.Slots)
	for k, f := range fams {
		s.Families = append(s.Families, Family{Key: k, Collections: f.n, Precision: f.prec / float64(f.n), AttributeAccuracy: f.acc / float64(f.n),
			Slots: f.slots, Right: f.right, Interval: Wilson(f.right, f.slots)})
	}
	slices.SortFunc(s.Families, func(a, b Family) int {
		if c := cmp.Compare(b.Collections, a.Collections); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	slices.SortStableFunc(all, func(a, b Collection) int {
		if c := cmp.Compare(a.Precision, b.Precision); c != 0 {
			return c
		}
		return cmp.Compare(b.Size, a.Size)
	})
	for _, c := range all {
		if c.Precision >= 1 || len(s.Worst) == maxWorst {
			break
		}
		s.Worst = append(s.Worst, c)
	}
	return s
}

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959964

// Wilson returns the 95% Wilson score interval of right successes in n
// trials; [0, 1] when n is 0. Unlike the normal approximation it stays
// within [0, 1] and is not degenerate at 0 or n successes, which matters
// for a family of a few collections.
func Wilson(right, n int) [2]float64 {
	if n <= 0 {
		return [2]float64{0, 1}
	}
	p, fn, z2 := float64(right)/float64(n), float64(n), z95*z95
	centre := (p + z2/(2*fn)) / (1 + z2/fn)
	half := z95 * math.Sqrt(p*(1-p)/fn+z2/(4*fn*fn)) / (1 + z2/fn)
	lo, hi := max(0, centre-half), min(1, centre+half)
	// At 0 or n successes the bound is exactly 0 or 1; rounding must not
	// exclude the proportion itself.
	if right == 0 {
		lo = 0
	}
	if right >= n {
		hi = 1
	}
	return [2]float64{lo, hi}
}
