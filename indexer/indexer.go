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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"lander/catalog"
	"lander/datadir"
	"lander/embeddings"
	"lander/imagepack"
	"lander/indexer/curate"
	"lander/indexer/extract"
	"lander/indexer/judge"
	"lander/indexer/topics"
	"lander/store"
	"lander/vocab"
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

// NamedTarget is a Target that also stores named vectors, the attribute
// embeddings.
type NamedTarget interface {
	Target
	UpsertNamed(ctx context.Context, vs []store.NamedVector) error
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
	// Shard and ShardCount, when ShardCount > 0, make Run read only the
	// ids in slice Shard of ShardCount (catalog.InShard) and write that
	// slice, after stage A, to ShardPath instead of committing a
	// generation; Finalize merges the shards.
	Shard, ShardCount int
	// Model names the encoder, recorded in the manifest.
	Model string
	// Backend names the vector store, recorded in the manifest.
	Backend string
	// MinVocabularyCount is the support (products) a value needs to enter
	// the vocabulary, also the support a learned brand needs; 0 means
	// curate.DefaultMinSupport.
	MinVocabularyCount int
	// ClusterThreshold is the cosine similarity at which two values of a
	// key merge; 0 means curate.DefaultThreshold, above 1 disables
	// clustering.
	ClusterThreshold float64
	// Extractors run on every batch besides the merchant tags and the
	// title/description extractor, which always run (a VLM extractor, for
	// one). An extractor with a Stats() extract.VLMStats method has its
	// counts reported in the summary.
	Extractors []extract.Extractor
	// Judge scores the curated vocabulary's values; nil means the offline
	// judge over the curated catalog and the search log.
	Judge judge.Judge
	// JudgeMinScore drops vocabulary values whose overall judge score is
	// below it; 0 only reports the scores.
	JudgeMinScore float64
	// SearchLog is an optional query<TAB>count file for the offline judge
	// and intent mining.
	SearchLog string
	// Assigner, when set, assigns the shipped dual encoder's vocabulary to
	// every product (source "model"), so a catalog with only images and
	// titles still gets the attributes it was trained on.
	Assigner Assigner
	// Precomputed, when set, supplies every product's embeddings (lander
	// index --embeddings): stage A looks them up by id instead of running
	// the encoders. A catalog product without one fails the run, as does
	// an embedding whose product is not in the catalog (or this shard of
	// it), before anything is written to the store.
	Precomputed Precomputed
	// EmbeddingsModel, when set, makes the run keep its embeddings in the
	// generation (EmbeddingsDir, the layout of package embeddings) under
	// this model string, for "lander export embeddings".
	EmbeddingsModel string
	// Attributes are the dual encoder's attribute embeddings (its
	// vocabulary through the attribute tower). They are kept beside the
	// product embeddings and pushed to a target that takes named vectors
	// (NamedTarget: Milvus), under the name "key=value".
	Attributes []embeddings.Attribute
	// Topics configures topic generation, feeds and the publish rule; its
	// Logger defaults to Logger.
	Topics topics.Options
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called after each written batch.
	Progress func(Progress)
}

// Assigner assigns vocabulary attributes to products from their images
// and the text embeddings of stage A; textVecs[i] is nil for a product
// without text.
type Assigner interface {
	Assign(ctx context.Context, products []catalog.Product, textVecs [][]float32) ([][]store.Attribute, error)
}

// ProductEmbedder is an Assigner whose two steps can run apart: the
// product tower, then the assignment rule over its vectors. The indexer
// uses them to keep the product vectors and to assign from precomputed
// ones.
type ProductEmbedder interface {
	Assigner
	// EmbedProducts runs the product tower (textVecs[i] nil: no text).
	EmbedProducts(ctx context.Context, products []catalog.Product, textVecs [][]float32) ([][]float32, error)
	// AssignVectors applies the assignment rule to product vectors.
	AssignVectors(vecs [][]float32, hasText []bool) [][]store.Attribute
	// ProductDim is the length of the product vectors.
	ProductDim() int
}

