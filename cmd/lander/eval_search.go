package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"lander/config"
	"lander/datadir"
	"lander/eval/labels"
	"lander/eval/queryeval"
	"lander/eval/retrieval"
	"lander/server"
)

// evalSearches serves the current generation of cfg.Data on a loopback
// port, as lander serve does but uncached, and scores the labelled queries
// through its /api/v1/search against the labels of catalogPath.
func evalSearches(ctx context.Context, cfg config.Config, catalogPath string, qs []queryeval.Query) (retrieval.SearchReport, error) {
	lab, err := labels.Load(catalogPath)
	if err != nil {
		return retrieval.SearchReport{}, err
	}
	dir, err := datadir.Open(cfg.Data)
	if err != nil {
		return retrieval.SearchReport{}, err
	}
	enc, err := openEncoder(cfg)
	if err != nil {
		return retrieval.SearchReport{}, err
	}
	defer enc.Close()
	gen, err := loadGeneration(ctx, cfg, dir)
	if err != nil {
		return retrieval.SearchReport{}, err
	}
	defer gen.close()
	log := slog.New(slog.DiscardHandler)
	srv := server.New(server.Options{Logger: log, Embedder: enc, QueryLLM: queryLLM(cfg, log)})
	srv.SetIndex(gen.index)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return retrieval.SearchReport{}, fmt.Errorf("eval searches: %w", err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	client := &http.Client{Timeout: 30 * time.Second}
	rep, err := retrieval.Searches(ctx, retrieval.APISearch(client, "http://"+ln.Addr().String()), qs, lab)
	stop()
	if serr := <-done; serr != nil && !errors.Is(serr, context.Canceled) && err == nil {
		err = serr
	}
	return rep, err
}
