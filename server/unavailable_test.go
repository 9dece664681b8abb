package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"lander/datadir"
	"lander/store"
	"lander/vocab"
)

// downStore is a vector store whose server is down.
type downStore struct{}

func (downStore) Search(context.Context, []float32, store.Filter, int, int) ([]store.Hit, int, error) {
	return nil, 0, fmt.Errorf("search: %w: connection refused", store.ErrUnavailable)
}

func (downStore) Get(context.Context, []string) ([]store.Product, error) {
	return nil, fmt.Errorf("get: %w: connection refused", store.ErrUnavailable)
}

// TestBackendDownAnswers503: while the vector store's server is down, the
// requests that need it answer 503 (they answered 500), in JSON and HTML.
func TestBackendDownAnswers503(t *testing.T) {
	s := New(Options{Embedder: bagOfWords{dim: 8}})
	s.SetIndex(NewIndex(datadir.Manifest{Generation: 3}, downStore{}, memImages{}, vocab.NewCounter().Vocabulary(1)))
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	for _, path := range []string{"/api/v1/search?q=red+dress", "/api/v1/products/42", "/search?q=red+dress"} {
		get(t, ts, path, 503, nil)
	}
}
