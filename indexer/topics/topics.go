// Package topics builds lander's shopping collections the PinLanding way:
// content first, grounded in shopper demand.
//
//   - Intent mining (Mine) parses every search-log query with the query
//     resolver built from the curated vocabulary, splits the log into head,
//     torso and tail by volume, measures demand per attribute key and per
//     category, and reports where demand is strong but coverage thin.
//   - Demand gaps (Intents.Gaps) are the strongly searched tuples that no
//     product carries, that the catalog covers thinly, or that no
//     published topic serves, each with its nearest published topics.
//   - Topic generation enumerates frequent tuples of one to four attributes
//     inside each partition of an anchor key (category by default), a-priori
//     style: a tuple of k+1 attributes is counted only when every k-subset is
//     frequent, and only tuples carried by at least the minimum feed size
//     survive. A tuple whose feed equals a parent's (one attribute fewer)
//     adds nothing and is dropped.
//   - Feed construction ranks the products of each tuple inside its anchor
//     partition: a product must carry every attribute of the tuple (the
//     minimum-overlap prefilter is the intersection of attribute postings),
//     and scores by its confidence-weighted shared attributes plus its
//     embedding similarity to the topic (the normalised mean of the members'
//     vectors). Partitions run in parallel; a partition's postings and
//     scratch space are freed when it is done, so memory is bounded by the
//     largest partition, not by the catalog. Each feed slot keeps its
//     evidence: the score of every matched attribute.
//   - Topics are scored by demand (mined intents that name the tuple or a
//     sub-tuple), the judge's score and coherence, titled ("Navy Blue Casual
//     Shoes for Men"), slugged and described, and published only when they
//     pass the publish rule (Rule).
//   - The search-log baseline builds the tuples the resolver finds in the
//     log alone with the same feed code and the same rule.
//
// The indexer writes the result into each generation as topics.json (see
// File); the server reads it with Load.
package topics

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"lander/indexer/judge"
	"lander/query"
	"lander/store"
	"lander/vocab"
)

// KV is one attribute of a tuple.
type KV = vocab.KV

// Defaults of Options.
const (
	DefaultMinFeed          = 10
	DefaultMaxAttributes    = 4
	DefaultMinConfidence    = 0.5
	DefaultMaxFeed          = 200
	DefaultSimilarityWeight = 0.3
	DefaultMinPrecision     = 0.8
	DefaultMinJudge         = 0.3
)

// Options configures Build. Zero fields take the defaults above.
type Options struct {
	// MinFeed is the number of products a topic needs: its support
	// threshold and the publish rule's minimum size.
	MinFeed int
	// MaxAttributes bounds a tuple's size, anchor included.
	MaxAttributes int
	// Anchors are the keys whose values partition the catalog; every
	// content topic carries one anchor value. Default: category.
	Anchors []string
	// Skip lists keys never used in tuples besides anchors. Default:
	// subcategory and mastercategory (levels above the category).
	Skip []string
	// LabelKeys are the keys that classify a product (its category,
	// colour, audience, season, occasion). Every other key (brand, pattern,
	// material, fit, ...) describes the product in words, and a product
	// carries such a value in a topic only when its title names it: a page
	// titled "Polo Collar T-Shirts" shows products whose names say so.
	// Default: category, color, gender, season, occasion, subcategory,
	// mastercategory.
	LabelKeys []string
	// Exclusive keys hold one value per product: when a product carries
	// several values of one (a merchant tag "navy blue" and a title word
	// "blue"), only its best-scored ones count. Default: category, color,
	// gender, season, occasion.
	Exclusive []string
	// MinConfidence is the score from which a product carries an
	// attribute; weaker assignments are ignored.
	MinConfidence float64
	// MaxFeed is the number of ranked slots kept per published feed;
	// unpublished topics keep their top 10.
	MaxFeed int
	// SimilarityWeight is the weight of the embedding similarity in a
	// slot's score; the confidence-weighted shared attributes take the
	// rest.
	SimilarityWeight float64
	// Rule is the publish rule; zero fields take the defaults.
	Rule Rule
	// Workers bounds the partitions built at once; 0 means one per CPU.
	Workers int
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
}

// Rule is the publish rule, Bloomreach-style: a topic gets a page and a
// sitemap entry only when its feed has at least MinProducts products, its
// estimated precision (the mean over its top 10 slots of the lowest
// confidence among the matched attributes) reaches MinPrecision and its
// judge score reaches MinJudge.
type Rule struct {
	MinProducts  int     `json:"min_products"`
	MinPrecision float64 `json:"min_precision"`
	MinJudge     float64 `json:"min_judge"`
}

