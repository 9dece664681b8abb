package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lander/changes"
	"lander/datadir"
	"lander/indexer/topics"
	"lander/vocab"
)

// fakeHistory keeps generations 1 to 3, 3 being current, and answers Diff
// the way changes.History does: defaults, unknown generations, no previous
// generation.
type fakeHistory struct {
	gens  []changes.GenerationInfo // oldest first
	diffs map[[2]int]changes.Diff

	mu    sync.Mutex
	calls [][2]int
}

// hostileValue is a vocabulary value that must render as text.
const hostileValue = `<script>alert("v")</script>`

func newFakeHistory() *fakeHistory {
	at := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	h := &fakeHistory{diffs: map[[2]int]changes.Diff{}}
	for n := 1; n <= 3; n++ {
		h.gens = append(h.gens, changes.GenerationInfo{Generation: n, Name: fmt.Sprintf("gen-%06d", n), CreatedAt: at.Add(time.Duration(n) * 24 * time.Hour),
			Model: "dualenc-v1", Vocabulary: fmt.Sprintf("voc%d", n), Counts: map[string]int{"products": 30 + n, "topics": 5 + n, "published": 4 + n, "vocabulary": 10 + n},
			Current: n == 3})
	}
	h.gens[0].Counts = nil // an old manifest without counts
	d := emptyDiff(2, 3)
	d.Vocabulary = changes.VocabularyChanges{
		Added:   []changes.Value{{Key: "color", Value: "olive", Count: 10}, {Key: "color", Value: hostileValue, Count: 3}},
		Removed: []changes.Value{{Key: "color", Value: "teal", Count: 4}},
		Merged:  []changes.Merge{{Key: "color", From: "navy", Into: "navy blue"}},
		Renamed: []changes.Rename{{Key: "category", From: "tshirts", To: "t-shirt"}},
	}
	d.Topics = changes.TopicChanges{
		Added:       []string{"black-watches"},
		Removed:     []string{"old-sandals"},
		Published:   []string{"watches"},
		Unpublished: []string{"silver-watches"},
		FeedChanged: []changes.FeedChange{{Slug: "black-watches-for-men", OverlapAt24: 0.5, SizeFrom: 30, SizeTo: 33}, {Slug: "hostile", OverlapAt24: 0.917, SizeFrom: 2, SizeTo: 2}},
	}
	d.Overrides.Orphaned = []string{"old-sandals"}
	d.Summary = changes.Summary{VocabularyAdded: 2, VocabularyRemoved: 1, VocabularyMerged: 1, VocabularyRenamed: 1, TopicsAdded: 1, TopicsRemoved: 1,
		TopicsPublished: 1, TopicsUnpublished: 1, FeedChanged: 2, OverridesOrphaned: 1, ProductsFrom: 32, ProductsTo: 33, TopicsFrom: 7, TopicsTo: 6,
		PublishedFrom: 5, PublishedTo: 5, VocabularyFrom: 12, VocabularyTo: 13}
	h.diffs[[2]int{2, 3}] = d
	// 1 → 2 adds more topics than a list shows.
	big := emptyDiff(1, 2)
	for i := range 250 {
		big.Topics.Added = append(big.Topics.Added, fmt.Sprintf("t-%03d", i))
	}
	big.Summary.TopicsAdded = 250
	h.diffs[[2]int{1, 2}] = big
	return h
}

func emptyDiff(from, to int) changes.Diff {
	return changes.Diff{From: from, To: to,
		Vocabulary: changes.VocabularyChanges{Added: []changes.Value{}, Removed: []changes.Value{}, Merged: []changes.Merge{}, Renamed: []changes.Rename{}},
		Topics:     changes.TopicChanges{Added: []string{}, Removed: []string{}, Published: []string{}, Unpublished: []string{}, FeedChanged: []changes.FeedChange{}},
		Overrides:  changes.OverrideChanges{Orphaned: []string{}}}
}

func (h *fakeHistory) Generations(context.Context) ([]changes.GenerationInfo, error) {
	return append([]changes.GenerationInfo(nil), h.gens...), nil
}

