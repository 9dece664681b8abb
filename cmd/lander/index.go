package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"lander/catalog"
	"lander/config"
	"lander/datadir"
	"lander/indexer"
	"lander/indexer/extract"
	"lander/indexer/judge"
	"lander/llm"
	"lander/remoteimage"
)

const indexUsage = `usage:
  lander index --catalog PATH [flags]
      read the catalog and build a new index generation
  lander index --catalog PATH --shard I/N [flags]
      read, extract, encode and assign slice I of N only (by a hash of the id)
      and write it to DATA/shards/I-of-N; no generation is built
  lander index --finalize --shards N [flags]
      check and merge shards 0..N-1 of N from DATA/shards, then curate, build
      topics and feeds, store the vectors (embedded or --milvus) and commit the
      generation, as one run over the whole catalog would; no catalog is read

flags:
`

func cmdIndex(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("index", stderr)
	f.synopsis(indexUsage)
	f.common()
	f.str("catalog", "catalog `path`: a Fashion Product Images folder, a .parquet or a .jsonl file", func(c *config.Config) *string { return &c.Index.Catalog })
	f.str("search-log", "query<TAB>count `file` for intent mining", func(c *config.Config) *string { return &c.Index.SearchLog })
	f.str("shard", "index only slice `I/N` of the catalog (0 <= I < N), by a hash of the id", func(c *config.Config) *string { return &c.Index.Shard })
	f.str("summary", "also write the summary as JSON to `file`", func(c *config.Config) *string { return &c.Index.Summary })
	f.str("embeddings", "use the precomputed embeddings in `dir` (products-*.parquet, attributes.parquet) instead of encoding", func(c *config.Config) *string { return &c.Index.Embeddings })
	f.integer("workers", "image decoding workers (default one per CPU)", func(c *config.Config) *int { return &c.Index.Workers })
	f.integer("batch-size", "rows per pipeline batch", func(c *config.Config) *int { return &c.Index.BatchSize })
	f.integer("min-support", "products a vocabulary value needs (default 5)", func(c *config.Config) *int { return &c.Index.MinSupport })
	f.str("vlm-url", "OpenAI-compatible API `root` of a vision-language model for attribute extraction (off when empty)", func(c *config.Config) *string { return &c.Index.VLM.URL })
	f.str("vlm-model", "vision-language model `name`", func(c *config.Config) *string { return &c.Index.VLM.Model })
	f.str("arbitration", "`dir` written by lander eval attributes --fit whose arbitration replaces the shipped one (empty: shipped)", func(c *config.Config) *string { return &c.Index.Arbitration })
	f.str("judge-url", "OpenAI-compatible API `root` of a chat model judging the vocabulary (offline judge when empty)", func(c *config.Config) *string { return &c.Index.Judge.URL })
	f.str("judge-model", "judge model `name`", func(c *config.Config) *string { return &c.Index.Judge.Model })
	// Scale-out: --shard I/N (above) writes DATA/shards/I-of-N; these merge them.
	f.boolean("finalize", "merge the shards 0..N-1 of N (--shards) in DATA/shards, written by --shard I/N, and build the generation; no catalog is read", func(c *config.Config) *bool { return &c.Index.Finalize })
	f.integer("shards", "the number of shards `N` that --finalize merges", func(c *config.Config) *int { return &c.Index.Shards })
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if cfg.Index.Catalog == "" && !cfg.Index.Finalize {
		return usageError{fmt.Errorf("--catalog is required (or --finalize --shards N to merge shards)")}
	}
	return runIndex(ctx, cfg, stdout, stderr)
}

