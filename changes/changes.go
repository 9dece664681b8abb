// Package changes tells what changed between two index generations: the
// vocabulary values added, removed, merged into another value or renamed;
// the topics added, removed, published and unpublished; the feeds whose
// first products moved; and the merchandiser overrides whose collection
// the newer generation no longer has. Load reads what a comparison needs
// from a generation folder, Compare compares two generations, and History
// answers for the generations a data directory keeps, caching what it
// computed.
package changes

import (
	"encoding/json"
	"math"
	"slices"
	"sort"

	"lander/datadir"
	"lander/vocab"
)

// FeedDepth is how many of a feed's first products a comparison looks at.
const FeedDepth = 24

// Generation is what a comparison reads of one index generation.
type Generation struct {
	// Manifest is the generation's manifest (number, name, counts).
	Manifest datadir.Manifest
	// Vocabulary holds the curated values of each key with their support
	// and aliases.
	Vocabulary vocab.Vocabulary
	// Merged holds the merge groups of the generation's curation report.
	Merged []MergeGroup
	// Topics holds the generation's content topics in file order.
	Topics []Topic
}

// MergeGroup is one merge group of a curation report: the surface forms
// of a key that curation made one value.
type MergeGroup struct {
	// Key is the attribute key.
	Key string
	// Canonical is the value the members became.
	Canonical string
	// Members lists the merged values; it may include Canonical itself.
	Members []string
}

// Topic is what a comparison reads of one topic.
type Topic struct {
	// Slug names the topic's collection.
	Slug string
	// Title is the collection's title.
	Title string
	// Attributes is the topic's tuple, anchor first.
	Attributes []vocab.KV
	// Size is the number of products that carry every attribute.
	Size int
	// Published tells whether the publish rule let the topic through.
	Published bool
	// Feed holds the ids of the feed's first FeedDepth products, best
	// first.
	Feed []string
}

// Diff is what changed from one generation to another. Every list is
// sorted and never null.
type Diff struct {
	// From is the older generation's number (the one compared against).
	From int `json:"from"`
	// To is the newer generation's number.
	To int `json:"to"`
	// Vocabulary holds the changes of the attribute vocabulary.
	Vocabulary VocabularyChanges `json:"vocabulary"`
	// Topics holds the changes of the topics and their feeds.
	Topics TopicChanges `json:"topics"`
	// Overrides holds the merchandiser overrides the change affects.
	Overrides OverrideChanges `json:"overrides"`
	// Summary counts every list and sizes both generations.
	Summary Summary `json:"summary"`
}

// VocabularyChanges lists the vocabulary values that changed. Each value
// of From missing from To is listed once: as merged, renamed or removed.
type VocabularyChanges struct {
	// Added lists the values of To that From lacks (and that are not the
	// new name of a renamed value), with their support in To.
	Added []Value `json:"added"`
	// Removed lists the values of From that To lacks and that did not go
	// into another value, with their support in From.
	Removed []Value `json:"removed"`
	// Merged lists the values of From that went into another value that
	// From already had.
	Merged []Merge `json:"merged"`
	// Renamed lists the values of From that went into a value new in To.
	Renamed []Rename `json:"renamed"`
}

// Value is one vocabulary value with its support.
type Value struct {
	// Key is the attribute key.
	Key string `json:"key"`
	// Value is the vocabulary value.
	Value string `json:"value"`
	// Count is the value's support in the generation that has it.
	Count int `json:"count"`
}

// Merge is a value that went into another value both generations have.
type Merge struct {
	// Key is the attribute key.
	Key string `json:"key"`
	// From is the value the later generation lacks.
	From string `json:"from"`
	// Into is the value it went into.
	Into string `json:"into"`
}

// Rename is a value that went into a value new in the later generation.
type Rename struct {
	// Key is the attribute key.
	Key string `json:"key"`
	// From is the value the later generation lacks.
	From string `json:"from"`
	// To is the new value it went into.
	To string `json:"to"`
}