// Precomputed supplies embeddings computed before the run, by id.
type Precomputed interface {
	// Lookup returns a product's text vector and product-tower vector (nil
	// when there is none).
	Lookup(id string) (vector, product []float32, ok bool)
	// IDs lists every product that has embeddings.
	IDs() []string
}

// EmbeddingsDir is the folder of a generation that keeps its embeddings.
const EmbeddingsDir = "embeddings"

// SourceModel marks attributes assigned by the dual encoder.
const SourceModel = "model"

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
	Generation int    `json:"generation"`
	Catalog    string `json:"catalog"`
	Format     string `json:"format"`
	// Shard is "I/N" for a shard run, which writes its slice to Output
	// and commits no generation (Generation is 0).
	Shard  string `json:"shard,omitempty"`
	Output string `json:"output,omitempty"`
	// Shards is the number of shards Finalize merged.
	Shards               int                  `json:"shards,omitempty"`
	Products             ProductCounts        `json:"products"`
	Vocabulary           VocabularyCounts     `json:"vocabulary"`
	AttributesPerProduct AttributesPerProduct `json:"attributes_per_product"`
	Topics               TopicCounts          `json:"topics"`
	Intents              topics.IntentReport  `json:"intents"`
	Extraction           ExtractionCounts     `json:"extraction"`
	Curation             []curate.StepCount   `json:"curation"`
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

// KeyCounts gives one key's vocabulary sizes, and the mean number of
// products per value.
type KeyCounts struct {
	Raw                     int     `json:"raw"`
	Curated                 int     `json:"curated"`
	RawProductsPerValue     float64 `json:"raw_products_per_value"`
	CuratedProductsPerValue float64 `json:"curated_products_per_value"`
}

// AttributesPerProduct gives mean attribute counts per product by stage.
type AttributesPerProduct struct {
	Raw      float64 `json:"raw"`
	Curated  float64 `json:"curated"`
	Assigned float64 `json:"assigned"`
}

// ExtractionCounts reports extraction.
type ExtractionCounts struct {
	// Attributes counts raw attributes by source (after merging sources).
	Attributes map[string]int `json:"attributes"`
	// BrandsLearned is the number of brand names learned from titles.
	BrandsLearned int `json:"brands_learned"`
	// Models reports model extractors by source, with their rejections.
	Models map[string]extract.VLMStats `json:"models"`
	// JudgeRejected counts bad online-judge answers by reason.
	JudgeRejected map[string]int `json:"judge_rejected"`
}

// TopicCounts counts collections: content-first topics generated and
// published, and the search-log baseline's tuples and published ones.
type TopicCounts struct {
	Generated         int `json:"generated"`
	Published         int `json:"published"`
	BaselineGenerated int `json:"baseline_generated"`
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
		opts.MinVocabularyCount = curate.DefaultMinSupport
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Indexer{dir: dir, enc: enc, open: open, opts: opts, log: log}
}

// brandRecurrence is the number of titles a prefix must start to be
// learned as a brand.
const brandRecurrence = 2

// item is one product kept in memory between stage A and stage C; a shard
// keeps its items in its folder until Finalize.
type item struct {
	product store.Product // id, title, price, vector
	row     int           // catalog row: every path orders the products by it
	desc    string
	raw     []extract.Attr // tags and VLM attributes; text ones join in stage B
	model   []extract.Attr // assigned by the dual encoder
	pvec    []float32      // the product tower's vector, when it ran or was given
}

type extracted struct {
	products []catalog.Product
	items    []item
}

// run is the state of one Run or Finalize: the summary so far and the
// time spent per stage.
type run struct {
	mu    sync.Mutex // guards sum and durs while stage A's goroutines run
	sum   Summary
	durs  map[string]time.Duration
	start time.Time
}

