package changes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"lander/datadir"
)

// ErrNoGeneration is wrapped by the errors of History when a generation
// asked for is not kept in the data directory.
var ErrNoGeneration = errors.New("no such generation")

// ErrNoPrevious is wrapped by the errors of History.Diff when the
// generation to compare has no kept generation before it to compare with.
var ErrNoPrevious = errors.New("no previous generation")

// cacheSize bounds the comparisons a History keeps.
const cacheSize = 8

// History answers what changed between the generations a data directory
// keeps. Generations never change once committed, so it keeps the last
// comparisons it computed (without the overrides, which it reads on every
// call). It is safe for concurrent use; concurrent calls for the same pair
// of generations compute it once.
type History struct {
	dir       *datadir.Dir
	overrides string

	mu    sync.Mutex
	cache map[cacheKey]*cached
	order []cacheKey // oldest first
}

// cacheKey names a pair of generations; the commit times tell a
// generation from another of the same number in a rebuilt directory.
type cacheKey struct {
	from, to     int
	fromAt, toAt int64
}

// cached is a comparison being computed (done open) or computed.
type cached struct {
	done chan struct{}
	c    comparison
	err  error
}

// NewHistory returns the history of the generations in dir, whose diffs
// check the merchandiser overrides in the file at overridesPath (none when
// it is empty or missing).
func NewHistory(dir *datadir.Dir, overridesPath string) *History {
	return &History{dir: dir, overrides: overridesPath, cache: map[cacheKey]*cached{}}
}

// GenerationInfo describes one kept generation.
type GenerationInfo struct {
	// Generation is the generation's number.
	Generation int `json:"generation"`
	// Name is the generation's folder name.
	Name string `json:"name"`
	// CreatedAt is when the generation was committed.
	CreatedAt time.Time `json:"created_at"`
	// Model names the encoder that produced the vectors.
	Model string `json:"model"`
	// Vocabulary is the version of the attribute vocabulary.
	Vocabulary string `json:"vocabulary"`
	// Counts holds the manifest's counts: products, rejected, vocabulary,
	// topics, published.
	Counts map[string]int `json:"counts"`
	// Current tells whether the generation is the one being served.
	Current bool `json:"current"`
}

// Generations lists the kept generations, oldest first, from their
// manifests. When the CURRENT pointer cannot be read, none is current.
func (h *History) Generations(ctx context.Context) ([]GenerationInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	gens, err := h.dir.Generations()
	if err != nil {
		return nil, err
	}
	cur, _, err := h.dir.Current()
	if err != nil {
		cur.Generation = -1 // none is current
	}
	out := make([]GenerationInfo, len(gens))
	for i, m := range gens {
		counts := m.Counts
		if counts == nil {
			counts = map[string]int{}
		}
		out[i] = GenerationInfo{Generation: m.Generation, Name: m.Name, CreatedAt: m.CreatedAt, Model: m.Model,
			Vocabulary: m.Vocabulary, Counts: counts, Current: m.Generation == cur.Generation}
	}
	return out, nil
}

// Diff tells what changed from generation from to generation to. A zero
// to means the current generation; a zero from means the kept generation
// just before to. from may also come after to: the diff then reads
// backwards. An unknown generation is an error wrapping ErrNoGeneration; a
// zero from when no generation is kept before to, one wrapping
// ErrNoPrevious; an empty data directory, datadir.ErrNoIndex.
func (h *History) Diff(ctx context.Context, from, to int) (Diff, error) {
	if to == 0 {
		cur, _, err := h.dir.Current()
		if err != nil {
			return Diff{}, fmt.Errorf("diff generations: %w", err)
		}
		to = cur.Generation
	}
	toM, toPath, err := h.generation(to)
	if err != nil {
		return Diff{}, err
	}
	if from == 0 {
		if from, err = h.previous(to); err != nil {
			return Diff{}, err
		}
	}
	fromM, fromPath, err := h.generation(from)
	if err != nil {
		return Diff{}, err
	}

	key := cacheKey{from: from, to: to, fromAt: fromM.CreatedAt.UnixNano(), toAt: toM.CreatedAt.UnixNano()}
	c, err := h.compare(ctx, key, fromPath, toPath)
	if err != nil {
		return Diff{}, err
	}
	overrides, err := LoadOverrides(h.overrides)
	if err != nil {
		return Diff{}, err
	}
	return c.withOverrides(overrides), nil
}

// generation returns the manifest and folder of kept generation n.
func (h *History) generation(n int) (datadir.Manifest, string, error) {
	m, path, err := h.dir.Generation(n)
	if errors.Is(err, os.ErrNotExist) {
		return m, "", fmt.Errorf("diff generations: %w %d (kept: %s)", ErrNoGeneration, n, h.kept())
	}
	return m, path, err
}

// previous returns the newest kept generation before n.
func (h *History) previous(n int) (int, error) {
	gens, err := h.dir.Generations()
	if err != nil {
		return 0, err
	}
	prev := 0
	for _, m := range gens {
		if m.Generation < n {
			prev = m.Generation
		}
	}
	if prev == 0 {
		return 0, fmt.Errorf("diff generations: %w before generation %d (kept: %s)", ErrNoPrevious, n, h.kept())
	}
	return prev, nil
}

// kept lists the kept generations' numbers for error messages.
func (h *History) kept() string {
	gens, _ := h.dir.Generations()
	if len(gens) == 0 {
		return "none"
	}
	nums := make([]string, len(gens))
	for i, m := range gens {
		nums[i] = strconv.Itoa(m.Generation)
	}
	return strings.Join(nums, ", ")
}

// compare returns the cached comparison of key, computing it once. A
// caller that waited on another whose context ended tries again with its
// own.
func (h *History) compare(ctx context.Context, key cacheKey, fromPath, toPath string) (comparison, error) {
	for {
		h.mu.Lock()
		e, ok := h.cache[key]
		if !ok {
			e = &cached{done: make(chan struct{})}
			h.cache[key] = e
			h.order = append(h.order, key)
			if len(h.order) > cacheSize {
				delete(h.cache, h.order[0])
				h.order = h.order[1:]
			}
		}
		h.mu.Unlock()

		if !ok {
			e.c, e.err = load(ctx, fromPath, toPath)
			if e.err != nil {
				h.forget(key, e)
			}
			close(e.done)
			return e.c, e.err
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return comparison{}, ctx.Err()
		}
		if e.err != nil && ctx.Err() == nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
			continue
		}
		return e.c, e.err
	}
}

// forget drops a failed comparison so that the next call tries again.
func (h *History) forget(key cacheKey, e *cached) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cache[key] != e {
		return
	}
	delete(h.cache, key)
	for i, k := range h.order {
		if k == key {
			h.order = append(h.order[:i], h.order[i+1:]...)
			break
		}
	}
}

// load reads both generations, side by side, and compares them.
func load(ctx context.Context, fromPath, toPath string) (comparison, error) {
	if err := ctx.Err(); err != nil {
		return comparison{}, err
	}
	var (
		gens [2]Generation
		errs [2]error
		wg   sync.WaitGroup
	)
	for i, path := range []string{fromPath, toPath} {
		wg.Go(func() { gens[i], errs[i] = Load(path) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return comparison{}, err
	}
	return compare(gens[0], gens[1]), nil
}