// TopicChanges lists the topics that changed, by slug.
type TopicChanges struct {
	// Added lists the topics only To has.
	Added []string `json:"added"`
	// Removed lists the topics only From has.
	Removed []string `json:"removed"`
	// Published lists the topics of both that To publishes and From did
	// not.
	Published []string `json:"published"`
	// Unpublished lists the topics of both that From published and To
	// does not.
	Unpublished []string `json:"unpublished"`
	// FeedChanged lists the topics of both whose first FeedDepth products
	// or whose size changed, the biggest change first.
	FeedChanged []FeedChange `json:"feed_changed"`
}

// FeedChange is a topic whose feed moved.
type FeedChange struct {
	// Slug names the topic.
	Slug string `json:"slug"`
	// OverlapAt24 is the share of the first FeedDepth products the two
	// feeds have in common: the size of the intersection over the larger
	// of the two, rounded to 3 decimals (1 when both are empty).
	OverlapAt24 float64 `json:"overlap_at_24"`
	// SizeFrom is the topic's size in From.
	SizeFrom int `json:"size_from"`
	// SizeTo is the topic's size in To.
	SizeTo int `json:"size_to"`
}

// OverrideChanges lists the merchandiser overrides that the change
// affects. Overrides are reported, never dropped or modified.
type OverrideChanges struct {
	// Orphaned lists the slugs of overrides whose collection To does not
	// have.
	Orphaned []string `json:"orphaned"`
}

// Summary counts each list of a Diff and sizes both generations.
type Summary struct {
	// The lengths of the Diff's lists.
	VocabularyAdded   int `json:"vocabulary_added"`
	VocabularyRemoved int `json:"vocabulary_removed"`
	VocabularyMerged  int `json:"vocabulary_merged"`
	VocabularyRenamed int `json:"vocabulary_renamed"`
	TopicsAdded       int `json:"topics_added"`
	TopicsRemoved     int `json:"topics_removed"`
	TopicsPublished   int `json:"topics_published"`
	TopicsUnpublished int `json:"topics_unpublished"`
	FeedChanged       int `json:"feed_changed"`
	OverridesOrphaned int `json:"overrides_orphaned"`
	// The sizes of both generations: products indexed (from the
	// manifests), topics and published topics, vocabulary values.
	ProductsFrom   int `json:"products_from"`
	ProductsTo     int `json:"products_to"`
	TopicsFrom     int `json:"topics_from"`
	TopicsTo       int `json:"topics_to"`
	PublishedFrom  int `json:"published_from"`
	PublishedTo    int `json:"published_to"`
	VocabularyFrom int `json:"vocabulary_from"`
	VocabularyTo   int `json:"vocabulary_to"`
}

// Compare tells what changed from generation from to generation to.
// overrides are the merchandiser overrides keyed by collection slug (as
// LoadOverrides reads them); only their keys are read.
//
// A value X of from that to lacks was merged into Y when to's curation
// report lists X as a member of Y's merge group, or to's vocabulary lists X
// as an alias of Y (following merges of merges until a value to has), and
// from already had Y; it was renamed to Y when from did not have Y, and Y
// is then not listed as added. Topics are matched by slug.
func Compare(from, to Generation, overrides map[string]json.RawMessage) Diff {
	c := compare(from, to)
	return c.withOverrides(overrides)
}

// comparison is a Diff without its overrides, with what they are checked
// against: History caches it, since generations never change but
// overrides do.
type comparison struct {
	diff  Diff
	slugs map[string]bool // the topics of to
}

// withOverrides completes the diff with the overrides, copying every list
// so that the caller owns what it gets.
func (c comparison) withOverrides(overrides map[string]json.RawMessage) Diff {
	d := c.diff
	d.Vocabulary = VocabularyChanges{
		Added:   clone(d.Vocabulary.Added),
		Removed: clone(d.Vocabulary.Removed),
		Merged:  clone(d.Vocabulary.Merged),
		Renamed: clone(d.Vocabulary.Renamed),
	}
	d.Topics = TopicChanges{
		Added:       clone(d.Topics.Added),
		Removed:     clone(d.Topics.Removed),
		Published:   clone(d.Topics.Published),
		Unpublished: clone(d.Topics.Unpublished),
		FeedChanged: clone(d.Topics.FeedChanged),
	}
	orphaned := []string{}
	for slug := range overrides {
		if !c.slugs[slug] {
			orphaned = append(orphaned, slug)
		}
	}
	sort.Strings(orphaned)
	d.Overrides = OverrideChanges{Orphaned: orphaned}
	d.Summary.OverridesOrphaned = len(orphaned)
	return d
}

