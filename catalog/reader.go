package catalog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"lander/remoteimage"
)

// Catalog formats reported by Reader.Format.
const (
	FormatFashion = "fashion"
	FormatParquet = "parquet"
	FormatJSONL   = "jsonl"
)

// rawRow is one parsed row before its image is loaded and verified.
type rawRow struct {
	row    int
	p      Product
	reason string // parse-level rejection, "" when the row parsed
	detail string

	image     []byte // inline image bytes, nil when absent
	imagePath string // local image file
	imageURL  string // http(s) image URL
}

// source yields raw rows in input order; next returns io.EOF at the end.
type source interface {
	next() (rawRow, error)
	close() error
}

// Reader streams one catalog. A Reader may be read several times, but not
// concurrently.
type Reader struct {
	path   string
	format string
	opts   Options
	open   func() (source, error)

	skipped atomic.Int64 // rows of other shards passed over by the last Read
}

// Open detects the catalog layout at path and returns a Reader for it: a
// directory holding styles.csv (or the styles.csv file itself), a *.parquet
// file, or a *.jsonl, *.ndjson or *.json file holding JSON Lines.
func Open(path string, opts Options) (*Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	opts = opts.withDefaults()
	if opts.Shards > 1 && (opts.Shard < 0 || opts.Shard >= opts.Shards) {
		return nil, fmt.Errorf("open catalog %s: shard %d out of range 0..%d", path, opts.Shard, opts.Shards-1)
	}
	r := &Reader{path: path, opts: opts}
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case st.IsDir() || strings.EqualFold(filepath.Base(path), "styles.csv"):
		csvPath := path
		if st.IsDir() {
			csvPath = filepath.Join(path, "styles.csv")
			if _, err := os.Stat(csvPath); err != nil {
				return nil, fmt.Errorf("open catalog %s: directory has no styles.csv (want the Fashion Product Images layout, a .parquet or a .jsonl file)", path)
			}
		}
		imgDir := filepath.Join(filepath.Dir(csvPath), "images")
		r.format = FormatFashion
		r.open = func() (source, error) { return openStyles(csvPath, imgDir) }
	case ext == ".parquet":
		r.format = FormatParquet
		r.open = func() (source, error) { return openParquet(path, opts.BatchSize) }
	case ext == ".jsonl" || ext == ".ndjson" || ext == ".json":
		if err := checkJSONL(path); err != nil {
			return nil, fmt.Errorf("open catalog %s: %w", path, err)
		}
		r.format = FormatJSONL
		r.open = func() (source, error) { return openJSONL(path) }
	default:
		return nil, fmt.Errorf("open catalog %s: unknown format (want a directory with styles.csv, a .parquet, .jsonl or .json file)", path)
	}
	src, err := r.open() // validate the header or schema now
	if err != nil {
		return nil, err
	}
	src.close()
	return r, nil
}

// withDefaults fills in the zero fields of o.
func (o Options) withDefaults() Options {
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// checkJSONL rejects a .json file holding a JSON array.
func checkJSONL(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for {
		c, err := br.ReadByte()
		if err != nil {
			return nil // empty file: zero rows
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return errors.New("file holds a JSON array; want JSON Lines (one object per line)")
		}
		return nil
	}
}

// Format returns the catalog layout: "fashion", "parquet" or "jsonl".
func (r *Reader) Format() string { return r.format }

// Skipped returns the number of rows the last Read passed over because
// they belong to other shards (see Options.Shards).
func (r *Reader) Skipped() int { return int(r.skipped.Load()) }

// Path returns the path the Reader was opened with.
func (r *Reader) Path() string { return r.path }

// slot carries one row through the worker pool; done closes once the row is
// final.
type slot struct {
	rawRow
	done chan struct{}
}

// Read streams the catalog: accepted products go to batch in input order,
// in slices of at most Options.BatchSize (the callee may keep the slice);
// every other row goes to reject, also in input order. Read returns nil when
// the whole catalog was read, ctx.Err() when ctx was cancelled, the first
// error returned by batch, or an error when the file itself cannot be read
// further. A nil callback discards what it would receive.
func (r *Reader) Read(ctx context.Context, batch func([]Product) error, reject func(Rejection)) error {
	if batch == nil {
		batch = func([]Product) error { return nil }
	}
	if reject == nil {
		reject = func(Rejection) {}
	}
	r.skipped.Store(0)
	src, err := r.open()
	if err != nil {
		return err
	}
	defer src.close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := r.opts.Workers
	jobs := make(chan *slot, w)
	order := make(chan *slot, max(64, 8*w))
	var wg sync.WaitGroup
	var srcErr error

	wg.Add(1)
	go func() { // producer
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		for {
			raw, err := src.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				srcErr = err
				return
			}
			if r.opts.Shards > 1 && !InShard(raw.p.ID, r.opts.Shard, r.opts.Shards) {
				r.skipped.Add(1)
				continue
			}
			s := &slot{rawRow: raw, done: make(chan struct{})}
			select {
			case order <- s:
			case <-ctx.Done():
				return
			}
			if s.reason != "" {
				close(s.done)
				continue
			}
			select {
			case jobs <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				r.loadImage(ctx, &s.rawRow)
				close(s.done)
			}
		}()
	}

	err = r.consume(ctx, order, batch, reject)
	cancel()
	wg.Wait()
	if err != nil {
		return err
	}
	if srcErr != nil {
		return fmt.Errorf("read catalog %s: %w", r.path, srcErr)
	}
	return nil
}

