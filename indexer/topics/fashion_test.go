package topics_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"lander/catalog"
	"lander/eval/collectioneval"
	"lander/eval/labels"
	"lander/indexer/curate"
	"lander/indexer/extract"
	"lander/indexer/judge"
	"lander/indexer/topics"
	"lander/store"
)

var sharedData = filepath.Join("..", "..", "..", "shared", "data")

// fashionInput builds the topics input of fashion-small the way the
// indexer does, without encoding: merchant tags (unless titlesOnly: the
// contract's protocol withholds them) and title attributes, curated
// without clustering. It skips when the data is missing.
func fashionInput(tb testing.TB, titlesOnly bool) (topics.Input, labels.Set) {
	tb.Helper()
	path := filepath.Join(sharedData, "fashion-small", "styles.csv")
	l, err := labels.Load(path)
	if err != nil {
		tb.Skipf("fashion-small not available: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		tb.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var header []string
	var products []catalog.Product
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ",")
		if header == nil {
			header = fields
			continue
		}
		if len(fields) < len(header) {
			continue
		}
		last := len(header) - 1
		p := catalog.Product{ID: fields[0], Title: strings.Join(fields[last:], ","), Tags: map[string]string{}}
		if !titlesOnly {
			for i := 1; i < last; i++ {
				p.Tags[strings.ToLower(header[i])] = fields[i]
			}
		}
		products = append(products, p)
	}
	tags, _ := extract.Tags{}.Extract(context.Background(), products)
	learner := extract.NewBrandLearner(nil)
	for _, p := range products {
		learner.Observe(p.Title)
	}
	text := extract.NewText(nil, learner.Brands(2))
	raw := make([][]extract.Attr, len(products))
	for i, p := range products {
		raw[i] = extract.Merge(tags[i], text.Of(p.Title, p.Description))
	}
	cur := curate.New(raw, curate.Options{})
	cur.Frequency()
	if err := cur.Cluster(context.Background()); err != nil {
		tb.Fatal(err)
	}
	in := topics.Input{Vocabulary: cur.Vocabulary("")}
	in.Products = make([]store.Product, len(products))
	for i, p := range products {
		in.Products[i] = store.Product{ID: p.ID, Title: p.Title, Attributes: cur.Apply(raw[i])}
	}
	lf, err := os.Open(filepath.Join(sharedData, "queries", "search_log.tsv"))
	if err != nil {
		tb.Skip(err)
	}
	defer lf.Close()
	if in.Log, err = judge.ReadSearchLog(lf); err != nil {
		tb.Fatal(err)
	}
	return in, l
}

// TestFashionSmallTopics builds topics and feeds over fashion-small, with
// merchant tags and with titles alone, and reports the contract's
// collection precision against the true labels.
func TestFashionSmallTopics(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, mode := range []struct {
		name       string
		titlesOnly bool
		minP, minF float64
	}{{"tags", false, 0.97, 0.93}, {"titles", true, 0, 0}} {
		t.Run(mode.name, func(t *testing.T) {
			in, l := fashionInput(t, mode.titlesOnly)
			start := time.Now()
			res, err := topics.Build(context.Background(), in, topics.Options{})
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			c := res.Counts()
			rep := collectioneval.Evaluate(topics.NewFile(res, ""), l)
			t.Logf("%d products: %v; topics %d generated, %d published; baseline %d of %d (ratio %.2f); heap %d MB",
				len(in.Products), elapsed.Round(time.Millisecond), c.Generated, c.Published, c.BaselinePublished, c.BaselineGenerated, rep.Ratio, ms.HeapAlloc>>20)
			t.Logf("P@10 content %.3f baseline %.3f", rep.Content.Precision, rep.Baseline.Precision)
			for _, f := range rep.Content.Families {
				t.Logf("  %-12s %5d collections P@10 %.3f attribute accuracy %.3f", f.Key, f.Collections, f.Precision, f.AttributeAccuracy)
			}
			for i, w := range rep.Content.Worst {
				if i == 8 && os.Getenv("TOPICS_DEBUG") == "" {
					break
				}
				t.Logf("  worst %q %.2f %v", w.Title, w.Precision, w.Wrong[:min(2, len(w.Wrong))])
			}
			t.Logf("intents: %d queries, %d resolved, bands %+v, thin %d", res.Intents.Queries, res.Intents.Resolved, res.Intents.Bands, len(res.Intents.Thin))
			for i, tp := range res.Topics {
				if i == 5 {
					break
				}
				t.Logf("  top %s %q %+v size %d", tp.Slug, tp.Title, tp.Score, tp.Size)
			}
			if mode.minP > 0 {
				if rep.Content.Precision < mode.minP {
					t.Errorf("collection P@10 %.3f < %.2f", rep.Content.Precision, mode.minP)
				}
				for _, f := range rep.Content.Families {
					if f.Precision < mode.minF {
						t.Errorf("family %s P@10 %.3f < %.2f", f.Key, f.Precision, mode.minF)
					}
				}
				if float64(c.Published) < 2*float64(c.BaselinePublished) {
					t.Errorf("published %d < 2 x baseline %d", c.Published, c.BaselinePublished)
				}
			}
		})
	}
}

// BenchmarkFashionSmallTopics measures topics and feeds over fashion-small
// (merchant tags, no vectors).
func BenchmarkFashionSmallTopics(b *testing.B) {
	in, _ := fashionInput(b, false)
	b.ResetTimer()
	for b.Loop() {
		if _, err := topics.Build(context.Background(), in, topics.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