// clone copies s, never returning nil.
func clone[T any](s []T) []T { return append(make([]T, 0, len(s)), s...) }

func compare(from, to Generation) comparison {
	d := Diff{From: from.Manifest.Generation, To: to.Manifest.Generation}
	d.Vocabulary = compareVocabulary(from, to)
	topics, slugs := compareTopics(from.Topics, to.Topics)
	d.Topics = topics
	d.Summary = Summary{
		VocabularyAdded:   len(d.Vocabulary.Added),
		VocabularyRemoved: len(d.Vocabulary.Removed),
		VocabularyMerged:  len(d.Vocabulary.Merged),
		VocabularyRenamed: len(d.Vocabulary.Renamed),
		TopicsAdded:       len(d.Topics.Added),
		TopicsRemoved:     len(d.Topics.Removed),
		TopicsPublished:   len(d.Topics.Published),
		TopicsUnpublished: len(d.Topics.Unpublished),
		FeedChanged:       len(d.Topics.FeedChanged),
		ProductsFrom:      from.Manifest.Counts["products"],
		ProductsTo:        to.Manifest.Counts["products"],
		TopicsFrom:        countTopics(from.Topics, false),
		TopicsTo:          len(slugs),
		PublishedFrom:     countTopics(from.Topics, true),
		PublishedTo:       countTopics(to.Topics, true),
		VocabularyFrom:    from.Vocabulary.Size(),
		VocabularyTo:      to.Vocabulary.Size(),
	}
	d.Overrides = OverrideChanges{Orphaned: []string{}}
	return comparison{diff: d, slugs: slugs}
}

// kv is one (key, value) of a vocabulary.
type kv struct{ key, value string }

// maxChain bounds the merges of merges followed to find where a value went.
const maxChain = 16

func compareVocabulary(from, to Generation) VocabularyChanges {
	before, after := counts(from.Vocabulary), counts(to.Vocabulary)

	// into maps a value to the value it became in to: merge groups first,
	// then the aliases of to's vocabulary, which are its final word.
	into := map[kv]string{}
	for _, g := range to.Merged {
		for _, m := range g.Members {
			if m != g.Canonical {
				into[kv{g.Key, m}] = g.Canonical
			}
		}
	}
	for key, vals := range to.Vocabulary.Keys {
		for _, v := range vals {
			for _, a := range v.Aliases {
				if a != v.Value {
					into[kv{key, a}] = v.Value
				}
			}
		}
	}
	// became follows x's merges until a value that to has.
	became := func(x kv) (string, bool) {
		cur := x
		for range maxChain {
			next, ok := into[cur]
			if !ok {
				return "", false
			}
			cur = kv{x.key, next}
			if _, ok := after[cur]; ok {
				return next, true
			}
		}
		return "", false
	}

	ch := VocabularyChanges{Added: []Value{}, Removed: []Value{}, Merged: []Merge{}, Renamed: []Rename{}}
	renamedTo := map[kv]bool{}
	for x, n := range before {
		if _, ok := after[x]; ok {
			continue
		}
		y, ok := became(x)
		switch _, had := before[kv{x.key, y}]; {
		case !ok:
			ch.Removed = append(ch.Removed, Value{Key: x.key, Value: x.value, Count: n})
		case had:
			ch.Merged = append(ch.Merged, Merge{Key: x.key, From: x.value, Into: y})
		default:
			ch.Renamed = append(ch.Renamed, Rename{Key: x.key, From: x.value, To: y})
			renamedTo[kv{x.key, y}] = true
		}
	}
	for y, n := range after {
		if _, ok := before[y]; !ok && !renamedTo[y] {
			ch.Added = append(ch.Added, Value{Key: y.key, Value: y.value, Count: n})
		}
	}
	byValue := func(vs []Value) {
		sort.Slice(vs, func(i, j int) bool {
			if vs[i].Key != vs[j].Key {
				return vs[i].Key < vs[j].Key
			}
			return vs[i].Value < vs[j].Value
		})
	}
	byValue(ch.Added)
	byValue(ch.Removed)
	sort.Slice(ch.Merged, func(i, j int) bool {
		a, b := ch.Merged[i], ch.Merged[j]
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.From < b.From
	})
	sort.Slice(ch.Renamed, func(i, j int) bool {
		a, b := ch.Renamed[i], ch.Renamed[j]
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.From < b.From
	})
	return ch
}

