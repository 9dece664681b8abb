package changes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"lander/datadir"
	"lander/indexer/curate"
	"lander/indexer/topics"
	"lander/vocab"
)

// Sizes of fashion-small's index (README): 9,878 topics, 7,001 published,
// about 650 curated vocabulary values.
const (
	benchTopics    = 9878
	benchPublished = 7001
	benchValues    = 650
)

// synthetic writes two generations into a data directory sized like
// fashion-small: the second drops and adds 3% of the topics and 10
// values, merges 5 values, flips 5% of the published flags and moves 30%
// of the feeds. With fullFeeds, published feeds hold up to the indexer's
// 200 slots as real ones do; otherwise every feed holds FeedDepth.
func synthetic(tb testing.TB, fullFeeds bool) (string, string) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	d, err := datadir.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	keys := []string{"category", "color", "brand", "gender", "season", "usage", "pattern", "material", "occasion", "subcategory"}
	var v1 vocab.Vocabulary
	v1.Keys = map[string][]vocab.Value{}
	for i := range benchValues {
		k := keys[i%len(keys)]
		v1.Keys[k] = append(v1.Keys[k], vocab.Value{Value: fmt.Sprintf("value %d", i), Count: 5 + rng.IntN(2000), Aliases: []string{}})
	}
	v2 := vocab.Vocabulary{Keys: map[string][]vocab.Value{}}
	var merged []curate.Merged
	for k, vals := range v1.Keys {
		for i, val := range vals {
			switch {
			case i == 1 && len(merged) < 5: // merged into the first value of its key
				merged = append(merged, curate.Merged{Key: k, Canonical: vals[0].Value, Step: "cluster",
					Members: []curate.Member{{Value: vals[0].Value, Support: vals[0].Count}, {Value: val.Value, Support: val.Count, Cosine: 0.95}}})
			case i == 2: // dropped, and a new value added
				v2.Keys[k] = append(v2.Keys[k], vocab.Value{Value: val.Value + " new", Count: val.Count, Aliases: []string{}})
			default:
				v2.Keys[k] = append(v2.Keys[k], val)
			}
		}
	}

	slot := func(id int) topics.Slot {
		return topics.Slot{ID: fmt.Sprintf("%05d", id), Score: round3(rng.Float64()), Similarity: round3(rng.Float64()),
			Matched: []float32{1, rng.Float32()}, Sources: []string{"tag", "model"}}
	}
	var t1, t2 []topics.Topic
	for i := range benchTopics + benchTopics*3/100 {
		size := int(10 * math.Pow(200, rng.Float64())) // 10 to 2,000, log-uniform
		published := i < benchPublished
		n := FeedDepth
		switch {
		case fullFeeds && published:
			n = min(size, 200)
		case fullFeeds:
			n = 10
		}
		tp := topics.Topic{Slug: fmt.Sprintf("topic-%05d", i), Title: fmt.Sprintf("Topic %d", i),
			Attributes: []vocab.KV{{Key: "category", Value: "value 0"}, {Key: "color", Value: "value 1"}},
			Size:       size, Published: published, Reasons: []string{}, Query: "topic"}
		start := rng.IntN(40000)
		for j := range n {
			tp.Feed = append(tp.Feed, slot(start+j))
		}
		if i < benchTopics {
			t1 = append(t1, tp)
		}
		if i < benchTopics*3/100 { // dropped from the second
			continue
		}
		switch r := rng.IntN(100); {
		case r < 5:
			tp.Published = !tp.Published
		case r < 35:
			tp.Feed = append([]topics.Slot{}, tp.Feed...)
			for j := 0; j < len(tp.Feed); j += 3 {
				tp.Feed[j] = slot(rng.IntN(40000))
			}
			tp.Size += rng.IntN(20) - 10
		}
		t2 = append(t2, tp)
	}
	for _, g := range []struct {
		v      vocab.Vocabulary
		merged []curate.Merged
		topics []topics.Topic
	}{{v1, nil, t1}, {v2, merged, t2}} {
		commit(tb, d, spec{vocabulary: g.v, merged: g.merged, topics: g.topics})
	}
	_, p1, err := d.Generation(1)
	if err != nil {
		tb.Fatal(err)
	}
	_, p2, err := d.Generation(2)
	if err != nil {
		tb.Fatal(err)
	}
	return p1, p2
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// BenchmarkCompare measures what a diff costs uncached: loading two
// generations sized like fashion-small from disk and comparing them.
func BenchmarkCompare(b *testing.B) {
	for _, full := range []bool{false, true} {
		b.Run(fmt.Sprintf("full_feeds=%v", full), func(b *testing.B) {
			p1, p2 := synthetic(b, full)
			fi, err := os.Stat(filepath.Join(p2, topicsFile))
			if err != nil {
				b.Fatal(err)
			}
			var d Diff
			for b.Loop() {
				from, err := Load(p1)
				if err != nil {
					b.Fatal(err)
				}
				to, err := Load(p2)
				if err != nil {
					b.Fatal(err)
				}
				d = Compare(from, to, nil)
			}
			b.ReportMetric(float64(fi.Size())/1e6, "topics_MB")
			if d.Summary.TopicsRemoved == 0 || d.Summary.FeedChanged == 0 || d.Summary.VocabularyMerged != 5 {
				b.Fatalf("synthetic generations did not differ as meant: %+v", d.Summary)
			}
		})
	}
}
