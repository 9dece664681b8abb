package indexer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"lander/datadir"
	"lander/indexer/curate"
	"lander/indexer/extract"
	"lander/indexer/topics"
)

// Progress is a running count of a run.
type Progress struct {
	Read, Indexed, Rejected int
}

// Rejected is one rejected row, reported in the summary.
type Rejected struct {
	Row    int    `json:"row"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// Summary reports a run, in the JSON shape of the contract.
type Summary struct {
	Generation int    `json:"generation"`
	Catalog    string `json:"catalog"`
	Format     string `json:"format"`
	// Shard is "I/N" for a shard run, which writes its slice to Output
	// and commits no generation (Generation is 0).
	Shard  string `json:"shard,omitempty"`
	Output string `json:"output,omitempty"`
	// Shards is the number of shards Finalize merged.
	Shards               int                  `json:"shards,omitempty"`
	Products             ProductCounts        `json:"products"`
	Vocabulary           VocabularyCounts     `json:"vocabulary"`
	AttributesPerProduct AttributesPerProduct `json:"attributes_per_product"`
	Topics               TopicCounts          `json:"topics"`
	Intents              topics.IntentReport  `json:"intents"`
	Extraction           ExtractionCounts     `json:"extraction"`
	Curation             []curate.StepCount   `json:"curation"`
	Seconds              map[string]float64   `json:"seconds"`
	Rejections           []Rejected           `json:"rejections"`
}

// ProductCounts counts rows.
type ProductCounts struct {
	Read     int            `json:"read"`
	Indexed  int            `json:"indexed"`
	Rejected map[string]int `json:"rejected"`
	// Skipped counts rows that belong to other shards.
	Skipped int `json:"skipped_other_shards"`
}

// VocabularyCounts gives vocabulary sizes before and after curation.
type VocabularyCounts struct {
	RawValues     int                  `json:"raw_values"`
	CuratedValues int                  `json:"curated_values"`
	PerKey        map[string]KeyCounts `json:"per_key"`
}

// KeyCounts gives one key's vocabulary sizes, and the mean number of
// products per value.
type KeyCounts struct {
	Raw                     int     `json:"raw"`
	Curated                 int     `json:"curated"`
	RawProductsPerValue     float64 `json:"raw_products_per_value"`
	CuratedProductsPerValue float64 `json:"curated_products_per_value"`
}

// AttributesPerProduct gives mean attribute counts per product by stage.
type AttributesPerProduct struct {
	Raw      float64 `json:"raw"`
	Curated  float64 `json:"curated"`
	Assigned float64 `json:"assigned"`
}

// ExtractionCounts reports extraction.
type ExtractionCounts struct {
	// Attributes counts raw attributes by source (after merging sources).
	Attributes map[string]int `json:"attributes"`
	// BrandsLearned is the number of brand names learned from titles.
	BrandsLearned int `json:"brands_learned"`
	// Models reports model extractors by source, with their rejections.
	Models map[string]extract.VLMStats `json:"models"`
	// JudgeRejected counts bad online-judge answers by reason.
	JudgeRejected map[string]int `json:"judge_rejected"`
	// Dropped counts the attributes (tags, model attributes) dropped
	// because no store can hold their key, by reason (DropKeyHasEquals,
	// DropKeyEmpty); their products are indexed without them.
	Dropped map[string]int `json:"dropped"`
}

// Reasons an attribute is dropped, counted in ExtractionCounts.Dropped.
const (
	// DropKeyHasEquals is a key with "=", which the stores use to join a
	// key and its value.
	DropKeyHasEquals = "key_has_equals"
	// DropKeyEmpty is an empty key.
	DropKeyEmpty = "empty_key"
)

// TopicCounts counts collections: content-first topics generated and
// published, the search-log baseline's tuples and published ones, and the
// demand gaps (topics.json's gaps).
type TopicCounts struct {
	Generated         int `json:"generated"`
	Published         int `json:"published"`
	BaselineGenerated int `json:"baseline_generated"`
	BaselinePublished int `json:"baseline_published"`
	Gaps              int `json:"gaps"`
	// Merged counts the topics that passed the publish rule but duplicate
	// a simpler published one, by feed overlap or by title.
	Merged       int `json:"merged"`
	MergedFeeds  int `json:"merged_feeds"`
	MergedTitles int `json:"merged_titles"`
}

// run is the state of one Run or Finalize: the summary so far and the
// time spent per stage.
type run struct {
	mu    sync.Mutex // guards sum and durs while stage A's goroutines run
	sum   Summary
	durs  map[string]time.Duration
	start time.Time
}

func newRun() *run {
	return &run{
		sum: Summary{
			Products:   ProductCounts{Rejected: map[string]int{}},
			Vocabulary: VocabularyCounts{PerKey: map[string]KeyCounts{}},
			Extraction: ExtractionCounts{Attributes: map[string]int{}, Models: map[string]extract.VLMStats{}, JudgeRejected: map[string]int{}, Dropped: map[string]int{}},
			Curation:   []curate.StepCount{},
			Intents:    topics.IntentReport{Keys: map[string]int{}, Categories: map[string]int{}, Bands: []topics.Band{}, Thin: []topics.Gap{}, Unresolved: []topics.Intent{}},
			Seconds:    map[string]float64{},
			Rejections: []Rejected{},
		},
		durs:  map[string]time.Duration{},
		start: time.Now(),
	}
}

// timed adds the time since since to stage.
func (r *run) timed(stage string, since time.Time) {
	r.mu.Lock()
	r.durs[stage] += time.Since(since)
	r.mu.Unlock()
}

// summary returns the summary with the seconds per stage so far and the
// rejections in catalog order.
func (r *run) summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, d := range r.durs {
		r.sum.Seconds[k] = d.Seconds()
	}
	r.sum.Seconds["total"] = time.Since(r.start).Seconds()
	sortRejected(r.sum.Rejections)
	return r.sum
}

// sortRejected orders rejected rows by catalog row.
func sortRejected(rs []Rejected) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Row < rs[j].Row })
}

// writeRejected writes the rejected rows as JSON Lines, through a temporary
// file that is synced and renamed over path.
func writeRejected(path string, rs []Rejected) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, rj := range rs {
		if err := enc.Encode(rj); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(path), err)
		}
	}
	if err := datadir.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
