package server

// The index's history: the generations the data directory keeps and what
// changed from one to another (GET /api/v1/generations, GET
// /api/v1/changes), and their pages in the console (/merch/generations,
// /merch/changes). The history caches its comparisons, so the server does
// not cache these responses: they also read the overrides as they are now.

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"lander/changes"
)

// History is what the server needs of the index's history: the kept
// generations and what changed between two of them. changes.History
// implements it.
type History interface {
	// Generations lists the kept generations, oldest first.
	Generations(ctx context.Context) ([]changes.GenerationInfo, error)
	// Diff tells what changed from generation from to generation to. A
	// zero to means the current generation and a zero from the kept
	// generation before to; an unknown generation is an error wrapping
	// changes.ErrNoGeneration, a zero from with no kept generation before
	// to one wrapping changes.ErrNoPrevious.
	Diff(ctx context.Context, from, to int) (changes.Diff, error)
}

// GenerationListJSON is the body of /api/v1/generations.
type GenerationListJSON struct {
	// Current is the generation that the data directory's CURRENT names,
	// the one served once loaded; 0 when there is none.
	Current int `json:"current"`
	// Generations are the kept generations, newest first.
	Generations []changes.GenerationInfo `json:"generations"`
}

// errNoHistory answers the history's routes on a server started without
// one.
var errNoHistory = &apiError{http.StatusServiceUnavailable, "no_history", "this server has no index history"}

// historyMessage is the message of a history error, without the
// operation's prefix.
func historyMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "diff generations: ")
}

// history returns the configured history, or fails the request with fail.
func (s *Server) history(c *gin.Context, fail func(*gin.Context, error)) (History, bool) {
	if s.opts.History == nil {
		fail(c, errNoHistory)
		return nil, false
	}
	return s.opts.History, true
}

// generationParams reads the from and to parameters: positive generation
// numbers, 0 when absent or empty.
func generationParams(c *gin.Context) (from, to int, err error) {
	read := func(name string) (int, error) {
		v := c.Query(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, errBadRequest(name + " must be a positive integer (a generation number)")
		}
		return n, nil
	}
	if from, err = read("from"); err != nil {
		return 0, 0, err
	}
	if to, err = read("to"); err != nil {
		return 0, 0, err
	}
	return from, to, nil
}

// generationList lists h's generations newest first.
func generationList(ctx context.Context, h History) (GenerationListJSON, error) {
	gens, err := h.Generations(ctx)
	if err != nil {
		return GenerationListJSON{}, err
	}
	out := GenerationListJSON{Generations: make([]changes.GenerationInfo, 0, len(gens))}
	for i := len(gens) - 1; i >= 0; i-- {
		g := gens[i]
		if g.Counts == nil {
			g.Counts = map[string]int{}
		}
		if g.Current {
			out.Current = g.Generation
		}
		out.Generations = append(out.Generations, g)
	}
	return out, nil
}

func (s *Server) listGenerations(c *gin.Context) {
	h, ok := s.history(c, s.fail)
	if !ok {
		return
	}
	list, err := generationList(c.Request.Context(), h)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list)
}

