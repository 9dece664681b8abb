package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"lander/catalog"
	"lander/config"
	"lander/datadir"
	"lander/encoder"
	"lander/imagepack"
	"lander/indexer"
	"lander/indexer/assign"
	"lander/indexer/topics"
	"lander/server"
	"lander/store"
	"lander/store/milvus"
	"lander/vocab"
)

// modelName is recorded in each manifest.
const modelName = "all-MiniLM-L6-v2"

// storeDir is the embedded store's folder inside a generation.
const storeDir = "store"

func openEncoder(c config.Config) (*encoder.Text, error) {
	return encoder.NewText(encoder.TextOptions{
		LibraryPath: c.Encoder.Library,
		ModelDir:    filepath.Join(c.Encoder.Models, "minilm"),
		Threads:     c.Encoder.Threads,
		MaxLength:   c.Encoder.MaxLength,
		BatchSize:   c.Encoder.BatchSize,
	})
}

// modelAssigner assigns the dual encoder's shipped vocabulary to products.
type modelAssigner struct {
	prod  *encoder.Product
	model *assign.Model
}

func openAssigner(c config.Config) (*modelAssigner, error) {
	if c.Encoder.Dual == "" {
		return nil, nil
	}
	prod, err := encoder.NewProduct(encoder.DualOptions{LibraryPath: c.Encoder.Library, Dir: c.Encoder.Dual, Threads: c.Encoder.Threads})
	if err != nil {
		return nil, err
	}
	m, err := assign.Load(c.Encoder.Dual)
	if err != nil {
		prod.Close()
		return nil, err
	}
	return &modelAssigner{prod: prod, model: m}, nil
}

// Version names the dual encoder, for the manifest.
func (a *modelAssigner) Version() string { return a.prod.Info().Version }

// Assign runs the product tower on each product's image and text
// embedding and applies the calibrated assignment rule.
func (a *modelAssigner) Assign(ctx context.Context, products []catalog.Product, textVecs [][]float32) ([][]store.Attribute, error) {
	vecs, err := a.EmbedProducts(ctx, products, textVecs)
	if err != nil {
		return nil, err
	}
	hasText := make([]bool, len(textVecs))
	for i, v := range textVecs {
		hasText[i] = v != nil
	}
	return a.AssignVectors(vecs, hasText), nil
}

// EmbedProducts runs the product tower on each product's image and text
// embedding (nil: no text).
func (a *modelAssigner) EmbedProducts(ctx context.Context, products []catalog.Product, textVecs [][]float32) ([][]float32, error) {
	in := make([]encoder.ProductInput, len(products))
	for i, p := range products {
		img, err := catalog.DecodeImage(p.Image)
		if err != nil {
			return nil, fmt.Errorf("decode image of %s: %w", p.ID, err)
		}
		pix, err := encoder.PreprocessImage(img)
		if err != nil {
			return nil, fmt.Errorf("preprocess image of %s: %w", p.ID, err)
		}
		in[i] = encoder.ProductInput{Pixels: pix, TextEmbedding: textVecs[i]}
	}
	return a.prod.Embed(ctx, in)
}

// AssignVectors applies the calibrated assignment rule to product vectors.
func (a *modelAssigner) AssignVectors(vecs [][]float32, hasText []bool) [][]store.Attribute {
	out := make([][]store.Attribute, len(vecs))
	for i, v := range vecs {
		out[i] = a.model.Assign(v, hasText[i])
	}
	return out
}

// ProductDim is the length of the product tower's vectors.
func (a *modelAssigner) ProductDim() int { return a.prod.Dim() }

// Close releases the product tower.
func (a *modelAssigner) Close() error { return a.prod.Close() }

// embeddedTarget writes a generation's products into the embedded store.
type embeddedTarget struct {
	st  *store.Embedded
	dir string
}

func (t *embeddedTarget) Upsert(ctx context.Context, p []store.Product) error {
	return t.st.Upsert(ctx, p)
}

func (t *embeddedTarget) Commit(ctx context.Context) error {
	return t.st.Save(ctx, filepath.Join(t.dir, storeDir))
}

// milvusTarget writes a generation's products into its own collection,
// and its attribute embeddings into a second one beside it.
type milvusTarget struct {
	st    *milvus.Store
	addr  string
	attrs *milvus.Vectors // opened by the first UpsertNamed
}

func (t *milvusTarget) Upsert(ctx context.Context, p []store.Product) error {
	return t.st.Upsert(ctx, p)
}

