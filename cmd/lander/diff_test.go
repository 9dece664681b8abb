package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/catalog/demo"
	"lander/changes"
)

// TestDiffOfTwoIndexRuns indexes the demo catalog, then a changed copy of
// it (a tenth of the products dropped, 40 teal copies of others added,
// another minimum support), and checks lander diff against the two
// generations' own files.
func TestDiffOfTwoIndexRuns(t *testing.T) {
	env := models(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 320, 7)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	index := func(catalog string, extra ...string) {
		t.Helper()
		var out bytes.Buffer
		args := append([]string{"index", "--catalog", catalog, "--data", data, "--log-level", "warn"}, extra...)
		if code := run(context.Background(), args, &out, &out, env); code != 0 {
			t.Fatalf("index exit %d:\n%s", code, out.String())
		}
	}
	index(cat)
	index(changeCatalog(t, cat), "--min-support", "8")

	slugs1, slugs2 := topicSlugs(t, data, 1), topicSlugs(t, data, 2)
	var only1, only2 []string
	for s := range slugs1 {
		if !slugs2[s] {
			only1 = append(only1, s)
		}
	}
	for s := range slugs2 {
		if !slugs1[s] {
			only2 = append(only2, s)
		}
	}
	slices.Sort(only1)
	slices.Sort(only2)
	if len(only1)+len(only2) == 0 {
		t.Fatal("the two index runs have the same topics; the test catalog change is too small")
	}

	// Overrides of a collection gone in generation 2 and of one never
	// built are orphaned; one of a kept collection is not.
	var kept string
	for s := range slugs2 {
		if slugs1[s] {
			kept = s
			break
		}
	}
	overrides := map[string]any{"no-such-collection": map[string]any{"pins": []string{"x"}}, kept: map[string]any{"published": false}}
	wantOrphaned := []string{"no-such-collection"}
	if len(only1) > 0 {
		overrides[only1[0]] = map[string]any{"excludes": []string{"y"}}
		wantOrphaned = append(wantOrphaned, only1[0])
		slices.Sort(wantOrphaned)
	}
	ob, _ := json.Marshal(map[string]any{"collections": overrides})
	overridesPath := filepath.Join(data, "overrides.json")
	if err := os.WriteFile(overridesPath, ob, 0o644); err != nil {
		t.Fatal(err)
	}

	diff := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"diff", "--data", data}, args...), &stdout, &stderr, nil)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := diff("--json")
	if code != 0 {
		t.Fatalf("diff --json exit %d: %s", code, errOut)
	}
	var d changes.Diff
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("diff --json: %v\n%s", err, out)
	}
	if d.From != 1 || d.To != 2 {
		t.Errorf("diff compared %d to %d, want 1 to 2", d.From, d.To)
	}
	if diff := cmp.Diff(only2, d.Topics.Added, cmpEmpty); diff != "" {
		t.Errorf("topics added (-only in generation 2 +diff):\n%s", diff)
	}
	if diff := cmp.Diff(only1, d.Topics.Removed, cmpEmpty); diff != "" {
		t.Errorf("topics removed (-only in generation 1 +diff):\n%s", diff)
	}
	if diff := cmp.Diff(wantOrphaned, d.Overrides.Orphaned); diff != "" {
		t.Errorf("orphaned overrides (-want +got):\n%s", diff)
	}
	if after, _ := os.ReadFile(overridesPath); !bytes.Equal(after, ob) {
		t.Errorf("diff changed the overrides file:\n%s", after)
	}
	if !slices.Contains(d.Vocabulary.Added, changes.Value{Key: "color", Value: "teal", Count: 40}) {
		t.Errorf("color=teal (40 products) not among the added values: %+v", d.Vocabulary.Added)
	}
	s := d.Summary
	counts := []struct {
		name      string
		got, want int
	}{
		{"vocabulary_added", s.VocabularyAdded, len(d.Vocabulary.Added)},
		{"vocabulary_removed", s.VocabularyRemoved, len(d.Vocabulary.Removed)},
		{"vocabulary_merged", s.VocabularyMerged, len(d.Vocabulary.Merged)},
		{"vocabulary_renamed", s.VocabularyRenamed, len(d.Vocabulary.Renamed)},
		{"topics_added", s.TopicsAdded, len(d.Topics.Added)},
		{"topics_removed", s.TopicsRemoved, len(d.Topics.Removed)},
		{"topics_published", s.TopicsPublished, len(d.Topics.Published)},
		{"topics_unpublished", s.TopicsUnpublished, len(d.Topics.Unpublished)},
		{"feed_changed", s.FeedChanged, len(d.Topics.FeedChanged)},
		{"overrides_orphaned", s.OverridesOrphaned, len(d.Overrides.Orphaned)},
		{"topics_from", s.TopicsFrom, len(slugs1)},
		{"topics_to", s.TopicsTo, len(slugs2)},
		{"products_from", s.ProductsFrom, 320},
		{"products_to", s.ProductsTo, 320 - 32 + 40},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("summary %s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// Every list is an array, never null.
	var raw map[string]map[string]json.RawMessage
	json.Unmarshal([]byte(out), &raw)
	for _, section := range []string{"vocabulary", "topics", "overrides"} {
		for name, v := range raw[section] {
			if !bytes.HasPrefix(v, []byte("[")) {
				t.Errorf("%s.%s = %s, want an array", section, name, v)
			}
		}
	}

	// The text output leads with the counts.
	code, text, errOut := diff()
	if code != 0 {
		t.Fatalf("diff exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"generation 1 -> 2",
		fmt.Sprintf("products    %d -> %d", s.ProductsFrom, s.ProductsTo),
		fmt.Sprintf("%d added, %d removed, %d merged, %d renamed", s.VocabularyAdded, s.VocabularyRemoved, s.VocabularyMerged, s.VocabularyRenamed),
		fmt.Sprintf("%d added, %d removed, %d published, %d unpublished, %d feeds changed", s.TopicsAdded, s.TopicsRemoved, s.TopicsPublished, s.TopicsUnpublished, s.FeedChanged),
		fmt.Sprintf("overrides   %d orphaned", s.OverridesOrphaned),
		"color=teal (40)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}

	// Explicit generations: the same diff, and backwards its mirror.
	if code, explicit, errOut := diff("--from", "1", "--to", "2", "--json"); code != 0 || explicit != out {
		t.Errorf("diff --from 1 --to 2 exit %d (%s), output differs from the default's: %v", code, errOut, explicit != out)
	}
	code, back, errOut := diff("--from", "2", "--to", "1", "--json")
	var r changes.Diff
	if err := json.Unmarshal([]byte(back), &r); code != 0 || err != nil {
		t.Fatalf("diff --from 2 --to 1 exit %d (%s): %v", code, errOut, err)
	}
	if !slices.Equal(r.Topics.Added, d.Topics.Removed) || !slices.Equal(r.Topics.Removed, d.Topics.Added) || r.From != 2 || r.To != 1 {
		t.Errorf("backwards diff is not the mirror: added %v removed %v", r.Topics.Added, r.Topics.Removed)
	}

	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--to", "5"}, 1, "no such generation 5 (kept: 1, 2)"},
		{[]string{"--from", "7", "--to", "2"}, 1, "no such generation 7"},
		{[]string{"--to", "1"}, 1, "no previous generation before generation 1"},
		{[]string{"--from", "-3"}, exitUsage, "--from and --to must be"},
		{[]string{"--from", "x"}, exitUsage, "invalid value"},
		{[]string{"extra"}, exitUsage, "unexpected arguments"},
	}
	for _, tt := range bad {
		code, _, errOut := diff(tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("diff %v: exit %d, %q; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

var cmpEmpty = cmp.Transformer("nilEmpty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// changeCatalog writes catalog2.jsonl beside the demo catalog at path:
// every tenth product dropped, and teal copies of the first 40 products
// under new ids.
func changeCatalog(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	for i, r := range rows {
		if i%10 != 0 {
			enc.Encode(r)
		}
	}
	for i, r := range rows[:40] {
		tags := r["tags"].(map[string]any)
		color := tags["color"].(string)
		c := map[string]any{}
		for k, v := range r {
			c[k] = v
		}
		c["id"] = fmt.Sprintf("teal-%04d", i)
		c["title"] = strings.Replace(r["title"].(string), demoTitle(color), "Teal", 1)
		c["description"] = strings.Replace(r["description"].(string), color, "teal", 1)
		c["tags"] = map[string]any{}
		for k, v := range tags {
			c["tags"].(map[string]any)[k] = v
		}
		c["tags"].(map[string]any)["color"] = "teal"
		enc.Encode(c)
	}
	changed := filepath.Join(filepath.Dir(path), "catalog2.jsonl")
	if err := os.WriteFile(changed, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return changed
}

// demoTitle capitalises each word as the demo catalog's titles do.
func demoTitle(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// topicSlugs reads the slugs of generation n's topics.json.
func topicSlugs(t *testing.T, data string, n int) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, fmt.Sprintf("gen-%06d", n), "topics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Topics []struct {
			Slug string `json:"slug"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, tp := range f.Topics {
		out[tp.Slug] = true
	}
	return out
}
