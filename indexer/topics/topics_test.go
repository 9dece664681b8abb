package topics

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lander/indexer/judge"
	"lander/query"
	"lander/store"
	"lander/vocab"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestTitleAndSlug(t *testing.T) {
	kv := func(pairs ...string) []KV {
		var out []KV
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, KV{Key: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		attrs       []KV
		title, slug string
	}{
		{kv("category", "dresses", "color", "yellow", "season", "summer", "occasion", "party"), "Yellow Summer Party Dresses", "yellow-summer-party-dresses"},
		{kv("category", "casual shoes", "gender", "men", "color", "navy blue"), "Navy Blue Casual Shoes for Men", "navy-blue-casual-shoes-men"},
		{kv("category", "tshirts", "brand", "nike", "gender", "women"), "Nike T-Shirts for Women", "nike-tshirts-women"},
		{kv("category", "casual shoes", "occasion", "casual"), "Casual Shoes", "casual-casual-shoes"},
		{kv("category", "backpacks", "gender", "unisex", "color", "black"), "Unisex Black Backpacks", "black-backpacks-unisex"},
		{kv("category", "watch"), "Watches", "watch"},
		{kv("category", "nail polish"), "Nail Polishes", "nail-polish"},
		{kv("category", "dress", "color", "red"), "Red Dresses", "red-dress"},
		{kv("category", "perfume and body mist", "gender", "men"), "Perfume and Body Mist for Men", "perfume-and-body-mist-men"},
		{kv("color", "black", "gender", "men"), "Black for Men", "black-men"},
	} {
		if got := Title(tc.attrs); got != tc.title {
			t.Errorf("Title(%v) = %q, want %q", tc.attrs, got, tc.title)
		}
		if got := Slug(tc.attrs); got != tc.slug {
			t.Errorf("Slug(%v) = %q, want %q", tc.attrs, got, tc.slug)
		}
		rev := slices.Clone(tc.attrs)
		slices.Reverse(rev)
		if Slug(rev) != Slug(tc.attrs) {
			t.Errorf("Slug depends on attribute order: %q vs %q", Slug(rev), Slug(tc.attrs))
		}
	}
}

// TestSlugsNeverCollide checks that a suffixed slug never takes another
// topic's own slug: "shirts!" and "shirts?" both slug to "shirts", and
// the one suffixed must not become "shirts-2", the slug of "shirts 2".
func TestSlugsNeverCollide(t *testing.T) {
	var topics []Topic
	for _, v := range []string{"shirts 2", "shirts!", "shirts?", "shirts", "shirts-3", "shirts 2!"} {
		attrs := []KV{{Key: "category", Value: v}}
		topics = append(topics, Topic{Attributes: attrs, Slug: Slug(attrs)})
	}
	uniqueSlugs(topics)
	seen := map[string]string{}
	for _, tp := range topics {
		if other, ok := seen[tp.Slug]; ok {
			t.Errorf("slug %q of %q is also the slug of %q", tp.Slug, tp.Attributes[0].Value, other)
		}
		seen[tp.Slug] = tp.Attributes[0].Value
	}
	if seen["shirts-2"] != "shirts 2" || seen["shirts-3"] != "shirts-3" {
		t.Errorf("a topic lost its own slug to a suffix: %v", seen)
	}
}

func TestDescriptionLength(t *testing.T) {
	d := Description("Navy Blue Casual Shoes for Men", []KV{{Key: "season", Value: "summer"}, {Key: "occasion", Value: "casual"}}, 123, strings.Repeat("Very Long Product Title ", 10))
	if len(d) > 160 || !strings.HasPrefix(d, "Shop 123 navy blue casual shoes for men, picked for summer and for casual wear.") {
		t.Errorf("description %q (%d)", d, len(d))
	}
}

func TestMineBands(t *testing.T) {
	r := query.NewResolver([]query.Term{{Key: "category", Value: "shirts"}, {Key: "color", Value: "black"}, {Key: "gender", Value: "men"}})
	in := Mine(r, []judge.LogQuery{{Query: "black shirts", Count: 50}, {Query: "shirts for men", Count: 30}, {Query: "something else", Count: 15}, {Query: "shirts not black", Count: 5}})
	var got []string
	for _, q := range in {
		got = append(got, fmt.Sprintf("%s:%s:%v:%v", q.Band, q.Query, q.Attributes, q.Excluded))
	}
	want := []string{
		"head:black shirts:[color=black category=shirts]:[]",
		"torso:shirts for men:[category=shirts gender=men]:[]",
		"tail:something else:[]:[]",
		"tail:shirts not black:[category=shirts]:[color=black]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rep := in.Report(func([]KV) int { return 3 }, 10, 100)
	if rep.Volume != 100 || rep.Resolved != 3 || rep.Keys["category"] != 85 || rep.Categories["shirts"] != 85 || rep.Keys["color"] != 50 {
		t.Errorf("report %+v", rep)
	}
	if len(rep.Thin) != 2 || rep.Thin[0].Query != "black shirts" || len(rep.Unresolved) != 1 {
		t.Errorf("thin %+v unresolved %+v", rep.Thin, rep.Unresolved)
	}
	d := newDemand(in)
	if got := d.of([]KV{{Key: "category", Value: "shirts"}}); got != 85 {
		t.Errorf("demand of shirts %v, want 85", got)
	}
	// black shirts for men: the queries are sub-tuples, weighted by the
	// share of its attributes they name.
	if got := d.of([]KV{{Key: "category", Value: "shirts"}, {Key: "color", Value: "black"}, {Key: "gender", Value: "men"}}); got != (50+30)*2.0/3+5.0/3 {
		t.Errorf("demand of black shirts for men %v", got)
	}
}

// synthetic draws a small catalog with known structure: categories,
// colours and genders at fixed rates, a brand named in some titles, and
// clustered vectors.
func synthetic(seed uint64, n int) Input {
	rng := rand.New(rand.NewPCG(seed, 1))
	cats := []string{"shirts", "dresses", "watches"}
	colors := []string{"black", "white", "navy blue"}
	var in Input
	counter := vocab.NewCounter()
	for i := range n {
		c := cats[rng.IntN(len(cats))]
		col := colors[rng.IntN(len(colors))]
		g := "men"
		if c == "dresses" || rng.IntN(2) == 0 {
			g = "women"
		}
		title := fmt.Sprintf("Acme %s %s", col, c)
		attrs := []store.Attribute{
			{Key: "category", Value: c, Score: 1, Source: "tag"},
			{Key: "color", Value: col, Score: 1, Source: "tag"},
			{Key: "gender", Value: g, Score: float32(0.6 + 0.4*rng.Float64()), Source: "model"},
			{Key: "subcategory", Value: "apparel", Score: 1, Source: "tag"},
		}
		if rng.IntN(3) == 0 {
			title = "Zeta " + title
			attrs = append(attrs, store.Attribute{Key: "brand", Value: "zeta", Score: 0.8, Source: "text"})
		}
		// A pattern the title does not name never counts.
		attrs = append(attrs, store.Attribute{Key: "pattern", Value: "striped", Score: 0.9, Source: "model"})
		vec := make([]float32, 4)
		vec[slices.Index(cats, c)] = 1
		vec[3] = float32(rng.Float64()) * 0.3
		norm := float32(0)
		for _, x := range vec {
			norm += x * x
		}
		for d := range vec {
			vec[d] /= float32(sqrt(float64(norm)))
		}
		for _, a := range attrs {
			counter.Add(a.Key, a.Value)
		}
		in.Products = append(in.Products, store.Product{ID: fmt.Sprintf("p%03d", i), Title: title, Attributes: attrs, Vector: vec})
	}
	in.Vocabulary = counter.Vocabulary(1)
	in.Log = []judge.LogQuery{{Query: "black shirts for men", Count: 40}, {Query: "white dresses", Count: 30}, {Query: "watches", Count: 20}, {Query: "zeta shirts", Count: 5}, {Query: "navy blue dresses for men", Count: 5}, {Query: "red shoes", Count: 5}}
	return in
}

func sqrt(x float64) float64 {
	z := x
	for range 30 {
		if z == 0 {
			return 0
		}
		z = (z + x/z) / 2
	}
	return z
}

func TestBuildSynthetic(t *testing.T) {
	in := synthetic(7, 600)
	res, err := Build(context.Background(), in, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tp := range res.Topics {
		if seen[tp.Slug] {
			t.Errorf("duplicate slug %s", tp.Slug)
		}
		seen[tp.Slug] = true
		if tp.Size < 10 {
			t.Errorf("%s: size %d below the minimum feed", tp.Slug, tp.Size)
		}
		if tp.Attributes[0].Key != "category" {
			t.Errorf("%s: anchor not first: %v", tp.Slug, tp.Attributes)
		}
		for _, a := range tp.Attributes {
			if a.Key == "pattern" || a.Key == "subcategory" {
				t.Errorf("%s: uses %s", tp.Slug, a)
			}
		}
		// Strict: every slot carries every attribute, with evidence.
		for i, s := range tp.Feed {
			if len(s.Matched) != len(tp.Attributes) {
				t.Fatalf("%s slot %d: %d matched for %d attributes", tp.Slug, i, len(s.Matched), len(tp.Attributes))
			}
			for j, m := range tp.Evidence(i) {
				if m.Score < 0.5 || m != (Match{tp.Attributes[j].Key, tp.Attributes[j].Value, s.Matched[j], s.Sources[j]}) {
					t.Errorf("%s slot %d evidence %+v", tp.Slug, i, m)
				}
			}
			if i > 0 && s.Score > tp.Feed[i-1].Score {
				t.Errorf("%s: feed not ranked at %d", tp.Slug, i)
			}
		}
		if tp.Published && len(tp.Feed) < 10 {
			t.Errorf("%s: published with %d slots", tp.Slug, len(tp.Feed))
		}
		if !tp.Published && len(tp.Reasons) == 0 {
			t.Errorf("%s: unpublished without a reason", tp.Slug)
		}
	}
	// Dresses are all for women: "dresses for women" equals its parent.
	if seen["dresses-women"] {
		t.Error("dresses-women has the feed of dresses and should have been dropped")
	}
	for _, s := range []string{"shirts", "black-shirts-men", "zeta-shirts"} {
		if !seen[s] {
			t.Errorf("topic %s missing", s)
		}
	}
	c := res.Counts()
	if c.Published == 0 || c.BaselineGenerated != 5 {
		t.Errorf("counts %+v", c)
	}
	for _, b := range res.Baseline {
		if b.Slug == "navy-blue-dresses-men" && (b.Published || b.Size != 0) {
			t.Errorf("baseline red-shoes: %+v", b)
		}
	}
	// Golden: the published topics, their scores and top slots.
	var lines []string
	for _, tp := range res.Topics {
		if len(tp.Feed) == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("%-24s %-32q size %3d published %-5v score %+v top %s %.3f",
			tp.Slug, tp.Title, tp.Size, tp.Published, tp.Score, tp.Feed[0].ID, tp.Feed[0].Score))
	}
	golden(t, "synthetic.golden", strings.Join(lines, "\n")+"\n")

	// Deterministic across runs and worker counts.
	again, err := Build(context.Background(), in, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(NewFile(res, "v"))
	b, _ := json.Marshal(NewFile(again, "v"))
	if string(a) != string(b) {
		t.Error("Build is not deterministic")
	}
}

func TestSaveLoad(t *testing.T) {
	res, err := Build(context.Background(), synthetic(3, 200), Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), FileName)
	f := NewFile(res, "curated-x")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Counts != f.Counts || len(got.Topics) != len(f.Topics) || got.Vocabulary != "curated-x" {
		t.Errorf("round trip: %+v vs %+v", got.Counts, f.Counts)
	}
	if len(got.Published()) != f.Counts.Published {
		t.Errorf("Published() %d, counts %d", len(got.Published()), f.Counts.Published)
	}
	if tp := got.BySlug()["shirts"]; tp == nil || tp.Title != "Shirts" {
		t.Errorf("BySlug shirts: %+v", tp)
	}
	os.WriteFile(path, []byte(`{"format":99}`), 0o644)
	if _, err := Load(path); err == nil {
		t.Error("Load accepted format 99")
	}
}

func TestEmptyInput(t *testing.T) {
	res, err := Build(context.Background(), Input{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFile(res, "")
	b, _ := json.Marshal(f)
	if strings.Contains(string(b), "null") {
		t.Errorf("empty file has null: %s", b)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", name, got)
	}
}
