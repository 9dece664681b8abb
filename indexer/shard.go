package indexer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"lander/datadir"
	"lander/imagepack"
	"lander/indexer/extract"
	"lander/store"
)

// A shard is the output of stage A over one slice of the catalog, written
// by Run with Options.ShardCount set, into ShardPath(DATA, I, N):
//
//	manifest.json    shardManifest, written last: its presence marks the shard complete
//	products.gob     one shardRecord per product, in catalog order (gob keeps floats exact)
//	rejected.jsonl   the slice's rejected rows
//	images.pack      the slice's images
//
// The folder is built as shards/.tmp-I-of-N-* and renamed into place when
// complete, so a crashed run leaves no folder that looks complete.
// Finalize merges shards 0..N-1 of N and runs stages B and C.

// ShardsDir is the folder of the data directory that holds shards.
const ShardsDir = "shards"

// Files of a shard.
const (
	shardManifestFile = "manifest.json"
	shardProductsFile = "products.gob"
)

// shardFormat versions the shard layout.
const shardFormat = 1

// ShardPath is the folder of shard i of n in the data directory root.
func ShardPath(root string, i, n int) string {
	return filepath.Join(root, ShardsDir, shardName(i, n))
}

func shardName(i, n int) string { return fmt.Sprintf("%d-of-%d", i, n) }

// shardManifest describes a complete shard.
type shardManifest struct {
	Format   int       `json:"format"`
	Shard    int       `json:"shard"`
	Shards   int       `json:"shards"`
	Created  time.Time `json:"created_at"`
	Encoding encoding  `json:"encoding"`
	// Catalog and CatalogFormat are the catalog the slice was read from.
	Catalog       string `json:"catalog"`
	CatalogFormat string `json:"catalog_format"`
	// Read counts the slice's rows (products and rejected ones), Skipped
	// the rows of other shards.
	Read     int `json:"read"`
	Products int `json:"products"`
	Rejected int `json:"rejected"`
	Skipped  int `json:"skipped_other_shards"`
	// Models reports the model extractors over the slice.
	Models  map[string]extract.VLMStats `json:"models"`
	Seconds map[string]float64          `json:"seconds"`
	Files   map[string]datadir.FileSum  `json:"files"`
}

// shardRecord is one product of a shard: what stages B and C need.
type shardRecord struct {
	Row         int
	ID          string
	Title       string
	Description string
	HasPrice    bool // gob drops a pointer to 0, so the price travels as a flag and a value
	Price       float64
	Vector      []float32
	Raw         []extract.Attr // tags and VLM, before text extraction
	Model       []extract.Attr // assigned by the dual encoder, with scores
	// ProductVector is the product tower's vector (kept in the
	// generation's embeddings); nil without a dual encoder.
	ProductVector []float32
}

func recordOf(it item) shardRecord {
	rec := shardRecord{Row: it.row, ID: it.product.ID, Title: it.product.Title, Description: it.desc,
		Vector: it.product.Vector, Raw: it.raw, Model: it.model, ProductVector: it.pvec}
	if it.product.Price != nil {
		rec.HasPrice, rec.Price = true, *it.product.Price
	}
	return rec
}

func (rec shardRecord) item() item {
	it := item{product: store.Product{ID: rec.ID, Title: rec.Title, Vector: rec.Vector}, row: rec.Row, desc: rec.Description, raw: rec.Raw, model: rec.Model, pvec: rec.ProductVector}
	if rec.HasPrice {
		p := rec.Price
		it.product.Price = &p
	}
	return it
}

// runShard runs stage A over this indexer's slice and writes the shard.
func (ix *Indexer) runShard(ctx context.Context) (Summary, error) {
	r := newRun()
	i, n := ix.opts.Shard, ix.opts.ShardCount
	r.sum.Shard = fmt.Sprintf("%d/%d", i, n)
	if err := ix.writeShard(ctx, r, i, n); err != nil {
		return r.summary(), fmt.Errorf("index shard %d/%d: %w", i, n, err)
	}
	return r.summary(), nil
}

