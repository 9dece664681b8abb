package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"lander/catalog"
	"lander/config"
	"lander/datadir"
	"lander/eval/attreval"
	"lander/eval/labels"
	"lander/eval/report"
	"lander/indexer/arbitrate"
	"lander/indexer/extract"
	"lander/indexer/pixelcolor"
	"lander/store"
)

// splits names the dual encoder's splits by FNV-1a 64 of the id mod 10
// (encoder/train/dualenc): 0 validation, 1 held-out test.
var splits = map[string]uint64{"validation": 0, "test": 1}

// inSplit reports whether id belongs to the split numbered s.
func inSplit(id string, s uint64) bool {
	return catalog.InShard(id, int(s), 10)
}

// cmdEvalAttributes measures the attribute evidence per source on a split
// of a labelled catalog the dual encoder never trained on, tags withheld:
// the title lexicons, the dual encoder with title and image and with the
// image alone, and the arbitrated result. With --data it judges the
// attributes a generation stored instead, per stored source.
func cmdEvalAttributes(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("eval attributes", stderr)
	f.common()
	dualDir := f.fs.String("dual", "", "dual encoder `dir` (default: the configured encoder.dual)")
	catalogPath := f.fs.String("catalog", "", "labelled catalog `path`: a Fashion Product Images folder")
	split := f.fs.String("split", "test", "products judged: the dual encoder's `split` (test: held out; validation)")
	limit := f.fs.Int("limit", 0, "judge the first `N` products of the split in catalog order (0 = all)")
	writeSplit := f.fs.String("write-split", "", "write the split as JSON Lines (id, title, image_uri) to `file` and stop")
	fromData := f.fs.Bool("stored", false, "judge the attributes stored in the current generation of --data")
	fit := f.fs.String("fit", "", "learn the arbitration's data into `dir`: hierarchy and the pixel colour classifier from the training split, calibration on --split (use validation)")
	fitTrain := f.fs.Int("fit-train", 0, "training-split products whose images teach the pixel colour classifier (`N`, 0 = all)")
	featureCache := f.fs.String("feature-cache", os.TempDir(), "`dir` caching the training images' pixel features (\"\" = none)")
	errs := f.fs.Int("errors", 0, "list up to `N` wrong values per source and key")
	asJSON := f.fs.Bool("json", false, "print the report as JSON")
	htmlOut := f.fs.String("html", "", "also write the report as HTML with reliability plots to `file`")
	f.str("vlm-url", "OpenAI-compatible API `root` of a vision-language model, measured as one more source (off when empty)", func(c *config.Config) *string { return &c.Index.VLM.URL })
	f.str("vlm-model", "vision-language model `name`", func(c *config.Config) *string { return &c.Index.VLM.Model })
	f.str("arbitration", "judge with the arbitration lander eval attributes --fit wrote into `dir` instead of the shipped one", func(c *config.Config) *string { return &c.Index.Arbitration })
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if *catalogPath == "" {
		return usageError{errors.New("--catalog is required")}
	}
	s, ok := splits[*split]
	if !ok {
		return usageError{fmt.Errorf("unknown split %q (test or validation)", *split)}
	}
	if *dualDir != "" {
		cfg.Encoder.Dual = *dualDir
	}
	// The arbitration judged (not with --stored, nor --fit, which learns
	// its own), loaded first: a wrong directory fails before any work.
	var arb *arbitrate.Arbiter
	var arbClf *pixelcolor.Classifier
	if !*fromData && *fit == "" {
		if arb, arbClf, err = loadArbitration(cfg.Index.Arbitration); err != nil {
			return err
		}
	}
	lab, err := labels.Load(*catalogPath)
	if err != nil {
		return err
	}
	products, err := readSplit(ctx, *catalogPath, s, *limit, stderr)
	if err != nil {
		return err
	}
	if *writeSplit != "" {
		return writeSplitJSONL(*writeSplit, *catalogPath, products)
	}
	ids := make([]string, len(products))
	for i, p := range products {
		ids[i] = p.ID
	}
	var sources []attreval.Source
	name := fmt.Sprintf("%s split of %s, tags withheld", *split, *catalogPath)
	switch {
	case *fromData:
		sources, err = storedSources(ctx, cfg, ids)
		name = fmt.Sprintf("stored in the current generation of %s; %s", cfg.Data, name)
	case *fit == "":
		if cfg.Index.Arbitration != "" {
			name += "; arbitration from " + cfg.Index.Arbitration
		}
		sources, err = configuredSources(ctx, cfg, arb, arbClf, products, stderr)
	default:
		sources, err = fitSources(ctx, cfg, products, lab, fitOptions{
			dir: *fit, catalog: *catalogPath, split: *split, featureCache: *featureCache, train: *fitTrain,
		}, stderr)
	}
	if err != nil {
		return err
	}
	rep := attreval.Evaluate(name, ids, sources, lab, attreval.Keys)
	if *htmlOut != "" {
		if err := writeHTMLReport(*htmlOut, report.Report{Source: name, Attributes: &rep}); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	report.Report{Source: name, Attributes: &rep}.WriteText(stdout)
	if *errs > 0 {
		for _, src := range sources {
			for _, k := range attreval.Keys {
				for _, e := range attreval.Errors(src, k, lab, *errs) {
					fmt.Fprintf(stdout, "  wrong %s %s: %s\n", src.Name, k, e)
				}
			}
		}
	}
	return nil
}

// fitOptions says what eval attributes --fit learns from and where it
// writes.
type fitOptions struct {
	dir, catalog, split, featureCache string
	train                             int // training-split products teaching the pixel classifier (0: all)
}

// fitSources learns the arbitration's data from products, a split of the
// labelled catalog with tags withheld (the hierarchy and the pixel colour
// classifier from the training split, the pixel weight and the curves
// from products), writes it into o.dir, and judges products with it as
// configuredSources does with the shipped data.
func fitSources(ctx context.Context, cfg config.Config, products []catalog.Product, lab labels.Set, o fitOptions, warn io.Writer) ([]attreval.Source, error) {
	clf, err := trainClassifier(ctx, o.catalog, o.featureCache, lab, o.train, warn)
	if err != nil {
		return nil, err
	}
	vlm, err := newVLM(cfg, newLogger(cfg, warn))
	if err != nil {
		return nil, err
	}
	evs, cs, model, err := collectEvidence(ctx, cfg, products, clf, vlm)
	if err != nil {
		return nil, err
	}
	reportVLM(warn, vlm)
	// The weight of the pixels pooled with the colour net comes first:
	// the image-only colours' curves read the pooled ones.
	w, scale, loss := fitPixelWeight(evs, cs, lab)
	poolImageColours(evs, cs, w)
	if !math.IsNaN(loss) {
		fmt.Fprintf(warn, "pixel weight %.2f: image-only colour log-loss %.4f (log-probabilities scaled by %.2f)\n", w, loss, scale)
	}
	h, cal := fitArbitration(evs, lab, o.split+" split of "+o.catalog+", tags withheld", model)
	cal.PixelWeight = w
	if err := writeFit(o.dir, h, cal, clf); err != nil {
		return nil, err
	}
	fmt.Fprintf(warn, "wrote hierarchy.json, calibration.json and classifier.json into %s\n", o.dir)
	return evidenceSources(evs, arbitrate.New(cal, h, nil), vlm != nil), nil
}

// configuredSources collects the evidence of products (tags withheld),
// with the configured VLM if any, and arbitrates it with arb, whose pixel
// colour classifier is clf (loadArbitration): one source per kind of
// evidence, and the arbitrated results. The VLM's counts go to warn.
func configuredSources(ctx context.Context, cfg config.Config, arb *arbitrate.Arbiter, clf *pixelcolor.Classifier, products []catalog.Product, warn io.Writer) ([]attreval.Source, error) {
	vlm, err := newVLM(cfg, newLogger(cfg, warn))
	if err != nil {
		return nil, err
	}
	evs, cs, _, err := collectEvidence(ctx, cfg, products, clf, vlm)
	if err != nil {
		return nil, err
	}
	reportVLM(warn, vlm)
	poolImageColours(evs, cs, arb.PixelWeight())
	return evidenceSources(evs, arb, vlm != nil), nil
}

// reportVLM writes what the VLM did, its rejected answers and attributes
// by reason included, to w; nothing without a VLM.
func reportVLM(w io.Writer, vlm *extract.VLM) {
	if vlm == nil {
		return
	}
	st := vlm.Stats()
	fmt.Fprintf(w, "vlm: %d questions (each product with its title and with the image alone), %d requests, %d cached, %d answers, %d attributes",
		st.Products, st.Requests, st.CacheHits, st.Answers, st.Attributes)
	if len(st.Rejected) > 0 {
		fmt.Fprintf(w, "; rejected: %s", reasons(st.Rejected))
	}
	fmt.Fprintln(w)
}

// heldOutAttributes measures the attribute evidence per source on the
// named split of the labelled Fashion Product Images catalog at
// catalogPath (its folder or its styles.csv), tags withheld: what
// eval attributes prints, for eval report. split is a key of splits.
func heldOutAttributes(ctx context.Context, cfg config.Config, catalogPath, split string, lab labels.Set, warn io.Writer) (attreval.Report, error) {
	s, ok := splits[split]
	if !ok {
		return attreval.Report{}, fmt.Errorf("unknown split %q (test or validation)", split)
	}
	catalogPath = catalogFolder(catalogPath)
	products, err := readSplit(ctx, catalogPath, s, 0, warn)
	if err != nil {
		return attreval.Report{}, err
	}
	ids := make([]string, len(products))
	for i, p := range products {
		ids[i] = p.ID
	}
	arb, clf, err := loadArbitration(cfg.Index.Arbitration)
	if err != nil {
		return attreval.Report{}, err
	}
	sources, err := configuredSources(ctx, cfg, arb, clf, products, warn)
	if err != nil {
		return attreval.Report{}, err
	}
	return attreval.Evaluate(fmt.Sprintf("%s split of %s, tags withheld", split, catalogPath), ids, sources, lab, attreval.Keys), nil
}

// readSplit reads the products of split s, up to limit (0: all), with
// their merchant tags (which only the tag source reads). The rows of the
// split that the reader rejects (no image, ...) are written to warn with
// their reasons, and a split of which no product could be read is an
// error: the evaluation would judge nothing.
func readSplit(ctx context.Context, path string, s uint64, limit int, warn io.Writer) ([]catalog.Product, error) {
	products, rejected, err := readWhere(ctx, path, func(id string) bool { return inSplit(id, s) }, limit)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, c := range rejected {
		n += c
	}
	if n > 0 && len(products) == 0 {
		return nil, fmt.Errorf("read split of %s: none of its products could be read, %d rows rejected (%s)", path, n, reasons(rejected))
	}
	if n > 0 {
		fmt.Fprintf(warn, "%d rows of the split rejected (%s); judging the %d read\n", n, reasons(rejected), len(products))
	}
	return products, nil
}

// reasons lists rejection counts by reason, most frequent first.
func reasons(counts map[string]int) string {
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, b string) int {
		if c := counts[b] - counts[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// readWhere reads the products whose id passes keep, up to limit (0: all),
// and counts by reason the rows whose id passes keep that the reader
// rejected.
func readWhere(ctx context.Context, path string, keep func(string) bool, limit int) ([]catalog.Product, map[string]int, error) {
	rd, err := catalog.Open(path, catalog.Options{})
	if err != nil {
		return nil, nil, err
	}
	var out []catalog.Product
	var mu sync.Mutex
	rejected := map[string]int{}
	stop := errors.New("enough")
	err = rd.Read(ctx, func(batch []catalog.Product) error {
		for _, p := range batch {
			if !keep(p.ID) {
				continue
			}
			out = append(out, p)
			if limit > 0 && len(out) >= limit {
				return stop
			}
		}
		return nil
	}, func(rj catalog.Rejection) {
		if rj.ID != "" && keep(rj.ID) {
			mu.Lock()
			rejected[rj.Reason]++
			mu.Unlock()
		}
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, nil, err
	}
	return out, rejected, nil
}

// writeSplitJSONL writes products as the contract's JSON Lines with only
// id, title and image_uri: the evaluation protocol's input.
func writeSplitJSONL(out, catalogPath string, products []catalog.Product) error {
	abs, err := filepath.Abs(catalogPath)
	if err != nil {
		return err
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, p := range products {
		row := struct {
			ID       string `json:"id"`
			Title    string `json:"title,omitempty"`
			ImageURI string `json:"image_uri"`
		}{p.ID, p.Title, filepath.Join(abs, "images", p.ID+".jpg")}
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	return datadir.WriteFileAtomic(out, []byte(b.String()))
}

// storedSources reads the products of ids from the current generation and
// groups their stored attributes by source, with one source holding all.
func storedSources(ctx context.Context, cfg config.Config, ids []string) ([]attreval.Source, error) {
	dir, err := datadir.Open(cfg.Data)
	if err != nil {
		return nil, err
	}
	gen, err := loadGeneration(ctx, cfg, dir)
	if err != nil {
		return nil, err
	}
	defer gen.close()
	ps, err := gen.index.Store.Get(ctx, ids)
	if err != nil {
		return nil, err
	}
	bySource := map[string][]attreval.Product{}
	all := attreval.Source{Name: "stored (all)"}
	for _, p := range ps {
		all.Products = append(all.Products, attreval.Product{ID: p.ID, Attributes: p.Attributes})
		groups := map[string][]store.Attribute{}
		for _, a := range p.Attributes {
			groups[a.Source] = append(groups[a.Source], a)
		}
		for src, as := range groups {
			bySource[src] = append(bySource[src], attreval.Product{ID: p.ID, Attributes: as})
		}
	}
	out := []attreval.Source{all}
	for _, src := range slices.Sorted(maps.Keys(bySource)) {
		out = append(out, attreval.Source{Name: "stored " + src, Products: bySource[src]})
	}
	return out, nil
}

// writeHTMLReport writes r as HTML to path.
func writeHTMLReport(path string, r report.Report) error {
	hf, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteHTML(hf); err != nil {
		hf.Close()
		return err
	}
	return hf.Close()
}

// storedAttributes converts extracted attributes to stored ones.
func storedAttributes(as []extract.Attr) []store.Attribute {
	out := make([]store.Attribute, len(as))
	for i, a := range as {
		out[i] = store.Attribute{Key: a.Key, Value: a.Value, Score: a.Confidence, Source: a.Source}
	}
	return out
}