func runIndex(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	arb, clf, err := loadArbitration(cfg.Index.Arbitration)
	if err != nil {
		return err
	}
	dir, err := datadir.Open(cfg.Data)
	if err != nil {
		return err
	}
	if cfg.Index.Shard == "" {
		// One run at a time builds a generation and prunes; shards of one
		// catalog write their own folders side by side and take no lock.
		unlock, err := dir.LockIndex()
		if err != nil {
			return err
		}
		defer unlock()
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
		MinVocabularyCount: cfg.Index.MinSupport, ClusterThreshold: cfg.Index.ClusterThreshold,
		JudgeMinScore: cfg.Index.JudgeMinScore, SearchLog: cfg.Index.SearchLog,
		Arbiter: arb, Pixel: clf,
	}
	if err := modelOptions(cfg, log, &opts); err != nil {
		return err
	}
	asg, err := openAssigner(cfg)
	if err != nil {
		return err
	}
	if asg != nil {
		defer asg.Close()
		opts.Assigner = asg
		opts.Model = modelName + "+" + asg.Version()
	}
	if cfg.Index.Shard != "" {
		opts.Shard, opts.ShardCount, _ = config.ParseShard(cfg.Index.Shard)
	}
	emeta, err := embeddingsMeta(cfg, enc, asg)
	if err != nil {
		return err
	}
	opts.EmbeddingsModel = emeta.Model
	var loadSeconds float64
	if cfg.Index.Embeddings != "" {
		t0 := time.Now()
		set, err := loadEmbeddings(ctx, cfg, emeta)
		if err != nil {
			return err
		}
		loadSeconds = time.Since(t0).Seconds()
		log.Info("precomputed embeddings loaded", "dir", cfg.Index.Embeddings, "products", set.Len(), "files", set.Files(), "seconds", loadSeconds)
		opts.Precomputed = set
		opts.Attributes = set.Attributes
	}
	if opts.Attributes == nil && asg != nil {
		opts.Attributes = asg.AttributeEmbeddings()
	}
	// Remote images are fetched under remoteimage's guards: deadlines, a
	// size cap, few redirects, public addresses only.
	opts.Remote = remoteimage.New(remoteimage.Options{MaxBytes: catalog.MaxImageBytes})
	opts.Progress = progress(stderr, log)
	ix := indexer.New(dir, enc, open, opts)
	var (
		sum    indexer.Summary
		runErr error
	)
	if cfg.Index.Finalize {
		sum, runErr = ix.Finalize(ctx, cfg.Index.Shards)
	} else {
		sum, runErr = ix.Run(ctx)
	}
	if cfg.Index.Embeddings != "" && sum.Seconds != nil {
		sum.Seconds["load_embeddings"] = math.Round(loadSeconds*100) / 100
	}
	if isTerminal(stderr) {
		fmt.Fprintln(stderr)
	}
	if runErr != nil && sum.Shards > 0 && sum.Generation == 0 {
		return runErr // the shards did not check out: nothing to summarise
	}
	printSummary(stdout, sum)
	if cfg.Index.Summary != "" {
		if err := datadir.WriteJSON(cfg.Index.Summary, sum); err != nil {
			return err // names the file
		}
	}
	if runErr != nil {
		return runErr
	}
	if sum.Shard != "" {
		return nil // a shard commits no generation
	}
	removed, err := dir.Prune(3)
	if err != nil {
		log.Warn("prune old generations", "err", err)
	}
	dropMilvusCollections(ctx, cfg, log, removed)
	return nil
}

// modelClient returns the chat-completions client of endpoint m.
func modelClient(m config.ModelEndpoint, log *slog.Logger) *llm.Client {
	return llm.New(llm.Options{
		BaseURL: m.URL, APIKey: m.APIKey, Model: m.Model, Timeout: m.Timeout,
		MaxRetries: m.Retries, RequestsPerSecond: m.RequestsPerSecond, Logger: log,
	})
}

// newVLM returns the VLM extractor of the configured endpoint
// (index.vlm), or nil when its URL is empty.
func newVLM(cfg config.Config, log *slog.Logger) (*extract.VLM, error) {
	m := cfg.Index.VLM
	if m.URL == "" {
		return nil, nil
	}
	return extract.NewVLM(extract.VLMOptions{
		Client: modelClient(m, log), Model: m.Model, Concurrency: m.Concurrency, CacheDir: m.CacheDir, Logger: log,
	})
}

