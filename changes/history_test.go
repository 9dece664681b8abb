package changes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lander/datadir"
	"lander/indexer"
	"lander/indexer/curate"
	"lander/indexer/topics"
	"lander/vocab"
)

// spec is one generation to write with the indexer's own file types.
type spec struct {
	vocabulary vocab.Vocabulary
	merged     []curate.Merged
	topics     []topics.Topic
	noCuration bool
}

// commit writes s as a committed generation of d, the way the indexer
// lays one out.
func commit(t testing.TB, d *datadir.Dir, s spec) datadir.Manifest {
	t.Helper()
	b, err := d.NewGeneration()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.vocabulary.Save(filepath.Join(b.Path(), indexer.VocabularyFile)); err != nil {
		t.Fatal(err)
	}
	if !s.noCuration {
		// The indexer's curation file: the report with its version and
		// the judge's scores around it.
		report := struct {
			Version string `json:"version"`
			curate.Report
			Judged []indexer.JudgedValue `json:"judged"`
		}{Version: "v", Report: curate.Report{MinSupport: 5, Merged: s.merged,
			Removed: []curate.Removed{{Key: "color", Value: "x", Support: 1, Step: "frequency"}}}, Judged: []indexer.JudgedValue{}}
		if err := datadir.WriteJSON(filepath.Join(b.Path(), indexer.CurationFile), report); err != nil {
			t.Fatal(err)
		}
	}
	f := topics.File{Format: topics.FormatVersion, Topics: s.topics, Baseline: []topics.Topic{{Slug: "baseline-only"}}}
	if err := f.Save(filepath.Join(b.Path(), topics.FileName)); err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, tp := range s.topics {
		if tp.Published {
			published++
		}
	}
	m, err := b.Commit(datadir.Manifest{Counts: map[string]int{"products": 50, "topics": len(s.topics), "published": published}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// topic is a real topic whose feed holds n slots with full evidence.
func topic(slug string, published bool, n int) topics.Topic {
	tp := topics.Topic{Slug: slug, Title: "T " + slug, Attributes: []vocab.KV{{Key: "category", Value: slug}},
		Size: n + 5, Published: published, Reasons: []string{}}
	for i := range n {
		tp.Feed = append(tp.Feed, topics.Slot{ID: fmt.Sprintf("%s-%03d", slug, i), Score: 0.9, Similarity: 0.8,
			Matched: []float32{1}, Sources: []string{"tag"}})
	}
	return tp
}

func TestLoad(t *testing.T) {
	d, _ := datadir.Open(t.TempDir())
	v := voc(map[string][]string{"category": {"dress", "t-shirt=tshirts"}}, nil)
	commit(t, d, spec{vocabulary: v,
		merged: []curate.Merged{{Key: "category", Canonical: "t-shirt", Step: "normalise",
			Members: []curate.Member{{Value: "t-shirt", Support: 9}, {Value: "tshirts", Support: 3, Cosine: 0.97}}}},
		topics: []topics.Topic{topic("dress", true, 40), topic("t-shirt", false, 3), {Slug: "empty"}},
	})
	m, path, err := d.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Manifest.Generation != m.Generation || g.Manifest.Counts["products"] != 50 {
		t.Errorf("manifest = %+v", g.Manifest)
	}
	if diff := cmp.Diff(v, g.Vocabulary); diff != "" {
		t.Errorf("vocabulary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]MergeGroup{{Key: "category", Canonical: "t-shirt", Members: []string{"t-shirt", "tshirts"}}}, g.Merged); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
	dress := topic("dress", true, FeedDepth)
	var ids []string
	for _, s := range dress.Feed {
		ids = append(ids, s.ID)
	}
	want := []Topic{
		{Slug: "dress", Title: "T dress", Attributes: []vocab.KV{{Key: "category", Value: "dress"}}, Size: 45, Published: true, Feed: ids},
		{Slug: "t-shirt", Title: "T t-shirt", Attributes: []vocab.KV{{Key: "category", Value: "t-shirt"}}, Size: 8,
			Feed: []string{"t-shirt-000", "t-shirt-001", "t-shirt-002"}},
		{Slug: "empty"},
	}
	if diff := cmp.Diff(want, g.Topics); diff != "" {
		t.Errorf("topics (-want +got):\n%s", diff)
	}
}

func TestLoadFailures(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(path string)
		wantErr bool
	}{
		{"complete", func(string) {}, false},
		{"no curation report", func(p string) { os.Remove(filepath.Join(p, curationFile)) }, false},
		{"no topics", func(p string) { os.Remove(filepath.Join(p, topicsFile)) }, true},
		{"no vocabulary", func(p string) { os.Remove(filepath.Join(p, vocabularyFile)) }, true},
		{"no manifest", func(p string) { os.Remove(filepath.Join(p, datadir.ManifestFile)) }, true},
		{"feed not an array", func(p string) {
			os.WriteFile(filepath.Join(p, topicsFile), []byte(`{"topics":[{"slug":"a","feed":{"id":"x"}}]}`), 0o644)
		}, true},
		{"bad curation report", func(p string) { os.WriteFile(filepath.Join(p, curationFile), []byte(`{"merged":3}`), 0o644) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := datadir.Open(t.TempDir())
			commit(t, d, spec{vocabulary: voc(nil, nil), topics: []topics.Topic{topic("a", true, 3)}})
			_, path, _ := d.Current()
			tt.damage(path)
			g, err := Load(path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Load = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (len(g.Topics) != 1 || g.Merged == nil) {
				t.Errorf("Load = %+v", g)
			}
		})
	}
}

func TestFileNamesMatchIndexer(t *testing.T) {
	if vocabularyFile != indexer.VocabularyFile || curationFile != indexer.CurationFile || topicsFile != topics.FileName {
		t.Errorf("file names %q %q %q drifted from the indexer's", vocabularyFile, curationFile, topicsFile)
	}
}

func TestLoadOverrides(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string // "" for no file
		want    []string
		wantErr bool
	}{
		{name: "missing file"},
		{name: "two", content: `{"collections":{"a":{"pins":["1"]},"b":{"published":false,"updated_at":"2026-12-01T00:00:00Z"}}}`, want: []string{"a", "b"}},
		{name: "no collections", content: `{}`},
		{name: "damaged", content: `{"collections":`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".json")
			if tt.content != "" {
				os.WriteFile(path, []byte(tt.content), 0o644)
			}
			got, err := LoadOverrides(path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("LoadOverrides = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var slugs []string
			for s := range got {
				slugs = append(slugs, s)
			}
			if diff := cmp.Diff(tt.want, slugs, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("slugs (-want +got):\n%s", diff)
			}
		})
	}
	if got, err := LoadOverrides(""); err != nil || len(got) != 0 {
		t.Errorf("LoadOverrides(\"\") = %v, %v", got, err)
	}
}

// history returns a data directory with three generations: the first two
// differ by a topic, the third unpublishes one.
func history(t *testing.T) (*datadir.Dir, *History) {
	t.Helper()
	d, err := datadir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v := voc(map[string][]string{"category": {"dress", "shirt"}}, nil)
	commit(t, d, spec{vocabulary: v, topics: []topics.Topic{topic("dress", true, 30), topic("shirt", true, 30)}})
	commit(t, d, spec{vocabulary: v, topics: []topics.Topic{topic("dress", true, 30), topic("shirt", true, 30), topic("jeans", true, 12)}})
	commit(t, d, spec{vocabulary: v, topics: []topics.Topic{topic("dress", false, 30), topic("shirt", true, 30), topic("jeans", true, 12)}})
	return d, NewHistory(d, d.OverridesPath())
}

func TestHistoryGenerations(t *testing.T) {
	d, h := history(t)
	gens, err := h.Generations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Generation int
		Current    bool
		Topics     int
	}
	var got []row
	for _, g := range gens {
		got = append(got, row{g.Generation, g.Current, g.Counts["topics"]})
	}
	want := []row{{1, false, 2}, {2, false, 3}, {3, true, 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("generations (-want +got):\n%s", diff)
	}
	if gens[0].Name != "gen-000001" || gens[0].CreatedAt.IsZero() {
		t.Errorf("generation 1 = %+v", gens[0])
	}

	// CURRENT may point back at an older generation.
	os.WriteFile(filepath.Join(d.Root(), "CURRENT"), []byte("gen-000002\n"), 0o644)
	gens, _ = h.Generations(context.Background())
	if gens[1].Current != true || gens[2].Current != false {
		t.Errorf("after rollback: %+v", gens)
	}
}

func TestHistoryDiff(t *testing.T) {
	_, h := history(t)
	tests := []struct {
		name     string
		from, to int
		want     [2]int // from, to of the diff
		added    []string
		err      error
	}{
		{name: "defaults: the current one and the one before", want: [2]int{2, 3}},
		{name: "to given, from the one before", to: 2, want: [2]int{1, 2}, added: []string{"jeans"}},
		{name: "both given", from: 1, to: 3, want: [2]int{1, 3}, added: []string{"jeans"}},
		{name: "backwards", from: 3, to: 1, want: [2]int{3, 1}},
		{name: "from given, to the current one", from: 1, want: [2]int{1, 3}, added: []string{"jeans"}},
		{name: "nothing before the first", to: 1, err: ErrNoPrevious},
		{name: "unknown to", to: 9, err: ErrNoGeneration},
		{name: "unknown from", from: 7, to: 2, err: ErrNoGeneration},
		{name: "negative", from: -1, err: ErrNoGeneration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := h.Diff(context.Background(), tt.from, tt.to)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Diff(%d, %d) = %v, want %v", tt.from, tt.to, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.From != tt.want[0] || d.To != tt.want[1] {
				t.Errorf("Diff(%d, %d) compared %d to %d, want %v", tt.from, tt.to, d.From, d.To, tt.want)
			}
			added := tt.added
			if added == nil {
				added = []string{}
			}
			if diff := cmp.Diff(added, d.Topics.Added); diff != "" {
				t.Errorf("added (-want +got):\n%s", diff)
			}
		})
	}

	d, _ := h.Diff(context.Background(), 0, 0)
	if diff := cmp.Diff([]string{"dress"}, d.Topics.Unpublished); diff != "" {
		t.Errorf("unpublished (-want +got):\n%s", diff)
	}
}

func TestHistoryOnlyOneGeneration(t *testing.T) {
	d, _ := datadir.Open(t.TempDir())
	h := NewHistory(d, d.OverridesPath())
	if _, err := h.Diff(context.Background(), 0, 0); !errors.Is(err, datadir.ErrNoIndex) {
		t.Errorf("Diff of an empty dir = %v, want ErrNoIndex", err)
	}
	commit(t, d, spec{vocabulary: voc(nil, nil)})
	if _, err := h.Diff(context.Background(), 0, 0); !errors.Is(err, ErrNoPrevious) {
		t.Errorf("Diff with one generation = %v, want ErrNoPrevious", err)
	}
}

// TestHistoryReadsOverridesEachTime checks that a cached comparison still
// sees the overrides as they are now, and that what a caller gets is its
// own.
func TestHistoryReadsOverridesEachTime(t *testing.T) {
	dir, h := history(t)
	d, err := h.Diff(context.Background(), 0, 0)
	if err != nil || len(d.Overrides.Orphaned) != 0 {
		t.Fatalf("Diff = %+v, %v", d.Overrides, err)
	}
	d.Topics.Unpublished[0] = "scribbled"

	o := map[string]any{"collections": map[string]any{"dress": map[string]any{"pins": []string{"x"}}, "gone": map[string]any{}}}
	b, _ := json.Marshal(o)
	os.WriteFile(dir.OverridesPath(), b, 0o644)
	d, err = h.Diff(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gone"}, d.Overrides.Orphaned); diff != "" {
		t.Errorf("orphaned (-want +got):\n%s", diff)
	}
	if d.Summary.OverridesOrphaned != 1 || d.Topics.Unpublished[0] != "dress" {
		t.Errorf("summary %+v, unpublished %v", d.Summary, d.Topics.Unpublished)
	}
	after, _ := os.ReadFile(dir.OverridesPath())
	if string(after) != string(b) {
		t.Errorf("overrides file changed: %s", after)
	}
}

func TestHistoryCacheIsBoundedAndConcurrent(t *testing.T) {
	_, h := history(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			from, to := i%3+1, (i/3)%3+1
			d, err := h.Diff(context.Background(), from, to)
			if err == nil && (d.From != from || d.To != to) {
				err = fmt.Errorf("Diff(%d, %d) compared %d to %d", from, to, d.From, d.To)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h.mu.Lock()
	n, order := len(h.cache), len(h.order)
	h.mu.Unlock()
	if n != min(9, cacheSize) || order != n {
		t.Errorf("cache holds %d entries (%d in order), want %d", n, order, min(9, cacheSize))
	}

	for i := range 2 * cacheSize {
		h.Diff(context.Background(), i%3+1, 1)
		h.Diff(context.Background(), 3, i%2+1)
	}
	h.mu.Lock()
	n = len(h.cache)
	h.mu.Unlock()
	if n > cacheSize {
		t.Errorf("cache grew to %d entries, bound %d", n, cacheSize)
	}
}

func TestHistoryCanceled(t *testing.T) {
	_, h := history(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Diff(ctx, 0, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Diff with a canceled context = %v", err)
	}
	// The failure is not cached.
	if _, err := h.Diff(context.Background(), 0, 0); err != nil {
		t.Fatalf("Diff after a canceled one = %v", err)
	}
}
