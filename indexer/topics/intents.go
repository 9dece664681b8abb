package topics

import (
	"cmp"
	"slices"

	"lander/indexer/judge"
	"lander/query"
)

// Volume bands of the search log: the most searched queries that make up
// the first half of the volume are the head, the next 30% the torso, the
// rest the tail.
const (
	HeadShare  = 0.5
	TorsoShare = 0.3
)

// Intent is one search-log query read by the query resolver.
type Intent struct {
	Query string `json:"query"`
	Count int    `json:"count"`
	// Band is head, torso or tail.
	Band string `json:"band"`
	// Attributes are the strict attributes, the tuple the query asks for.
	Attributes []KV `json:"attributes"`
	// Excluded are the attributes the query rules out.
	Excluded []KV `json:"excluded"`
}

// Intents are the mined queries, by volume, highest first.
type Intents []Intent

// Mine resolves every log query and assigns the volume bands. Queries
// with equal counts keep the log's order.
func Mine(r *query.Resolver, log []judge.LogQuery) Intents {
	out := make(Intents, len(log))
	total := 0
	for i, q := range log {
		res := r.Resolve(q.Query)
		in := Intent{Query: q.Query, Count: q.Count, Attributes: []KV{}, Excluded: []KV{}}
		in.Attributes = append(in.Attributes, res.Strict()...)
		in.Excluded = append(in.Excluded, res.Excluded...)
		out[i] = in
		total += q.Count
	}
	slices.SortStableFunc(out, func(a, b Intent) int { return cmp.Compare(b.Count, a.Count) })
	cum := 0
	for i := range out {
		share := float64(cum) / float64(max(total, 1))
		switch {
		case share < HeadShare:
			out[i].Band = "head"
		case share < HeadShare+TorsoShare:
			out[i].Band = "torso"
		default:
			out[i].Band = "tail"
		}
		cum += out[i].Count
	}
	return out
}

// IntentReport summarises the mined intents.
type IntentReport struct {
	Queries int `json:"queries"`
	Volume  int `json:"volume"`
	// Resolved counts the queries (and their volume) with at least one
	// strict attribute.
	Resolved       int    `json:"resolved"`
	ResolvedVolume int    `json:"resolved_volume"`
	Bands          []Band `json:"bands"`
	// Keys is the search volume that names each attribute key.
	Keys map[string]int `json:"keys"`
	// Categories is the search volume that names each category value.
	Categories map[string]int `json:"categories"`
	// Tuples counts the distinct strict tuples.
	Tuples int `json:"tuples"`
	// Thin lists where demand is strong but coverage thin, strongest
	// demand first.
	Thin []Gap `json:"thin"`
	// Unresolved lists the most searched queries that resolved to nothing.
	Unresolved []Intent `json:"unresolved"`
}

// Band is one volume band.
type Band struct {
	Name     string  `json:"name"`
	Queries  int     `json:"queries"`
	Volume   int     `json:"volume"`
	Share    float64 `json:"share"`
	Resolved int     `json:"resolved"`
}

// Gap is a tuple shoppers ask for that the catalog covers thinly (the
// report's Thin) or that no published collection serves (File.Gaps).
type Gap struct {
	Attributes []KV `json:"attributes"`
	// Query is the tuple's most searched phrasing.
	Query  string `json:"query"`
	Band   string `json:"band"`
	Demand int    `json:"demand"`
	// DemandShare is the tuple's share of the resolved volume.
	DemandShare float64 `json:"demand_share"`
	// Supply is the number of products carrying the whole tuple.
	Supply int `json:"supply"`
	// SupplyShare is Supply over the catalog size.
	SupplyShare float64 `json:"supply_share"`
	Reason      string  `json:"reason"`
	// Nearest are the published topics nearest the tuple, nearest first;
	// only the gaps of File.Gaps carry them.
	Nearest []NearTopic `json:"nearest,omitempty"`
}

// maxGaps bounds the lists of the report.
const maxGaps = 25

// thinRatio is the demand share over supply share from which a tuple's
// coverage counts as thin.
const thinRatio = 5