// modelOptions maps the VLM and judge endpoints onto the indexer's
// extractors and judge; both are off unless their URL is set.
func modelOptions(cfg config.Config, log *slog.Logger, opts *indexer.Options) error {
	vlm, err := newVLM(cfg, log)
	if err != nil {
		return err
	}
	if vlm != nil {
		opts.Extractors = append(opts.Extractors, vlm)
	}
	if m := cfg.Index.Judge; m.URL != "" {
		j, err := judge.NewOnline(judge.OnlineOptions{Client: modelClient(m, log), Concurrency: m.Concurrency})
		if err != nil {
			return err
		}
		opts.Judge = j
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
	switch {
	case s.Shard != "":
		out := s.Output
		if out == "" {
			out = "nothing (the shard is not complete)"
		}
		fmt.Fprintf(w, "shard %s of %s (%s) written to %s; %d rows of other shards skipped\n", s.Shard, s.Catalog, s.Format, out, s.Products.Skipped)
	case s.Shards > 0:
		fmt.Fprintf(w, "generation %d from %d shards of %s (%s)\n", s.Generation, s.Shards, s.Catalog, s.Format)
	default:
		fmt.Fprintf(w, "generation %d from %s (%s)\n", s.Generation, s.Catalog, s.Format)
	}
	rej := 0
	for _, n := range s.Products.Rejected {
		rej += n
	}
	fmt.Fprintf(w, "products: %d read, %d indexed, %d rejected\n", s.Products.Read, s.Products.Indexed, rej)
	for _, r := range slices.Sorted(maps.Keys(s.Products.Rejected)) {
		fmt.Fprintf(w, "  rejected %-14s %d\n", r, s.Products.Rejected[r])
	}
	const maxShown = 20
	for i, r := range s.Rejections {
		if i == maxShown {
			fmt.Fprintf(w, "  ... %d more (all in the --summary file and rejected.jsonl)\n", len(s.Rejections)-maxShown)
			break
		}
		fmt.Fprintf(w, "  row %d id %q: %s: %s\n", r.Row, r.ID, r.Reason, r.Detail)
	}
	if s.Shard != "" {
		_, n, _ := config.ParseShard(s.Shard)
		fmt.Fprintf(w, "vocabulary, attributes and topics: none yet; lander index --finalize --shards %d builds them over the whole catalog once every shard is written\n", n)
		printModels(w, s)
		printSeconds(w, s)
		return
	}
	fmt.Fprintf(w, "vocabulary: %d raw values, %d curated\n", s.Vocabulary.RawValues, s.Vocabulary.CuratedValues)
	printCuration(w, s)
	if len(s.Extraction.Attributes) > 0 {
		var src []string
		for _, k := range slices.Sorted(maps.Keys(s.Extraction.Attributes)) {
			src = append(src, fmt.Sprintf("%s %d", k, s.Extraction.Attributes[k]))
		}
		fmt.Fprintf(w, "raw attributes by source: %s; %d brands learned from titles\n", strings.Join(src, ", "), s.Extraction.BrandsLearned)
	}
	if len(s.Extraction.Dropped) > 0 {
		fmt.Fprintf(w, "attributes dropped, their key unfit for a store: %v\n", s.Extraction.Dropped)
	}
	printModels(w, s)
	if len(s.Extraction.JudgeRejected) > 0 {
		fmt.Fprintf(w, "judge: rejected answers %v\n", s.Extraction.JudgeRejected)
	}
	a := s.AttributesPerProduct
	fmt.Fprintf(w, "attributes per product: %.2f raw, %.2f curated, %.2f assigned\n", a.Raw, a.Curated, a.Assigned)
	fmt.Fprintf(w, "topics: %d generated, %d published (search log alone: %d; %d duplicates merged: %d by feed, %d by title), %d demand gaps\n", s.Topics.Generated, s.Topics.Published, s.Topics.BaselinePublished, s.Topics.Merged, s.Topics.MergedFeeds, s.Topics.MergedTitles, s.Topics.Gaps)
	printSeconds(w, s)
}

func printModels(w io.Writer, s indexer.Summary) {
	for _, name := range slices.Sorted(maps.Keys(s.Extraction.Models)) {
		m := s.Extraction.Models[name]
		fmt.Fprintf(w, "%s: %d products, %d requests, %d cached, %d answers, %d attributes, rejected %v\n",
			name, m.Products, m.Requests, m.CacheHits, m.Answers, m.Attributes, m.Rejected)
	}
}

func printSeconds(w io.Writer, s indexer.Summary) {
	var secs []string
	for _, k := range slices.Sorted(maps.Keys(s.Seconds)) {
		secs = append(secs, fmt.Sprintf("%s %.1fs", k, s.Seconds[k]))
	}
	note := ""
	if s.Shards > 0 {
		note = " (read, extract, encode, assign, images, write: summed over the shards)"
	}
	fmt.Fprintf(w, "seconds: %s%s\n", strings.Join(secs, ", "), note)
}

// printCuration prints the vocabulary before and after each curation step,
// per key.
func printCuration(w io.Writer, s indexer.Summary) {
	if len(s.Vocabulary.PerKey) == 0 {
		return
	}
	fmt.Fprintf(w, "  %-16s %6s", "key", "raw")
	for _, st := range s.Curation {
		if st.Step != "normalise" {
			fmt.Fprintf(w, " %10s", st.Step)
		}
	}
	fmt.Fprintf(w, " %8s %18s\n", "curated", "products/value")
	for _, k := range slices.Sorted(maps.Keys(s.Vocabulary.PerKey)) {
		pk := s.Vocabulary.PerKey[k]
		fmt.Fprintf(w, "  %-16s %6d", k, pk.Raw)
		for _, st := range s.Curation {
			if st.Step != "normalise" {
				fmt.Fprintf(w, " %10d", st.PerKey[k])
			}
		}
		fmt.Fprintf(w, " %8d %8.1f -> %7.1f\n", pk.Curated, pk.RawProductsPerValue, pk.CuratedProductsPerValue)
	}
}
