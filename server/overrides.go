package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"lander/datadir"
)

// Override is a merchandiser's steering of one collection.
type Override struct {
	// Pins come first on the landing page, in this order.
	Pins []string `json:"pins"`
	// Excludes never appear on the landing page.
	Excludes []string `json:"excludes"`
	// Published, when set, replaces the publish rule's verdict.
	Published *bool `json:"published"`
	// UpdatedAt is when the override was last written.
	UpdatedAt time.Time `json:"updated_at"`
}

func (o Override) empty() bool {
	return len(o.Pins) == 0 && len(o.Excludes) == 0 && o.Published == nil
}

// Limits on one override.
const (
	maxPins     = 100
	maxExcludes = 1000
	maxIDLen    = 256
)

// Overrides holds the merchandisers' overrides of every collection, in a
// JSON file outside the generations so that a reindex keeps them. Reads are
// lock-free snapshots; writes replace the file atomically. It is safe for
// concurrent use.
type Overrides struct {
	path string // empty: kept in memory only
	mu   sync.Mutex
	cur  atomic.Pointer[overrideSet]
}

type overrideSet struct {
	bySlug  map[string]Override
	version string
}

// overridesFile is the layout of the overrides file.
type overridesFile struct {
	Collections map[string]Override `json:"collections"`
}

// OpenOverrides reads the overrides at path; a missing file holds none. An
// empty path keeps overrides in memory only.
func OpenOverrides(path string) (*Overrides, error) {
	o := &Overrides{path: path}
	set, err := o.read()
	if err != nil {
		return nil, err
	}
	o.cur.Store(set)
	return o, nil
}

// read loads the file's current content (none when it is missing).
func (o *Overrides) read() (*overrideSet, error) {
	f := overridesFile{Collections: map[string]Override{}}
	var data []byte
	if o.path != "" {
		b, err := os.ReadFile(o.path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read overrides: %w", err)
		default:
			if err := json.Unmarshal(b, &f); err != nil {
				return nil, fmt.Errorf("read overrides %s: %w", o.path, err)
			}
			if f.Collections == nil {
				f.Collections = map[string]Override{}
			}
			data = b
		}
	}
	return &overrideSet{bySlug: f.Collections, version: overridesVersion(data)}, nil
}

// Refresh picks up what other servers sharing the file wrote: several
// replicas serve one data directory, and a merchandiser's change lands on
// one of them. It is cheap when nothing changed (one read of a small file).
//
// It takes no lock, so a write waiting for the file lock never holds it
// up: it swaps in what it read only if no write of this server landed in
// the meantime (a later Refresh catches up).
func (o *Overrides) Refresh() error {
	if o == nil || o.path == "" {
		return nil
	}
	before := o.cur.Load()
	set, err := o.read()
	if err != nil {
		return err
	}
	if set.version != before.version {
		o.cur.CompareAndSwap(before, set)
	}
	return nil
}

// overridesVersion names a content of the overrides file in cache keys. It
// is derived from the content, so that it survives restarts and agrees
// between servers reading the same file.
func overridesVersion(data []byte) string {
	if len(data) == 0 {
		return "o0"
	}
	sum := sha256.Sum256(data)
	return "o" + hex.EncodeToString(sum[:8])
}

// Get returns the override of slug.
func (o *Overrides) Get(slug string) (Override, bool) {
	if o == nil {
		return Override{}, false
	}
	ov, ok := o.cur.Load().bySlug[slug]
	return ov, ok
}

// List returns every override, keyed by collection slug. It is a snapshot
// of the set as it stood when List was called, and a deep copy: the caller
// may change the map and the overrides in it without touching what the
// server serves. Like Get it reads the current set without taking the write
// lock, so that it never waits behind a write held up by the file lock.
func (o *Overrides) List() map[string]Override {
	if o == nil {
		return nil
	}
	set := o.cur.Load()
	out := make(map[string]Override, len(set.bySlug))
	for slug, ov := range set.bySlug {
		ov.Pins = slices.Clone(ov.Pins)
		ov.Excludes = slices.Clone(ov.Excludes)
		if ov.Published != nil {
			published := *ov.Published
			ov.Published = &published
		}
		out[slug] = ov
	}
	return out
}

// Version changes whenever any override changes.
func (o *Overrides) Version() string {
	if o == nil {
		return "o0"
	}
	return o.cur.Load().version
}

// Put replaces the override of slug (an empty one removes it), persists the
// whole set atomically and only then makes it visible.
func (o *Overrides) Put(ctx context.Context, slug string, ov Override) error {
	return o.Replace(ctx, slug, ov, "")
}

