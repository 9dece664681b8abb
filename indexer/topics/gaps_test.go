package topics

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"lander/indexer/judge"
)

// kvs builds a tuple from key, value pairs.
func kvs(pairs ...string) []KV {
	var out []KV
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, KV{Key: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func TestGapRule(t *testing.T) {
	blackShirtsMen := kvs("category", "shirts", "color", "black", "gender", "men")
	// The log: 1000 searches. The head and torso are the first 80% of the
	// volume; "silk scarves" and the unresolved query are the tail.
	in := Intents{
		{Query: "black shirts for men", Count: 300, Band: "head", Attributes: blackShirtsMen},
		{Query: "white dresses", Count: 250, Band: "head", Attributes: kvs("category", "dresses", "color", "white")},
		{Query: "watches", Count: 150, Band: "torso", Attributes: kvs("category", "watches")},
		{Query: "red shoes", Count: 100, Band: "torso", Attributes: kvs("category", "shoes", "color", "red")},
		{Query: "zeta shirts", Count: 60, Band: "torso", Attributes: kvs("category", "shirts", "brand", "zeta")},
		{Query: "mens black shirts", Count: 40, Band: "tail", Attributes: kvs("gender", "men", "color", "black", "category", "shirts")},
		{Query: "silk scarves", Count: 50, Band: "tail", Attributes: kvs("category", "scarves", "material", "silk")},
		{Query: "gift ideas", Count: 50, Band: "tail", Attributes: []KV{}},
	}
	supply := map[string]int{
		tupleKey(blackShirtsMen):                                 120,
		tupleKey(kvs("category", "dresses", "color", "white")):   90,
		tupleKey(kvs("category", "watches")):                     5,  // fewer than a feed
		tupleKey(kvs("category", "shirts", "brand", "zeta")):     12, // a 1.2% catalog share for a 6.3% demand share
		tupleKey(kvs("category", "scarves", "material", "silk")): 0,
	}
	support := func(a []KV) int { return supply[tupleKey(a)] }
	published := []Topic{
		// The same tuple in another order serves the demand.
		{Slug: "black-shirts-men", Title: "Black Shirts for Men", Published: true, Size: 120, Attributes: kvs("category", "shirts", "gender", "men", "color", "black"), Score: Parts{Score: 0.9}},
		{Slug: "white-dresses", Title: "White Dresses", Published: false, Size: 90, Attributes: kvs("category", "dresses", "color", "white"), Score: Parts{Score: 0.8}},
		{Slug: "dresses", Title: "Dresses", Published: true, Size: 400, Attributes: kvs("category", "dresses"), Score: Parts{Score: 0.5}},
		{Slug: "white-dresses-women", Title: "White Dresses for Women", Published: true, Size: 80, Attributes: kvs("category", "dresses", "color", "white", "gender", "women"), Score: Parts{Score: 0.4}},
		{Slug: "white-tops", Title: "White Tops", Published: true, Size: 30, Attributes: kvs("category", "tops", "color", "white"), Score: Parts{Score: 0.6}},
		{Slug: "red-dresses", Title: "Red Dresses", Published: true, Size: 30, Attributes: kvs("category", "dresses", "color", "red"), Score: Parts{Score: 0.7}},
	}
	gaps := in.Gaps(support, 10, 1000, published)
	var got []string
	for _, g := range gaps {
		var near []string
		for _, n := range g.Nearest {
			near = append(near, fmt.Sprintf("%s/%d", n.Slug, n.Shared))
		}
		got = append(got, fmt.Sprintf("%s|%s|%d %.3f|%d %.3f|%s|%s", g.Query, g.Band, g.Demand, g.DemandShare, g.Supply, g.SupplyShare, g.Reason, strings.Join(near, ",")))
	}
	want := []string{
		// Published only as an unpublished topic: a gap; nearest by shared
		// attributes, then the fewest others, then score.
		"white dresses|head|250 0.263|90 0.090|no published collection|white-dresses-women/2,dresses/1,red-dresses/1",
		"watches|torso|150 0.158|5 0.005|thin supply|",
		"red shoes|torso|100 0.105|0 0.000|no products|red-dresses/1",
		"zeta shirts|torso|60 0.063|12 0.012|thin supply|black-shirts-men/1",
		// Asked steadily in the tail (at least MinGapDemand): a gap.
		"silk scarves|tail|50 0.053|0 0.000|no products|",
	}
	if !slices.Equal(got, want) {
		t.Errorf("gaps\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The tail's volume counts towards a strong tuple's demand.
	for _, g := range gaps {
		if g.Query == "black shirts for men" {
			t.Errorf("a tuple served by a published topic is a gap: %+v", g)
		}
	}
}

func TestGapRuleCases(t *testing.T) {
	shirts := kvs("category", "shirts", "color", "black")
	for _, tc := range []struct {
		name   string
		band   string
		supply int
		topics []Topic
		want   string // "" means no gap
	}{
		{"served by a published topic", "head", 50, []Topic{{Slug: "s", Published: true, Attributes: kvs("color", "black", "category", "shirts")}}, ""},
		{"supply but no published topic", "head", 50, nil, ReasonUnserved},
		{"only an unpublished topic", "torso", 50, []Topic{{Slug: "s", Attributes: shirts}}, ReasonUnserved},
		{"a published topic with one more attribute", "head", 50, []Topic{{Slug: "s", Published: true, Attributes: kvs("category", "shirts", "color", "black", "gender", "men")}}, ReasonUnserved},
		{"fewer products than a feed", "head", 3, []Topic{{Slug: "s", Published: true, Attributes: shirts}}, ReasonThinSupply},
		{"no products", "head", 0, nil, ReasonNoProducts},
		{"rare tail demand", "tail", 0, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Intents{{Query: "black shirts", Count: 10, Band: tc.band, Attributes: shirts}}
			gaps := in.Gaps(func([]KV) int { return tc.supply }, 10, 100, tc.topics)
			switch {
			case tc.want == "" && len(gaps) != 0:
				t.Errorf("gap %+v, want none", gaps[0])
			case tc.want != "" && (len(gaps) != 1 || gaps[0].Reason != tc.want):
				t.Errorf("gaps %+v, want one %q", gaps, tc.want)
			}
		})
	}
}

func TestGapTailDemand(t *testing.T) {
	shirts := kvs("category", "shirts", "color", "black")
	for _, n := range []int{MinGapDemand - 1, MinGapDemand} {
		// Two phrasings of the tail add up.
		in := Intents{
			{Query: "black shirts", Count: n - n/2, Band: "tail", Attributes: shirts},
			{Query: "shirts in black", Count: n / 2, Band: "tail", Attributes: kvs("color", "black", "category", "shirts")},
		}
		gaps := in.Gaps(func([]KV) int { return 0 }, 10, 100, nil)
		if want := n >= MinGapDemand; (len(gaps) == 1) != want || want && gaps[0].Demand != n {
			t.Errorf("tail demand %d: gaps %+v, want a gap: %v", n, gaps, want)
		}
	}
}

func TestGapNearestOrder(t *testing.T) {
	tuple := kvs("category", "shoes", "color", "red", "gender", "women")
	topic := func(slug string, score float64, published bool, attrs ...string) Topic {
		return Topic{Slug: slug, Title: slug, Size: 10, Published: published, Attributes: kvs(attrs...), Score: Parts{Score: score}}
	}
	ts := []Topic{
		topic("shoes", 0.9, true, "category", "shoes"),
		topic("red-shoes", 0.5, true, "category", "shoes", "color", "red"),
		topic("shoes-women", 0.6, true, "category", "shoes", "gender", "women"),
		topic("red-shoes-women-unpublished", 1, false, "category", "shoes", "color", "red", "gender", "women"),
		topic("red-bags", 0.9, true, "category", "bags", "color", "red"),
		topic("black-shoes", 0.9, true, "category", "shoes", "color", "black"),
		topic("watches", 1, true, "category", "watches"),
	}
	var got []string
	for _, n := range nearest(tuple, ts) {
		got = append(got, fmt.Sprintf("%s/%d", n.Slug, n.Shared))
	}
	// Two shared first (the higher score first), then one shared with no
	// other attribute; never an unpublished topic or one sharing none.
	if want := []string{"shoes-women/2", "red-shoes/2", "shoes/1"}; !slices.Equal(got, want) {
		t.Errorf("nearest %v, want %v", got, want)
	}
	if n := nearest(kvs("category", "hats"), ts); len(n) != 0 {
		t.Errorf("nearest of an unrelated tuple %v", n)
	}
}

func TestGapsBounded(t *testing.T) {
	var in Intents
	for i := range MaxGaps + 50 {
		in = append(in, Intent{Query: fmt.Sprintf("q%03d", i), Count: 1 + i%7, Band: "head", Attributes: kvs("category", fmt.Sprint("c", i))})
	}
	gaps := in.Gaps(func([]KV) int { return 0 }, 10, 100, nil)
	if len(gaps) != MaxGaps {
		t.Fatalf("%d gaps, want %d", len(gaps), MaxGaps)
	}
	if !slices.IsSortedFunc(gaps, func(a, b Gap) int {
		if a.Demand != b.Demand {
			return b.Demand - a.Demand
		}
		return strings.Compare(a.Query, b.Query)
	}) {
		t.Error("gaps are not by demand, then query")
	}
}

func TestBuildGaps(t *testing.T) {
	in := synthetic(7, 600)
	// A colour alone has products but no topic (every topic has a
	// category); no dress is for men.
	in.Log = append([]judge.LogQuery{{Query: "black", Count: 60}, {Query: "dresses for men", Count: 50}}, in.Log...)
	res, err := Build(context.Background(), in, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFile(res, "v")
	if f.Counts.Gaps != len(f.Gaps) {
		t.Fatalf("counts %+v, %d gaps", f.Counts, len(f.Gaps))
	}
	served := map[string]bool{}
	for _, tp := range f.Published() {
		served[tupleKey(tp.Attributes)] = true
	}
	byQuery := map[string]Gap{}
	for _, g := range f.Gaps {
		byQuery[g.Query] = g
		if g.Reason == ReasonUnserved && served[tupleKey(g.Attributes)] {
			t.Errorf("%q is served by a published topic", g.Query)
		}
	}
	for _, tc := range []struct {
		query, reason string
	}{
		{"black", ReasonUnserved},
		{"dresses for men", ReasonNoProducts},
		{"black shirts for men", ""}, // published
		{"zeta shirts", ""},          // the tail
	} {
		g, ok := byQuery[tc.query]
		if ok != (tc.reason != "") || g.Reason != tc.reason {
			t.Errorf("%q: gap %v %+v, want reason %q", tc.query, ok, g, tc.reason)
		}
	}
	if g := byQuery["black"]; len(g.Nearest) != MaxNearest || g.Nearest[0].Shared != 1 || !strings.HasPrefix(g.Nearest[0].Slug, "black-") {
		t.Errorf("nearest of black: %+v", g.Nearest)
	}
	b, _ := json.Marshal(f.Gaps)
	if strings.Contains(string(b), "null") {
		t.Errorf("gaps hold null: %s", b)
	}
}
