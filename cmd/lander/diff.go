package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"lander/changes"
	"lander/datadir"
)

// diffListCap is how many entries of each list the text output shows.
const diffListCap = 10

// cmdDiff runs "lander diff": what changed between two kept generations,
// as text or as the JSON of GET /api/v1/changes.
func cmdDiff(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("diff", stderr)
	f.common()
	from := f.fs.Int("from", 0, "older generation `N` (default: the kept generation before --to)")
	to := f.fs.Int("to", 0, "newer generation `M` (default: the current generation)")
	asJSON := f.fs.Bool("json", false, "print the diff as JSON")
	f.synopsis(`usage: lander diff [--data DIR] [--from N] [--to M] [--json]

Compares two kept generations of the data directory (default: the current
one and the one before it): vocabulary values added, removed, merged and
renamed; topics added, removed, published and unpublished; feeds whose
first 24 products moved; overrides whose collection is gone.

`)
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if *from < 0 || *to < 0 {
		return usageError{fmt.Errorf("--from and --to must be generation numbers >= 1")}
	}
	if _, err := os.Stat(cfg.Data); err != nil {
		return fmt.Errorf("open data dir: %w", err)
	}
	dir, err := datadir.Open(cfg.Data)
	if err != nil {
		return err
	}
	d, err := changes.NewHistory(dir, dir.OverridesPath()).Diff(ctx, *from, *to)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	printDiff(stdout, d)
	return nil
}

// printDiff writes d as text: the counts, then each non-empty list.
func printDiff(w io.Writer, d changes.Diff) {
	s := d.Summary
	fmt.Fprintf(w, "generation %d -> %d\n", d.From, d.To)
	fmt.Fprintf(w, "products    %d -> %d\n", s.ProductsFrom, s.ProductsTo)
	fmt.Fprintf(w, "vocabulary  %d -> %d values: %d added, %d removed, %d merged, %d renamed\n",
		s.VocabularyFrom, s.VocabularyTo, s.VocabularyAdded, s.VocabularyRemoved, s.VocabularyMerged, s.VocabularyRenamed)
	fmt.Fprintf(w, "topics      %d -> %d (published %d -> %d): %d added, %d removed, %d published, %d unpublished, %d feeds changed\n",
		s.TopicsFrom, s.TopicsTo, s.PublishedFrom, s.PublishedTo, s.TopicsAdded, s.TopicsRemoved, s.TopicsPublished, s.TopicsUnpublished, s.FeedChanged)
	fmt.Fprintf(w, "overrides   %d orphaned\n", s.OverridesOrphaned)

	v := d.Vocabulary
	printList(w, "vocabulary added", v.Added, func(x changes.Value) string { return fmt.Sprintf("%s=%s (%d)", x.Key, x.Value, x.Count) })
	printList(w, "vocabulary removed", v.Removed, func(x changes.Value) string { return fmt.Sprintf("%s=%s (%d)", x.Key, x.Value, x.Count) })
	printList(w, "vocabulary merged", v.Merged, func(x changes.Merge) string { return fmt.Sprintf("%s: %s into %s", x.Key, x.From, x.Into) })
	printList(w, "vocabulary renamed", v.Renamed, func(x changes.Rename) string { return fmt.Sprintf("%s: %s to %s", x.Key, x.From, x.To) })
	t := d.Topics
	slug := func(s string) string { return s }
	printList(w, "topics added", t.Added, slug)
	printList(w, "topics removed", t.Removed, slug)
	printList(w, "topics published", t.Published, slug)
	printList(w, "topics unpublished", t.Unpublished, slug)
	printList(w, "feeds changed (overlap of the first 24, size)", t.FeedChanged, func(x changes.FeedChange) string {
		return fmt.Sprintf("%-40s %.3f  %d -> %d", x.Slug, x.OverlapAt24, x.SizeFrom, x.SizeTo)
	})
	printList(w, "overrides orphaned (their collection is gone; kept as they are)", d.Overrides.Orphaned, slug)
}

// printList writes a titled list of at most diffListCap entries, and how many
// more there are; nothing when it is empty.
func printList[T any](w io.Writer, title string, xs []T, line func(T) string) {
	if len(xs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s: %d\n", title, len(xs))
	for _, x := range xs[:min(len(xs), diffListCap)] {
		fmt.Fprintf(w, "  %s\n", line(x))
	}
	if len(xs) > diffListCap {
		fmt.Fprintf(w, "  … and %d more\n", len(xs)-diffListCap)
	}
}
