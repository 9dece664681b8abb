package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"lander/catalog"
	"lander/config"
	"lander/datadir"
	"lander/embeddings"
	"lander/encoder"
	"lander/indexer"
	"lander/store"
	"lander/store/milvus"
)

// exportFlags registers --out and loads the configuration of an export.
func exportFlags(name, outHelp string, args []string, stderr io.Writer, environ []string) (config.Config, string, error) {
	f := newFlags("export "+name, stderr)
	f.common()
	var out string
	f.fs.StringVar(&out, "out", "", outHelp)
	cfg, err := f.load(args, environ)
	if err != nil {
		return cfg, "", err
	}
	if out == "" {
		return cfg, "", usageError{errors.New("--out is required")}
	}
	return cfg, out, nil
}

// keptEmbeddings loads the embeddings the current generation kept.
func keptEmbeddings(ctx context.Context, cfg config.Config) (datadir.Manifest, string, *embeddings.Set, error) {
	dir, err := datadir.Open(cfg.Data)
	if err != nil {
		return datadir.Manifest{}, "", nil, err
	}
	m, path, err := dir.Current()
	if err != nil {
		return m, "", nil, err
	}
	src := filepath.Join(path, indexer.EmbeddingsDir)
	if _, err := os.Stat(src); err != nil {
		return m, "", nil, fmt.Errorf("generation %s keeps no embeddings (it was indexed before they were kept): index the catalog again", m.Name)
	}
	meta, err := embeddings.ReadMeta(ctx, src)
	if err != nil {
		return m, "", nil, err
	}
	set, err := embeddings.Load(ctx, src, meta, nil)
	if err != nil {
		return m, "", nil, err
	}
	return m, path, set, nil
}

// cmdExportEmbeddings writes the current generation's embeddings in the
// layout "lander index --embeddings" reads: the product shards and, with a
// dual encoder, attributes.parquet (kept with the generation, or, for a
// generation that kept none, from the shipped model).
func cmdExportEmbeddings(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	cfg, out, err := exportFlags("embeddings", "output `dir` for products-*.parquet and attributes.parquet", args, stderr, environ)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("export embeddings: %s is not empty; choose a new or empty folder", out)
	}
	m, _, set, err := keptEmbeddings(ctx, cfg)
	if err != nil {
		return fmt.Errorf("export embeddings: %w", err)
	}
	meta := set.Meta()
	attrs := set.Attributes // kept with the generation since it keeps attributes
	if meta.ProductDim > 0 && attrs == nil {
		// The attribute vectors come from the model that made the product
		// vectors; refuse another one.
		id, err := encoder.ModelID(cfg.Encoder.Dual)
		if err != nil {
			return fmt.Errorf("export embeddings: %w", err)
		}
		if id != meta.Model {
			return fmt.Errorf("export embeddings: generation %s was indexed with model %s, but encoder.dual (%s) is %s", m.Name, meta.Model, cfg.Encoder.Dual, id)
		}
		info, err := encoder.LoadModelInfo(cfg.Encoder.Dual)
		if err != nil {
			return fmt.Errorf("export embeddings: %w", err)
		}
		for _, v := range info.Vocabulary {
			attrs = append(attrs, embeddings.Attribute{Key: v.Key, Value: v.Value, Vector: v.Vector})
		}
	}
	// Everything goes into a sibling folder renamed to out at the end, so an
	// interrupted export never looks like a smaller, complete one.
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(out)), 0o755); err != nil {
		return fmt.Errorf("export embeddings: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), "."+filepath.Base(filepath.Clean(out))+".tmp-")
	if err != nil {
		return fmt.Errorf("export embeddings: %w", err)
	}
	defer os.RemoveAll(tmp) // finds nothing after the rename
	w, err := embeddings.NewWriter(tmp, meta, 0)
	if err != nil {
		return fmt.Errorf("export embeddings: %w", err)
	}
	for _, id := range set.IDs() {
		v, pv, _ := set.Lookup(id)
		if err := w.Write([]embeddings.Product{{ID: id, Vector: v, ProductVector: pv}}); err != nil {
			return fmt.Errorf("export embeddings: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("export embeddings: %w", err)
	}
	if len(attrs) > 0 {
		meta.AttributeDim = len(attrs[0].Vector)
		if err := embeddings.WriteAttributes(tmp, meta, attrs); err != nil {
			return fmt.Errorf("export embeddings: %w", err)
		}
	}
	os.Remove(out) // an empty folder, if any (checked above)
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("export embeddings: %w", err)
	}
	fmt.Fprintf(stdout, "exported %d products and %d attributes of generation %s (model %s) to %s\n", w.Rows(), len(attrs), m.Name, meta.Model, out)
	return nil
}

// productGetter reads stored products by id.
type productGetter interface {
	Get(ctx context.Context, ids []string) ([]store.Product, error)
}

// cmdExportAttributes writes the enriched catalog: each product of the
// current generation with the attributes the index assigned to it, read
// back from the store that serves them.
func cmdExportAttributes(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	cfg, out, err := exportFlags("attributes", "output Parquet `file`", args, stderr, environ)
	if err != nil {
		return err
	}
	m, path, set, err := keptEmbeddings(ctx, cfg)
	if err != nil {
		return fmt.Errorf("export attributes: %w", err)
	}
	var st productGetter
	switch m.Backend {
	case "milvus":
		if cfg.Milvus == "" {
			return fmt.Errorf("export attributes: generation %s lives in Milvus collection %s; pass --milvus", m.Name, m.MilvusCollection)
		}
		ms, err := milvus.Open(ctx, milvus.Options{Addr: cfg.Milvus, Collection: m.MilvusCollection, Dim: m.Dim, MustExist: true})
		if err != nil {
			return fmt.Errorf("export attributes: %w", err)
		}
		defer ms.Close(context.Background())
		st = ms
	default:
		es, err := store.OpenGeneration(ctx, path)
		if err != nil {
			return fmt.Errorf("export attributes: %w", err)
		}
		st = es
	}
	if dir := filepath.Dir(out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("export attributes: %w", err)
		}
	}
	w, err := catalog.NewEnrichedWriter(out)
	if err != nil {
		return fmt.Errorf("export attributes: %w", err)
	}
	ids := set.IDs()
	const batch = 1000
	for lo := 0; lo < len(ids); lo += batch {
		want := ids[lo:min(lo+batch, len(ids))]
		ps, err := st.Get(ctx, want)
		if err == nil && len(ps) != len(want) {
			err = fmt.Errorf("the store returned %d of %d products", len(ps), len(want))
		}
		if err != nil {
			w.Abort()
			return fmt.Errorf("export attributes: rows %d-%d: %w", lo, lo+len(want)-1, err)
		}
		rows := make([]catalog.EnrichedRow, len(ps))
		for i, p := range ps {
			rows[i] = catalog.EnrichedRow{ID: p.ID, Title: p.Title, Attributes: []catalog.EnrichedAttribute{}}
			for _, a := range p.Attributes {
				rows[i].Attributes = append(rows[i].Attributes, catalog.EnrichedAttribute{Key: a.Key, Value: a.Value, Score: a.Score, Source: a.Source})
			}
		}
		if err := w.Write(rows); err != nil {
			w.Abort()
			return fmt.Errorf("export attributes: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("export attributes: %w", err)
	}
	fmt.Fprintf(stdout, "exported %d products of generation %s with their attributes to %s\n", w.Rows(), m.Name, out)
	return nil
}
