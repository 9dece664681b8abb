package server

import (
	"context"
	"sync"
)

// pageLinks are the breadcrumb (parents) and the related collections of a
// landing page.
type pageLinks struct {
	parents, related []linkView
}

// linkCache holds the links of a generation's landing pages under one
// overrides version, which decides what is published: each collection's
// are computed on its first render and kept until the overrides change, so
// that a page render scans the topics once per collection, not once per
// view.
type linkCache struct {
	mu      sync.Mutex
	version string
	topics  []Topic // with the version's publish flags; nil until first use
	bySlug  map[string]pageLinks
	// computed counts the collections whose links were computed.
	computed int
}

// links returns the parents and related collections of the landing page
// of slug in ix.
func (s *Server) links(ctx context.Context, ix *Index, slug string) (pageLinks, error) {
	version := s.overrides.Version()
	lc := &ix.links
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.topics == nil || lc.version != version {
		ts, err := s.topics(ctx, ix)
		if err != nil {
			return pageLinks{}, err
		}
		lc.version, lc.topics, lc.bySlug = version, ts, map[string]pageLinks{}
		if lc.topics == nil {
			lc.topics = []Topic{}
		}
	}
	l, ok := lc.bySlug[slug]
	if !ok {
		for _, t := range lc.topics {
			if t.Slug == slug {
				l.parents, l.related = related(lc.topics, slug, t.Attributes)
				break
			}
		}
		lc.bySlug[slug] = l
		lc.computed++
	}
	return l, nil
}
