package encoder

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"testing"
)

// gatedEmbedder records each batch it is given and, when release is set,
// holds each batch until it takes a token from release (all of them, once
// release is closed) or its context ends. Its vectors come from next, or
// from the texts' hashes without one.
type gatedEmbedder struct {
	next    BatchEmbedder
	release chan struct{}
	err     error // returned by every batch released after it is set
	mu      sync.Mutex
	batches [][]string
	started chan []string // receives each batch's texts, when set
	ended   chan error    // receives each batch's outcome, when set
}

func (g *gatedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	g.mu.Lock()
	g.batches = append(g.batches, slices.Clone(texts))
	g.mu.Unlock()
	if g.started != nil {
		g.started <- slices.Clone(texts)
	}
	err := g.wait(ctx)
	if g.ended != nil {
		g.ended <- err
	}
	if err != nil {
		return nil, err
	}
	if g.next != nil {
		return g.next.Embed(ctx, texts)
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = hashVector(t)
	}
	return out, nil
}

// hashVector is a vector of 8 dimensions from the hash of t: texts that
// differ get vectors far apart.
func hashVector(t string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(t))
	v := make([]float32, 8)
	for i, x := range h.Sum(nil) {
		v[i] = float32(x) - 127.5
	}
	return v
}

func (g *gatedEmbedder) wait(ctx context.Context) error {
	if g.release != nil {
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.err
}

func (g *gatedEmbedder) calls() [][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.batches)
}