func (h *fakeHistory) Diff(_ context.Context, from, to int) (changes.Diff, error) {
	h.mu.Lock()
	h.calls = append(h.calls, [2]int{from, to})
	h.mu.Unlock()
	kept := func(n int) bool { return n >= 1 && n <= len(h.gens) }
	if to == 0 {
		to = len(h.gens)
	}
	if !kept(to) {
		return changes.Diff{}, fmt.Errorf("diff generations: %w %d (kept: 1, 2, 3)", changes.ErrNoGeneration, to)
	}
	if from == 0 {
		if from = to - 1; from == 0 {
			return changes.Diff{}, fmt.Errorf("diff generations: %w before generation %d (kept: 1, 2, 3)", changes.ErrNoPrevious, to)
		}
	}
	if !kept(from) {
		return changes.Diff{}, fmt.Errorf("diff generations: %w %d (kept: 1, 2, 3)", changes.ErrNoGeneration, from)
	}
	if d, ok := h.diffs[[2]int{from, to}]; ok {
		return d, nil
	}
	return emptyDiff(from, to), nil
}

// errorBody is the body of an error response.
type errorBody struct {
	Error struct{ Code, Message string }
}

func TestGenerationsAPI(t *testing.T) {
	h := newFakeHistory()
	f := newPagesServer(t, Options{History: h})
	var list GenerationListJSON
	get(t, f.ts, "/api/v1/generations", 200, &list)
	var nums []int
	for _, g := range list.Generations {
		nums = append(nums, g.Generation)
	}
	if list.Current != 3 || fmt.Sprint(nums) != "[3 2 1]" || !list.Generations[0].Current || list.Generations[1].Current {
		t.Fatalf("generations %+v", list)
	}
	if g := list.Generations[1]; g.Name != "gen-000002" || g.Counts["products"] != 32 || g.Vocabulary != "voc2" || !g.CreatedAt.Equal(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("generation 2 %+v", g)
	}
	if _, body, _ := fetch(t, f.ts.URL, "/api/v1/generations"); strings.Contains(body, "null") || !strings.Contains(body, `"counts":{}`) {
		t.Errorf("a generation without counts: %s", body)
	}

	empty := httptest.NewServer(New(Options{}).Handler())
	defer empty.Close()
	var e errorBody
	get(t, empty, "/api/v1/generations", 503, &e)
	if e.Error.Code != "no_history" {
		t.Errorf("no history: %+v", e)
	}
}

func TestChangesAPI(t *testing.T) {
	h := newFakeHistory()
	f := newPagesServer(t, Options{History: h})
	for _, tc := range []struct {
		query    string
		from, to int
		call     [2]int
	}{
		{"", 2, 3, [2]int{0, 0}},
		{"?from=1&to=3", 1, 3, [2]int{1, 3}},
		{"?to=2", 1, 2, [2]int{0, 2}},
		{"?from=3&to=2", 3, 2, [2]int{3, 2}},
	} {
		t.Run("changes"+tc.query, func(t *testing.T) {
			var d changes.Diff
			get(t, f.ts, "/api/v1/changes"+tc.query, 200, &d)
			h.mu.Lock()
			call := h.calls[len(h.calls)-1]
			h.mu.Unlock()
			if d.From != tc.from || d.To != tc.to || call != tc.call {
				t.Errorf("diff %d → %d after Diff%v, want %d → %d after Diff%v", d.From, d.To, call, tc.from, tc.to, tc.call)
			}
		})
	}
	_, body, _ := fetch(t, f.ts.URL, "/api/v1/changes")
	for _, want := range []string{`"from":2`, `"to":3`, `"feed_changed":[{"slug":"black-watches-for-men","overlap_at_24":0.5,"size_from":30,"size_to":33}`,
		`"merged":[{"key":"color","from":"navy","into":"navy blue"}]`, `"orphaned":["old-sandals"]`, `"topics_added":1`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}

	for _, tc := range []struct {
		query  string
		status int
		code   string
		msg    string
	}{
		{"?from=0", 400, "bad_request", "from must be an integer in [1, "},
		{"?to=-1", 400, "bad_request", "to must be an integer in [1, "},
		{"?from=&to=", 400, "bad_request", "from must be an integer in [1, "},
		{"?from=x", 400, "bad_request", "from must be"},
		{"?to=1.5", 400, "bad_request", "to must be"},
		{"?to=99999999999999999999999", 400, "bad_request", "to must be"},
		{"?to=9", 404, "not_found", "no such generation 9 (kept: 1, 2, 3)"},
		{"?from=7&to=2", 404, "not_found", "no such generation 7"},
		{"?to=1", 404, "not_found", "no previous generation before generation 1"},
	} {
		t.Run("changes"+tc.query, func(t *testing.T) {
			var e errorBody
			get(t, f.ts, "/api/v1/changes"+tc.query, tc.status, &e)
			if e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.msg) || strings.Contains(e.Error.Message, "diff generations") {
				t.Errorf("error %+v, want %s %q", e, tc.code, tc.msg)
			}
		})
	}

	empty := httptest.NewServer(New(Options{}).Handler())
	defer empty.Close()
	var e errorBody
	get(t, empty, "/api/v1/changes?from=1&to=2", 503, &e)
	if e.Error.Code != "no_history" {
		t.Errorf("no history: %+v", e)
	}
}

