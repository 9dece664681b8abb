package changes

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/datadir"
	"lander/vocab"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// voc builds a vocabulary from "key" -> values; a value "a=b|c" has the
// aliases b and c, and every value has support 10 unless counts say more.
func voc(keys map[string][]string, counts map[string]int) vocab.Vocabulary {
	v := vocab.Vocabulary{Keys: map[string][]vocab.Value{}}
	for key, vals := range keys {
		for _, s := range vals {
			val, aliases := s, []string{}
			if v, a, ok := strings.Cut(s, "="); ok {
				val, aliases = v, strings.Split(a, "|")
			}
			n := 10
			if c, ok := counts[key+":"+val]; ok {
				n = c
			}
			v.Keys[key] = append(v.Keys[key], vocab.Value{Value: val, Count: n, Aliases: aliases})
		}
	}
	return v
}

// feed returns n ids "p<start>".."p<start+n-1>".
func feed(start, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "p" + strconv.Itoa(start+i)
	}
	return out
}

func gen(n int, v vocab.Vocabulary, merged []MergeGroup, topics []Topic) Generation {
	return Generation{Manifest: datadir.Manifest{Generation: n, Name: "gen", Counts: map[string]int{"products": 100 * n}},
		Vocabulary: v, Merged: merged, Topics: topics}
}

func TestCompareVocabulary(t *testing.T) {
	tests := []struct {
		name     string
		from, to vocab.Vocabulary
		merged   []MergeGroup // to's curation report
		want     VocabularyChanges
	}{
		{
			name: "added and removed, by key and value",
			from: voc(map[string][]string{"color": {"red", "blue"}, "material": {"silk"}}, map[string]int{"color:blue": 3}),
			to:   voc(map[string][]string{"color": {"red", "green", "silk"}}, map[string]int{"color:green": 4}),
			want: VocabularyChanges{
				Added:   []Value{{"color", "green", 4}, {"color", "silk", 10}},
				Removed: []Value{{"color", "blue", 3}, {"material", "silk", 10}},
			},
		},
		{
			name:   "merged by the curation report into a value from had",
			from:   voc(map[string][]string{"color": {"navy blue", "navy"}}, nil),
			to:     voc(map[string][]string{"color": {"navy blue"}}, nil),
			merged: []MergeGroup{{Key: "color", Canonical: "navy blue", Members: []string{"navy blue", "navy"}}},
			want:   VocabularyChanges{Merged: []Merge{{"color", "navy", "navy blue"}}},
		},
		{
			name: "merged as an alias of to's vocabulary",
			from: voc(map[string][]string{"color": {"navy blue", "navy"}}, nil),
			to:   voc(map[string][]string{"color": {"navy blue=navy"}}, nil),
			want: VocabularyChanges{Merged: []Merge{{"color", "navy", "navy blue"}}},
		},
		{
			name:   "renamed into a value from did not have",
			from:   voc(map[string][]string{"category": {"tshirts", "dress"}}, nil),
			to:     voc(map[string][]string{"category": {"t-shirt", "dress"}}, nil),
			merged: []MergeGroup{{Key: "category", Canonical: "t-shirt", Members: []string{"t-shirt", "tshirts"}}},
			want:   VocabularyChanges{Renamed: []Rename{{"category", "tshirts", "t-shirt"}}},
		},
		{
			name: "two values renamed into one new value",
			from: voc(map[string][]string{"category": {"tee", "tshirts"}}, nil),
			to:   voc(map[string][]string{"category": {"t-shirt=tee|tshirts"}}, nil),
			want: VocabularyChanges{Renamed: []Rename{{"category", "tee", "t-shirt"}, {"category", "tshirts", "t-shirt"}}},
		},
		{
			name: "merges of merges are followed to a value to has",
			from: voc(map[string][]string{"color": {"navy", "blue"}}, nil),
			to:   voc(map[string][]string{"color": {"blue"}}, nil),
			merged: []MergeGroup{
				{Key: "color", Canonical: "dark blue", Members: []string{"navy", "dark blue"}},
				{Key: "color", Canonical: "blue", Members: []string{"dark blue", "blue"}},
			},
			want: VocabularyChanges{Merged: []Merge{{"color", "navy", "blue"}}},
		},
		{
			name:   "a merge into a value to dropped is a removal",
			from:   voc(map[string][]string{"color": {"navy", "teal"}}, nil),
			to:     voc(map[string][]string{"color": {"teal"}}, nil),
			merged: []MergeGroup{{Key: "color", Canonical: "navy blue", Members: []string{"navy"}}},
			want:   VocabularyChanges{Removed: []Value{{"color", "navy", 10}}},
		},
		{
			name:   "a merge of another key does not apply",
			from:   voc(map[string][]string{"color": {"navy", "navy blue"}}, nil),
			to:     voc(map[string][]string{"color": {"navy blue"}}, nil),
			merged: []MergeGroup{{Key: "brand", Canonical: "navy blue", Members: []string{"navy"}}},
			want:   VocabularyChanges{Removed: []Value{{"color", "navy", 10}}},
		},
		{
			name:   "merge cycles end",
			from:   voc(map[string][]string{"color": {"a", "c"}}, nil),
			to:     voc(map[string][]string{"color": {"c"}}, nil),
			merged: []MergeGroup{{Key: "color", Canonical: "b", Members: []string{"a"}}, {Key: "color", Canonical: "a", Members: []string{"b"}}},
			want:   VocabularyChanges{Removed: []Value{{"color", "a", 10}}},
		},
		{
			name: "nothing changed",
			from: voc(map[string][]string{"color": {"red"}}, nil),
			to:   voc(map[string][]string{"color": {"red"}}, map[string]int{"color:red": 12}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(gen(1, tt.from, nil, nil), gen(2, tt.to, tt.merged, nil), nil)
			want := tt.want
			for _, l := range []*[]Value{&want.Added, &want.Removed} {
				if *l == nil {
					*l = []Value{}
				}
			}
			if want.Merged == nil {
				want.Merged = []Merge{}
			}
			if want.Renamed == nil {
				want.Renamed = []Rename{}
			}
			if diff := cmp.Diff(want, d.Vocabulary); diff != "" {
				t.Errorf("vocabulary changes (-want +got):\n%s", diff)
			}
			s := d.Summary
			if s.VocabularyAdded != len(want.Added) || s.VocabularyRemoved != len(want.Removed) ||
				s.VocabularyMerged != len(want.Merged) || s.VocabularyRenamed != len(want.Renamed) {
				t.Errorf("summary %+v does not count the lists", s)
			}
		})
	}
}

