package server

// The merchandisers' console: the list of every collection with its quality
// signals and overrides, and one collection's feed as the overrides shape it.

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"lander/store"
)

// Page sizes of the console.
const (
	// merchPageSize is the number of collections on a console page.
	merchPageSize = 50
	// merchFeedPageSize is the number of products on a console feed page.
	merchFeedPageSize = 48
)

// Signals are the quality signals behind a topic's score, as the topic
// generator computed them.
type Signals struct {
	// Demand is the topic's relative search demand.
	Demand float64
	// Judge is the judge's overall score.
	Judge float64
	// Coherence is how much of the rarest attribute's products carry the
	// whole tuple.
	Coherence float64
	// Precision is the estimated precision of the top of the feed.
	Precision float64
	// Reasons say why the publish rule passed or refused the topic.
	Reasons []string
}

// SignalSource is implemented by Collections that know the quality signals
// of their topics; the merchandiser console shows them when they do.
type SignalSource interface {
	// Signals returns the signals of the topic slug; ok is false when the
	// topic has none.
	Signals(slug string) (s Signals, ok bool)
}

// merchURL is the path of a collection in the console.
func merchURL(slug string) string { return "/merch/c/" + url.PathEscape(slug) }

// merchRow is one collection of the console's list.
type merchRow struct {
	Slug, Title, Tuple, MerchURL string
	Size                         int
	Score                        float64
	// Published is the verdict served; Forced says an override set it.
	Published, Forced bool
	Pins, Excludes    int
	Signals           *Signals
}

// option is an option of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// changeView is a merchandiser override, as a change to the generation.
type changeView struct {
	Slug, Title, MerchURL, What, When string
	// SinceIndex says the change was made after the generation was built;
	// Stale that the collection is not in this generation.
	SinceIndex, Stale bool
}

// merchView is the body of the console's list.
type merchView struct {
	Generation      int
	IndexedAt       string
	Published, All  int
	Q               string
	Statuses, Sorts []option
	Total           int
	Rows            []merchRow
	HasSignals      bool
	Pager           pagerView
	Keys            []string
	PreviewRows     []int
	Changes         []changeView
}

func tupleLabel(kvs []store.KV) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = kv.Key + "=" + kv.Value
	}
	return strings.Join(parts, ", ")
}

func options(values []string, labels []string, selected string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Label: labels[i], Selected: v == selected}
	}
	return out
}

func (s *Server) signals(ix *Index, slug string) *Signals {
	src, ok := ix.Collections.(SignalSource)
	if !ok {
		return nil
	}
	sig, ok := src.Signals(slug)
	if !ok {
		return nil
	}
	return &sig
}

func (s *Server) merchPage(c *gin.Context) {
	ix, page, ts, ok := s.topicsPage(c)
	if !ok {
		return
	}
	q := strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(q) > maxCollectionQuery {
		s.failPage(c, errBadRequest("the filter is longer than "+strconv.Itoa(maxCollectionQuery)+" characters"))
		return
	}
	status, sortBy := c.DefaultQuery("status", "all"), c.DefaultQuery("sort", "score")
	v := merchView{Generation: ix.Manifest.Generation, All: len(ts), Q: q,
		Statuses: options([]string{"all", "published", "unpublished", "overridden"}, []string{"All", "Published", "Not published", "Overridden"}, status),
		Sorts:    options([]string{"score", "size", "judge", "precision", "demand", "title"}, []string{"Score", "Size", "Judge score", "Estimated precision", "Demand", "Title"}, sortBy),
	}
	if !ix.Manifest.CreatedAt.IsZero() {
		v.IndexedAt = ix.Manifest.CreatedAt.UTC().Format("2006-01-02 15:04 MST")
	}
	words := strings.Fields(strings.ToLower(q))
	for _, t := range ts {
		if t.Published {
			v.Published++
		}
		ov, _ := s.overrides.Get(t.Slug)
		row := merchRow{Slug: t.Slug, Title: t.Title, Tuple: tupleLabel(t.Attributes), MerchURL: merchURL(t.Slug), Size: t.Size, Score: t.Score,
			Published: t.Published, Forced: ov.Published != nil, Pins: len(ov.Pins), Excludes: len(ov.Excludes), Signals: s.signals(ix, t.Slug)}
		keep := t.matches(words)
		switch status {
		case "published":
			keep = keep && row.Published
		case "unpublished":
			keep = keep && !row.Published
		case "overridden":
			keep = keep && (row.Forced || row.Pins+row.Excludes > 0)
		}
		if keep {
			v.Rows = append(v.Rows, row)
			v.HasSignals = v.HasSignals || row.Signals != nil
		}
	}
	sortRows(v.Rows, sortBy)
	v.Total = len(v.Rows)
	pages := pageCount(v.Total, merchPageSize)
	page = min(page, pages)
	v.Rows = v.Rows[(page-1)*merchPageSize : min(page*merchPageSize, len(v.Rows))]
	v.Pager = pager("/merch", c.Request.URL.Query(), page, pages)
	for k := range ix.Vocabulary.Keys {
		v.Keys = append(v.Keys, k)
	}
	slices.Sort(v.Keys)
	v.PreviewRows = []int{1, 2, 3}
	v.Changes = s.changes(ix, ts)
	s.render(c, http.StatusOK, "merch", layoutView{Title: "Collections · lander console", NoIndex: true, Merch: true, Body: v})
}