// commitGeneration writes a generation with the vocabulary and topics given
// into d, as the indexer lays one out, and makes it current.
func commitGeneration(t *testing.T, d *datadir.Dir, v vocab.Vocabulary, ts []topics.Topic) datadir.Manifest {
	t.Helper()
	b, err := d.NewGeneration()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Save(filepath.Join(b.Path(), "vocabulary.json")); err != nil {
		t.Fatal(err)
	}
	if err := (topics.File{Format: topics.FormatVersion, Topics: ts, Baseline: []topics.Topic{}, Gaps: []topics.Gap{}}).Save(filepath.Join(b.Path(), topics.FileName)); err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, tp := range ts {
		if tp.Published {
			published++
		}
	}
	m, err := b.Commit(datadir.Manifest{Vocabulary: v.Version, Counts: map[string]int{"products": 40, "topics": len(ts), "published": published}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// realTopic is a topic of category value whose feed holds the ids given.
func realTopic(value string, published bool, ids ...string) topics.Topic {
	tp := topics.Topic{Slug: value, Title: "All " + value, Attributes: []vocab.KV{{Key: "category", Value: value}}, Size: len(ids), Published: published, Reasons: []string{}}
	for _, id := range ids {
		tp.Feed = append(tp.Feed, topics.Slot{ID: id, Score: 0.9, Similarity: 0.8, Matched: []float32{1}, Sources: []string{"tag"}})
	}
	return tp
}

func TestChangesAPIWithRealHistory(t *testing.T) {
	d, err := datadir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{History: changes.NewHistory(d, d.OverridesPath())})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	// No generation yet: none listed, nothing to compare.
	if st, body, _ := fetch(t, ts.URL, "/api/v1/generations"); st != 200 || body != `{"current":0,"generations":[]}` {
		t.Errorf("empty data dir: %d %s", st, body)
	}
	var e errorBody
	get(t, ts, "/api/v1/changes", 503, &e)
	if e.Error.Code != "not_ready" {
		t.Errorf("empty data dir: %+v", e)
	}

	v1 := vocab.Vocabulary{Version: "v1", Keys: map[string][]vocab.Value{"category": {{Value: "dress", Count: 9, Aliases: []string{}}, {Value: "sandals", Count: 4, Aliases: []string{}}}}}
	commitGeneration(t, d, v1, []topics.Topic{realTopic("dress", true, "d1", "d2", "d3", "d4"), realTopic("sandals", true, "s1", "s2")})
	// One generation kept: nothing before it.
	get(t, ts, "/api/v1/changes", 404, &e)
	if e.Error.Code != "not_found" || !strings.Contains(e.Error.Message, "no previous generation before generation 1") {
		t.Errorf("one generation: %+v", e)
	}

	v2 := vocab.Vocabulary{Version: "v2", Keys: map[string][]vocab.Value{"category": {{Value: "dress", Count: 11, Aliases: []string{}}, {Value: "boots", Count: 5, Aliases: []string{}}}}}
	commitGeneration(t, d, v2, []topics.Topic{realTopic("dress", false, "d1", "d2", "d5", "d6"), realTopic("boots", true, "b1")})
	overrides := `{"collections":{"sandals":{"pins":["s1"],"excludes":[],"published":null},"dress":{"pins":["d1"],"excludes":[],"published":null}}}`
	if err := os.WriteFile(d.OverridesPath(), []byte(overrides), 0o644); err != nil {
		t.Fatal(err)
	}

	var list GenerationListJSON
	get(t, ts, "/api/v1/generations", 200, &list)
	if list.Current != 2 || len(list.Generations) != 2 || list.Generations[0].Generation != 2 || list.Generations[0].Vocabulary != "v2" ||
		list.Generations[0].Counts["published"] != 1 || list.Generations[1].Current {
		t.Fatalf("generations %+v", list)
	}
	for _, path := range []string{"/api/v1/changes", "/api/v1/changes?from=1&to=2", "/api/v1/changes?to=2"} {
		var got changes.Diff
		get(t, ts, path, 200, &got)
		if got.From != 1 || got.To != 2 ||
			fmt.Sprint(got.Topics.Added, got.Topics.Removed, got.Topics.Unpublished) != "[boots] [sandals] [dress]" ||
			len(got.Topics.FeedChanged) != 1 || got.Topics.FeedChanged[0] != (changes.FeedChange{Slug: "dress", OverlapAt24: 0.5, SizeFrom: 4, SizeTo: 4}) ||
			fmt.Sprint(got.Vocabulary.Added, got.Vocabulary.Removed) != "[{category boots 5}] [{category sandals 4}]" ||
			fmt.Sprint(got.Overrides.Orphaned) != "[sandals]" || got.Summary.OverridesOrphaned != 1 || got.Summary.ProductsTo != 40 {
			t.Errorf("GET %s = %+v", path, got)
		}
	}
	// Backwards, and the errors of the real history.
	var back changes.Diff
	get(t, ts, "/api/v1/changes?from=2&to=1", 200, &back)
	if fmt.Sprint(back.Topics.Added, back.Topics.Removed) != "[sandals] [boots]" {
		t.Errorf("backwards %+v", back.Topics)
	}
	get(t, ts, "/api/v1/changes?to=1", 404, &e)
	if !strings.Contains(e.Error.Message, "no previous generation") {
		t.Errorf("to=1: %+v", e)
	}
	get(t, ts, "/api/v1/changes?from=5", 404, &e)
	if !strings.Contains(e.Error.Message, "no such generation 5 (kept: 1, 2)") {
		t.Errorf("from=5: %+v", e)
	}
	get(t, ts, "/api/v1/changes?from=nope", 400, nil)

	// The console reads the same history.
	body, _ := page(t, ts.URL, "/merch/changes?kind=removed", 200)
	if !strings.Contains(body, "Generation 1 → 2") || !strings.Contains(body, `data-name="sandals"`) || strings.Contains(body, `data-name="boots"`) ||
		!strings.Contains(body, "Overrides kept for collections that no longer exist") {
		t.Errorf("changes page:\n%.3000s", body)
	}
	body, _ = page(t, ts.URL, "/merch/generations", 200)
	if !strings.Contains(body, `href="/merch/changes?from=1&amp;to=2"`) {
		t.Errorf("generations page:\n%.3000s", body)
	}
	page(t, ts.URL, "/merch/changes?to=1", 404)
}

func TestMerchChangesPage(t *testing.T) {
	f := newPagesServer(t, Options{History: newFakeHistory()})
	body, h := page(t, f.ts.URL, "/merch/changes", 200)
	if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("headers %v", h)
	}
	es := elements(t, body)
	if got := one(t, es, "h1", "", "").Text; got != "Generation 2 → 3" {
		t.Errorf("heading %q", got)
	}
	// Topics of the served generation link to the console, with their
	// titles; removed ones are plain text.
	one(t, es, "a", "href", "/merch/c/black-watches")
	one(t, es, "a", "href", "/merch/c/watches")
	one(t, es, "a", "href", "/merch/c/silver-watches")
	one(t, es, "a", "href", "/merch/c/hostile")
	if len(find(es, "a", "href", "/merch/c/old-sandals")) != 0 {
		t.Error("a removed topic links to the console")
	}
	var sections []string
	for _, s := range find(es, "section", "class", "changes") {
		sections = append(sections, s.Attr["id"])
	}
	if strings.Join(sections, " ") != "added removed published unpublished feed vocabulary-added vocabulary-removed vocabulary-merged vocabulary-renamed" {
		t.Errorf("sections %q", sections)
	}
	var feed []string
	for _, r := range find(es, "tr", "class", "change") {
		feed = append(feed, r.Attr["data-name"])
	}
	if want := "black-watches old-sandals watches silver-watches black-watches-for-men hostile color=olive color=" + hostileValue + " color=teal color=navy category=tshirts"; strings.Join(feed, " ") != want {
		t.Errorf("rows %q\nwant %q", strings.Join(feed, " "), want)
	}
	for _, want := range []string{"Topics added: 1", "Feeds changed: 2", "Vocabulary: 2 added, 1 removed, 1 merged, 1 renamed", "Products 32 → 33",
		"Overrides kept for collections that no longer exist (1)", `<li class="orphan">old-sandals</li>`, "50.0%", "30 → 33", "91.7%", "navy blue", "t-shirt",
		"Black Watches", `href="/merch/changes?from=2&amp;kind=feed&amp;to=3"`, `<input type="hidden" name="from" value="2">`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, `<script>alert`) || strings.Contains(body, `<img src=x`) {
		t.Error("a title or a value is not escaped")
	}

	// The filters.
	for _, tc := range []struct {
		query, rows string
	}{
		{"kind=removed", "old-sandals"},
		{"kind=feed", "black-watches-for-men hostile"},
		{"kind=feed&q=HOST", "hostile"},
		{"kind=vocabulary&q=navy", "color=navy"},
		{"q=watches", "black-watches watches silver-watches black-watches-for-men"},
		{"kind=published&q=nothing", ""},
		{"from=2&to=3&kind=all&q=", "black-watches old-sandals watches silver-watches black-watches-for-men hostile color=olive color=" + hostileValue + " color=teal color=navy category=tshirts"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			body, _ := page(t, f.ts.URL, "/merch/changes?"+tc.query, 200)
			var rows []string
			for _, r := range find(elements(t, body), "tr", "class", "change") {
				rows = append(rows, r.Attr["data-name"])
			}
			if strings.Join(rows, " ") != tc.rows {
				t.Errorf("rows %q, want %q", strings.Join(rows, " "), tc.rows)
			}
		})
	}
	body, _ = page(t, f.ts.URL, "/merch/changes?kind=published&q=nothing", 200)
	if !strings.Contains(body, "None matching “nothing”.") || !strings.Contains(body, `<option value="published" selected>`) {
		t.Errorf("an empty filter:\n%.3000s", body)
	}

	// A generation that is not served links nothing; long lists are capped.
	body, _ = page(t, f.ts.URL, "/merch/changes?from=1&to=2&kind=added", 200)
	es = elements(t, body)
	if n := len(find(es, "tr", "class", "change")); n != changeListCap {
		t.Errorf("%d rows, want the cap %d", n, changeListCap)
	}
	if !strings.Contains(body, "Showing the first 100 of 250") || !strings.Contains(body, "Generation 2 is not the one served") ||
		strings.Contains(body, `href="/merch/c/t-000"`) {
		t.Errorf("capped list:\n%.3000s", body)
	}
	body, _ = page(t, f.ts.URL, "/merch/changes?from=1&to=2&q=t-24", 200)
	if n := len(find(elements(t, body), "tr", "class", "change")); n != 10 || !strings.Contains(body, "(10)") {
		t.Errorf("%d rows for t-24, want 10", n)
	}

	for _, tc := range []struct {
		query  string
		status int
		want   string
	}{
		{"kind=bogus", 400, "kind must be one of all, added"},
		{"from=x", 400, "from must be an integer in [1, "},
		{"to=0", 400, "to must be an integer in [1, "},
		{"to=9", 404, "no such generation 9"},
		{"to=1", 404, "no previous generation before generation 1"},
	} {
		body, _ := page(t, f.ts.URL, "/merch/changes?"+tc.query, tc.status)
		if !strings.Contains(body, tc.want) {
			t.Errorf("%s: page lacks %q", tc.query, tc.want)
		}
	}
	none := newPagesServer(t, Options{})
	body, _ = page(t, none.ts.URL, "/merch/changes", 503)
	if !strings.Contains(body, "without the index history") {
		t.Errorf("no history:\n%.2000s", body)
	}
}