// errStale answers a write whose If-Match names an override that is no
// longer the stored one: another merchandiser changed it meanwhile.
var errStale = &apiError{http.StatusPreconditionFailed, "precondition_failed",
	"the overrides changed since they were read (If-Match does not match their ETag): read them again"}

// Replace is Put on a condition: when ifMatch is not empty (an If-Match
// header: "*" or a list of entity tags), the stored override of slug must
// have one of those ETags, checked under the same lock as the write, or
// nothing is written and the error is a 412.
func (o *Overrides) Replace(ctx context.Context, slug string, ov Override, ifMatch string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	base := o.cur.Load()
	if o.path != "" {
		// Other servers write the same file: hold its lock and start from
		// what is on disk, so that concurrent changes to other collections
		// are kept rather than overwritten.
		unlock, err := datadir.LockFile(ctx, o.path+".lock")
		if err != nil {
			return fmt.Errorf("write overrides: %w", err)
		}
		defer unlock()
		if base, err = o.read(); err != nil {
			return err
		}
	}
	if ifMatch != "" {
		cur, ok := base.bySlug[slug]
		if !etagMatches(ifMatch, overrideETag(slug, cur, ok)) {
			return errStale
		}
	}
	next := maps.Clone(base.bySlug)
	if ov.empty() {
		delete(next, slug)
	} else {
		next[slug] = ov
	}
	data, err := json.MarshalIndent(overridesFile{Collections: next}, "", "  ")
	if err != nil {
		return fmt.Errorf("write overrides: %w", err)
	}
	if o.path != "" {
		if err := datadir.WriteFileAtomic(o.path, data); err != nil {
			return fmt.Errorf("write overrides: %w", err)
		}
	}
	o.cur.Store(&overrideSet{bySlug: next, version: overridesVersion(data)})
	return nil
}

