package topics

import (
	"encoding/json"
	"fmt"
	"os"

	"lander/datadir"
)

// FileName is the topics artifact of a generation.
const FileName = "topics.json"

// FormatVersion is the version of the File layout.
const FormatVersion = 1

// File is the topics artifact the indexer writes into each generation and
// the server reads (see Load):
//
//	{"format": 1, "vocabulary": "curated-...", "rule": {...},
//	 "counts": {"generated", "published", "baseline_generated", "baseline_published", "gaps"},
//	 "intents": {... IntentReport ...},
//	 "gaps": [Gap, ...],         strong demand without a collection, nearest published topics
//	 "topics": [Topic, ...],     content first: published first, then by score
//	 "baseline": [Topic, ...]}   the search-log tuples, same code and rule
//
// Each Topic has its slug, title, meta description, tuple (anchor first),
// size, score parts, published flag with the reasons it failed the rule,
// and its feed: up to MaxFeed ranked slots when published, the top 10
// otherwise. A slot's matched scores and sources follow the order of the
// topic's attributes (Topic.Evidence expands them).
type File struct {
	Format     int          `json:"format"`
	Vocabulary string       `json:"vocabulary"`
	Rule       Rule         `json:"rule"`
	Counts     Counts       `json:"counts"`
	Intents    IntentReport `json:"intents"`
	Topics     []Topic      `json:"topics"`
	Baseline   []Topic      `json:"baseline"`
	// Gaps are where strong demand has no collection, highest demand
	// first (see Intents.Gaps); never null.
	Gaps []Gap `json:"gaps"`
}

// NewFile packs a result into a File.
func NewFile(r *Result, vocabularyVersion string) File {
	f := File{Format: FormatVersion, Vocabulary: vocabularyVersion, Rule: r.Rule, Counts: r.Counts(),
		Intents: r.Intents, Topics: r.Topics, Baseline: r.Baseline, Gaps: r.Gaps}
	if f.Topics == nil {
		f.Topics = []Topic{}
	}
	if f.Baseline == nil {
		f.Baseline = []Topic{}
	}
	if f.Gaps == nil {
		f.Gaps = []Gap{}
	}
	return f
}

// Save writes f to path as compact JSON through a temporary file that is
// synced and renamed over path (datadir.WriteFileAtomic).
func (f File) Save(path string) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("save topics: %w", err)
	}
	if err := datadir.WriteFileAtomic(path, b); err != nil {
		return fmt.Errorf("save topics: %w", err)
	}
	return nil
}

// Load reads a topics file.
func Load(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("load topics: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return File{}, fmt.Errorf("load topics %s: %w", path, err)
	}
	if f.Format != FormatVersion {
		return File{}, fmt.Errorf("load topics %s: format %d, want %d", path, f.Format, FormatVersion)
	}
	return f, nil
}

// Published returns the published topics, in file order.
func (f File) Published() []Topic {
	var out []Topic
	for _, t := range f.Topics {
		if t.Published {
			out = append(out, t)
		}
	}
	return out
}

// BySlug indexes the content topics by slug.
func (f File) BySlug() map[string]*Topic {
	out := make(map[string]*Topic, len(f.Topics))
	for i := range f.Topics {
		out[f.Topics[i].Slug] = &f.Topics[i]
	}
	return out
}
