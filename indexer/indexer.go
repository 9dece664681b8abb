// Package indexer runs lander's offline pipeline as a stream of batches:
// read the catalog, extract attributes, encode product text, and write
// products, images and the vocabulary into a new index generation, which it
// commits only when every stage has finished.
//
// The stages overlap: the reader decodes images on its own workers while
// the previous batch is encoded and the one before it is written.
package indexer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"lander/catalog"
	"lander/datadir"
	"lander/imagepack"
	"lander/indexer/extract"
	"lander/indexer/vocab"
	"lander/store"
)

// Files of a generation written by the indexer.
const (
	ImagesFile     = "images.pack"
	VocabularyFile = "vocabulary.json"
	RejectedFile   = "rejected.jsonl"
	SummaryFile    = "summary.json"
)

// Encoder embeds texts into unit vectors.
type Encoder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Dim() int
}

// Target receives the products of one generation.
type Target interface {
	Upsert(ctx context.Context, products []store.Product) error
	// Commit makes the written products durable; it is called once, after
	// the last Upsert and before the generation is committed.
	Commit(ctx context.Context) error
}

// OpenTarget opens the vector store of a new generation. dir is the
// generation's folder, name its final name.
type OpenTarget func(ctx context.Context, dir, name string, dim int) (Target, error)

// Options configures a run.
type Options struct {
	// Catalog is the catalog path (see catalog.Open).
	Catalog string
	// Workers is the number of image-decoding workers; 0 means one per CPU.
	Workers int
	// BatchSize is the number of rows per batch.
	BatchSize int
	// Shard, when ShardCount > 1, indexes only ids in slice Shard of ShardCount.
	Shard, ShardCount int
	// Model names the encoder, recorded in the manifest.
	Model string
	// Backend names the vector store, recorded in the manifest.
	Backend string
	// MinVocabularyCount is the support a value needs to enter the vocabulary.
	MinVocabularyCount int
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called after each written batch.
	Progress func(Progress)
}

// Progress is a running count of a run.
type Progress struct {
	Read, Indexed, Rejected int
}