// counts maps each value of v to its support.
func counts(v vocab.Vocabulary) map[kv]int {
	out := make(map[kv]int, v.Size())
	for key, vals := range v.Keys {
		for _, val := range vals {
			out[kv{key, val.Value}] = val.Count
		}
	}
	return out
}

// compareTopics compares the topics by slug; it also returns the slugs
// of to. A slug listed twice counts once, as its first topic.
func compareTopics(from, to []Topic) (TopicChanges, map[string]bool) {
	before, after := bySlug(from), bySlug(to)
	ch := TopicChanges{Added: []string{}, Removed: []string{}, Published: []string{}, Unpublished: []string{}, FeedChanged: []FeedChange{}}
	slugs := make(map[string]bool, len(after))
	for slug, b := range after {
		slugs[slug] = true
		a, ok := before[slug]
		if !ok {
			ch.Added = append(ch.Added, slug)
			continue
		}
		switch {
		case !a.Published && b.Published:
			ch.Published = append(ch.Published, slug)
		case a.Published && !b.Published:
			ch.Unpublished = append(ch.Unpublished, slug)
		}
		fa, fb := top(a.Feed), top(b.Feed)
		if a.Size != b.Size || !slices.Equal(fa, fb) {
			ch.FeedChanged = append(ch.FeedChanged, FeedChange{Slug: slug, OverlapAt24: overlap(fa, fb), SizeFrom: a.Size, SizeTo: b.Size})
		}
	}
	for slug := range before {
		if _, ok := after[slug]; !ok {
			ch.Removed = append(ch.Removed, slug)
		}
	}
	sort.Strings(ch.Added)
	sort.Strings(ch.Removed)
	sort.Strings(ch.Published)
	sort.Strings(ch.Unpublished)
	sort.Slice(ch.FeedChanged, func(i, j int) bool {
		a, b := ch.FeedChanged[i], ch.FeedChanged[j]
		if a.OverlapAt24 != b.OverlapAt24 {
			return a.OverlapAt24 < b.OverlapAt24
		}
		if da, db := abs(a.SizeTo-a.SizeFrom), abs(b.SizeTo-b.SizeFrom); da != db {
			return da > db
		}
		return a.Slug < b.Slug
	})
	return ch, slugs
}

func bySlug(ts []Topic) map[string]*Topic {
	out := make(map[string]*Topic, len(ts))
	for i := range ts {
		if _, ok := out[ts[i].Slug]; !ok {
			out[ts[i].Slug] = &ts[i]
		}
	}
	return out
}

// countTopics counts the distinct slugs of ts, only the published ones
// when published is set.
func countTopics(ts []Topic, published bool) int {
	n := 0
	for _, t := range bySlug(ts) {
		if !published || t.Published {
			n++
		}
	}
	return n
}

// top returns the first FeedDepth ids of a feed.
func top(feed []string) []string { return feed[:min(len(feed), FeedDepth)] }

// overlap is |a ∩ b| / max(|a|, |b|) over distinct ids, rounded to 3
// decimals; 1 when both are empty.
func overlap(a, b []string) float64 {
	sa := make(map[string]bool, len(a))
	for _, id := range a {
		sa[id] = true
	}
	sb := make(map[string]bool, len(b))
	common := 0
	for _, id := range b {
		if !sb[id] {
			sb[id] = true
			if sa[id] {
				common++
			}
		}
	}
	den := max(len(sa), len(sb))
	if den == 0 {
		return 1
	}
	return math.Round(float64(common)/float64(den)*1000) / 1000
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
