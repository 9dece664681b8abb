package topics

import (
	"cmp"
	"slices"
	"strings"
)

// Reasons of a demand gap (Gap.Reason in File.Gaps).
const (
	// ReasonNoProducts: no product carries the whole tuple.
	ReasonNoProducts = "no products"
	// ReasonThinSupply: products carry it, but fewer than a feed needs, or
	// its share of the demand is far above its share of the catalog.
	ReasonThinSupply = "thin supply"
	// ReasonUnserved: the catalog covers it, but no published topic has
	// exactly its attributes.
	ReasonUnserved = "no published collection"
)

// MaxGaps bounds File.Gaps.
const MaxGaps = 200

// MinGapDemand is the demand (searches, summed over a tuple's phrasings)
// from which a tuple of the log's tail counts as strongly asked for gaps;
// head and torso tuples always do. It is about the mean volume of a tail
// query in the synthetic log, so a tuple asked a few times is noise, while
// one asked steadily is listed.
const MinGapDemand = 20

// MaxNearest bounds the nearest topics of a gap.
const MaxNearest = 3

// NearTopic is a published topic near a gap's tuple.
type NearTopic struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
	Size  int    `json:"size"`
	// Shared is the number of the gap's attributes the topic has.
	Shared int `json:"shared"`
}

// Gaps returns where demand has no collection: the tuples with strong
// demand (asked in the head or torso of the log, as Report defines it, or
// at least MinGapDemand times in its tail)
// that no product carries, that the catalog covers thinly (Report's thin
// rule: fewer than minFeed products, or a demand share thinRatio times the
// catalog share), or that no published topic serves (none has exactly the
// tuple's attributes, compared as sets). support counts the products
// carrying a tuple and catalog is the number of products.
//
// The gaps come by demand, highest first, then by query, at most MaxGaps;
// each names up to MaxNearest published topics sharing most of its
// attributes, ties going to the higher score, then the slug.
func (in Intents) Gaps(support func([]KV) int, minFeed, catalog int, topics []Topic) []Gap {
	served := map[string]bool{}
	for _, t := range topics {
		if t.Published {
			served[tupleKey(t.Attributes)] = true
		}
	}
	resolved := 0
	for _, q := range in {
		if len(q.Attributes) > 0 {
			resolved += q.Count
		}
	}
	out := []Gap{}
	for _, t := range in.byTuple() {
		if !t.strong() && t.demand < MinGapDemand {
			continue
		}
		g := t.gap(support, resolved, catalog)
		switch {
		case g.Supply == 0:
			g.Reason = ReasonNoProducts
		case g.Supply < minFeed || g.thin():
			g.Reason = ReasonThinSupply
		case !served[tupleKey(g.Attributes)]:
			g.Reason = ReasonUnserved
		default:
			continue
		}
		out = append(out, g)
	}
	slices.SortStableFunc(out, func(a, b Gap) int {
		if c := cmp.Compare(b.Demand, a.Demand); c != 0 {
			return c
		}
		return strings.Compare(a.Query, b.Query)
	})
	out = slices.Clip(out[:min(len(out), MaxGaps)])
	for i := range out {
		out[i].Nearest = nearest(out[i].Attributes, topics)
	}
	return out
}

// nearest returns up to MaxNearest of the published topics that share at
// least one attribute with tuple: most shared first, then the fewest
// other attributes, then the higher score, then the slug.
func nearest(tuple []KV, topics []Topic) []NearTopic {
	type near struct {
		t      *Topic
		shared int
	}
	var cands []near
	for i := range topics {
		t := &topics[i]
		if !t.Published {
			continue
		}
		n := 0
		for _, a := range t.Attributes {
			if slices.Contains(tuple, a) {
				n++
			}
		}
		if n > 0 {
			cands = append(cands, near{t, n})
		}
	}
	slices.SortFunc(cands, func(a, b near) int {
		if c := cmp.Compare(b.shared, a.shared); c != 0 {
			return c
		}
		// Fewer attributes beyond the shared ones: the closer collection.
		if c := cmp.Compare(len(a.t.Attributes), len(b.t.Attributes)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.t.Score.Score, a.t.Score.Score); c != 0 {
			return c
		}
		return strings.Compare(a.t.Slug, b.t.Slug)
	})
	out := make([]NearTopic, 0, min(len(cands), MaxNearest))
	for _, c := range cands[:min(len(cands), MaxNearest)] {
		out = append(out, NearTopic{Slug: c.t.Slug, Title: c.t.Title, Size: c.t.Size, Shared: c.shared})
	}
	return out
}