func (ix *Indexer) writeShard(ctx context.Context, r *run, i, n int) error {
	if i < 0 || i >= n {
		return fmt.Errorf("shard %d out of range 0..%d", i, n-1)
	}
	rd, err := ix.openCatalog(r)
	if err != nil {
		return err
	}
	root := filepath.Join(ix.dir.Root(), ShardsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("create shards folder: %w", err)
	}
	name := shardName(i, n)
	tmp, err := os.MkdirTemp(root, ".tmp-"+name+"-")
	if err != nil {
		return fmt.Errorf("create shard folder: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	pack, err := imagepack.Create(filepath.Join(tmp, ImagesFile))
	if err != nil {
		return fmt.Errorf("create shard images: %w", err)
	}
	items, err := ix.collect(ctx, r, rd, pack)
	if err != nil {
		return err
	}

	t0 := time.Now()
	if err := writeRecords(filepath.Join(tmp, shardProductsFile), items); err != nil {
		return err
	}
	sortRejected(r.sum.Rejections)
	if err := writeRejected(filepath.Join(tmp, RejectedFile), r.sum.Rejections); err != nil {
		return err
	}
	r.sum.Products.Indexed = len(items)
	r.timed("write", t0)
	files := map[string]datadir.FileSum{}
	for _, f := range []string{shardProductsFile, RejectedFile, ImagesFile} {
		s, err := sumFile(filepath.Join(tmp, f))
		if err != nil {
			return fmt.Errorf("checksum %s: %w", f, err)
		}
		files[f] = s
	}
	sum := r.summary()
	m := shardManifest{
		Format: shardFormat, Shard: i, Shards: n, Created: time.Now().UTC(), Encoding: ix.encoding(),
		Catalog: sum.Catalog, CatalogFormat: sum.Format,
		Read: sum.Products.Read, Products: len(items), Rejected: len(sum.Rejections), Skipped: sum.Products.Skipped,
		Models: sum.Extraction.Models, Seconds: sum.Seconds, Files: files,
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := datadir.WriteFileAtomic(filepath.Join(tmp, shardManifestFile), b); err != nil {
		return fmt.Errorf("write shard manifest: %w", err)
	}
	final := filepath.Join(root, name)
	if err := replaceDir(tmp, final); err != nil {
		return fmt.Errorf("move shard into place: %w", err)
	}
	done = true
	r.sum.Output = final
	ix.log.Info("shard written", "shard", r.sum.Shard, "path", final, "products", len(items), "rejected", len(sum.Rejections),
		"skipped_other_shards", sum.Products.Skipped)
	return nil
}

// replaceDir renames tmp to final, replacing a previous final, which is
// put back if the rename fails and removed only once tmp is in place.
func replaceDir(tmp, final string) error {
	old := ""
	if _, err := os.Stat(final); err == nil {
		old = filepath.Join(filepath.Dir(final), fmt.Sprintf(".old-%s-%d", filepath.Base(final), time.Now().UnixNano()))
		if err := os.Rename(final, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if old != "" {
			os.Rename(old, final)
		}
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	d, err := os.Open(filepath.Dir(final))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeRecords writes the items as gob records to path, through a
// temporary file that is synced and renamed over path.
func writeRecords(path string, items []item) error {
	f, err := datadir.CreateAtomic(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", shardProductsFile, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := gob.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(recordOf(it)); err != nil {
			f.Abort()
			return fmt.Errorf("write %s: %w", shardProductsFile, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", shardProductsFile, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("write %s: %w", shardProductsFile, err)
	}
	return nil
}

func readRecords(path string, fn func(shardRecord) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	for {
		var rec shardRecord
		if err := dec.Decode(&rec); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

func readRejected(path string) ([]Rejected, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Rejected
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var rj Rejected
		if err := dec.Decode(&rj); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		out = append(out, rj)
	}
	return out, nil
}

func sumFile(path string) (datadir.FileSum, error) {
	f, err := os.Open(path)
	if err != nil {
		return datadir.FileSum{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return datadir.FileSum{}, err
	}
	return datadir.FileSum{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Finalize merges shards 0..shards-1 of shards, written by Run with
// Options.ShardCount = shards into the same data directory, and commits
// one generation as a single Run over the whole catalog would have: the
// products in catalog order, their images, then stages B and C. No
// catalog is read; the encoder clusters vocabulary values and must be the
// one the shards were encoded with. The summary counts the whole catalog;
// the seconds of stage A are the shards' summed.
func (ix *Indexer) Finalize(ctx context.Context, shards int) (Summary, error) {
	r := newRun()
	r.sum.Shards = shards
	sum, err := ix.finalize(ctx, r, shards)
	if err != nil {
		return sum, fmt.Errorf("finalize %d shards: %w", shards, err)
	}
	return sum, nil
}

// stageA names the stages a shard runs, whose seconds Finalize sums.
var stageA = []string{"read", "extract", "encode", "assign", "images", "write"}

func (ix *Indexer) finalize(ctx context.Context, r *run, n int) (Summary, error) {
	if n < 1 {
		return r.summary(), fmt.Errorf("need at least 1 shard, got %d", n)
	}
	searchLog, err := ix.readSearchLog()
	if err != nil {
		return r.summary(), err
	}
	t0 := time.Now()
	ms, err := ix.checkShards(n)
	if err != nil {
		return r.summary(), err
	}
	enc := ms[0].Encoding
	r.sum.Catalog, r.sum.Format = ms[0].Catalog, ms[0].CatalogFormat
	for _, m := range ms {
		r.sum.Products.Read += m.Read
		for name, st := range m.Models {
			r.sum.Extraction.Models[name] = addStats(r.sum.Extraction.Models[name], st)
		}
		for _, k := range stageA {
			r.durs[k] += time.Duration(m.Seconds[k] * float64(time.Second))
		}
		if m.Catalog != ms[0].Catalog {
			ix.log.Warn("shards name different catalog paths", "shard", m.Shard, "catalog", m.Catalog, "shard_0", ms[0].Catalog)
		}
	}
	g, err := ix.newGeneration(ctx, r)
	if err != nil {
		return r.summary(), err
	}
	defer g.abort(ctx, ix.log)
	items, err := ix.mergeShards(r, ms, filepath.Join(g.b.Path(), ImagesFile))
	if err != nil {
		return r.summary(), err
	}
	r.timed("merge", t0)
	ix.log.Info("shards merged", "shards", n, "products", len(items), "rejected", len(r.sum.Rejections))
	return ix.finish(ctx, r, g, items, searchLog, enc)
}

// checkShards reads the manifests of shards 0..n-1 of n and checks that
// each is complete and intact and that they were encoded alike.
func (ix *Indexer) checkShards(n int) ([]shardManifest, error) {
	root := ix.dir.Root()
	var errs []error
	ms := make([]shardManifest, n)
	for i := range n {
		m, err := readShard(root, i, n)
		if err != nil {
			errs = append(errs, err)
		}
		ms[i] = m
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	want := ix.encoding()
	for i, m := range ms {
		if m.Encoding != ms[0].Encoding {
			errs = append(errs, fmt.Errorf("shard %d of %d was encoded with %s (dim %d, assigned %t), shard 0 with %s (dim %d, assigned %t)",
				i, n, m.Encoding.Model, m.Encoding.Dim, m.Encoding.Assigned, ms[0].Encoding.Model, ms[0].Encoding.Dim, ms[0].Encoding.Assigned))
		}
	}
	if e := ms[0].Encoding; e.Dim != want.Dim || want.Model != "" && e.Model != want.Model {
		errs = append(errs, fmt.Errorf("the shards were encoded with %s (dim %d), this run uses %s (dim %d)", e.Model, e.Dim, want.Model, want.Dim))
	}
	return ms, errors.Join(errs...)
}

// readShard reads and verifies the manifest of shard i of n.
func readShard(root string, i, n int) (shardManifest, error) {
	var m shardManifest
	path := ShardPath(root, i, n)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		tmps, _ := filepath.Glob(filepath.Join(root, ShardsDir, ".tmp-"+shardName(i, n)+"-*"))
		if len(tmps) > 0 {
			return m, fmt.Errorf("shard %d of %d is incomplete: its run crashed or is still running (found %s); rerun lander index --shard %d/%d", i, n, tmps[0], i, n)
		}
		msg := fmt.Sprintf("shard %d of %d is missing: no %s; run lander index --shard %d/%d", i, n, path, i, n)
		others, _ := filepath.Glob(filepath.Join(root, ShardsDir, fmt.Sprintf("%d-of-*", i)))
		if len(others) > 0 {
			var names []string
			for _, o := range others {
				names = append(names, filepath.Base(o))
			}
			msg += fmt.Sprintf(" (found shards of another count: %s)", strings.Join(names, ", "))
		}
		return m, errors.New(msg)
	} else if err != nil {
		return m, fmt.Errorf("shard %d of %d: %w", i, n, err)
	}
	b, err := os.ReadFile(filepath.Join(path, shardManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("shard %d of %d is incomplete: %s has no %s (its run crashed or the copy is partial); rerun lander index --shard %d/%d",
			i, n, path, shardManifestFile, i, n)
	}
	if err != nil {
		return m, fmt.Errorf("shard %d of %d: %w", i, n, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("shard %d of %d: bad manifest %s: %w", i, n, filepath.Join(path, shardManifestFile), err)
	}
	if m.Format != shardFormat {
		return m, fmt.Errorf("shard %d of %d in %s has format %d, want %d; rerun lander index --shard %d/%d", i, n, path, m.Format, shardFormat, i, n)
	}
	if m.Shard != i || m.Shards != n {
		return m, fmt.Errorf("%s holds shard %d/%d, not %d/%d", path, m.Shard, m.Shards, i, n)
	}
	if err := datadir.Verify(path, datadir.Manifest{Files: m.Files}); err != nil {
		return m, fmt.Errorf("shard %d of %d in %s is damaged: %w", i, n, path, err)
	}
	return m, nil
}

// mergeShards loads the shards' products and rejections, checks that no
// id is in two shards, orders the products by catalog row and writes
// their images, in that order, into a pack at packPath.
func (ix *Indexer) mergeShards(r *run, ms []shardManifest, packPath string) ([]item, error) {
	n := len(ms)
	owner := map[string]int{} // id -> shard
	var items []item
	var dups []string
	for _, m := range ms {
		path := ShardPath(ix.dir.Root(), m.Shard, n)
		before := len(items)
		err := readRecords(filepath.Join(path, shardProductsFile), func(rec shardRecord) error {
			if s, ok := owner[rec.ID]; ok {
				if len(dups) < 5 {
					dups = append(dups, fmt.Sprintf("id %q is in shard %d and shard %d", rec.ID, s, m.Shard))
				}
				return nil
			}
			owner[rec.ID] = m.Shard
			items = append(items, rec.item())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("shard %d of %d: %w", m.Shard, n, err)
		}
		if len(dups) == 0 && len(items)-before != m.Products {
			return nil, fmt.Errorf("shard %d of %d holds %d products, its manifest says %d", m.Shard, n, len(items)-before, m.Products)
		}
		rjs, err := readRejected(filepath.Join(path, RejectedFile))
		if err != nil {
			return nil, fmt.Errorf("shard %d of %d: %w", m.Shard, n, err)
		}
		for _, rj := range rjs {
			r.sum.Products.Rejected[rj.Reason]++
		}
		r.sum.Rejections = append(r.sum.Rejections, rjs...)
	}
	if len(dups) > 0 {
		return nil, fmt.Errorf("shards overlap: %s (shards must slice one catalog: rerun them from the same catalog)", strings.Join(dups, "; "))
	}
	sort.SliceStable(items, func(a, b int) bool {
		if items[a].row != items[b].row {
			return items[a].row < items[b].row
		}
		return items[a].product.ID < items[b].product.ID
	})
	sortRejected(r.sum.Rejections)

	packs := make([]*imagepack.Pack, n)
	defer func() {
		for _, p := range packs {
			if p != nil {
				p.Close()
			}
		}
	}()
	for i := range ms {
		p, err := imagepack.Open(filepath.Join(ShardPath(ix.dir.Root(), i, n), ImagesFile))
		if err != nil {
			return nil, fmt.Errorf("shard %d of %d: %w", i, n, err)
		}
		packs[i] = p
	}
	out, err := imagepack.Create(packPath)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		id := it.product.ID
		data, format, ok, err := packs[owner[id]].Get(id)
		if err == nil && !ok {
			err = fmt.Errorf("shard %d of %d has no image for %s", owner[id], n, id)
		}
		if err == nil {
			err = out.Add(id, format, data)
		}
		if err != nil {
			out.Abort()
			return nil, err
		}
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return items, nil
}

func addStats(a, b extract.VLMStats) extract.VLMStats {
	a.Products += b.Products
	a.Requests += b.Requests
	a.CacheHits += b.CacheHits
	a.Answers += b.Answers
	a.Attributes += b.Attributes
	if len(b.Rejected) > 0 && a.Rejected == nil {
		a.Rejected = map[string]int{}
	}
	for k, v := range b.Rejected {
		a.Rejected[k] += v
	}
	return a
}
