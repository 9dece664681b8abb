package main

import (
	"context"
	"fmt"
	"math"

	"lander/catalog"
	"lander/config"
	"lander/embeddings"
	"lander/encoder"
)

// embeddingsMeta is what embeddings must match to stand in for this
// configuration's encoders: the text encoder alone, or with the dual
// encoder's towers.
func embeddingsMeta(cfg config.Config, text *encoder.Text, asg *modelAssigner) (embeddings.Meta, error) {
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
		if c := cosine(got, v.Vector); c < minAttributeCosine {
			return fmt.Errorf("attribute %s=%s: cosine %.5f to the model's own vector, want >= %v: another model made these embeddings", v.Key, v.Value, c, minAttributeCosine)
		}
	}
	return nil
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// attributeEmbeddings returns the shipped vocabulary's attribute vectors.
func (a *modelAssigner) attributeEmbeddings() []embeddings.Attribute {
	voc := a.prod.Info().Vocabulary
	out := make([]embeddings.Attribute, len(voc))
	for i, v := range voc {
		out[i] = embeddings.Attribute{Key: v.Key, Value: v.Value, Vector: v.Vector}
	}
	return out
}
