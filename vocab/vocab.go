// Package vocab holds the attribute vocabulary: the values of each key that
// products carry, with their support and aliases. The indexer writes it into
// each generation; the server reads it to resolve queries and to answer
// /api/v1/vocabulary.
package vocab

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"lander/datadir"
)

// Value is one vocabulary value of a key.
type Value struct {
	Value   string   `json:"value"`
	Count   int      `json:"count"`
	Aliases []string `json:"aliases"`
}

// Vocabulary maps each key to its values, most frequent first.
type Vocabulary struct {
	// Version names the vocabulary (a content hash, set by the indexer);
	// empty for vocabularies built by Counter.
	Version string `json:"version,omitempty"`
	// Keys maps each key to its values.
	Keys map[string][]Value `json:"keys"`
}

// Counter accumulates value support while products stream by.
type Counter struct {
	counts map[string]map[string]int
}

// NewCounter returns an empty counter.
func NewCounter() *Counter { return &Counter{counts: map[string]map[string]int{}} }

// Add counts one product carrying key=value.
func (c *Counter) Add(key, value string) {
	m := c.counts[key]
	if m == nil {
		m = map[string]int{}
		c.counts[key] = m
	}
	m[value]++
}

// Distinct returns the number of distinct (key, value) pairs, and per key.
func (c *Counter) Distinct() (int, map[string]int) {
	total, per := 0, map[string]int{}
	for k, m := range c.counts {
		per[k] = len(m)
		total += len(m)
	}
	return total, per
}

// Vocabulary returns the counted values with at least minCount support.
func (c *Counter) Vocabulary(minCount int) Vocabulary {
	v := Vocabulary{Keys: map[string][]Value{}}
	for k, m := range c.counts {
		var vals []Value
		for val, n := range m {
			if n >= minCount {
				vals = append(vals, Value{Value: val, Count: n, Aliases: []string{}})
			}
		}
		if len(vals) == 0 {
			continue
		}
		SortValues(vals)
		v.Keys[k] = vals
	}
	return v
}

// SortValues orders values most frequent first, then by value, the order a
// Vocabulary keeps.
func SortValues(vals []Value) {
	sort.SliceStable(vals, func(i, j int) bool {
		if vals[i].Count != vals[j].Count {
			return vals[i].Count > vals[j].Count
		}
		return vals[i].Value < vals[j].Value
	})
}

// Size returns the number of values over all keys.
func (v Vocabulary) Size() int {
	n := 0
	for _, vals := range v.Keys {
		n += len(vals)
	}
	return n
}

// Save writes v as JSON to path through a temporary file that is synced
// and renamed over path (datadir.WriteFileAtomic), so that a crash leaves
// the old file or the new one, never a torn one.
func (v Vocabulary) Save(path string) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("save vocabulary: %w", err)
	}
	if err := datadir.WriteFileAtomic(path, b); err != nil {
		return fmt.Errorf("save vocabulary: %w", err)
	}
	return nil
}

// Load reads a vocabulary written by Save.
func Load(path string) (Vocabulary, error) {
	var v Vocabulary
	b, err := os.ReadFile(path)
	if err != nil {
		return v, fmt.Errorf("load vocabulary: %w", err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("load vocabulary %s: %w", path, err)
	}
	if v.Keys == nil {
		v.Keys = map[string][]Value{}
	}
	return v, nil
}