func newRun() *run {
	return &run{
		sum: Summary{
			Products:   ProductCounts{Rejected: map[string]int{}},
			Vocabulary: VocabularyCounts{PerKey: map[string]KeyCounts{}},
			Extraction: ExtractionCounts{Attributes: map[string]int{}, Models: map[string]extract.VLMStats{}, JudgeRejected: map[string]int{}},
			Curation:   []curate.StepCount{},
			Intents:    topics.IntentReport{Keys: map[string]int{}, Categories: map[string]int{}, Bands: []topics.Band{}, Thin: []topics.Gap{}, Unresolved: []topics.Intent{}},
			Seconds:    map[string]float64{},
			Rejections: []Rejected{},
		},
		durs:  map[string]time.Duration{},
		start: time.Now(),
	}
}

func (r *run) timed(stage string, since time.Time) {
	r.mu.Lock()
	r.durs[stage] += time.Since(since)
	r.mu.Unlock()
}

// summary returns the summary with the seconds per stage so far and the
// rejections in catalog order.
func (r *run) summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, d := range r.durs {
		r.sum.Seconds[k] = d.Seconds()
	}
	r.sum.Seconds["total"] = time.Since(r.start).Seconds()
	sortRejected(r.sum.Rejections)
	return r.sum
}

func sortRejected(rs []Rejected) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Row < rs[j].Row })
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
	defer g.abort()
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

// abort removes the generation unless it was committed.
func (g *generation) abort() {
	if !g.done {
		g.b.Abort()
	}
}