func TestMerchGenerationsPage(t *testing.T) {
	f := newPagesServer(t, Options{History: newFakeHistory()})
	body, h := page(t, f.ts.URL, "/merch/generations", 200)
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
	}
	es := elements(t, body)
	var rows []string
	for _, r := range find(es, "tr", "class", "generation") {
		rows = append(rows, r.Attr["data-generation"])
	}
	if strings.Join(rows, " ") != "3 2 1" {
		t.Errorf("rows %q", rows)
	}
	one(t, es, "a", "href", "/merch/changes?from=2&to=3")
	one(t, es, "a", "href", "/merch/changes?from=1&to=2")
	if got := len(find(es, "a", "class", "since")); got != 2 {
		t.Errorf("%d links to the changes since the previous, want 2", got)
	}
	one(t, es, "form", "action", "/merch/changes")
	for _, want := range []string{`<span class="tag">current</span>`, "2026-11-21 09:00 UTC", "oldest kept", "<code>voc3</code>", "dualenc-v1",
		`<option value="3" selected>Generation 3</option>`, `<option value="2" selected>Generation 2</option>`, "<td class=\"num\">33</td>", "—"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The console links both pages.
	merch, _ := page(t, f.ts.URL, "/merch", 200)
	es = elements(t, merch)
	one(t, es, "a", "href", "/merch/generations")
	one(t, es, "a", "href", "/merch/changes")

	empty := newPagesServer(t, Options{History: &fakeHistory{}})
	body, _ = page(t, empty.ts.URL, "/merch/generations", 200)
	if !strings.Contains(body, "No generation is kept yet") {
		t.Error("an empty history does not say so")
	}
	none := httptest.NewServer(New(Options{}).Handler())
	defer none.Close()
	page(t, none.URL, "/merch/generations", 503)
}

var _ History = (*fakeHistory)(nil)
