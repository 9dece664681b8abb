package queryeval

import (
	"lander/vocab"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lander/query"
)

func sharedData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(dir, "queries", "labelled.jsonl")); err != nil {
		t.Skip("no ../shared/data/queries/labelled.jsonl")
	}
	return dir
}

// TestLabelled runs the development report and guards its floor. Run with
// -v to read the table and the misses.
func TestLabelled(t *testing.T) {
	dir := sharedData(t)
	qs, err := LoadQueries(filepath.Join(dir, "queries", "labelled.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	v, h, err := FromStyles(filepath.Join(dir, "fashion-small", "styles.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var head []Query
	for _, q := range qs {
		if q.Kind == "head" {
			head = append(head, q)
		}
	}
	qs = append(qs, TypoVariants(head)...)
	rep := Evaluate(query.NewResolver(vocab.Terms(v)), qs, h)
	var b strings.Builder
	rep.Write(&b, 200)
	t.Log("\n" + b.String())
	if got := float64(rep.Total.Captured) / float64(rep.Total.Expected); got < 0.9 {
		t.Errorf("captured %.3f of expected constraints, want >= 0.9", got)
	}
	if got := float64(rep.Total.StrictRight) / float64(rep.Total.StrictTotal); got < 0.95 {
		t.Errorf("%.3f of strict attributes right, want >= 0.95", got)
	}
}

func TestNorm(t *testing.T) {
	for in, want := range map[string]string{"Casual Shoes": "casualsho", "casual shoes": "casualsho", "Navy Blue": "navyblue", "Accessories": "accessor", "Tshirts": "tshirt"} {
		if got := Norm(in); got != want {
			t.Errorf("Norm(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScore(t *testing.T) {
	r := query.NewResolver([]query.Term{
		{Key: "category", Value: "handbags"}, {Key: "color", Value: "brown"}, {Key: "gender", Value: "women"},
		{Key: "subcategory", Value: "bags"}, {Key: "season", Value: "summer"},
	})
	h := Hierarchy{Sub: map[string]string{"handbag": "bag"}}
	qs := []Query{
		{Q: "handbags without brown", Kind: "negation", Expect: map[string][]string{"articleType": {"Handbags"}}, ExpectNot: map[string][]string{"baseColour": {"Brown"}}},
		{Q: "summer handbags for my wife", Kind: "tail", Expect: map[string][]string{"articleType": {"Handbags"}, "gender": {"Women"}}},
		{Q: "bags", Kind: "head", Expect: map[string][]string{"articleType": {"Handbags"}}},
	}
	rep := Evaluate(r, qs, h)
	got := map[string]Stats{}
	for _, s := range rep.Kinds {
		got[s.Kind] = s
	}
	want := map[string]Stats{
		"negation": {Kind: "negation", Queries: 1, Expected: 2, Captured: 2, CapturedStrict: 2, Resolved: 2, Right: 2, StrictTotal: 2, StrictRight: 2, Exact: 1},
		// season=summer is beyond the labels: wrong; gender is soft.
		"tail": {Kind: "tail", Queries: 1, Expected: 2, Captured: 2, CapturedStrict: 1, Resolved: 3, Right: 2, StrictTotal: 2, StrictRight: 1},
		// subcategory=bags agrees with the hierarchy but misses the category.
		"head": {Kind: "head", Queries: 1, Expected: 1, Resolved: 1, Right: 1, StrictTotal: 1, StrictRight: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestTypoVariants(t *testing.T) {
	got := TypoVariants([]Query{{Q: "black tshirts for men", Kind: "head"}, {Q: "red cap", Kind: "head"}})
	if len(got) != 1 || got[0].Q != "black tsihrts for men" || got[0].Kind != "typo" {
		t.Errorf("TypoVariants = %+v", got)
	}
}

// BenchmarkResolveLabelled resolves the labelled queries with the
// fashion-small vocabulary, without the embedding fallback.
func BenchmarkResolveLabelled(b *testing.B) {
	dir := filepath.Join("..", "..", "..", "shared", "data")
	qs, err := LoadQueries(filepath.Join(dir, "queries", "labelled.jsonl"))
	if err != nil {
		b.Skip(err)
	}
	v, _, err := FromStyles(filepath.Join(dir, "fashion-small", "styles.csv"))
	if err != nil {
		b.Skip(err)
	}
	r := query.NewResolver(vocab.Terms(v))
	durs := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		r.Resolve(qs[i%len(qs)].Q)
		durs = append(durs, time.Since(start))
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
}