func (o Options) withDefaults() Options {
	if o.MinFeed <= 0 {
		o.MinFeed = DefaultMinFeed
	}
	if o.MaxAttributes <= 0 {
		o.MaxAttributes = DefaultMaxAttributes
	}
	if len(o.Anchors) == 0 {
		o.Anchors = []string{"category"}
	}
	if o.Skip == nil {
		o.Skip = []string{"subcategory", "mastercategory"}
	}
	if o.LabelKeys == nil {
		o.LabelKeys = []string{"category", "color", "gender", "season", "occasion", "subcategory", "mastercategory"}
	}
	if o.Exclusive == nil {
		o.Exclusive = []string{"category", "color", "gender", "season", "occasion"}
	}
	if o.MinConfidence <= 0 {
		o.MinConfidence = DefaultMinConfidence
	}
	if o.MaxFeed <= 0 {
		o.MaxFeed = DefaultMaxFeed
	}
	if o.SimilarityWeight == 0 {
		o.SimilarityWeight = DefaultSimilarityWeight
	}
	o.SimilarityWeight = min(max(o.SimilarityWeight, 0), 1)
	if o.Rule.MinProducts <= 0 {
		o.Rule.MinProducts = o.MinFeed
	}
	if o.Rule.MinPrecision == 0 {
		o.Rule.MinPrecision = DefaultMinPrecision
	}
	if o.Rule.MinJudge == 0 {
		o.Rule.MinJudge = DefaultMinJudge
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Input is what Build reads.
type Input struct {
	// Products carry their attributes with scores (merchant tags, text,
	// model assignment: any source) and, optionally, unit vectors.
	Products []store.Product
	// Vocabulary is the curated vocabulary the query resolver is built
	// from, and the source of the judge's aliases.
	Vocabulary vocab.Vocabulary
	// Log is the search log; empty means no demand and no baseline.
	Log []judge.LogQuery
	// Judge scores topics; nil means an offline judge over Products and Log.
	Judge judge.Judge
}

// Parts are the parts of a topic's score, each in [0, 1].
type Parts struct {
	// Demand is the log of the search volume of the intents that ask for
	// the tuple or a sub-tuple of it, relative to the strongest tuple.
	Demand float64 `json:"demand"`
	// Judge is the judge's overall score.
	Judge float64 `json:"judge"`
	// Coherence is the judge's coherence: how much of the rarest
	// attribute's products carry the whole tuple.
	Coherence float64 `json:"coherence"`
	// Precision is the estimated precision of the top 10 slots.
	Precision float64 `json:"precision"`
	// Similarity is the mean embedding similarity of the top 10 slots to
	// the topic vector (0 without vectors).
	Similarity float64 `json:"similarity"`
	// Score ranks topics: 0.4 demand + 0.35 judge + 0.25 coherence.
	Score float64 `json:"score"`
}

// Topic is one collection: a tuple with its title, scores and feed.
type Topic struct {
	Slug        string `json:"slug"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Anchor is the anchor key of the partition the feed was built in;
	// empty for baseline tuples without an anchor value.
	Anchor string `json:"anchor"`
	// Attributes is the tuple, anchor first, every one required.
	Attributes []KV `json:"attributes"`
	// Size is the number of products that carry every attribute.
	Size      int      `json:"size"`
	Score     Parts    `json:"score"`
	Published bool     `json:"published"`
	Reasons   []string `json:"reasons"`
	// Query is the search phrase the judge was asked about.
	Query string `json:"query"`
	// Parent is the slug of the tuple one attribute shorter whose feed
	// this topic refines (the anchor alone for pairs); empty for anchors.
	Parent string `json:"parent,omitempty"`
	// MergedInto is the slug of the simpler published topic this one
	// duplicates (nearly the same feed, or the same title); such a topic is
	// not published.
	MergedInto string `json:"merged_into,omitempty"`
	// MergedBy says why: "feed" or "title".
	MergedBy string `json:"merged_by,omitempty"`
	// Feed holds the best slots, highest score first.
	Feed []Slot `json:"feed"`
}

// Slot is one product of a feed with its evidence.
type Slot struct {
	ID string `json:"id"`
	// Score is (1-w) * the mean matched confidence + w * similarity.
	Score float64 `json:"score"`
	// Similarity is the product's embedding similarity to the topic.
	Similarity float64 `json:"similarity"`
	// Matched holds the product's score for each attribute of the topic,
	// in the order of Topic.Attributes (see Topic.Evidence).
	Matched []float32 `json:"matched"`
	// Sources names where each matched attribute came from ("tag",
	// "text", "model"), in the same order.
	Sources []string `json:"sources"`
}

// Match is one matched attribute of a slot.
type Match struct {
	Key    string  `json:"key"`
	Value  string  `json:"value"`
	Score  float32 `json:"score"`
	Source string  `json:"source"`
}

// Evidence returns the matched attributes of slot i of the feed.
func (t Topic) Evidence(i int) []Match {
	s := t.Feed[i]
	out := make([]Match, len(t.Attributes))
	for j, a := range t.Attributes {
		out[j] = Match{Key: a.Key, Value: a.Value}
		if j < len(s.Matched) {
			out[j].Score = s.Matched[j]
		}
		if j < len(s.Sources) {
			out[j].Source = s.Sources[j]
		}
	}
	return out
}

// Result is what Build returns.
type Result struct {
	Intents IntentReport
	// Topics are the content-first topics, published first, then by score.
	Topics []Topic
	// Baseline are the search-log tuples built with the same code.
	Baseline []Topic
	// Gaps are where strong demand has no collection (see Intents.Gaps).
	Gaps []Gap
	// Rule is the publish rule that was applied.
	Rule Rule
}

// Counts summarises a result.
type Counts struct {
	Generated         int `json:"generated"`
	Published         int `json:"published"`
	BaselineGenerated int `json:"baseline_generated"`
	BaselinePublished int `json:"baseline_published"`
	// Gaps is the number of demand gaps.
	Gaps int `json:"gaps"`
	// Merged counts the topics that passed the publish rule but duplicate
	// a simpler published topic (see MergedInto): MergedFeeds by their
	// feed, MergedTitles by their title.
	Merged       int `json:"merged"`
	MergedFeeds  int `json:"merged_feeds"`
	MergedTitles int `json:"merged_titles"`
}

// Counts returns the topic counts of r.
func (r *Result) Counts() Counts {
	c := Counts{Generated: len(r.Topics), BaselineGenerated: len(r.Baseline), Gaps: len(r.Gaps)}
	for _, t := range r.Topics {
		if t.Published {
			c.Published++
		}
		if t.MergedInto != "" {
			c.Merged++
			if t.MergedBy == "feed" {
				c.MergedFeeds++
			} else {
				c.MergedTitles++
			}
		}
	}
	for _, t := range r.Baseline {
		if t.Published {
			c.BaselinePublished++
		}
	}
	return c
}

// Build mines the log, generates topics and builds their feeds and the
// baseline's.
func Build(ctx context.Context, in Input, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	ix := newIndex(in.Products, opts)
	res := query.NewResolver(vocab.Terms(in.Vocabulary))
	intents := Mine(res, in.Log)
	report := intents.Report(ix.support, opts.MinFeed, len(in.Products))
	demand := newDemand(intents)

	cands, err := ix.generate(ctx, opts)
	if err != nil {
		return nil, err
	}
	base := ix.baseline(intents, opts)
	opts.Logger.Info("topics generated", "candidates", len(cands), "baseline", len(base))

	j := in.Judge
	if j == nil {
		j = judge.NewOffline(ix.judgeProducts(), judge.OfflineOptions{MinFeed: opts.MinFeed, Log: in.Log, Aliases: aliases(in.Vocabulary)})
	}
	topics, err := finish(ctx, ix, j, demand, cands, opts)
	if err != nil {
		return nil, err
	}
	baseline, err := finish(ctx, ix, j, demand, base, opts)
	if err != nil {
		return nil, err
	}
	gaps := intents.Gaps(ix.support, opts.MinFeed, len(in.Products), topics)
	return &Result{Intents: report, Topics: topics, Baseline: baseline, Gaps: gaps, Rule: opts.Rule}, nil
}

func aliases(v vocab.Vocabulary) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for k, vals := range v.Keys {
		m := map[string][]string{}
		for _, val := range vals {
			m[val.Value] = val.Aliases
		}
		out[k] = m
	}
	return out
}

// candidate is a tuple with its feed, before judging.
type candidate struct {
	attrs     []KV // anchor first
	anchor    string
	parent    []KV
	size      int
	feed      []Slot
	precision float64
	sim       float64
}

// finish judges and scores candidates, applies the rule, and names them.
func finish(ctx context.Context, ix *index, j judge.Judge, d *demand, cands []candidate, opts Options) ([]Topic, error) {
	topics := make([]Topic, len(cands))
	jc := make([]judge.Candidate, len(cands))
	for i, c := range cands {
		title := Title(c.attrs)
		q := strings.ToLower(title)
		if c.size > 0 {
			q = strings.TrimPrefix(q, "all products")
		}
		jc[i] = judge.Candidate{Attributes: slices.Clone(c.attrs), Query: q}
		topics[i] = Topic{Title: title, Query: q, Anchor: c.anchor, Attributes: c.attrs, Size: c.size, Feed: c.feed,
			Score: Parts{Precision: round3(c.precision), Similarity: round3(c.sim)}}
		if len(c.parent) > 0 {
			topics[i].Parent = Slug(c.parent)
		}
	}
	scores, err := judgeAll(ctx, j, jc, opts.Workers)
	if err != nil {
		return nil, err
	}
	maxDemand := d.max()
	for i := range topics {
		t := &topics[i]
		s := scores[i]
		dv := d.of(t.Attributes)
		if maxDemand > 0 {
			t.Score.Demand = round3(min(1, math.Log1p(dv)/math.Log1p(maxDemand)))
		}
		t.Score.Judge = s.Overall
		t.Score.Coherence = s.Coherence
		t.Score.Score = round3(0.4*t.Score.Demand + 0.35*t.Score.Judge + 0.25*t.Score.Coherence)
		t.Reasons = []string{}
		if t.Size < opts.Rule.MinProducts {
			t.Reasons = append(t.Reasons, fmt.Sprintf("%d products < %d", t.Size, opts.Rule.MinProducts))
		}
		if t.Score.Precision < opts.Rule.MinPrecision {
			t.Reasons = append(t.Reasons, fmt.Sprintf("estimated precision %.2f < %.2f", t.Score.Precision, opts.Rule.MinPrecision))
		}
		if t.Score.Judge < opts.Rule.MinJudge {
			t.Reasons = append(t.Reasons, fmt.Sprintf("judge %.2f < %.2f (%s)", t.Score.Judge, opts.Rule.MinJudge, strings.Join(s.Notes, "; ")))
		}
		t.Published = len(t.Reasons) == 0
		if !t.Published {
			t.trimFeed()
		}
		top := ""
		if len(t.Feed) > 0 {
			top = ix.title(t.Feed[0].ID)
		}
		t.Slug = Slug(t.Attributes)
		t.Description = Description(t.Title, t.Attributes, t.Size, top)
	}
	uniqueSlugs(topics)
	dedupe(topics)
	slices.SortStableFunc(topics, func(a, b Topic) int {
		if a.Published != b.Published {
			if a.Published {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Score.Score, a.Score.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Slug, b.Slug)
	})
	return topics, nil
}

// judgeAll asks the judge in chunks, workers at a time.
func judgeAll(ctx context.Context, j judge.Judge, cands []judge.Candidate, workers int) ([]judge.Score, error) {
	out := make([]judge.Score, len(cands))
	const chunk = 256
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for lo := 0; lo < len(cands); lo += chunk {
		hi := min(lo+chunk, len(cands))
		g.Go(func() error {
			s, err := j.Judge(gctx, cands[lo:hi])
			if err != nil {
				return fmt.Errorf("judge topics: %w", err)
			}
			if len(s) != hi-lo {
				return fmt.Errorf("judge topics: %d scores for %d candidates", len(s), hi-lo)
			}
			copy(out[lo:hi], s)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// tupleKey is the canonical form of a tuple: its attributes sorted.
// uniqueSlugs makes the topics' slugs unique. A collision (two spellings
// of one value, or letters a slug cannot hold) takes the first numeric
// suffix, in the order of the tuples' canonical keys, that is neither taken
// nor another topic's own slug: "shirts-2" stays the slug of a topic
// "shirts 2" even when a second "shirts" comes first.
func uniqueSlugs(topics []Topic) {
	order := make([]int, len(topics))
	own := make(map[string]bool, len(topics))
	for i := range order {
		order[i] = i
		own[topics[i].Slug] = true
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Compare(tupleKey(topics[a].Attributes), tupleKey(topics[b].Attributes))
	})
	taken := make(map[string]bool, len(topics))
	for _, i := range order {
		s := topics[i].Slug
		if taken[s] {
			for n := 2; ; n++ {
				if c := s + "-" + strconv.Itoa(n); !taken[c] && !own[c] {
					s = c
					break
				}
			}
		}
		taken[s] = true
		topics[i].Slug = s
	}
}

func tupleKey(attrs []KV) string {
	s := make([]string, len(attrs))
	for i, a := range attrs {
		s[i] = a.Key + "=" + a.Value
	}
	slices.Sort(s)
	return strings.Join(s, "&")
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