// startBatcher runs b until the test ends.
func startBatcher(t *testing.T, b *Batcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// gatherTo makes b report on the returned channel each time the batch being
// gathered reaches texts texts.
func gatherTo(b *Batcher, texts int) <-chan struct{} {
	reached := make(chan struct{}, 64)
	b.gathered = func(n int) {
		if n == texts {
			reached <- struct{}{}
		}
	}
	return reached
}

type embedResult struct {
	vecs [][]float32
	err  error
}

// embedAsync calls b.Embed in a goroutine whose outcome the returned
// channel delivers.
func embedAsync(ctx context.Context, b *Batcher, texts []string) <-chan embedResult {
	out := make(chan embedResult, 1)
	go func() {
		vecs, err := b.Embed(ctx, texts)
		out <- embedResult{vecs, err}
	}()
	return out
}

// batchedCalls are the concurrent callers of the batching tests: each its
// own texts, of one to three.
var batchedCalls = [][]string{
	{"black watches for men"},
	{"red running shoes", "gym"},
	{"navy blue kurta for women", "festive", "beach holiday"},
	{"stainless steel water bottle"},
	{"crème brûlée set", "kids' toys & games"},
}

// blockFirstBatch runs a batch of one text through b and holds it in g, so
// that the callers that follow gather into the next batch. It returns the
// held caller's outcome.
func blockFirstBatch(t *testing.T, b *Batcher, g *gatedEmbedder) <-chan embedResult {
	t.Helper()
	g.started = make(chan []string, 16)
	first := embedAsync(context.Background(), b, []string{"first"})
	if got := <-g.started; !slices.Equal(got, []string{"first"}) {
		t.Fatalf("first batch %q, want [first]", got)
	}
	return first
}

// TestBatcherSharesBatchInOrder holds the only slot while five callers
// queue, then checks that they ran as one batch and that each got the
// vectors of its own texts, in order.
func TestBatcherSharesBatchInOrder(t *testing.T) { checkSharedBatch(t, nil) }

// TestBatcherMatchesUnbatchedEncoder is TestBatcherSharesBatchInOrder on
// the real encoder: each caller's vectors equal those of its texts
// embedded on their own.
func TestBatcherMatchesUnbatchedEncoder(t *testing.T) {
	checkSharedBatch(t, newTestText(t, TextOptions{Threads: 1}))
}

// checkSharedBatch runs batchedCalls through a batcher over next (hashes
// when nil) as one batch, and compares each caller's vectors with those of
// its texts embedded alone.
func checkSharedBatch(t *testing.T, next BatchEmbedder) {
	g := &gatedEmbedder{next: next, release: make(chan struct{})}
	b := NewBatcher(g, BatcherOptions{Parallel: 1})
	total := 0
	for _, c := range batchedCalls {
		total += len(c)
	}
	reached := gatherTo(b, total)
	startBatcher(t, b)
	first := blockFirstBatch(t, b, g)
	var results []<-chan embedResult
	for _, c := range batchedCalls {
		results = append(results, embedAsync(context.Background(), b, c))
	}
	<-reached
	close(g.release)
	if r := <-first; r.err != nil {
		t.Fatal(r.err)
	}
	alone := &gatedEmbedder{next: next}
	for i, c := range batchedCalls {
		r := <-results[i]
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		want, err := alone.Embed(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.vecs) != len(c) {
			t.Fatalf("caller %d: %d vectors for %d texts", i, len(r.vecs), len(c))
		}
		for j := range c {
			if cos := cosine(r.vecs[j], toF64(want[j])); cos < 1-1e-5 {
				t.Errorf("caller %d text %q: cosine %.7f to its vector embedded alone", i, c[j], cos)
			}
		}
	}
	calls := g.calls()
	if len(calls) != 2 || len(calls[1]) != total {
		t.Errorf("batches %q, want [first] and one of all %d texts", calls, total)
	}
}

// TestBatcherErrorReachesEveryCaller fails a batch of three callers and
// checks that each gets the error.
func TestBatcherErrorReachesEveryCaller(t *testing.T) {
	boom := errors.New("boom")
	g := &gatedEmbedder{release: make(chan struct{})}
	b := NewBatcher(g, BatcherOptions{Parallel: 1})
	reached := gatherTo(b, 3)
	startBatcher(t, b)
	first := blockFirstBatch(t, b, g)
	var results []<-chan embedResult
	for i := range 3 {
		results = append(results, embedAsync(context.Background(), b, []string{fmt.Sprint("q", i)}))
	}
	<-reached
	g.err = boom // read by the batches once released
	close(g.release)
	if r := <-first; !errors.Is(r.err, boom) {
		t.Errorf("held caller: err = %v, want boom", r.err)
	}
	for i, res := range results {
		if r := <-res; !errors.Is(r.err, boom) || r.vecs != nil {
			t.Errorf("caller %d: (%v, %v), want the batch's error", i, r.vecs, r.err)
		}
	}
}

// TestBatcherCallerLeaves cancels one of two callers of a running batch:
// it returns at once with its context's error, and the batch runs on for
// the other, which gets its vector.
func TestBatcherCallerLeaves(t *testing.T) {
	g := &gatedEmbedder{release: make(chan struct{}), ended: make(chan error, 4)}
	b := NewBatcher(g, BatcherOptions{Parallel: 1})
	reached := gatherTo(b, 2)
	startBatcher(t, b)
	first := blockFirstBatch(t, b, g)
	ctx, cancel := context.WithCancel(context.Background())
	leaving := embedAsync(ctx, b, []string{"leaving"})
	staying := embedAsync(context.Background(), b, []string{"staying"})
	<-reached
	g.release <- struct{}{}
	<-first
	if err := <-g.ended; err != nil {
		t.Fatal(err)
	}
	if got := <-g.started; len(got) != 2 {
		t.Fatalf("second batch %q, want both callers", got)
	}
	cancel()
	if r := <-leaving; !errors.Is(r.err, context.Canceled) {
		t.Errorf("leaving caller: err = %v, want context.Canceled", r.err)
	}
	g.release <- struct{}{}
	if err := <-g.ended; err != nil {
		t.Errorf("batch: err = %v, want it to run on for the caller left", err)
	}
	r := <-staying
	if r.err != nil || len(r.vecs) != 1 || !slices.Equal(r.vecs[0], hashVector("staying")) {
		t.Errorf("staying caller: (%v, %v), want its vector", r.vecs, r.err)
	}
}

// TestBatcherCancelledBatch cancels every caller of a running batch: each
// returns its context's error and the batch's own context is cancelled.
func TestBatcherCancelledBatch(t *testing.T) {
	g := &gatedEmbedder{release: make(chan struct{}), started: make(chan []string, 4), ended: make(chan error, 4)}
	b := NewBatcher(g, BatcherOptions{Parallel: 2})
	startBatcher(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	res := embedAsync(ctx, b, []string{"a", "b"})
	<-g.started
	cancel()
	if r := <-res; !errors.Is(r.err, context.Canceled) {
		t.Errorf("caller: err = %v, want context.Canceled", r.err)
	}
	if err := <-g.ended; !errors.Is(err, context.Canceled) {
		t.Errorf("batch: err = %v, want its context cancelled", err)
	}
}

// TestBatcherCancelledBeforeRun cancels a caller while its request waits
// for a slot: it returns at once, and its texts are never embedded.
func TestBatcherCancelledBeforeRun(t *testing.T) {
	g := &gatedEmbedder{release: make(chan struct{})}
	b := NewBatcher(g, BatcherOptions{Parallel: 1})
	reached := gatherTo(b, 1)
	startBatcher(t, b)
	first := blockFirstBatch(t, b, g)
	<-reached // the first batch's own report
	ctx, cancel := context.WithCancel(context.Background())
	gone := embedAsync(ctx, b, []string{"gone"})
	<-reached
	cancel()
	if r := <-gone; !errors.Is(r.err, context.Canceled) {
		t.Errorf("caller: err = %v, want context.Canceled", r.err)
	}
	close(g.release)
	<-first
	after := embedAsync(context.Background(), b, []string{"after"})
	<-g.started
	if r := <-after; r.err != nil {
		t.Fatal(r.err)
	}
	for _, c := range g.calls() {
		if slices.Contains(c, "gone") {
			t.Errorf("batches %q embedded a cancelled caller's text", g.calls())
		}
	}
}

// TestBatcherSplitsLargeCalls embeds more texts than a batch holds and
// checks the batch sizes and the order of the vectors.
func TestBatcherSplitsLargeCalls(t *testing.T) {
	g := &gatedEmbedder{}
	b := NewBatcher(g, BatcherOptions{MaxBatch: 4, Parallel: 2})
	startBatcher(t, b)
	var texts []string
	for i := range 10 {
		texts = append(texts, fmt.Sprint("text ", i))
	}
	vecs, err := b.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	for i, s := range texts {
		if !slices.Equal(vecs[i], hashVector(s)) {
			t.Errorf("vector %d is not that of %q", i, s)
		}
	}
	for _, c := range g.calls() {
		if len(c) > 4 {
			t.Errorf("batch of %d texts, want at most 4", len(c))
		}
	}
	if got, err := b.Embed(context.Background(), nil); err != nil || len(got) != 0 {
		t.Errorf("Embed(nil) = (%v, %v), want no vectors", got, err)
	}
}

// TestBatcherClosed checks that Embed fails with ErrClosed once Run has
// returned, and that Run runs once.
func TestBatcherClosed(t *testing.T) {
	b := NewBatcher(&gatedEmbedder{}, BatcherOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	if _, err := b.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(ctx); err == nil {
		t.Error("second Run succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := b.Embed(context.Background(), []string{"a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Embed after Run returned: err = %v, want ErrClosed", err)
	}
}
