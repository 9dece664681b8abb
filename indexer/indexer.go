// Package indexer runs lander's offline pipeline and commits a new index
// generation only when every stage has finished:
//
//   - stage A streams batches: read the catalog (the reader decodes images
//     on its own workers), extract merchant tags and model attributes, encode
//     product text and pack images, overlapped with channels; each product is
//     kept in memory as its id, title, price, vector and raw attributes;
//   - stage B needs global counts: learn brands from the titles, read the
//     titles and descriptions, curate the raw attributes into the vocabulary
//     (frequency filter, embedding clustering) and judge its values; then
//     mine the search log's intents and build topics and their feeds from
//     the products' attributes and vectors (package topics), written as
//     topics.json;
//   - stage C writes the products, with their curated attributes, to the
//     store in batches.
//
// Run does all three over the catalog. To scale out, Run with
// Options.ShardCount set runs stage A over one slice of the catalog and
// writes it as a shard (see shard.go), and Finalize merges the shards and
// runs stages B and C over the whole catalog; both paths share collect
// (stage A) and finish (stages B and C) and build the same generation.
package indexer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"lander/catalog"
	"lander/datadir"
	"lander/imagepack"
	"lander/indexer/judge"
	"lander/indexer/topics"
)

// Files of a generation written by the indexer.
const (
	ImagesFile     = "images.pack"
	VocabularyFile = "vocabulary.json"
	CurationFile   = "curation.json"
	RejectedFile   = "rejected.jsonl"
	TopicsFile     = topics.FileName
	SummaryFile    = "summary.json"
)

// EmbeddingsDir is the folder of a generation that keeps its embeddings.
const EmbeddingsDir = "embeddings"

// Indexer builds generations in a data directory.
type Indexer struct {
	dir  *datadir.Dir
	enc  Encoder
	open OpenTarget
	opts Options
	log  *slog.Logger
}

// New returns an indexer writing into dir.
func New(dir *datadir.Dir, enc Encoder, open OpenTarget, opts Options) *Indexer {
	opts = opts.withDefaults()
	return &Indexer{dir: dir, enc: enc, open: open, opts: opts, log: opts.logger()}
}

// Run reads the catalog and commits a new generation. With
// Options.ShardCount > 0 it reads only its slice of the catalog and writes
// it as a shard instead, for Finalize (see ShardPath). The summary is
// returned also when Run fails, with what was done so far.
func (ix *Indexer) Run(ctx context.Context) (Summary, error) {
	if ix.opts.ShardCount > 0 {
		return ix.runShard(ctx)
	}
	r := newRun()
	searchLog, err := ix.readSearchLog()
	if err != nil {
		return r.summary(), fmt.Errorf("index: %w", err)
	}
	rd, err := ix.openCatalog(r)
	if err != nil {
		return r.summary(), fmt.Errorf("index: %w", err)
	}
	g, err := ix.newGeneration(ctx, r)
	if err != nil {
		return r.summary(), fmt.Errorf("index: %w", err)
	}
	defer g.abort(ctx, ix.log)
	pack, err := imagepack.Create(filepath.Join(g.b.Path(), ImagesFile))
	if err != nil {
		return r.summary(), fmt.Errorf("index: %w", err)
	}
	items, err := ix.collect(ctx, r, rd, pack)
	if err != nil {
		return r.summary(), fmt.Errorf("index: %w", err)
	}
	sum, err := ix.finish(ctx, r, g, items, searchLog, ix.encoding())
	if err != nil {
		return sum, fmt.Errorf("index: %w", err)
	}
	return sum, nil
}

// encoding says how this indexer encodes products; shards record it and
// Finalize checks that they agree.
type encoding struct {
	// Model names the encoder (and the dual encoder, when one assigns).
	Model string `json:"model"`
	// Dim is the vector dimension.
	Dim int `json:"dim"`
	// Assigned is true when the dual encoder assigned attributes.
	Assigned bool `json:"assigned"`
}

func (ix *Indexer) encoding() encoding {
	return encoding{Model: ix.opts.Model, Dim: ix.enc.Dim(), Assigned: ix.opts.Assigner != nil}
}

// readSearchLog reads Options.SearchLog, if set.
func (ix *Indexer) readSearchLog() ([]judge.LogQuery, error) {
	if ix.opts.SearchLog == "" {
		return nil, nil
	}
	f, err := os.Open(ix.opts.SearchLog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return judge.ReadSearchLog(f)
}

// openCatalog opens Options.Catalog, reading only this run's shard.
func (ix *Indexer) openCatalog(r *run) (*catalog.Reader, error) {
	r.sum.Catalog = ix.opts.Catalog
	rd, err := catalog.Open(ix.opts.Catalog, catalog.Options{
		BatchSize: ix.opts.BatchSize, Workers: ix.opts.Workers, Shard: ix.opts.Shard, Shards: ix.opts.ShardCount,
		Remote: ix.opts.Remote,
	})
	if err != nil {
		return nil, err
	}
	r.sum.Format = rd.Format()
	return rd, nil
}

// generation is a generation under construction and its vector store.
type generation struct {
	b      *datadir.Builder
	name   string
	target Target
	done   bool
}

// newGeneration starts a generation and opens its store, before the long
// stages, so that a store that cannot be reached fails the run early.
func (ix *Indexer) newGeneration(ctx context.Context, r *run) (*generation, error) {
	b, err := ix.dir.NewGeneration()
	if err != nil {
		return nil, err
	}
	r.sum.Generation = b.Generation()
	name := fmt.Sprintf("gen-%06d", b.Generation())
	target, err := ix.open(ctx, b.Path(), name, ix.enc.Dim())
	if err != nil {
		b.Abort()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &generation{b: b, name: name, target: target}, nil
}

// abort removes the generation unless it was committed, with the rows its
// target keeps elsewhere. It runs after ctx may have been cancelled (an
// interrupted run), so it gets a short context of its own.
func (g *generation) abort(ctx context.Context, log *slog.Logger) {
	if g.done {
		return
	}
	if dt, ok := g.target.(DiscardTarget); ok {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if err := dt.Discard(dctx); err != nil {
			log.Warn("discard the failed run's store; the next successful run's pruning drops it", "generation", g.name, "err", err)
		}
		cancel()
	}
	g.b.Abort()
}