// overrideETag is the entity tag of slug's override as GET returns it (ok
// false: none stored). It changes with every write, which stamps
// UpdatedAt.
func overrideETag(slug string, ov Override, ok bool) string {
	b, _ := json.Marshal(overrideJSON(slug, ov, ok)) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// etagMatches reports whether an If-Match value matches the strong tag
// etag: "*", or a list holding it (weak tags never match, RFC 9110 13.1.1).
func etagMatches(ifMatch, etag string) bool {
	for _, t := range strings.Split(ifMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// OverrideJSON is the body of GET and PUT /api/v1/collections/{slug}/overrides.
type OverrideJSON struct {
	Slug      string     `json:"slug"`
	Pins      []string   `json:"pins"`
	Excludes  []string   `json:"excludes"`
	Published *bool      `json:"published"`
	UpdatedAt *time.Time `json:"updated_at"`
}

func overrideJSON(slug string, ov Override, ok bool) OverrideJSON {
	out := OverrideJSON{Slug: slug, Pins: []string{}, Excludes: []string{}, Published: ov.Published}
	out.Pins = append(out.Pins, ov.Pins...)
	out.Excludes = append(out.Excludes, ov.Excludes...)
	if ok {
		t := ov.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}

// topicExists reports whether the current generation has a topic slug,
// published or not.
func (s *Server) topicExists(ctx context.Context, ix *Index, slug string) (bool, error) {
	if ix.Collections == nil {
		return false, nil
	}
	_, _, ok, err := ix.Collections.Feed(ctx, slug)
	return ok, err
}

func (s *Server) getOverrides(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	slug := c.Param("slug")
	ov, ok := s.overrides.Get(slug)
	if !ok {
		exists, err := s.topicExists(c.Request.Context(), ix, slug)
		if err != nil {
			s.fail(c, err)
			return
		}
		if !exists {
			s.fail(c, errNotFound("no collection "+strconv.Quote(slug)))
			return
		}
	}
	c.Header("ETag", overrideETag(slug, ov, ok))
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, overrideJSON(slug, ov, ok))
}

// overrideRequest is the body of PUT .../overrides.
type overrideRequest struct {
	Pins      []string `json:"pins"`
	Excludes  []string `json:"excludes"`
	Published *bool    `json:"published"`
}

func (s *Server) putOverrides(c *gin.Context) {
	ix := s.Current()
	if ix == nil {
		s.fail(c, errNoIndex)
		return
	}
	ctx := c.Request.Context()
	slug := c.Param("slug")
	ifMatch := c.GetHeader("If-Match")
	if ifMatch == "" && s.opts.RequireIfMatch {
		s.fail(c, &apiError{http.StatusPreconditionRequired, "precondition_required",
			"send If-Match with the ETag of the overrides as read, so that no one else's change is overwritten"})
		return
	}
	var req overrideRequest
	if err := decodeJSON(c, &req, "published"); err != nil {
		s.fail(c, err)
		return
	}
	if err := validateOverride(req); err != nil {
		s.fail(c, err)
		return
	}
	exists, err := s.topicExists(ctx, ix, slug)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !exists {
		s.fail(c, errNotFound("no collection "+strconv.Quote(slug)+" in the current index"))
		return
	}
	ids := append(slices.Clone(req.Pins), req.Excludes...)
	if err := s.checkProducts(ctx, ix, ids); err != nil {
		s.fail(c, err)
		return
	}
	ov := Override{Pins: req.Pins, Excludes: req.Excludes, Published: req.Published, UpdatedAt: time.Now().UTC()}
	if err := s.overrides.Replace(c.Request.Context(), slug, ov, ifMatch); err != nil {
		s.fail(c, err)
		return
	}
	s.log.Info("overrides changed", "slug", slug, "pins", len(ov.Pins), "excludes", len(ov.Excludes), "published", ov.Published)
	stored, ok := s.overrides.Get(slug)
	c.Header("ETag", overrideETag(slug, stored, ok))
	c.JSON(http.StatusOK, overrideJSON(slug, stored, ok))
}

func validateOverride(req overrideRequest) error {
	if len(req.Pins) > maxPins {
		return errBadRequest("at most " + strconv.Itoa(maxPins) + " pins")
	}
	if len(req.Excludes) > maxExcludes {
		return errBadRequest("at most " + strconv.Itoa(maxExcludes) + " excludes")
	}
	pinned := map[string]bool{}
	for _, id := range req.Pins {
		if id == "" || utf8.RuneCountInString(id) > maxIDLen {
			return errBadRequest("pins: ids must be 1 to " + strconv.Itoa(maxIDLen) + " characters")
		}
		if pinned[id] {
			return errBadRequest("pins: " + strconv.Quote(id) + " is listed twice")
		}
		pinned[id] = true
	}
	excluded := map[string]bool{}
	for _, id := range req.Excludes {
		if id == "" || utf8.RuneCountInString(id) > maxIDLen {
			return errBadRequest("excludes: ids must be 1 to " + strconv.Itoa(maxIDLen) + " characters")
		}
		if excluded[id] {
			return errBadRequest("excludes: " + strconv.Quote(id) + " is listed twice")
		}
		if pinned[id] {
			return errUnprocessable(strconv.Quote(id) + " is both pinned and excluded")
		}
		excluded[id] = true
	}
	return nil
}

// checkProducts fails with unknown_product when an id is not in the
// generation's store.
func (s *Server) checkProducts(ctx context.Context, ix *Index, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	prods, err := s.storeGet(ctx, ix, ids)
	if err != nil {
		return err
	}
	known := make(map[string]bool, len(prods))
	for _, p := range prods {
		known[p.ID] = true
	}
	var unknown []string
	for _, id := range ids {
		if !known[id] {
			unknown = append(unknown, strconv.Quote(id))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	more := ""
	if len(unknown) > 10 {
		unknown, more = unknown[:10], fmt.Sprintf(" and %d more", len(unknown)-10)
	}
	return &apiError{http.StatusUnprocessableEntity, "unknown_product", "no product with id " + strings.Join(unknown, ", ") + more + " in the current index"}
}

// decodeJSON reads a JSON object body into v strictly: the body must be
// application/json and one object, bounded by the server's limit, with no
// unknown field, no trailing data, and no null but in the fields named
// nullable (encoding/json would read a null as a missing field).
func decodeJSON(c *gin.Context, v any, nullable ...string) error {
	// A body without a Content-Type is read as JSON; one that names
	// another type is refused.
	if ct := c.GetHeader("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json"}
		}
	}
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge(fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
		}
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return errBadRequest("invalid JSON body: not one JSON object")
	}
	for name, raw := range fields {
		if string(raw) == "null" && !slices.Contains(nullable, name) {
			return errBadRequest("invalid JSON body: " + strconv.Quote(name) + " must not be null")
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("invalid JSON body: " + err.Error())
	}
	// Anything after the object, even a stray '}' or ']' (which More does
	// not report at the top level), is an error.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadRequest("invalid JSON body: trailing data after the object")
	}
	return nil
}
