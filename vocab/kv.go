package vocab

import (
	"maps"
	"slices"
)

// KV is one attribute: a key and a value. Filters, topic tuples, judged
// candidates and API responses all carry it, so it has one definition.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// String formats the attribute as key=value.
func (a KV) String() string { return a.Key + "=" + a.Value }

// Term is a vocabulary value as the query resolver matches it.
type Term struct {
	Key     string
	Value   string
	Aliases []string
	// Count is the value's support; it breaks ties between values and may
	// be zero when unknown.
	Count int
}

// Terms lists every value of v as a Term, keys in sorted order and values
// in the vocabulary's order, so that resolvers built from it are
// deterministic.
func Terms(v Vocabulary) []Term {
	var terms []Term
	for _, k := range slices.Sorted(maps.Keys(v.Keys)) {
		for _, val := range v.Keys[k] {
			terms = append(terms, Term{Key: k, Value: val.Value, Aliases: val.Aliases, Count: val.Count})
		}
	}
	return terms
}