func (s *Server) changesBetween(c *gin.Context) {
	h, ok := s.history(c, s.fail)
	if !ok {
		return
	}
	from, to, err := generationParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := h.Diff(c.Request.Context(), from, to)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// generationRow is one kept generation of the console's history.
type generationRow struct {
	Generation                                   int
	Name, CreatedAt, Model, Vocabulary           string
	Products, Rejected, Topics, Published, Terms string
	// Current says CURRENT names it; Served that this server serves it.
	Current, Served bool
	// ChangesURL is the comparison with the kept generation before it;
	// empty for the oldest.
	ChangesURL string
}

// merchGenerationsView is the body of the console's history.
type merchGenerationsView struct {
	Rows     []generationRow
	From, To []option
}

// changesURL is the console's comparison of two generations.
func changesURL(from, to int) string {
	return "/merch/changes?" + url.Values{"from": {strconv.Itoa(from)}, "to": {strconv.Itoa(to)}}.Encode()
}

// countLabel prints a manifest count, or a dash when it has none.
func countLabel(counts map[string]int, name string) string {
	if n, ok := counts[name]; ok {
		return strconv.Itoa(n)
	}
	return "—"
}

func (s *Server) merchGenerationsPage(c *gin.Context) {
	h, ok := s.history(c, s.failPage)
	if !ok {
		return
	}
	list, err := generationList(c.Request.Context(), h)
	if err != nil {
		s.failPage(c, err)
		return
	}
	served := 0
	if ix := s.Current(); ix != nil {
		served = ix.Manifest.Generation
	}
	v := merchGenerationsView{}
	var nums, labels []string
	for i, g := range list.Generations {
		row := generationRow{Generation: g.Generation, Name: g.Name, Model: g.Model, Vocabulary: g.Vocabulary,
			Products: countLabel(g.Counts, "products"), Rejected: countLabel(g.Counts, "rejected"), Topics: countLabel(g.Counts, "topics"),
			Published: countLabel(g.Counts, "published"), Terms: countLabel(g.Counts, "vocabulary"),
			Current: g.Current, Served: g.Generation == served}
		if !g.CreatedAt.IsZero() {
			row.CreatedAt = g.CreatedAt.UTC().Format("2006-01-02 15:04 MST")
		}
		if i+1 < len(list.Generations) {
			row.ChangesURL = changesURL(list.Generations[i+1].Generation, g.Generation)
		}
		v.Rows = append(v.Rows, row)
		nums = append(nums, strconv.Itoa(g.Generation))
		labels = append(labels, "Generation "+strconv.Itoa(g.Generation))
	}
	// The form compares the current generation (or the newest) with the one
	// before it unless the merchandiser picks others.
	to := 0
	for i, g := range list.Generations {
		if g.Current || (list.Current == 0 && i == 0) {
			to = i
			break
		}
	}
	if len(nums) > 0 {
		v.To = options(nums, labels, nums[to])
		v.From = options(nums, labels, nums[min(to+1, len(nums)-1)])
	}
	s.render(c, http.StatusOK, "merchgenerations", layoutView{Title: "Index history · lander console", NoIndex: true, Merch: true, Body: v})
}

// changeKinds are the console's filters of a comparison: a value of the
// kind parameter and its label.
var changeKinds = [][2]string{
	{"all", "All changes"},
	{"added", "Topics added"},
	{"removed", "Topics removed"},
	{"published", "Topics published"},
	{"unpublished", "Topics unpublished"},
	{"feed", "Feeds changed"},
	{"vocabulary", "Vocabulary"},
}

// changeListCap bounds the rows of each list of the console's comparison.
const changeListCap = 100

// changeRow is one change of a list: a topic or a vocabulary value.
type changeRow struct {
	// Name is the slug or the key=value; URL, when set, its console page.
	Name, Title, URL string
	Cells            []string
}

// changeSection is one list of the console's comparison.
type changeSection struct {
	ID, Heading, First string
	Columns            []string
	// Total is the number of changes that match the filter; Rows holds the
	// first changeListCap of them.
	Total int
	Rows  []changeRow
}

// summaryLink is one count of the comparison's summary, linking to its
// list.
type summaryLink struct {
	Label, URL string
}

// merchChangesView is the body of the console's comparison.
type merchChangesView struct {
	From, To int
	Summary  changes.Summary
	// Served says the newer generation is the one served: its topics link
	// to the console.
	Served   bool
	Links    []summaryLink
	Kind, Q  string
	Kinds    []option
	Orphaned []string
	Sections []changeSection
}

// section is the list of rows that contain q, capped.
func section(id, heading, first string, columns []string, rows []changeRow, q string) changeSection {
	sec := changeSection{ID: id, Heading: heading, First: first, Columns: columns}
	for _, r := range rows {
		if q != "" && !strings.Contains(strings.ToLower(r.Name), q) {
			continue
		}
		sec.Total++
		if len(sec.Rows) < changeListCap {
			sec.Rows = append(sec.Rows, r)
		}
	}
	return sec
}

func (s *Server) merchChangesPage(c *gin.Context) {
	h, ok := s.history(c, s.failPage)
	if !ok {
		return
	}
	from, to, err := generationParams(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	kind := c.Query("kind")
	if kind == "" {
		kind = "all"
	}
	var values, labels []string
	for _, k := range changeKinds {
		values, labels = append(values, k[0]), append(labels, k[1])
	}
	if !slices.Contains(values, kind) {
		s.failPage(c, errBadRequest("kind must be one of "+strings.Join(values, ", ")))
		return
	}
	q := strings.TrimSpace(c.Query("q"))
	d, err := h.Diff(c.Request.Context(), from, to)
	if err != nil {
		s.failPage(c, err)
		return
	}

	v := merchChangesView{From: d.From, To: d.To, Summary: d.Summary, Kind: kind, Q: q,
		Kinds: options(values, labels, kind), Orphaned: d.Overrides.Orphaned}
	// The topics of to link to the console, with their titles, when to is
	// the generation served.
	titles := map[string]string{}
	if ix := s.Current(); ix != nil && ix.Manifest.Generation == d.To {
		v.Served = true
		if ix.Collections != nil {
			ts, err := ix.Collections.Topics(c.Request.Context())
			if err != nil {
				s.failPage(c, err)
				return
			}
			for _, t := range ts {
				titles[t.Slug] = t.Title
			}
		}
	}
	topicRows := func(slugs []string, present bool) []changeRow {
		rows := make([]changeRow, len(slugs))
		for i, slug := range slugs {
			rows[i] = changeRow{Name: slug}
			if present && v.Served {
				rows[i].Title, rows[i].URL = titles[slug], merchURL(slug)
			}
		}
		return rows
	}
	link := func(k string) string {
		return "/merch/changes?" + url.Values{"from": {strconv.Itoa(d.From)}, "to": {strconv.Itoa(d.To)}, "kind": {k}}.Encode()
	}
	sm := d.Summary
	v.Links = []summaryLink{
		{"Topics added: " + strconv.Itoa(sm.TopicsAdded), link("added")},
		{"Removed: " + strconv.Itoa(sm.TopicsRemoved), link("removed")},
		{"Published: " + strconv.Itoa(sm.TopicsPublished), link("published")},
		{"Unpublished: " + strconv.Itoa(sm.TopicsUnpublished), link("unpublished")},
		{"Feeds changed: " + strconv.Itoa(sm.FeedChanged), link("feed")},
		{"Vocabulary: " + strconv.Itoa(sm.VocabularyAdded) + " added, " + strconv.Itoa(sm.VocabularyRemoved) + " removed, " +
			strconv.Itoa(sm.VocabularyMerged) + " merged, " + strconv.Itoa(sm.VocabularyRenamed) + " renamed", link("vocabulary")},
	}

	lq := strings.ToLower(q)
	want := func(k string) bool { return kind == "all" || kind == k }
	if want("added") {
		v.Sections = append(v.Sections, section("added", "Topics added", "Topic", nil, topicRows(d.Topics.Added, true), lq))
	}
	if want("removed") {
		v.Sections = append(v.Sections, section("removed", "Topics removed", "Topic", nil, topicRows(d.Topics.Removed, false), lq))
	}
	if want("published") {
		v.Sections = append(v.Sections, section("published", "Topics published", "Topic", nil, topicRows(d.Topics.Published, true), lq))
	}
	if want("unpublished") {
		v.Sections = append(v.Sections, section("unpublished", "Topics unpublished", "Topic", nil, topicRows(d.Topics.Unpublished, true), lq))
	}
	if want("feed") {
		slugs := make([]string, len(d.Topics.FeedChanged))
		for i, f := range d.Topics.FeedChanged {
			slugs[i] = f.Slug
		}
		rows := topicRows(slugs, true)
		for i, f := range d.Topics.FeedChanged {
			rows[i].Cells = []string{percent(f.OverlapAt24), strconv.Itoa(f.SizeFrom) + " → " + strconv.Itoa(f.SizeTo)}
		}
		v.Sections = append(v.Sections, section("feed", "Feeds changed, least overlap first", "Topic",
			[]string{"Overlap of the first " + strconv.Itoa(changes.FeedDepth), "Size"}, rows, lq))
	}
	if want("vocabulary") {
		valueRows := func(vs []changes.Value) []changeRow {
			rows := make([]changeRow, len(vs))
			for i, x := range vs {
				rows[i] = changeRow{Name: x.Key + "=" + x.Value, Cells: []string{strconv.Itoa(x.Count)}}
			}
			return rows
		}
		merged := make([]changeRow, len(d.Vocabulary.Merged))
		for i, m := range d.Vocabulary.Merged {
			merged[i] = changeRow{Name: m.Key + "=" + m.From, Cells: []string{m.Into}}
		}
		renamed := make([]changeRow, len(d.Vocabulary.Renamed))
		for i, r := range d.Vocabulary.Renamed {
			renamed[i] = changeRow{Name: r.Key + "=" + r.From, Cells: []string{r.To}}
		}
		v.Sections = append(v.Sections,
			section("vocabulary-added", "Values added", "Value", []string{"Products"}, valueRows(d.Vocabulary.Added), lq),
			section("vocabulary-removed", "Values removed", "Value", []string{"Products before"}, valueRows(d.Vocabulary.Removed), lq),
			section("vocabulary-merged", "Values merged into another", "Value", []string{"Into"}, merged, lq),
			section("vocabulary-renamed", "Values renamed", "Value", []string{"Now"}, renamed, lq))
	}
	title := "Changes from generation " + strconv.Itoa(d.From) + " to " + strconv.Itoa(d.To) + " · lander console"
	s.render(c, http.StatusOK, "merchchanges", layoutView{Title: title, NoIndex: true, Merch: true, Body: v})
}
