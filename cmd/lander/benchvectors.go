package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"lander/config"
	"lander/embeddings"
	"lander/eval/queryeval"
	"lander/store/storebench"
)

// benchVectors loads the data set of "lander bench store --vectors DIR":
// the product vectors of an embeddings folder (or of a generation, whose
// kept embeddings are in its embeddings/ folder) and, as queries, the
// labelled shopper queries of queriesFile encoded with the text encoder.
// When the encoder cannot be opened, it says so through progress and holds
// out every 50th product as a query instead (so queries are near, but never
// in, the index). The filter tags are drawn from seed as for synthetic data.
func benchVectors(ctx context.Context, cfg config.Config, dir, queriesFile string, maxQueries int, seed uint64,
	progress func(string, ...any)) (*storebench.Data, error) {
	if st, err := os.Stat(filepath.Join(dir, "embeddings")); err == nil && st.IsDir() {
		dir = filepath.Join(dir, "embeddings")
	}
	meta, err := embeddings.ReadMeta(ctx, dir)
	if err != nil {
		return nil, err
	}
	set, err := embeddings.Load(ctx, dir, embeddings.Meta{Model: meta.Model, Dim: meta.Dim}, nil)
	if err != nil {
		return nil, err
	}
	dim := meta.Dim
	vecs := make([]float32, 0, set.Len()*dim)
	for _, id := range set.IDs() {
		v, _, _ := set.Lookup(id)
		vecs = append(vecs, v...)
	}
	progress("read %d product vectors of dimension %d (model %s) from %s", set.Len(), dim, meta.Model, dir)

	queries, err := encodeQueries(ctx, cfg, queriesFile, maxQueries, dim)
	if err == nil {
		progress("encoded %d labelled queries from %s", len(queries), queriesFile)
		return storebench.FromVectors(vecs, dim, queries, seed), nil
	}
	progress("cannot encode the labelled queries (%v): holding out every 50th product as a query instead", err)
	var kept []float32
	queries = nil
	for i := range set.Len() {
		v := vecs[i*dim : (i+1)*dim]
		if i%50 == 49 && len(queries) < maxQueries {
			queries = append(queries, v)
			continue
		}
		kept = append(kept, v...)
	}
	return storebench.FromVectors(kept, dim, queries, seed), nil
}

// encodeQueries returns the text embeddings of up to max queries of a
// labelled queries file.
func encodeQueries(ctx context.Context, cfg config.Config, path string, max, dim int) ([][]float32, error) {
	qs, err := queryeval.LoadQueries(path)
	if err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, errors.New("no queries in " + path)
	}
	texts := make([]string, 0, min(len(qs), max))
	for _, q := range qs[:min(len(qs), max)] {
		texts = append(texts, q.Q)
	}
	enc, err := openEncoder(cfg)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	if enc.Dim() != dim {
		return nil, fmt.Errorf("encoder gives %d values, vectors have %d", enc.Dim(), dim)
	}
	return enc.Embed(ctx, texts)
}
