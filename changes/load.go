package changes

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"lander/datadir"
	"lander/vocab"
)

// The files of a generation that Load reads, as the indexer names them
// (indexer.VocabularyFile, indexer.CurationFile, topics.FileName).
const (
	vocabularyFile = "vocabulary.json"
	curationFile   = "curation.json"
	topicsFile     = "topics.json"
)

// Load reads what a comparison needs from the generation folder at path:
// its manifest, vocabulary, the merge groups of its curation report (none
// when the generation has no report) and its topics, of which it keeps
// the slug, title, attributes, size, published flag and the ids of the
// first FeedDepth products of the feed.
func Load(path string) (Generation, error) {
	var g Generation
	m, err := datadir.ReadManifest(path)
	if err != nil {
		return g, err
	}
	g.Manifest = m
	if g.Vocabulary, err = vocab.Load(filepath.Join(path, vocabularyFile)); err != nil {
		return g, err
	}
	if g.Merged, err = loadMerged(filepath.Join(path, curationFile)); err != nil {
		return g, err
	}
	if g.Topics, err = loadTopics(filepath.Join(path, topicsFile)); err != nil {
		return g, err
	}
	return g, nil
}

// curationJSON is the part of curation.json that Load reads.
type curationJSON struct {
	Merged []struct {
		Key       string `json:"key"`
		Canonical string `json:"canonical"`
		Members   []struct {
			Value string `json:"value"`
		} `json:"members"`
	} `json:"merged"`
}

func loadMerged(path string) ([]MergeGroup, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return []MergeGroup{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load curation report: %w", err)
	}
	var c curationJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("load curation report %s: %w", path, err)
	}
	out := make([]MergeGroup, len(c.Merged))
	for i, g := range c.Merged {
		members := make([]string, len(g.Members))
		for j, m := range g.Members {
			members[j] = m.Value
		}
		out[i] = MergeGroup{Key: g.Key, Canonical: g.Canonical, Members: members}
	}
	return out, nil
}

func loadTopics(path string) ([]Topic, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load topics: %w", err)
	}
	ts, err := readTopics(b)
	if err != nil {
		return nil, fmt.Errorf("load topics %s: %w", path, err)
	}
	return ts, nil
}

// overridesJSON is the layout of the merchandisers' overrides file, as the
// server writes it.
type overridesJSON struct {
	Collections map[string]json.RawMessage `json:"collections"`
}

// LoadOverrides reads the merchandiser overrides file at path, keyed by
// collection slug, each override left undecoded. A missing file, or an
// empty path, holds none.
func LoadOverrides(path string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load overrides: %w", err)
	}
	var f overridesJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("load overrides %s: %w", path, err)
	}
	if f.Collections != nil {
		out = f.Collections
	}
	return out, nil
}