// consume delivers finished rows in order.
func (r *Reader) consume(ctx context.Context, order <-chan *slot, batch func([]Product) error, reject func(Rejection)) error {
	bs := r.opts.BatchSize
	seen := make(map[string]struct{})
	out := make([]Product, 0, bs)
	for s := range order {
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if s.reason != "" {
			reject(Rejection{Row: s.row, ID: s.p.ID, Reason: s.reason, Detail: s.detail})
			continue
		}
		if _, dup := seen[s.p.ID]; dup {
			reject(Rejection{Row: s.row, ID: s.p.ID, Reason: ReasonDuplicateID, Detail: "id " + s.p.ID + " already read"})
			continue
		}
		seen[s.p.ID] = struct{}{}
		s.p.Row = s.row
		out = append(out, s.p)
		if len(out) == bs {
			if err := batch(out); err != nil {
				return err
			}
			out = make([]Product, 0, bs)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(out) > 0 {
		if err := batch(out); err != nil {
			return err
		}
	}
	return nil
}

// loadImage fetches and verifies the row's image, setting a rejection on
// failure.
func (r *Reader) loadImage(ctx context.Context, s *rawRow) {
	if ctx.Err() != nil {
		s.reason, s.detail = ReasonMissingImage, "read cancelled"
		return
	}
	b := s.image
	s.image = nil
	switch {
	case b != nil:
	case s.imagePath != "":
		var reason string
		var err error
		b, reason, err = readImageFile(s.imagePath)
		if err != nil {
			s.reason, s.detail = reason, err.Error()
			return
		}
	case s.imageURL != "":
		if r.opts.Remote == nil {
			s.reason, s.detail = ReasonMissingImage, "remote image "+s.imageURL+" not fetched (remote fetching is off)"
			return
		}
		var reason string
		var err error
		b, reason, err = fetchImage(ctx, r.opts.Remote, s.imageURL)
		if err != nil {
			s.reason, s.detail = reason, err.Error()
			return
		}
	default:
		s.reason, s.detail = ReasonMissingImage, "row has no image or image_uri"
		return
	}
	format, err := verifyImage(ctx, b, r.opts.HeaderOnly)
	if err != nil {
		s.reason, s.detail = imageReason(err), err.Error()
		return
	}
	s.p.Image, s.p.ImageFormat = b, format
}

// readImageFile reads a local image, refusing files over MaxImageBytes.
func readImageFile(path string) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ReasonMissingImage, fmt.Errorf("image file %s does not exist", path)
		}
		return nil, ReasonMissingImage, fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, ReasonMissingImage, fmt.Errorf("stat image: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, ReasonMissingImage, fmt.Errorf("image path %s is not a regular file", path)
	}
	if st.Size() > MaxImageBytes {
		return nil, ReasonBadImage, fmt.Errorf("image file %s is %d bytes, more than %d", path, st.Size(), MaxImageBytes)
	}
	b := make([]byte, 0, st.Size()+1)
	buf := bytes.NewBuffer(b)
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxImageBytes+1)); err != nil {
		return nil, ReasonMissingImage, fmt.Errorf("read image: %w", err)
	}
	return buf.Bytes(), "", nil
}

// fetchImage downloads an image over http(s). A body over the cap is a
// bad image; every other failure (refused address, timeout, status) a
// missing one.
func fetchImage(ctx context.Context, f ImageFetcher, url string) ([]byte, string, error) {
	b, err := f.Fetch(ctx, url)
	switch {
	case errors.Is(err, remoteimage.ErrTooLarge):
		return nil, ReasonBadImage, err
	case err != nil:
		return nil, ReasonMissingImage, err
	}
	return b, "", nil
}

// imageRef sets the row's image reference from an image_uri value,
// resolving relative paths against dir.
func (s *rawRow) imageRef(uri, dir string) {
	uri = strings.TrimSpace(uri)
	if uri == "" {
		return
	}
	low := strings.ToLower(uri)
	switch {
	case strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://"):
		s.imageURL = uri
	case strings.HasPrefix(low, "file://"):
		s.imagePath = filepath.FromSlash(uri[len("file://"):])
	case filepath.IsAbs(uri):
		s.imagePath = uri
	default:
		s.imagePath = filepath.Join(dir, filepath.FromSlash(uri))
	}
}
