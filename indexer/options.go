package indexer

import (
	"context"
	"lander/indexer/arbitrate"
	"lander/indexer/pixelcolor"
	"log/slog"

	"lander/catalog"
	"lander/embeddings"
	"lander/indexer/curate"
	"lander/indexer/extract"
	"lander/indexer/judge"
	"lander/indexer/topics"
	"lander/store"
)

// Options configures a run.
type Options struct {
	// Catalog is the catalog path (see catalog.Open).
	Catalog string
	// Remote fetches the catalog's http(s) image_uri values; nil rejects
	// those rows as missing_image.
	Remote catalog.ImageFetcher
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
	// Arbiter decides each product's category, colour and gender from all
	// the evidence (tags, text, the dual encoder, pixel colours); nil means
	// arbitrate.Default(), the shipped calibration and hierarchy.
	Arbiter *arbitrate.Arbiter
	// Pixel reads each product's colour from its pixels, evidence for the
	// arbiter; nil means pixelcolor.DefaultClassifier().
	Pixel *pixelcolor.Classifier
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

// defaultBatchSize is the batch size when Options.BatchSize is not set.
const defaultBatchSize = 256

// withDefaults fills in the options left unset.
func (o Options) withDefaults() Options {
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
	}
	if o.MinVocabularyCount <= 0 {
		o.MinVocabularyCount = curate.DefaultMinSupport
	}
	if o.Arbiter == nil {
		o.Arbiter = arbitrate.Shipped()
	}
	if o.Pixel == nil {
		o.Pixel = pixelcolor.Shipped()
	}
	if v, ok := o.Assigner.(interface{ EvidenceVersion() string }); ok {
		if m := o.Arbiter.Model(); m != "" && m != v.EvidenceVersion() {
			// Not fatal: the curves still rank, but their probabilities
			// and minimums are another model's. Said once per indexer.
			o.logger().Warn("the arbitration was calibrated on another model's scores; refit it with lander eval attributes --split validation --fit DIR",
				"calibration", m, "model", v.EvidenceVersion())
		}
	}
	for _, x := range o.Extractors {
		if x.Source() == extract.SourceVLM && !o.Arbiter.Calibrates(extract.SourceVLM) {
			// Not fatal either: a VLM's stated confidence still ranks its
			// answers, but it is not a probability until fitted.
			o.logger().Warn("the VLM's answers are not calibrated, so its stated confidences stand for probabilities; fit them with lander eval attributes --split validation --vlm-url URL --vlm-model M --fit DIR, then index with --arbitration DIR")
		}
	}
	return o
}

// logger is Options.Logger, or a logger that discards when it is nil.
func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

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

// CollectionTarget is a Target that writes into a named collection of an
// external store (Milvus), which the manifest records so that serving and
// pruning find it.
type CollectionTarget interface {
	Target
	Collection() string
}

// DiscardTarget is a Target that keeps its rows outside the generation's
// folder (Milvus): Discard drops them when the run fails, as removing the
// folder does for the embedded store.
type DiscardTarget interface {
	Target
	Discard(ctx context.Context) error
}

// OpenTarget opens the vector store of a new generation. dir is the
// generation's folder, name its final name.
type OpenTarget func(ctx context.Context, dir, name string, dim int) (Target, error)

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

// ImageReader reads the colour of a product known by its image alone (the
// dual encoder's colour net). An Assigner that is a ProductEmbedder and an
// ImageReader reading some colours gives such products their colour
// evidence in place of the pixel classifier's (Options.Pixel).
type ImageReader interface {
	// ImageColours names the colours of the log-probabilities it returns,
	// in order; none when it reads no colour.
	ImageColours() []string
	// ImageLogProbs returns the colour log-probabilities of each
	// product's image, one per ImageColours value; a row of another
	// length leaves the product the pixel classifier's colours, or none
	// when the net reads alone (a calibration's pixel weight of 0).
	ImageLogProbs(ctx context.Context, products []catalog.Product) ([][]float32, error)
	// EmbedImages is ProductEmbedder.EmbedProducts that also returns
	// ImageLogProbs' row for each product without text (nil for the
	// others), reading each image once.
	EmbedImages(ctx context.Context, products []catalog.Product, textVecs [][]float32) (pvecs, logProbs [][]float32, err error)
}

// Precomputed supplies embeddings computed before the run, by id.
type Precomputed interface {
	// Lookup returns a product's text vector and product-tower vector (nil
	// when there is none).
	Lookup(id string) (vector, product []float32, ok bool)
	// IDs lists every product that has embeddings.
	IDs() []string
}

// SourceModel marks attributes assigned by the dual encoder.
const SourceModel = "model"