// UpsertNamed stores attribute embeddings in the collection
// AttributesCollection(products collection).
func (t *milvusTarget) UpsertNamed(ctx context.Context, vs []store.NamedVector) error {
	if len(vs) == 0 {
		return nil
	}
	if t.attrs == nil {
		v, err := milvus.OpenVectors(ctx, milvus.Options{Addr: t.addr, Collection: attributesCollection(t.st.Collection()), Dim: len(vs[0].Vector)})
		if err != nil {
			return err
		}
		t.attrs = v
	}
	return t.attrs.Upsert(ctx, vs)
}

func (t *milvusTarget) Commit(ctx context.Context) error {
	if t.attrs != nil {
		if err := t.attrs.Close(ctx); err != nil {
			t.st.Close(ctx)
			return err
		}
	}
	return t.st.Close(ctx)
}

// attributesCollection names the Milvus collection of a generation's
// attribute embeddings.
func attributesCollection(products string) string { return products + "_attributes" }

func openTarget(c config.Config) (indexer.OpenTarget, string) {
	if c.Milvus == "" {
		return func(_ context.Context, dir, _ string, dim int) (indexer.Target, error) {
			return &embeddedTarget{st: store.NewEmbedded(dim), dir: dir}, nil
		}, "embedded"
	}
	return func(ctx context.Context, _, name string, dim int) (indexer.Target, error) {
		st, err := milvus.Open(ctx, milvus.Options{Addr: c.Milvus, Collection: indexer.CollectionName(name), Dim: dim})
		if err != nil {
			return nil, err
		}
		return &milvusTarget{st: st, addr: c.Milvus}, nil
	}, "milvus"
}

// loaded is a generation opened for serving, with what must be closed.
type loaded struct {
	index *server.Index
	close func()
}

func loadGeneration(ctx context.Context, c config.Config, dir *datadir.Dir) (*loaded, error) {
	m, path, err := dir.Current()
	if err != nil {
		return nil, err
	}
	if err := datadir.Verify(path, m); err != nil {
		return nil, fmt.Errorf("load %s: %w", m.Name, err)
	}
	var (
		st         server.Searcher
		closeStore = func() {}
	)
	switch m.Backend {
	case "milvus":
		if c.Milvus == "" {
			return nil, fmt.Errorf("load %s: its vectors are in Milvus collection %s; pass --milvus", m.Name, m.MilvusCollection)
		}
		ms, err := milvus.Open(ctx, milvus.Options{Addr: c.Milvus, Collection: m.MilvusCollection, Dim: m.Dim})
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", m.Name, err)
		}
		st = ms
		closeStore = func() { ms.Close(context.Background()) }
	default:
		es, err := store.OpenEmbedded(ctx, filepath.Join(path, storeDir))
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", m.Name, err)
		}
		st = es
	}
	pack, err := imagepack.Open(filepath.Join(path, indexer.ImagesFile))
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("load %s: %w", m.Name, err)
	}
	voc, err := vocab.Load(filepath.Join(path, indexer.VocabularyFile))
	if err != nil {
		closeStore()
		pack.Close()
		return nil, fmt.Errorf("load %s: %w", m.Name, err)
	}
	ix := server.NewIndex(m, st, pack, voc)
	tf, err := topics.Load(filepath.Join(path, topics.FileName))
	switch {
	case errors.Is(err, os.ErrNotExist):
		// A generation indexed before topics existed serves no collections.
	case err != nil:
		closeStore()
		pack.Close()
		return nil, fmt.Errorf("load %s: %w", m.Name, err)
	default:
		ix.Collections = newTopicCollections(tf)
	}
	return &loaded{
		index: ix,
		close: func() { closeStore(); pack.Close() },
	}, nil
}

// topicCollections serves a generation's topics artifact as the server's
// collections.
type topicCollections struct {
	list    []server.Topic
	feeds   map[string]topicFeed
	signals map[string]server.Signals
}

type topicFeed struct {
	topic server.Topic
	items []server.FeedItem
}

