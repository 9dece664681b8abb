package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"lander/config"
	"lander/datadir"
	"lander/indexer"
)

func cmdIndex(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("index", stderr)
	f.common()
	f.str("catalog", "catalog `path`: a Fashion Product Images folder, a .parquet or a .jsonl file", func(c *config.Config) *string { return &c.Index.Catalog })
	f.str("search-log", "query<TAB>count `file` for intent mining", func(c *config.Config) *string { return &c.Index.SearchLog })
	f.str("shard", "index only slice `I/N` of the catalog (0 <= I < N), by a hash of the id", func(c *config.Config) *string { return &c.Index.Shard })
	f.str("summary", "also write the summary as JSON to `file`", func(c *config.Config) *string { return &c.Index.Summary })
	f.integer("workers", "image decoding workers (default one per CPU)", func(c *config.Config) *int { return &c.Index.Workers })
	f.integer("batch-size", "rows per pipeline batch", func(c *config.Config) *int { return &c.Index.BatchSize })
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if cfg.Index.Catalog == "" {
		return usageError{fmt.Errorf("--catalog is required")}
	}
	return runIndex(ctx, cfg, stdout, stderr)
}

func runIndex(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	dir, err := datadir.Open(cfg.Data)
	if err != nil {
		return err
	}
	enc, err := openEncoder(cfg)
	if err != nil {
		return err
	}
	defer enc.Close()
	open, backend := openTarget(cfg)
	opts := indexer.Options{
		Catalog: cfg.Index.Catalog, Workers: cfg.Index.Workers, BatchSize: cfg.Index.BatchSize,
		Model: modelName, Backend: backend, Logger: log,
	}
	if cfg.Index.Shard != "" {
		opts.Shard, opts.ShardCount, _ = config.ParseShard(cfg.Index.Shard)
	}
	opts.Progress = progress(stderr, log)
	sum, runErr := indexer.New(dir, enc, open, opts).Run(ctx)
	if isTerminal(stderr) {
		fmt.Fprintln(stderr)
	}
	printSummary(stdout, sum)
	if cfg.Index.Summary != "" {
		if err := writeJSON(cfg.Index.Summary, sum); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	}
	if runErr != nil {
		return runErr
	}
	if err := dir.Prune(3); err != nil {
		log.Warn("prune old generations", "err", err)
	}
	return nil
}

// progress draws a bar on a terminal and logs a line every few thousand
// rows otherwise.
func progress(w io.Writer, log interface{ Info(string, ...any) }) func(indexer.Progress) {
	tty := isTerminal(w)
	start := time.Now()
	next := 5000
	return func(p indexer.Progress) {
		rate := float64(p.Read) / time.Since(start).Seconds()
		if tty {
			fmt.Fprintf(w, "\rindexing: %d read, %d indexed, %d rejected (%.0f rows/s)   ", p.Read, p.Indexed, p.Rejected, rate)
			return
		}
		if p.Indexed >= next {
			log.Info("progress", "read", p.Read, "indexed", p.Indexed, "rejected", p.Rejected, "rows_per_s", int(rate))
			next += 5000
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func printSummary(w io.Writer, s indexer.Summary) {
	fmt.Fprintf(w, "generation %d from %s (%s)", s.Generation, s.Catalog, s.Format)
	if s.Shard != "" {
		fmt.Fprintf(w, ", shard %s (%d rows of other shards skipped)", s.Shard, s.Products.Skipped)
	}
	fmt.Fprintln(w)
	rej := 0
	for _, n := range s.Products.Rejected {
		rej += n
	}
	fmt.Fprintf(w, "products: %d read, %d indexed, %d rejected\n", s.Products.Read, s.Products.Indexed, rej)
	for _, r := range sortedKeys(s.Products.Rejected) {
		fmt.Fprintf(w, "  rejected %-14s %d\n", r, s.Products.Rejected[r])
	}
	const maxShown = 20
	for i, r := range s.Rejections {
		if i == maxShown {
			fmt.Fprintf(w, "  ... %d more (all in the --summary file and rejected.jsonl of the generation)\n", len(s.Rejections)-maxShown)
			break
		}
		fmt.Fprintf(w, "  row %d id %q: %s: %s\n", r.Row, r.ID, r.Reason, r.Detail)
	}
	fmt.Fprintf(w, "vocabulary: %d raw values, %d curated\n", s.Vocabulary.RawValues, s.Vocabulary.CuratedValues)
	var keys []string
	for _, k := range sortedKeys(s.Vocabulary.PerKey) {
		pk := s.Vocabulary.PerKey[k]
		keys = append(keys, fmt.Sprintf("%s %d/%d", k, pk.Raw, pk.Curated))
	}
	if len(keys) > 0 {
		fmt.Fprintf(w, "  per key (raw/curated): %s\n", strings.Join(keys, ", "))
	}
	a := s.AttributesPerProduct
	fmt.Fprintf(w, "attributes per product: %.2f raw, %.2f curated, %.2f assigned\n", a.Raw, a.Curated, a.Assigned)
	fmt.Fprintf(w, "topics: %d generated, %d published (search log alone: %d)\n", s.Topics.Generated, s.Topics.Published, s.Topics.BaselinePublished)
	var secs []string
	for _, k := range sortedKeys(s.Seconds) {
		secs = append(secs, fmt.Sprintf("%s %.1fs", k, s.Seconds[k]))
	}
	fmt.Fprintf(w, "seconds: %s\n", strings.Join(secs, ", "))
}