func sortRows(rows []merchRow, by string) {
	sig := func(r merchRow, f func(Signals) float64) float64 {
		if r.Signals == nil {
			return -1
		}
		return f(*r.Signals)
	}
	key := map[string]func(merchRow) float64{
		"size":      func(r merchRow) float64 { return float64(r.Size) },
		"judge":     func(r merchRow) float64 { return sig(r, func(s Signals) float64 { return s.Judge }) },
		"precision": func(r merchRow) float64 { return sig(r, func(s Signals) float64 { return s.Precision }) },
		"demand":    func(r merchRow) float64 { return sig(r, func(s Signals) float64 { return s.Demand }) },
	}[by]
	switch {
	case by == "title":
		slices.SortStableFunc(rows, func(a, b merchRow) int { return strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)) })
	case key != nil:
		slices.SortStableFunc(rows, func(a, b merchRow) int { return cmp.Compare(key(b), key(a)) })
	}
}

// changes lists the merchandisers' overrides, newest first, as changes to
// the generation the index built.
func (s *Server) changes(ix *Index, ts []Topic) []changeView {
	titles := make(map[string]string, len(ts))
	for _, t := range ts {
		titles[t.Slug] = t.Title
	}
	var out []changeView
	type entry struct {
		slug string
		ov   Override
	}
	var all []entry
	for slug, ov := range s.overrides.List() {
		all = append(all, entry{slug, ov})
	}
	slices.SortFunc(all, func(a, b entry) int { return b.ov.UpdatedAt.Compare(a.ov.UpdatedAt) })
	for _, e := range all {
		var what []string
		if e.ov.Published != nil {
			what = append(what, map[bool]string{true: "published", false: "unpublished"}[*e.ov.Published])
		}
		if n := len(e.ov.Pins); n > 0 {
			what = append(what, strconv.Itoa(n)+" pinned")
		}
		if n := len(e.ov.Excludes); n > 0 {
			what = append(what, strconv.Itoa(n)+" excluded")
		}
		title, ok := titles[e.slug]
		out = append(out, changeView{Slug: e.slug, Title: title, MerchURL: merchURL(e.slug), What: strings.Join(what, ", "),
			When: e.ov.UpdatedAt.UTC().Format(time.DateTime), SinceIndex: e.ov.UpdatedAt.After(ix.Manifest.CreatedAt), Stale: !ok})
	}
	return out
}

// merchProduct is a product of the console's feed, with its evidence.
type merchProduct struct {
	cardView
	Score    float32
	Pinned   bool
	Evidence []AttributeJSON
}

// merchCollectionView is the body of a collection in the console.
type merchCollectionView struct {
	Slug, Title, Tuple, PublicURL, Reasons string
	Published, Forced                      bool
	Total                                  int
	Signals                                *Signals
	Products                               []merchProduct
	Excluded                               []cardView
	Pager                                  pagerView
}

func (s *Server) merchCollectionPage(c *gin.Context) {
	ix, page, ok := s.pageStart(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	slug := c.Param("slug")
	if ix.Collections == nil {
		s.failPage(c, errNotFound("no collection "+strconv.Quote(slug)))
		return
	}
	t, items, err := s.feed(ctx, ix, slug)
	if err != nil {
		s.failPage(c, err)
		return
	}
	ov, _ := s.overrides.Get(slug)
	pinned := pinSet(ov)
	pages := pageCount(len(items), merchFeedPageSize)
	page = min(page, pages)
	prods, err := s.feedProducts(ctx, ix, items[(page-1)*merchFeedPageSize:min(page*merchFeedPageSize, len(items))], t.Attributes, pinned)
	if err != nil {
		s.failPage(c, err)
		return
	}
	v := merchCollectionView{Slug: t.Slug, Title: t.Title, Tuple: tupleLabel(t.Attributes), PublicURL: collectionURL(t.Slug),
		Published: s.visible(t), Forced: ov.Published != nil, Total: len(items), Signals: s.signals(ix, t.Slug),
		Pager: pager(merchURL(t.Slug), nil, page, pages)}
	if v.Signals != nil {
		v.Reasons = strings.Join(v.Signals.Reasons, "; ")
	}
	for i, p := range prods {
		v.Products = append(v.Products, merchProduct{cardView: card(p.ResultJSON, i), Score: p.Score, Pinned: p.Pinned, Evidence: p.Evidence})
	}
	if len(ov.Excludes) > 0 {
		hits := make([]store.Hit, 0, len(ov.Excludes))
		for _, id := range ov.Excludes[:min(len(ov.Excludes), MaxLimit)] {
			hits = append(hits, store.Hit{ID: id})
		}
		byID, err := s.products(ctx, ix, hits)
		if err != nil {
			s.failPage(c, err)
			return
		}
		for i, h := range hits {
			if p, ok := byID[h.ID]; ok {
				v.Excluded = append(v.Excluded, card(result(ix, p, 0), i))
			} else {
				v.Excluded = append(v.Excluded, cardView{ID: h.ID, Title: "Product " + h.ID})
			}
		}
	}
	s.render(c, http.StatusOK, "merchcollection", layoutView{Title: t.Title + " · lander console", NoIndex: true, Merch: true, Body: v})
}