func newTopicCollections(f topics.File) *topicCollections {
	tc := &topicCollections{
		list:    make([]server.Topic, 0, len(f.Topics)),
		feeds:   make(map[string]topicFeed, len(f.Topics)),
		signals: make(map[string]server.Signals, len(f.Topics)),
	}
	for _, t := range f.Topics {
		tc.signals[t.Slug] = server.Signals{Demand: t.Score.Demand, Judge: t.Score.Judge, Coherence: t.Score.Coherence, Precision: t.Score.Precision, Reasons: t.Reasons}
		st := server.Topic{Slug: t.Slug, Title: t.Title, Description: t.Description, Size: t.Size, Score: t.Score.Score, Published: t.Published}
		for _, kv := range t.Attributes {
			st.Attributes = append(st.Attributes, store.KV{Key: kv.Key, Value: kv.Value})
		}
		items := make([]server.FeedItem, len(t.Feed))
		for i, slot := range t.Feed {
			ev := t.Evidence(i)
			items[i] = server.FeedItem{ID: slot.ID, Score: float32(slot.Score), Evidence: make([]store.Attribute, len(ev))}
			for j, m := range ev {
				items[i].Evidence[j] = store.Attribute{Key: m.Key, Value: m.Value, Score: m.Score, Source: m.Source}
			}
		}
		tc.list = append(tc.list, st)
		tc.feeds[t.Slug] = topicFeed{topic: st, items: items}
	}
	return tc
}

// Topics returns every content topic, in the artifact's order (published
// first, then by score).
func (tc *topicCollections) Topics(context.Context) ([]server.Topic, error) { return tc.list, nil }

// Signals returns the quality signals of a topic, for the console.
func (tc *topicCollections) Signals(slug string) (server.Signals, bool) {
	s, ok := tc.signals[slug]
	return s, ok
}

// Feed returns a topic and its ranked feed.
func (tc *topicCollections) Feed(_ context.Context, slug string) (server.Topic, []server.FeedItem, bool, error) {
	f, ok := tc.feeds[slug]
	return f.topic, f.items, ok, nil
}

// reloader watches the data directory and swaps the server to each newly
// committed generation. A generation that fails to load is logged and the
// previous one keeps serving.
type reloader struct {
	cfg       config.Config
	dir       *datadir.Dir
	srv       *server.Server
	overrides *server.Overrides // refreshed each tick: other replicas write it too
	log       *slog.Logger
	interval  time.Duration
	cur       *loaded
}

// Run polls until ctx is cancelled.
func (r *reloader) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if r.cur != nil {
				r.cur.close()
			}
			return nil
		case <-t.C:
		}
		if err := r.overrides.Refresh(); err != nil {
			r.log.Warn("refresh overrides; still serving the previous ones", "err", err)
		}
		m, _, err := r.dir.Current()
		if err != nil || (r.cur != nil && m.Generation == r.cur.index.Manifest.Generation) {
			continue
		}
		if err := r.load(ctx); err != nil {
			r.log.Error("reload failed; still serving the previous generation", "err", err)
		}
	}
}

func (r *reloader) load(ctx context.Context) error {
	next, err := loadGeneration(ctx, r.cfg, r.dir)
	if err != nil {
		return err
	}
	prev := r.cur
	r.cur = next
	r.srv.SetIndex(next.index)
	r.log.Info("serving generation", "generation", next.index.Manifest.Generation, "products", next.index.Manifest.Counts["products"])
	if prev != nil {
		// Requests that began on the previous generation finish on it; close
		// it once they have had time to.
		go func() {
			time.Sleep(30 * time.Second)
			prev.close()
		}()
	}
	return nil
}

// storePinger checks the vector store of the generation being served, for
// /readyz: with --milvus, the index is only ready while Milvus answers.
type storePinger struct{ srv *server.Server }

func (p storePinger) Ping(ctx context.Context) error {
	ix := p.srv.Current()
	if ix == nil {
		return errors.New("no index loaded")
	}
	if pg, ok := ix.Store.(server.Pinger); ok {
		return pg.Ping(ctx)
	}
	return nil
}

// dropMilvusCollections drops the Milvus collections of pruned generations
// (products and attribute embeddings), which would otherwise pile up on the
// cluster. A failure is logged, not returned: the new generation is
// committed whatever happens to the old ones.
func dropMilvusCollections(ctx context.Context, cfg config.Config, log *slog.Logger, pruned []datadir.Manifest) {
	var names []string
	for _, m := range pruned {
		if m.Backend == "milvus" && m.MilvusCollection != "" {
			names = append(names, m.MilvusCollection, attributesCollection(m.MilvusCollection))
		}
	}
	if len(names) == 0 {
		return
	}
	if cfg.Milvus == "" {
		log.Warn("pruned generations' Milvus collections left in place: no --milvus", "collections", names)
		return
	}
	if err := milvus.DropCollections(ctx, cfg.Milvus, names); err != nil {
		log.Warn("drop pruned generations' Milvus collections", "err", err)
	}
}