// Rejected is one rejected row, reported in the summary.
type Rejected struct {
	Row    int    `json:"row"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// Summary reports a run, in the JSON shape of the contract.
type Summary struct {
	Generation           int                  `json:"generation"`
	Catalog              string               `json:"catalog"`
	Format               string               `json:"format"`
	Shard                string               `json:"shard,omitempty"`
	Products             ProductCounts        `json:"products"`
	Vocabulary           VocabularyCounts     `json:"vocabulary"`
	AttributesPerProduct AttributesPerProduct `json:"attributes_per_product"`
	Topics               TopicCounts          `json:"topics"`
	Seconds              map[string]float64   `json:"seconds"`
	Rejections           []Rejected           `json:"rejections"`
}

// ProductCounts counts rows.
type ProductCounts struct {
	Read     int            `json:"read"`
	Indexed  int            `json:"indexed"`
	Rejected map[string]int `json:"rejected"`
	// Skipped counts rows that belong to other shards.
	Skipped int `json:"skipped_other_shards"`
}

// VocabularyCounts gives vocabulary sizes before and after curation.
type VocabularyCounts struct {
	RawValues     int                  `json:"raw_values"`
	CuratedValues int                  `json:"curated_values"`
	PerKey        map[string]KeyCounts `json:"per_key"`
}

// KeyCounts gives one key's vocabulary sizes.
type KeyCounts struct {
	Raw     int `json:"raw"`
	Curated int `json:"curated"`
}

// AttributesPerProduct gives mean attribute counts per product by stage.
type AttributesPerProduct struct {
	Raw      float64 `json:"raw"`
	Curated  float64 `json:"curated"`
	Assigned float64 `json:"assigned"`
}

// TopicCounts counts collections.
type TopicCounts struct {
	Generated         int `json:"generated"`
	Published         int `json:"published"`
	BaselinePublished int `json:"baseline_published"`
}

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
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.MinVocabularyCount <= 0 {
		opts.MinVocabularyCount = 1
	}
	if opts.ShardCount <= 0 {
		opts.ShardCount = 1
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Indexer{dir: dir, enc: enc, open: open, opts: opts, log: log}
}

type encoded struct {
	products []catalog.Product
	stored   []store.Product
}

// Run reads the catalog and commits a new generation. The summary is
// returned also when Run fails, with what was done so far.
func (ix *Indexer) Run(ctx context.Context) (Summary, error) {
	sum := Summary{
		Catalog:    ix.opts.Catalog,
		Products:   ProductCounts{Rejected: map[string]int{}},
		Vocabulary: VocabularyCounts{PerKey: map[string]KeyCounts{}},
		Seconds:    map[string]float64{},
		Rejections: []Rejected{},
	}
	if ix.opts.ShardCount > 1 {
		sum.Shard = fmt.Sprintf("%d/%d", ix.opts.Shard, ix.opts.ShardCount)
	}
	start := time.Now()
	r, err := catalog.Open(ix.opts.Catalog, catalog.Options{BatchSize: ix.opts.BatchSize, Workers: ix.opts.Workers})
	if err != nil {
		return sum, fmt.Errorf("index: %w", err)
	}
	sum.Format = r.Format()
	b, err := ix.dir.NewGeneration()
	if err != nil {
		return sum, fmt.Errorf("index: %w", err)
	}
	sum.Generation = b.Generation()
	committed := false
	defer func() {
		if !committed {
			b.Abort()
		}
	}()
	name := fmt.Sprintf("gen-%06d", b.Generation())
	target, err := ix.open(ctx, b.Path(), name, ix.enc.Dim())
	if err != nil {
		return sum, fmt.Errorf("index: open store: %w", err)
	}
	pack, err := imagepack.Create(filepath.Join(b.Path(), ImagesFile))
	if err != nil {
		return sum, fmt.Errorf("index: %w", err)
	}
	rejFile, err := os.Create(filepath.Join(b.Path(), RejectedFile))
	if err != nil {
		return sum, fmt.Errorf("index: %w", err)
	}
	defer rejFile.Close()
	rejEnc := json.NewEncoder(rejFile)

	var (
		mu       sync.Mutex // guards sum counters touched by the reader and the writer
		counter  = vocab.NewCounter()
		rawAttrs int
		durs     = map[string]time.Duration{}
	)
	timed := func(stage string, since time.Time) {
		mu.Lock()
		durs[stage] += time.Since(since)
		mu.Unlock()
	}

	g, gctx := errgroup.WithContext(ctx)
	readCh := make(chan []catalog.Product, 2)
	encCh := make(chan encoded, 2)

	// Stage 1: read (with the reader's own decode workers).
	g.Go(func() error {
		defer close(readCh)
		t0 := time.Now()
		err := r.Read(gctx, func(batch []catalog.Product) error {
			var keep []catalog.Product
			mu.Lock()
			for _, p := range batch {
				if ix.opts.ShardCount > 1 && !catalog.InShard(p.ID, ix.opts.Shard, ix.opts.ShardCount) {
					sum.Products.Skipped++
					continue
				}
				sum.Products.Read++
				keep = append(keep, p)
			}
			mu.Unlock()
			if len(keep) == 0 {
				return nil
			}
			select {
			case readCh <- keep:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}, func(rj catalog.Rejection) {
			mu.Lock()
			defer mu.Unlock()
			if ix.opts.ShardCount > 1 && rj.ID != "" && !catalog.InShard(rj.ID, ix.opts.Shard, ix.opts.ShardCount) {
				sum.Products.Skipped++
				return
			}
			sum.Products.Read++
			sum.Products.Rejected[rj.Reason]++
			rec := Rejected{Row: rj.Row, ID: rj.ID, Reason: rj.Reason, Detail: rj.Detail}
			sum.Rejections = append(sum.Rejections, rec)
			rejEnc.Encode(rec)
		})
		timed("read", t0)
		if err != nil {
			return fmt.Errorf("read catalog: %w", err)
		}
		return nil
	})

	// Stage 2: extract and encode.
	g.Go(func() error {
		defer close(encCh)
		for batch := range readCh {
			t0 := time.Now()
			stored := make([]store.Product, len(batch))
			texts := make([]string, len(batch))
			for i, p := range batch {
				stored[i] = store.Product{ID: p.ID, Title: p.Title, Price: p.Price, Attributes: extract.Tags(p)}
				texts[i] = extract.Text(p)
			}
			timed("extract", t0)
			t1 := time.Now()
			vecs, err := ix.enc.Embed(gctx, texts)
			if err != nil {
				return fmt.Errorf("encode products: %w", err)
			}
			for i := range stored {
				stored[i].Vector = vecs[i]
			}
			timed("encode", t1)
			select {
			case encCh <- encoded{products: batch, stored: stored}:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})

	// Stage 3: write vectors, images and counts.
	g.Go(func() error {
		for e := range encCh {
			t0 := time.Now()
			if err := target.Upsert(gctx, e.stored); err != nil {
				return fmt.Errorf("store products: %w", err)
			}
			for i, p := range e.products {
				if err := pack.Add(p.ID, p.ImageFormat, p.Image); err != nil {
					return err
				}
				rawAttrs += len(e.stored[i].Attributes)
				for _, a := range e.stored[i].Attributes {
					counter.Add(a.Key, a.Value)
				}
			}
			timed("store", t0)
			mu.Lock()
			sum.Products.Indexed += len(e.stored)
			p := Progress{Read: sum.Products.Read, Indexed: sum.Products.Indexed, Rejected: len(sum.Rejections)}
			mu.Unlock()
			if ix.opts.Progress != nil {
				ix.opts.Progress(p)
			}
		}
		return nil
	})

	if err := g.Wait(); err != nil {
		pack.Close()
		return ix.finish(sum, durs, start), fmt.Errorf("index: %w", err)
	}
	t0 := time.Now()
	if err := pack.Close(); err != nil {
		return ix.finish(sum, durs, start), fmt.Errorf("index: %w", err)
	}
	if err := target.Commit(ctx); err != nil {
		return ix.finish(sum, durs, start), fmt.Errorf("index: commit store: %w", err)
	}
	raw, per := counter.Distinct()
	sum.Vocabulary.RawValues = raw
	for k, n := range per {
		sum.Vocabulary.PerKey[k] = KeyCounts{Raw: n}
	}
	voc := counter.Vocabulary(ix.opts.MinVocabularyCount)
	if err := voc.Save(filepath.Join(b.Path(), VocabularyFile)); err != nil {
		return ix.finish(sum, durs, start), fmt.Errorf("index: %w", err)
	}
	if n := sum.Products.Indexed; n > 0 {
		sum.AttributesPerProduct.Raw = float64(rawAttrs) / float64(n)
	}
	if sum.Products.Indexed == 0 {
		return ix.finish(sum, durs, start), errors.New("index: no product could be indexed")
	}
	if err := rejFile.Close(); err != nil {
		return ix.finish(sum, durs, start), fmt.Errorf("index: %w", err)
	}
	durs["commit"] += time.Since(t0)
	sum = ix.finish(sum, durs, start)
	sb, _ := json.MarshalIndent(sum, "", "  ")
	if err := os.WriteFile(filepath.Join(b.Path(), SummaryFile), sb, 0o644); err != nil {
		return sum, fmt.Errorf("index: %w", err)
	}
	counts := map[string]int{"products": sum.Products.Indexed, "rejected": len(sum.Rejections), "vocabulary": voc.Size()}
	if _, err := b.Commit(datadir.Manifest{
		Model: ix.opts.Model, Vocabulary: fmt.Sprintf("tags-%d", voc.Size()), Backend: ix.opts.Backend,
		MilvusCollection: milvusName(ix.opts.Backend, name), Dim: ix.enc.Dim(), Counts: counts,
	}); err != nil {
		return sum, fmt.Errorf("index: %w", err)
	}
	committed = true
	ix.log.Info("index committed", "generation", sum.Generation, "indexed", sum.Products.Indexed, "rejected", len(sum.Rejections))
	return sum, nil
}

func milvusName(backend, name string) string {
	if backend != "milvus" {
		return ""
	}
	return CollectionName(name)
}

// CollectionName is the Milvus collection of a generation: Milvus names
// allow letters, digits and underscores only.
func CollectionName(generation string) string {
	b := []byte("lander_" + generation)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

func (ix *Indexer) finish(sum Summary, durs map[string]time.Duration, start time.Time) Summary {
	for k, d := range durs {
		sum.Seconds[k] = d.Seconds()
	}
	sum.Seconds["total"] = time.Since(start).Seconds()
	sort.Slice(sum.Rejections, func(i, j int) bool { return sum.Rejections[i].Row < sum.Rejections[j].Row })
	return sum
}
