package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"lander/store"
)

// windowed is a store that answers a search only within its first
// MaxWindow results (offset+k at most): Milvus refuses deeper ones.
type windowed interface {
	MaxWindow() int
}

// searchWindow is how deep ix's store pages a search; 0 means no limit.
func (ix *Index) searchWindow() int {
	if w, ok := ix.Store.(windowed); ok {
		return w.MaxWindow()
	}
	return 0
}

// checkWindow fails with a 400 a page that ends past the store's window,
// which the store would fail with an error of its own.
func (s *Server) checkWindow(ix *Index, offset, limit int) error {
	if w := ix.searchWindow(); w > 0 && offset+limit > w {
		return &apiError{http.StatusBadRequest, "too_deep", fmt.Sprintf(
			"offset+limit is %d: this index serves the first %d results of a search; narrow the query instead of paging further", offset+limit, w)}
	}
	return nil
}

// windowPages is the number of pages of size that a search of total
// results may link to: those within the store's window.
func windowPages(ix *Index, total, size int) int {
	pages := pageCount(total, size)
	if w := ix.searchWindow(); w > 0 {
		pages = min(pages, max(1, w/size))
	}
	return pages
}

// storeSearch runs a filtered search, timing it. A page past the store's
// window is a 400, whichever route asks.
func (s *Server) storeSearch(ctx context.Context, ix *Index, q []float32, f store.Filter, k, offset int) ([]store.Hit, int, error) {
	if err := s.checkWindow(ix, offset, k); err != nil {
		return nil, 0, err
	}
	defer since(s.metrics.store.WithLabelValues("search"), time.Now())
	return ix.Store.Search(ctx, q, f, k, offset)
}
