package arbitrate

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"lander/indexer/extract"
)

// Hierarchy places category leaves within their parents ("casual shoes"
// within "shoes"), so that a generic category word supports the leaves
// below it instead of competing with them.
type Hierarchy struct {
	// Parents maps a leaf category to its parent categories.
	Parents map[string][]string `json:"parents"`

	leaves   map[string]bool            // folded leaves
	children map[string]map[string]bool // folded parent -> folded leaves
}

// NewHierarchy returns the hierarchy of parents (leaf -> parents).
func NewHierarchy(parents map[string][]string) *Hierarchy {
	h := &Hierarchy{Parents: parents}
	h.index()
	return h
}

// index builds the folded lookups.
func (h *Hierarchy) index() {
	h.leaves, h.children = map[string]bool{}, map[string]map[string]bool{}
	for leaf, ps := range h.Parents {
		fl := extract.Fold(leaf)
		h.leaves[fl] = true
		for _, p := range ps {
			fp := extract.Fold(p)
			if h.children[fp] == nil {
				h.children[fp] = map[string]bool{}
			}
			h.children[fp][fl] = true
		}
	}
}

// Generic reports whether category value v names a parent and no leaf:
// "shoes" does, "watches" (a leaf within "watches") does not.
func (h *Hierarchy) Generic(v string) bool {
	if h == nil {
		return false
	}
	f := extract.Fold(v)
	return len(h.children[f]) > 0 && !h.leaves[f]
}

// Within reports whether leaf lies within parent.
func (h *Hierarchy) Within(leaf, parent string) bool {
	if h == nil {
		return false
	}
	return h.children[extract.Fold(parent)][extract.Fold(leaf)]
}

//go:embed hierarchy.json
var hierarchyJSON []byte

// DefaultHierarchy returns the hierarchy learned from the development
// catalogue's training split (article type within sub-category; lander
// eval attributes --fit), shipped with the code.
func DefaultHierarchy() (*Hierarchy, error) {
	return ParseHierarchy(hierarchyJSON)
}

// ParseHierarchy reads a hierarchy file's content.
func ParseHierarchy(b []byte) (*Hierarchy, error) {
	var h Hierarchy
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("parse hierarchy: %w", err)
	}
	h.index()
	return &h, nil
}