// collect runs stage A over the catalog: it reads the rows (rejections go
// into the summary), extracts merchant tags and model attributes, encodes
// and assigns, and adds the images to pack, which it closes. The items
// come in catalog order.
func (ix *Indexer) collect(ctx context.Context, r *run, rd *catalog.Reader, pack *imagepack.Writer) ([]item, error) {
	var items []item
	timed := r.timed

	seen := map[string]bool{}        // ids looked up in Precomputed; touched by one goroutine
	rejectedIDs := map[string]bool{} // guarded by r.mu until stage A ends

	// Stage A: read, extract and encode, pack images; overlapped.
	g, gctx := errgroup.WithContext(ctx)
	readCh := make(chan []catalog.Product, 2)
	encCh := make(chan extracted, 2)

	g.Go(func() error {
		defer close(readCh)
		t0 := time.Now()
		err := rd.Read(gctx, func(batch []catalog.Product) error {
			r.mu.Lock()
			r.sum.Products.Read += len(batch)
			r.mu.Unlock()
			select {
			case readCh <- batch:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}, func(rj catalog.Rejection) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.sum.Products.Read++
			r.sum.Products.Rejected[rj.Reason]++
			r.sum.Rejections = append(r.sum.Rejections, Rejected{Row: rj.Row, ID: rj.ID, Reason: rj.Reason, Detail: rj.Detail})
			if rj.ID != "" {
				rejectedIDs[rj.ID] = true
			}
		})
		timed("read", t0)
		r.mu.Lock()
		r.sum.Products.Skipped = rd.Skipped()
		r.mu.Unlock()
		if err != nil {
			return fmt.Errorf("read catalog: %w", err)
		}
		return nil
	})

	extractors := append([]extract.Extractor{extract.Tags{}}, ix.opts.Extractors...)
	g.Go(func() error {
		defer close(encCh)
		for batch := range readCh {
			t0 := time.Now()
			lists := make([][][]extract.Attr, len(extractors))
			for i, x := range extractors {
				l, err := x.Extract(gctx, batch)
				if err != nil {
					return fmt.Errorf("extract %s: %w", x.Source(), err)
				}
				lists[i] = l
			}
			its := make([]item, len(batch))
			texts := make([]string, len(batch))
			for i, p := range batch {
				per := make([][]extract.Attr, len(lists))
				for j := range lists {
					per[j] = lists[j][i]
				}
				its[i] = item{product: store.Product{ID: p.ID, Title: p.Title, Price: p.Price}, row: p.Row, desc: p.Description, raw: extract.Merge(per...)}
				texts[i] = extract.Text(p)
			}
			timed("extract", t0)
			t1 := time.Now()
			vecs, pvecs, err := ix.vectors(gctx, batch, texts, seen)
			if err != nil {
				return err
			}
			for i := range its {
				its[i].product.Vector = vecs[i]
			}
			timed("encode", t1)
			if ix.opts.Assigner != nil {
				t2 := time.Now()
				hasText := make([]bool, len(vecs))
				tv := make([][]float32, len(vecs))
				for i := range vecs {
					if texts[i] != "" {
						hasText[i], tv[i] = true, vecs[i]
					}
				}
				var assigned [][]store.Attribute
				if pe, ok := ix.opts.Assigner.(ProductEmbedder); ok {
					if pvecs == nil {
						if pvecs, err = pe.EmbedProducts(gctx, batch, tv); err != nil {
							return fmt.Errorf("assign attributes: %w", err)
						}
					}
					assigned = pe.AssignVectors(pvecs, hasText)
				} else if assigned, err = ix.opts.Assigner.Assign(gctx, batch, tv); err != nil {
					return fmt.Errorf("assign attributes: %w", err)
				}
				for i, as := range assigned {
					for _, a := range as {
						its[i].model = append(its[i].model, extract.Attr{Key: a.Key, Value: a.Value, Surface: a.Value, Source: SourceModel, Confidence: a.Score})
					}
				}
				timed("assign", t2)
			}
			if pvecs != nil {
				for i := range its {
					its[i].pvec = pvecs[i]
				}
			}
			select {
			case encCh <- extracted{products: batch, items: its}:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})

	g.Go(func() error {
		for e := range encCh {
			t0 := time.Now()
			for _, p := range e.products {
				if err := pack.Add(p.ID, p.ImageFormat, p.Image); err != nil {
					return err
				}
			}
			items = append(items, e.items...)
			timed("images", t0)
			r.mu.Lock()
			p := Progress{Read: r.sum.Products.Read, Indexed: len(items), Rejected: len(r.sum.Rejections)}
			r.mu.Unlock()
			if ix.opts.Progress != nil {
				ix.opts.Progress(p)
			}
		}
		return nil
	})

	if err := g.Wait(); err != nil {
		pack.Close()
		return nil, err
	}
	if err := ix.unmatched(seen, rejectedIDs); err != nil {
		pack.Close()
		return nil, err
	}
	if err := pack.Close(); err != nil {
		return nil, err
	}
	for _, x := range ix.opts.Extractors {
		if st, ok := x.(interface{ Stats() extract.VLMStats }); ok {
			r.sum.Extraction.Models[x.Source()] = st.Stats()
		}
	}
	return items, nil
}

// finish runs stages B and C over the items of the whole catalog, in
// catalog order, and commits g: brands learned from the titles, text
// attributes, curation, judge, topics and feeds, then the products into
// the store, rejected.jsonl, summary.json and the manifest. enc says how
// the items were encoded.
func (ix *Indexer) finish(ctx context.Context, r *run, g *generation, items []item, searchLog []judge.LogQuery, enc encoding) (Summary, error) {
	sum, durs := &r.sum, r.durs
	if len(items) == 0 {
		return r.summary(), errors.New("no product could be indexed")
	}

	// Stage B: text attributes with learned brands, then curation.
	t0 := time.Now()
	// Brands are learned from prefixes that recur at all; the frequency
	// filter then keeps those with enough support, like any value.
	brands := extract.NewBrandLearner(nil)
	for i := range items {
		brands.Observe(items[i].product.Title)
	}
	learned := brands.Brands(brandRecurrence)
	sum.Extraction.BrandsLearned = learned.Len()
	text := extract.NewText(nil, learned)
	// Curation sees the model's attributes beside the extracted ones, so
	// that the vocabulary holds what the model assigns; the contract's
	// "raw" mean counts extraction alone.
	raw := make([][]extract.Attr, len(items))
	rawAttrs := 0
	for i := range items {
		items[i].raw = extract.Merge(items[i].raw, text.Of(items[i].product.Title, items[i].desc))
		rawAttrs += len(items[i].raw)
		for _, a := range items[i].raw {
			sum.Extraction.Attributes[a.Source]++
		}
		raw[i] = items[i].raw
		if len(items[i].model) > 0 {
			raw[i] = append(append([]extract.Attr{}, items[i].raw...), items[i].model...)
			sum.Extraction.Attributes[SourceModel] += len(items[i].model)
		}
	}
	durs["extract"] += time.Since(t0)

	t0 = time.Now()
	cur := curate.New(raw, curate.Options{MinSupport: ix.opts.MinVocabularyCount, Threshold: ix.opts.ClusterThreshold, Embedder: ix.enc})
	cur.Frequency()
	if err := cur.Cluster(ctx); err != nil {
		return r.summary(), err
	}
	durs["curate"] += time.Since(t0)

	t0 = time.Now()
	scores, err := ix.judgeValues(ctx, cur, searchLog)
	if err != nil {
		return r.summary(), err
	}
	if on, ok := ix.opts.Judge.(interface{ Rejected() map[string]int }); ok {
		sum.Extraction.JudgeRejected = on.Rejected()
	}
	durs["judge"] += time.Since(t0)

	t0 = time.Now()
	curatedAttrs, assignedAttrs := 0, 0
	for i := range items {
		items[i].product.Attributes = cur.Apply(raw[i])
		assignedAttrs += len(items[i].product.Attributes)
		if len(items[i].model) == 0 {
			curatedAttrs += len(items[i].product.Attributes) // raw[i] is the extraction alone
		} else {
			curatedAttrs += len(cur.Apply(items[i].raw))
		}
	}
	voc := cur.Vocabulary("")
	voc.Version = vocabVersion(voc)
	rawN, rawPer := cur.RawCounts()
	sum.Vocabulary.RawValues = rawN
	sum.Vocabulary.CuratedValues = voc.Size()
	rawSupport := cur.RawSupport()
	for k, n := range rawPer {
		kc := KeyCounts{Raw: n, Curated: len(voc.Keys[k]), RawProductsPerValue: round2(float64(rawSupport[k]) / float64(n))}
		for _, v := range voc.Keys[k] {
			kc.CuratedProductsPerValue += float64(v.Count)
		}
		if kc.Curated > 0 {
			kc.CuratedProductsPerValue = round2(kc.CuratedProductsPerValue / float64(kc.Curated))
		}
		sum.Vocabulary.PerKey[k] = kc
	}
	n := float64(len(items))
	sum.AttributesPerProduct.Raw = float64(rawAttrs) / n
	sum.AttributesPerProduct.Curated = float64(curatedAttrs) / n
	if enc.Assigned {
		sum.AttributesPerProduct.Assigned = float64(assignedAttrs) / n
	}
	report := cur.Report()
	sum.Curation = report.Steps
	if err := voc.Save(filepath.Join(g.b.Path(), VocabularyFile)); err != nil {
		return r.summary(), err
	}
	if err := writeJSON(filepath.Join(g.b.Path(), CurationFile), curationFile{Version: voc.Version, Report: report, Judged: scores}); err != nil {
		return r.summary(), err
	}
	durs["curate"] += time.Since(t0)

	// Topics and feeds, from whatever attributes (with scores) the products
	// carry by now, and their vectors.
	t0 = time.Now()
	if err := ix.buildTopics(ctx, g.b.Path(), items, voc, searchLog, sum); err != nil {
		return r.summary(), err
	}
	durs["topics"] += time.Since(t0)

	// Stage C: write products with their curated attributes.
	t0 = time.Now()
	for lo := 0; lo < len(items); lo += ix.opts.BatchSize {
		hi := min(lo+ix.opts.BatchSize, len(items))
		batch := make([]store.Product, hi-lo)
		for i := range batch {
			batch[i] = items[lo+i].product
		}
		if err := g.target.Upsert(ctx, batch); err != nil {
			return r.summary(), fmt.Errorf("store products: %w", err)
		}
		sum.Products.Indexed += len(batch)
	}
	if nt, ok := g.target.(NamedTarget); ok && len(ix.opts.Attributes) > 0 {
		named := make([]store.NamedVector, len(ix.opts.Attributes))
		for i, a := range ix.opts.Attributes {
			named[i] = store.NamedVector{Name: a.Key + "=" + a.Value, Vector: a.Vector}
		}
		if err := nt.UpsertNamed(ctx, named); err != nil {
			return r.summary(), fmt.Errorf("store attribute embeddings: %w", err)
		}
	}
	durs["store"] += time.Since(t0)
	if ix.opts.EmbeddingsModel != "" {
		t0 = time.Now()
		if err := keepEmbeddings(filepath.Join(g.b.Path(), EmbeddingsDir), ix.opts.EmbeddingsModel, enc.Dim, items, ix.opts.Attributes); err != nil {
			return r.summary(), err
		}
		durs["keep_embeddings"] += time.Since(t0)
	}
	t0 = time.Now()
	if err := g.target.Commit(ctx); err != nil {
		return r.summary(), fmt.Errorf("commit store: %w", err)
	}
	sortRejected(sum.Rejections)
	if err := writeRejected(filepath.Join(g.b.Path(), RejectedFile), sum.Rejections); err != nil {
		return r.summary(), err
	}
	durs["commit"] += time.Since(t0)
	final := r.summary()
	if err := writeJSON(filepath.Join(g.b.Path(), SummaryFile), final); err != nil {
		return final, err
	}
	counts := map[string]int{"products": final.Products.Indexed, "rejected": len(final.Rejections), "vocabulary": voc.Size(),
		"topics": final.Topics.Generated, "published": final.Topics.Published}
	if _, err := g.b.Commit(datadir.Manifest{
		Model: enc.Model, Vocabulary: voc.Version, Backend: ix.opts.Backend,
		MilvusCollection: milvusName(ix.opts.Backend, g.name), Dim: ix.enc.Dim(), Counts: counts,
	}); err != nil {
		return final, err
	}
	g.done = true
	ix.log.Info("index committed", "generation", final.Generation, "indexed", final.Products.Indexed, "rejected", len(final.Rejections),
		"raw_values", final.Vocabulary.RawValues, "curated_values", final.Vocabulary.CuratedValues)
	return final, nil
}

// writeRejected writes the rejected rows as JSON Lines.
func writeRejected(path string, rs []Rejected) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, rj := range rs {
		if err := enc.Encode(rj); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(path), err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// vectors returns a batch's text vectors, and its product vectors when
// they were precomputed (nil otherwise): from Precomputed when set, else
// from the encoder.
func (ix *Indexer) vectors(ctx context.Context, batch []catalog.Product, texts []string, seen map[string]bool) ([][]float32, [][]float32, error) {
	pre := ix.opts.Precomputed
	if pre == nil {
		vecs, err := ix.enc.Embed(ctx, texts)
		if err != nil {
			return nil, nil, fmt.Errorf("encode products: %w", err)
		}
		return vecs, nil, nil
	}
	vecs := make([][]float32, len(batch))
	var pvecs [][]float32
	for i, p := range batch {
		v, pv, ok := pre.Lookup(p.ID)
		if !ok {
			return nil, nil, fmt.Errorf("precomputed embeddings: catalog product %q has none; embed this catalog again, or index without --embeddings", p.ID)
		}
		if len(v) != ix.enc.Dim() {
			return nil, nil, fmt.Errorf("precomputed embeddings: product %q has %d values, the text encoder %d", p.ID, len(v), ix.enc.Dim())
		}
		seen[p.ID] = true
		vecs[i] = v
		if pv != nil {
			if pvecs == nil {
				pvecs = make([][]float32, len(batch))
			}
			pvecs[i] = pv
		}
	}
	if pvecs != nil {
		for i := range pvecs {
			if pvecs[i] == nil {
				return nil, nil, fmt.Errorf("precomputed embeddings: product %q has no product vector", batch[i].ID)
			}
		}
	}
	if _, ok := ix.opts.Assigner.(ProductEmbedder); ok && pvecs == nil && ix.opts.Assigner != nil {
		return nil, nil, errors.New("precomputed embeddings have no product vectors, and the dual encoder in use needs them")
	}
	return vecs, pvecs, nil
}

// keepEmbeddings writes the items' vectors into dir in the layout of
// package embeddings, with product vectors when every item has one, and
// the attribute embeddings as attributes.parquet.
func keepEmbeddings(dir, model string, dim int, items []item, attrs []embeddings.Attribute) error {
	m := embeddings.Meta{Model: model, Dim: dim, ProductDim: len(items[0].pvec)}
	for i := range items {
		if len(items[i].pvec) != m.ProductDim {
			m.ProductDim = 0 // mixed: keep the text vectors alone
			break
		}
	}
	w, err := embeddings.NewWriter(dir, m, 0)
	if err != nil {
		return fmt.Errorf("keep embeddings: %w", err)
	}
	for i := range items {
		p := embeddings.Product{ID: items[i].product.ID, Vector: items[i].product.Vector}
		if m.ProductDim > 0 {
			p.ProductVector = items[i].pvec
		}
		if err := w.Write([]embeddings.Product{p}); err != nil {
			return fmt.Errorf("keep embeddings: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("keep embeddings: %w", err)
	}
	if len(attrs) > 0 {
		m.AttributeDim = len(attrs[0].Vector)
		if err := embeddings.WriteAttributes(dir, m, attrs); err != nil {
			return fmt.Errorf("keep embeddings: %w", err)
		}
	}
	return nil
}

// unmatched reports precomputed embeddings of products that this run did
// not read (nor reject): they come from another catalog.
func (ix *Indexer) unmatched(seen, rejected map[string]bool) error {
	if ix.opts.Precomputed == nil {
		return nil
	}
	var extra []string
	for _, id := range ix.opts.Precomputed.IDs() {
		if ix.opts.ShardCount > 1 && !catalog.InShard(id, ix.opts.Shard, ix.opts.ShardCount) {
			continue
		}
		if !seen[id] && !rejected[id] {
			extra = append(extra, id)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	show := extra[:min(5, len(extra))]
	return fmt.Errorf("precomputed embeddings: %d products are not in the catalog, e.g. %q; they were embedded from another catalog", len(extra), show)
}

// buildTopics mines the search log, builds topics, feeds and the
// baseline, writes them into the generation and counts them.
func (ix *Indexer) buildTopics(ctx context.Context, dir string, items []item, voc vocab.Vocabulary, log []judge.LogQuery, sum *Summary) error {
	products := make([]store.Product, len(items))
	for i := range items {
		products[i] = items[i].product
	}
	opts := ix.opts.Topics
	if opts.Logger == nil {
		opts.Logger = ix.log
	}
	res, err := topics.Build(ctx, topics.Input{Products: products, Vocabulary: voc, Log: log}, opts)
	if err != nil {
		return err
	}
	f := topics.NewFile(res, voc.Version)
	if err := f.Save(filepath.Join(dir, TopicsFile)); err != nil {
		return err
	}
	sum.Topics = TopicCounts{Generated: f.Counts.Generated, Published: f.Counts.Published,
		BaselineGenerated: f.Counts.BaselineGenerated, BaselinePublished: f.Counts.BaselinePublished}
	sum.Intents = res.Intents
	ix.log.Info("topics built", "generated", f.Counts.Generated, "published", f.Counts.Published,
		"baseline_published", f.Counts.BaselinePublished)
	return nil
}

// curationFile is the generation's curation report.
type curationFile struct {
	Version string `json:"version"`
	curate.Report
	Judged []JudgedValue `json:"judged"`
}

// JudgedValue is the judge's score of one vocabulary value, asked as the
// value with the category it goes with most ("puma tshirts").
type JudgedValue struct {
	Key     string      `json:"key"`
	Value   string      `json:"value"`
	Query   string      `json:"query"`
	Score   judge.Score `json:"score"`
	Dropped bool        `json:"dropped,omitempty"`
	Tuple   []judge.KV  `json:"tuple"`
}

// judgeValues scores every curated value and, with JudgeMinScore set, drops
// those below it.
func (ix *Indexer) judgeValues(ctx context.Context, cur *curate.Curator, log []judge.LogQuery) ([]JudgedValue, error) {
	values := cur.Values()
	var products [][]judge.KV
	topCat := map[judge.KV]map[string]int{}
	for _, attrs := range cur.Products() {
		kvs := make([]judge.KV, len(attrs))
		var cats []string
		for i, a := range attrs {
			kvs[i] = judge.KV{Key: a.Key, Value: a.Value}
			if a.Key == "category" {
				cats = append(cats, a.Value)
			}
		}
		for _, kv := range kvs {
			if kv.Key == "category" {
				continue
			}
			m := topCat[kv]
			if m == nil {
				m = map[string]int{}
				topCat[kv] = m
			}
			for _, c := range cats {
				m[c]++
			}
		}
		products = append(products, kvs)
	}
	j := ix.opts.Judge
	if j == nil {
		j = judge.NewOffline(products, judge.OfflineOptions{Log: log, Aliases: cur.Aliases()})
	}
	var out []JudgedValue
	var cands []judge.Candidate
	for _, k := range sortedKeys(values) {
		for _, v := range sortedKeys(values[k]) {
			jv := JudgedValue{Key: k, Value: v, Query: v, Tuple: []judge.KV{{Key: k, Value: v}}}
			if c := best(topCat[judge.KV{Key: k, Value: v}]); c != "" && k != "category" {
				jv.Tuple = append(jv.Tuple, judge.KV{Key: "category", Value: c})
				jv.Query = v + " " + c
			}
			out = append(out, jv)
			cands = append(cands, judge.Candidate{Attributes: jv.Tuple, Query: jv.Query})
		}
	}
	scores, err := j.Judge(ctx, cands)
	if err != nil {
		return nil, fmt.Errorf("judge vocabulary: %w", err)
	}
	for i := range out {
		out[i].Score = scores[i]
		if ix.opts.JudgeMinScore > 0 && scores[i].Overall < ix.opts.JudgeMinScore {
			out[i].Dropped = cur.Drop(out[i].Key, out[i].Value, curate.StepJudge,
				fmt.Sprintf("judge score %.2f < %.2f (%s)", scores[i].Overall, ix.opts.JudgeMinScore, strings.Join(scores[i].Notes, "; ")))
		}
	}
	cur.RecordStep(curate.StepJudge)
	return out, nil
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func best(m map[string]int) string {
	b, bn := "", 0
	for k, n := range m {
		if n > bn || n == bn && k < b {
			b, bn = k, n
		}
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// vocabVersion names a vocabulary by a hash of its content.
func vocabVersion(v vocab.Vocabulary) string {
	b, _ := json.Marshal(v.Keys)
	h := sha256.Sum256(b)
	return "curated-" + hex.EncodeToString(h[:6])
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
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
