package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"lander/catalog"
	"lander/config"
	"lander/datadir"
	"lander/embeddings"
	"lander/encoder"
	"lander/indexer"
	"lander/indexer/assign"
	"lander/similarity"
	"lander/store"
	"lander/store/milvus"
)

// modelName is recorded in each manifest.
const modelName = "all-MiniLM-L6-v2"

// openEncoder opens the text encoder that config names.
func openEncoder(c config.Config) (*encoder.Text, error) {
	return encoder.NewText(encoder.TextOptions{
		LibraryPath: c.Encoder.Library,
		ModelDir:    filepath.Join(c.Encoder.Models, "minilm"),
		Threads:     c.Encoder.Threads,
		MaxLength:   c.Encoder.MaxLength,
		BatchSize:   c.Encoder.BatchSize,
	})
}

// openAssigner opens the dual encoder's assigner, or returns nil when no
// dual encoder is configured.
func openAssigner(c config.Config) (*assign.Dual, error) {
	if c.Encoder.Dual == "" {
		return nil, nil
	}
	return assign.OpenDual(assign.DualOptions{Library: c.Encoder.Library, Dir: c.Encoder.Dual, Threads: c.Encoder.Threads})
}

// openTarget returns how the indexer opens each generation's vector store,
// and the backend's name for the manifest.
func openTarget(c config.Config) (indexer.OpenTarget, string) {
	if c.Milvus == "" {
		return func(_ context.Context, dir, _ string, dim int) (indexer.Target, error) {
			return store.NewTarget(dim, dir), nil
		}, "embedded"
	}
	return func(ctx context.Context, dir, name string, dim int) (indexer.Target, error) {
		// Each run writes a collection of its own, recorded before it
		// exists so that pruning finds it should the run be killed.
		coll := milvus.CollectionName(name, milvus.NewRunID())
		if err := datadir.RecordExternal(dir, "milvus", coll); err != nil {
			return nil, err
		}
		return milvus.OpenTarget(ctx, milvus.Options{Addr: c.Milvus}, coll, dim)
	}, "milvus"
}

// dropMilvusCollections drops the Milvus collections of pruned generations.
// A failure is logged, not returned: the new generation is committed
// whatever happens to the old ones.
func dropMilvusCollections(ctx context.Context, cfg config.Config, log *slog.Logger, pruned []datadir.Manifest) {
	var names []string
	for _, m := range pruned {
		if m.Backend == "milvus" && m.MilvusCollection != "" {
			names = append(names, m.MilvusCollection)
		}
	}
	if len(names) == 0 {
		return
	}
	if cfg.Milvus == "" {
		log.Warn("pruned generations' Milvus collections left in place: no --milvus", "collections", names)
		return
	}
	if err := milvus.DropGenerations(ctx, cfg.Milvus, names); err != nil {
		log.Warn("drop pruned generations' Milvus collections", "err", err)
	}
}

// embeddingsMeta is what embeddings must match to stand in for this
// configuration's encoders: the text encoder alone, or with the dual
// encoder's towers.
func embeddingsMeta(cfg config.Config, text *encoder.Text, asg *assign.Dual) (embeddings.Meta, error) {
	if asg == nil {
		return embeddings.Meta{Model: modelName, Dim: text.Dim()}, nil
	}
	id, err := encoder.ModelID(cfg.Encoder.Dual)
	if err != nil {
		return embeddings.Meta{}, err
	}
	return embeddings.Meta{Model: id, Dim: text.Dim(), ProductDim: asg.ProductDim(), AttributeDim: asg.ProductDim()}, nil
}

// minAttributeCosine is how close an attribute embedding from elsewhere
// must be to the one the shipped model holds.
const minAttributeCosine = 0.999

// loadEmbeddings loads --embeddings and checks its attribute embeddings,
// when present, against the shipped vocabulary: the same attributes, each
// within minAttributeCosine of the model's own vector.
func loadEmbeddings(ctx context.Context, cfg config.Config, want embeddings.Meta) (*embeddings.Set, error) {
	var keep func(string) bool
	if cfg.Index.Shard != "" {
		// A shard holds only its slice of the embeddings, not the catalog's.
		i, n, _ := config.ParseShard(cfg.Index.Shard)
		keep = func(id string) bool { return catalog.InShard(id, i, n) }
	}
	set, err := embeddings.Load(ctx, cfg.Index.Embeddings, want, keep)
	if err != nil {
		return nil, err
	}
	if want.ProductDim == 0 || set.Attributes == nil {
		return set, nil
	}
	info, err := encoder.LoadModelInfo(cfg.Encoder.Dual)
	if err != nil {
		return nil, err
	}
	if err := checkAttributes(info, set.Attributes); err != nil {
		return nil, fmt.Errorf("load embeddings %s: %w", cfg.Index.Embeddings, err)
	}
	return set, nil
}

func checkAttributes(info *encoder.ModelInfo, attrs []embeddings.Attribute) error {
	byKV := make(map[[2]string][]float32, len(attrs))
	for _, a := range attrs {
		byKV[[2]string{a.Key, a.Value}] = a.Vector
	}
	if len(attrs) != len(info.Vocabulary) {
		return fmt.Errorf("attributes.parquet holds %d attributes, the model's vocabulary %d", len(attrs), len(info.Vocabulary))
	}
	for _, v := range info.Vocabulary {
		got, ok := byKV[[2]string{v.Key, v.Value}]
		if !ok {
			return fmt.Errorf("attributes.parquet lacks %s=%s of the model's vocabulary", v.Key, v.Value)
		}
		if c := similarity.Cosine(got, v.Vector); c < minAttributeCosine {
			return fmt.Errorf("attribute %s=%s: cosine %.5f to the model's own vector, want >= %v: another model made these embeddings", v.Key, v.Value, c, minAttributeCosine)
		}
	}
	return nil
}
