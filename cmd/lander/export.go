package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"lander/catalog"
	"lander/config"
	"lander/encoder"
	"lander/indexer/extract"
)

// cmdExport runs "lander export KIND": "embeddings" and "attributes" (see
// cmd_export_embeddings.go) export the current generation. KIND "trainset" writes the dual
// encoder's training set: DIR/trainset.parquet (id, text, image preprocessed
// by encoder.PreprocessImage, MiniLM text_embedding, attributes "key:value"
// from the merchant tags) and DIR/attributes.jsonl (every attribute with its
// support and the MiniLM embedding of its phrase). encoder/train reads both.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	kind := ""
	if len(args) > 0 {
		kind = args[0]
	}
	switch kind {
	case "trainset":
		return cmdExportTrainset(ctx, args[1:], stdout, stderr, environ)
	case "embeddings":
		return cmdExportEmbeddings(ctx, args[1:], stdout, stderr, environ)
	case "attributes":
		return cmdExportAttributes(ctx, args[1:], stdout, stderr, environ)
	default:
		return usageError{fmt.Errorf("usage: lander export embeddings --data DIR --out DIR2 | attributes --data DIR --out FILE.parquet | trainset --catalog PATH --out DIR")}
	}
}

func cmdExportTrainset(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("export trainset", stderr)
	f.common()
	f.str("catalog", "catalog `path`", func(c *config.Config) *string { return &c.Index.Catalog })
	var out string
	f.fs.StringVar(&out, "out", "", "output `dir` for trainset.parquet and attributes.jsonl")
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if cfg.Index.Catalog == "" || out == "" {
		return usageError{fmt.Errorf("--catalog and --out are required")}
	}
	return exportTrainset(ctx, cfg, out, stdout)
}

// trainAttribute is one line of attributes.jsonl: an attribute seen in the
// training set with its support and the text encoder's embedding of its
// phrase.
type trainAttribute struct {
	Key       string    `json:"key"`
	Value     string    `json:"value"`
	Phrase    string    `json:"phrase"`
	Count     int       `json:"count"`
	Embedding []float32 `json:"embedding"`
}

func exportTrainset(ctx context.Context, cfg config.Config, out string, stdout io.Writer) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("export trainset: %w", err)
	}
	text, err := openEncoder(cfg)
	if err != nil {
		return err
	}
	defer text.Close()
	rd, err := catalog.Open(cfg.Index.Catalog, catalog.Options{Workers: cfg.Index.Workers})
	if err != nil {
		return err
	}
	w, err := catalog.NewTrainsetWriter(filepath.Join(out, "trainset.parquet"), catalog.TrainsetMeta{
		ImageHeight: encoder.ImageHeight, ImageWidth: encoder.ImageWidth, ImageChannels: encoder.ImageChannels,
		EmbeddingDim: text.Dim(), TextModel: modelName,
	})
	if err != nil {
		return err
	}
	counts := map[[2]string]int{}
	rejected := 0
	err = rd.Read(ctx, func(batch []catalog.Product) error {
		rows := make([]catalog.TrainRow, 0, len(batch))
		texts := make([]string, 0, len(batch))
		for _, p := range batch {
			img, err := catalog.DecodeImage(ctx, p.Image)
			if err != nil {
				rejected++
				continue
			}
			pix, err := encoder.PreprocessImage(img)
			if err != nil {
				rejected++
				continue
			}
			var attrs []string
			for _, a := range extract.TagsOf(p) {
				attrs = append(attrs, a.Key+":"+a.Value)
				counts[[2]string{a.Key, a.Value}]++
			}
			t := extract.Text(p)
			texts = append(texts, t)
			rows = append(rows, catalog.TrainRow{ID: p.ID, Text: t, Image: pix, Attributes: attrs})
		}
		embs, err := text.Embed(ctx, texts)
		if err != nil {
			return err
		}
		for i := range rows {
			rows[i].TextEmbedding = embs[i]
		}
		if err := w.Write(rows); err != nil {
			return err
		}
		if w.Rows()/len(batch)%20 == 0 {
			fmt.Fprintf(stdout, "%d products\n", w.Rows())
		}
		return nil
	}, func(catalog.Rejection) { rejected++ })
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export trainset: %w", err)
	}
	// The attributes with their phrase embeddings.
	keys := make([][2]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	phrases := make([]string, len(keys))
	for i, k := range keys {
		phrases[i] = encoder.AttributePhrase(k[0], k[1])
	}
	embs, err := text.Embed(ctx, phrases)
	if err != nil {
		return fmt.Errorf("export trainset: %w", err)
	}
	af, err := os.Create(filepath.Join(out, "attributes.jsonl"))
	if err != nil {
		return fmt.Errorf("export trainset: %w", err)
	}
	enc := json.NewEncoder(af)
	for i, k := range keys {
		if err := enc.Encode(trainAttribute{k[0], k[1], phrases[i], counts[k], embs[i]}); err != nil {
			af.Close()
			return fmt.Errorf("export trainset: %w", err)
		}
	}
	if err := af.Close(); err != nil {
		return fmt.Errorf("export trainset: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d products (%d rejected) and %d attributes to %s\n", w.Rows(), rejected, len(keys), out)
	return nil
}