// Report summarises the intents; support counts the products carrying a
// tuple and catalog is the number of products. A tuple has strong demand
// when it is asked in the head or torso; its coverage is thin when fewer
// than minFeed products carry it, or when its share of the demand is
// thinRatio times its share of the catalog.
func (in Intents) Report(support func([]KV) int, minFeed int, catalog int) IntentReport {
	r := IntentReport{Queries: len(in), Keys: map[string]int{}, Categories: map[string]int{}, Thin: []Gap{}, Unresolved: []Intent{}}
	bands := map[string]*Band{}
	for _, name := range []string{"head", "torso", "tail"} {
		bands[name] = &Band{Name: name}
	}
	for _, q := range in {
		r.Volume += q.Count
		b := bands[q.Band]
		b.Queries++
		b.Volume += q.Count
		if len(q.Attributes) == 0 {
			if len(r.Unresolved) < maxGaps {
				r.Unresolved = append(r.Unresolved, q)
			}
			continue
		}
		b.Resolved++
		r.Resolved++
		r.ResolvedVolume += q.Count
		keys := map[string]bool{}
		for _, a := range q.Attributes {
			if !keys[a.Key] {
				r.Keys[a.Key] += q.Count
				keys[a.Key] = true
			}
			if a.Key == "category" {
				r.Categories[a.Value] += q.Count
			}
		}
	}
	for _, name := range []string{"head", "torso", "tail"} {
		b := *bands[name]
		if r.Volume > 0 {
			b.Share = round3(float64(b.Volume) / float64(r.Volume))
		}
		r.Bands = append(r.Bands, b)
	}
	tuples := in.byTuple()
	r.Tuples = len(tuples)
	for _, t := range tuples {
		if !t.strong() {
			continue
		}
		g := t.gap(support, r.ResolvedVolume, catalog)
		switch {
		case g.Supply < minFeed:
			g.Reason = "fewer products than a feed needs"
		case g.thin():
			g.Reason = "demand share far above catalog share"
		default:
			continue
		}
		r.Thin = append(r.Thin, g)
	}
	slices.SortStableFunc(r.Thin, func(a, b Gap) int { return cmp.Compare(b.Demand, a.Demand) })
	if len(r.Thin) > maxGaps {
		r.Thin = r.Thin[:maxGaps]
	}
	return r
}

// asked is one distinct strict tuple of the log: the phrasing and band of
// its most searched query, and the volume of every query that asks it.
type asked struct {
	attrs  []KV
	query  string
	band   string
	demand int
}

// byTuple groups the resolved intents by strict tuple, in the order of
// each tuple's most searched query.
func (in Intents) byTuple() []asked {
	at := map[string]int{}
	var out []asked
	for _, q := range in {
		if len(q.Attributes) == 0 {
			continue
		}
		k := tupleKey(q.Attributes)
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, asked{attrs: q.Attributes, query: q.Query, band: q.Band})
		}
		out[i].demand += q.Count
	}
	return out
}

// strong reports whether the tuple's demand is strong: asked in the head
// or the torso of the log.
func (t asked) strong() bool { return t.band == "head" || t.band == "torso" }

// gap measures the tuple's demand against its supply; resolved is the
// log's resolved volume and catalog the number of products. The reason is
// left to the caller.
func (t asked) gap(support func([]KV) int, resolved, catalog int) Gap {
	g := Gap{Attributes: t.attrs, Query: t.query, Band: t.band, Demand: t.demand, Supply: support(t.attrs)}
	if resolved > 0 {
		g.DemandShare = round3(float64(t.demand) / float64(resolved))
	}
	if catalog > 0 {
		g.SupplyShare = round3(float64(g.Supply) / float64(catalog))
	}
	return g
}

// thin reports whether the gap's share of the demand is thinRatio times
// its share of the catalog or more.
func (g Gap) thin() bool {
	return g.SupplyShare > 0 && g.DemandShare/g.SupplyShare >= thinRatio
}

// demand answers the demand of a tuple from the intents: the volume of the
// queries whose tuple contains it (they are served by its page), plus the
// volume of the queries whose tuple it contains, weighted by the share of
// the topic's attributes they name.
type demand struct {
	exact map[string]float64 // tuple -> volume of intents with that tuple
	super map[string]float64 // tuple -> volume of intents containing it
	top   float64
}

// maxSubsetAttrs bounds the intents whose subsets are enumerated.
const maxSubsetAttrs = 8

func newDemand(in Intents) *demand {
	d := &demand{exact: map[string]float64{}, super: map[string]float64{}}
	for _, q := range in {
		n := len(q.Attributes)
		if n == 0 || n > maxSubsetAttrs {
			continue
		}
		d.exact[tupleKey(q.Attributes)] += float64(q.Count)
		for mask := 1; mask < 1<<n; mask++ {
			sub := make([]KV, 0, n)
			for i := range n {
				if mask&(1<<i) != 0 {
					sub = append(sub, q.Attributes[i])
				}
			}
			k := tupleKey(sub)
			d.super[k] += float64(q.Count)
			d.top = max(d.top, d.super[k])
		}
	}
	return d
}

func (d *demand) max() float64 { return d.top }

// of returns the demand of a tuple.
func (d *demand) of(attrs []KV) float64 {
	v := d.super[tupleKey(attrs)]
	n := len(attrs)
	if n > maxSubsetAttrs {
		return v
	}
	for mask := 1; mask < 1<<n-1; mask++ {
		sub := make([]KV, 0, n)
		for i := range n {
			if mask&(1<<i) != 0 {
				sub = append(sub, attrs[i])
			}
		}
		v += d.exact[tupleKey(sub)] * float64(len(sub)) / float64(n)
	}
	return v
}