func TestCompareTopics(t *testing.T) {
	tp := func(slug string, size int, published bool, ids []string) Topic {
		return Topic{Slug: slug, Title: slug, Size: size, Published: published, Feed: ids}
	}
	tests := []struct {
		name     string
		from, to []Topic
		want     TopicChanges
	}{
		{
			name: "added and removed by slug",
			from: []Topic{tp("dress", 20, true, feed(1, 20)), tp("red-dress", 12, true, feed(1, 12))},
			to:   []Topic{tp("dress", 20, true, feed(1, 20)), tp("blue-dress", 11, false, feed(30, 10))},
			want: TopicChanges{Added: []string{"blue-dress"}, Removed: []string{"red-dress"}},
		},
		{
			name: "published and unpublished",
			from: []Topic{tp("a", 10, false, feed(1, 10)), tp("b", 10, true, feed(1, 10)), tp("c", 10, true, feed(1, 10))},
			to:   []Topic{tp("a", 10, true, feed(1, 10)), tp("b", 10, false, feed(1, 10)), tp("c", 10, true, feed(1, 10))},
			want: TopicChanges{Published: []string{"a"}, Unpublished: []string{"b"}},
		},
		{
			name: "feeds that moved, biggest change first",
			from: []Topic{
				tp("same", 30, true, feed(1, 30)),
				tp("beyond-24", 30, true, feed(1, 30)),
				tp("half", 30, true, feed(1, 24)),
				tp("reordered", 30, true, feed(1, 24)),
				tp("grown", 30, true, feed(1, 24)),
				tp("shrunk", 30, true, feed(1, 24)),
				tp("gone", 30, true, feed(1, 24)),
				tp("empty", 0, false, nil),
				tp("shorter", 30, true, feed(1, 20)),
			},
			to: []Topic{
				tp("same", 30, true, feed(1, 30)),
				tp("beyond-24", 30, true, append(feed(1, 24), feed(100, 6)...)),
				tp("half", 30, true, append(feed(13, 12), feed(100, 12)...)),
				tp("reordered", 30, true, append(feed(2, 23), "p1")),
				tp("grown", 40, true, feed(1, 24)),
				tp("shrunk", 25, true, feed(1, 24)),
				tp("gone", 30, true, feed(100, 24)),
				tp("empty", 3, false, nil),
				tp("shorter", 30, true, feed(1, 10)),
			},
			want: TopicChanges{FeedChanged: []FeedChange{
				{"gone", 0, 30, 30},
				{"half", 0.5, 30, 30},
				{"shorter", 0.5, 30, 30},
				{"grown", 1, 30, 40},
				{"shrunk", 1, 30, 25},
				{"empty", 1, 0, 3},
				{"reordered", 1, 30, 30},
			}},
		},
		{
			name: "rounded to three decimals",
			from: []Topic{tp("a", 24, true, feed(1, 24))},
			to:   []Topic{tp("a", 24, true, append(feed(1, 1), feed(50, 23)...))},
			want: TopicChanges{FeedChanged: []FeedChange{{"a", 0.042, 24, 24}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(gen(1, vocab.Vocabulary{}, nil, tt.from), gen(2, vocab.Vocabulary{}, nil, tt.to), nil)
			want := tt.want
			for _, l := range []*[]string{&want.Added, &want.Removed, &want.Published, &want.Unpublished} {
				if *l == nil {
					*l = []string{}
				}
			}
			if want.FeedChanged == nil {
				want.FeedChanged = []FeedChange{}
			}
			if diff := cmp.Diff(want, d.Topics); diff != "" {
				t.Errorf("topic changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompareOverridesAndSummary(t *testing.T) {
	from := gen(1, voc(map[string][]string{"color": {"red"}}, nil), nil, []Topic{
		{Slug: "a", Published: true}, {Slug: "b", Published: true}, {Slug: "c"},
	})
	to := gen(2, voc(map[string][]string{"color": {"red", "blue"}}, nil), nil, []Topic{
		{Slug: "a", Published: true}, {Slug: "d"},
	})
	overrides := map[string]json.RawMessage{
		"a": json.RawMessage(`{"pins":["p1"]}`),
		"b": json.RawMessage(`{"published":false}`),
		"z": json.RawMessage(`{}`),
	}
	d := Compare(from, to, overrides)
	if diff := cmp.Diff([]string{"b", "z"}, d.Overrides.Orphaned); diff != "" {
		t.Errorf("orphaned (-want +got):\n%s", diff)
	}
	if len(overrides) != 3 {
		t.Errorf("Compare modified the overrides: %v", overrides)
	}
	want := Summary{
		VocabularyAdded: 1, TopicsAdded: 1, TopicsRemoved: 2, OverridesOrphaned: 2,
		ProductsFrom: 100, ProductsTo: 200, TopicsFrom: 3, TopicsTo: 2, PublishedFrom: 2, PublishedTo: 1,
		VocabularyFrom: 1, VocabularyTo: 2,
	}
	if diff := cmp.Diff(want, d.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if d.From != 1 || d.To != 2 {
		t.Errorf("from %d to %d, want 1 to 2", d.From, d.To)
	}
}

// TestDiffJSON holds the JSON shape of a Diff in a golden file: every list
// present and never null, even when empty.
func TestDiffJSON(t *testing.T) {
	from := gen(3, voc(map[string][]string{"category": {"tshirts", "dress"}, "color": {"navy", "navy blue", "teal"}}, nil), nil, []Topic{
		{Slug: "dress", Size: 30, Published: true, Feed: feed(1, 24)},
		{Slug: "tshirts", Size: 12, Published: true, Feed: feed(40, 12)},
		{Slug: "navy-dress", Size: 9, Feed: feed(1, 9)},
	})
	to := gen(4, voc(map[string][]string{"category": {"t-shirt=tshirts", "dress"}, "color": {"navy blue=navy", "olive"}}, nil),
		[]MergeGroup{{Key: "category", Canonical: "t-shirt", Members: []string{"t-shirt", "tshirts"}}},
		[]Topic{
			{Slug: "dress", Size: 28, Published: true, Feed: append(feed(3, 20), feed(90, 4)...)},
			{Slug: "t-shirt", Size: 12, Published: true, Feed: feed(40, 12)},
			{Slug: "navy-dress", Size: 10, Published: true, Feed: feed(1, 10)},
		})
	d := Compare(from, to, map[string]json.RawMessage{"tshirts": json.RawMessage(`{}`)})
	got, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "diff.json", append(got, '\n'))

	empty, err := json.Marshal(Compare(Generation{}, Generation{}, nil))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "empty.json", append(empty, '\n'))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}
