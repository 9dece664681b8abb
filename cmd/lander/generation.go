package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"lander/config"
	"lander/datadir"
	"lander/imagepack"
	"lander/indexer"
	"lander/indexer/topics"
	"lander/server"
	"lander/store"
	"lander/store/milvus"
	"lander/vocab"
)

// loaded is a generation opened for serving, with what must be closed.
type loaded struct {
	index *server.Index
	close func()
}

// servingCallTimeout bounds each try of a Milvus request made while
// serving.
const servingCallTimeout = 3 * time.Second

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
		ms, err := milvus.Open(ctx, milvus.Options{Addr: c.Milvus, Collection: m.MilvusCollection, Dim: m.Dim, MustExist: true,
			// Fail a request fast while Milvus is down (503), rather than
			// after the client's own 20 s of retries.
			CallTimeout: servingCallTimeout, Retries: 1})
		if errors.Is(err, milvus.ErrNoCollection) {
			return nil, fmt.Errorf("load %s: its Milvus collection %s is missing from %s (dropped, or another Milvus); run lander index again", m.Name, m.MilvusCollection, c.Milvus)
		}
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", m.Name, err)
		}
		st = ms
		closeStore = func() { ms.Close(context.Background()) }
	default:
		es, err := store.OpenGenerationWith(ctx, path, store.Options{Quantize: c.Serve.QuantizeStore})
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", m.Name, err)
		}
		st = es
		// A mapped store must outlive the requests that use it: the
		// reloader closes a swapped-out generation only after a delay, and a
		// request still running then gets store.ErrClosed, not a fault.
		closeStore = func() { es.Close() }
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
	if sum := m.Files[indexer.ImagesFile].SHA256; len(sum) >= 12 {
		ix.ImageVersion = sum[:12] // images unchanged since the last generation keep their URLs
	}
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
		ix.Gaps = newGaps(tf.Gaps)
	}
	return &loaded{
		index: ix,
		close: func() { closeStore(); pack.Close() },
	}, nil
}

// topicCollections knows its topics' quality signals, which the console
// shows.
var _ server.SignalSource = (*topicCollections)(nil)

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
		st.Attributes = slices.Clone(t.Attributes)
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

// newGaps converts the artifact's demand gaps into the server's.
func newGaps(gs []topics.Gap) []server.Gap {
	out := make([]server.Gap, len(gs))
	for i, g := range gs {
		out[i] = server.Gap{Attributes: slices.Clone(g.Attributes), Query: g.Query, Band: g.Band, Demand: g.Demand, DemandShare: g.DemandShare,
			Supply: g.Supply, SupplyShare: g.SupplyShare, Reason: g.Reason, Nearest: make([]server.NearCollection, len(g.Nearest))}
		for j, n := range g.Nearest {
			out[i].Nearest[j] = server.NearCollection{Slug: n.Slug, Title: n.Title, Size: n.Size, Shared: n.Shared}
		}
	}
	return out
}

// reloader watches the data directory and swaps the server to each newly
// committed generation. A generation that fails to load is logged once and
// the previous one keeps serving; it is not tried again (its files
// re-hashed every tick) until CURRENT names another generation or the same
// number committed anew.
type reloader struct {
	cfg       config.Config
	dir       *datadir.Dir
	srv       *server.Server
	overrides *server.Overrides // refreshed each tick: other replicas write it too
	log       *slog.Logger
	interval  time.Duration
	cur       *loaded
	// failed is the commit that last failed to load, while CURRENT still
	// names it; nil when none.
	failed *commitID
	// open loads the generation CURRENT names; nil means loadGeneration.
	open func(context.Context) (*loaded, error)
}

// commitID names one commit of a generation: its number and its commit
// time, so that a generation committed anew under the same number is
// another.
type commitID struct {
	gen     int
	created time.Time
}

func commitOf(m datadir.Manifest) commitID { return commitID{gen: m.Generation, created: m.CreatedAt} }

func (c commitID) is(o commitID) bool { return c.gen == o.gen && c.created.Equal(o.created) }

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
		if err != nil {
			continue
		}
		id := commitOf(m)
		if r.failed != nil && !id.is(*r.failed) {
			r.failed = nil // CURRENT names another commit: it may be tried
		}
		if r.failed != nil || (r.cur != nil && id.is(commitOf(r.cur.index.Manifest))) {
			continue
		}
		if err := r.load(ctx); err != nil {
			r.failed = &id
			r.log.Error("reload failed; still serving the previous generation, and not trying this one again until CURRENT names another",
				"generation", m.Name, "err", err)
		}
	}
}

func (r *reloader) load(ctx context.Context) error {
	open := r.open
	if open == nil {
		open = func(ctx context.Context) (*loaded, error) { return loadGeneration(ctx, r.cfg, r.dir) }
	}
	next, err := open(ctx)
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

// The Milvus store answers /readyz through storePinger; the embedded store
// needs no check.
var _ server.Pinger = (*milvus.Store)(nil)

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
