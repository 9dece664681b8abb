package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"lander/catalog"
	"lander/config"
	"lander/datadir"
	"lander/eval/attreval"
	"lander/eval/labels"
	"lander/indexer/arbitrate"
	"lander/indexer/extract"
	"lander/indexer/pixelcolor"
	"lander/store"
)

// evidence is what every source said about one product, with and
// without its text.
type evidence struct {
	id         string
	title      string
	tags, text []extract.Attr
	pixel      []extract.Attr // most probable first
	// pixelImage is the colour net's colours, nil without one, pooled
	// with the pixel classifier's (poolImageColours); it stands for pixel
	// with the image alone.
	pixelImage []extract.Attr
	// netLogProbs is the colour net's reading over the run's
	// colourSpace.net, pixelProbs the pixel classifier's over its
	// colourSpace.pixel (nil without a foreground).
	netLogProbs []float32
	pixelProbs  []float64
	model       []extract.Attr // title and image: assigned and candidates
	modelImage  []extract.Attr // image alone
	// vlm and vlmImage are the VLM's answers with the title and image and
	// with the image alone; nil without a VLM or where it gave none.
	vlm, vlmImage []extract.Attr
}

// colourSpace names the colours that the evidence's readings are over:
// the colour net's (nil without one) and the pixel classifier's. They are
// the same for every product of a run.
type colourSpace struct {
	net, pixel []string
}

// collectEvidence runs every source over products with their tags
// withheld: the title lexicons (brands learned from these titles, as the
// indexer does), the dual encoder with the title and with the image
// alone, the colour net, the pixel colours and, when vlm is not nil, the
// VLM with the title and image and with the image alone. It also returns
// the colours the readings are over, and names the model that gave the
// scores (assign.Dual.EvidenceVersion).
func collectEvidence(ctx context.Context, cfg config.Config, products []catalog.Product, clf *pixelcolor.Classifier, vlm *extract.VLM) ([]evidence, colourSpace, string, error) {
	if cfg.Encoder.Dual == "" {
		return nil, colourSpace{}, "", errors.New("no dual encoder configured (encoder.dual)")
	}
	text, err := openEncoder(cfg)
	if err != nil {
		return nil, colourSpace{}, "", err
	}
	defer text.Close()
	dual, err := openAssigner(cfg)
	if err != nil {
		return nil, colourSpace{}, "", err
	}
	defer dual.Close()
	titlesOf := make([]string, len(products))
	for i, p := range products {
		titlesOf[i] = p.Title
	}
	tx := extract.FromTitles(titlesOf)
	cs := colourSpace{net: dual.ImageColours(), pixel: clf.Classes}
	out := make([]evidence, len(products))
	const batch = 64
	for lo := 0; lo < len(products); lo += batch {
		ps := products[lo:min(lo+batch, len(products))]
		titles := make([]string, len(ps))
		for i, p := range ps {
			titles[i] = p.Title
		}
		tvecs, err := text.Embed(ctx, titles)
		if err != nil {
			return nil, colourSpace{}, "", err
		}
		withText, err := dual.EmbedProducts(ctx, ps, tvecs)
		if err != nil {
			return nil, colourSpace{}, "", err
		}
		// The colour net's log-probabilities come with the image-only
		// vectors, from the same decoded images (none without a net).
		imageOnly, logProbs, err := dual.EmbedImages(ctx, ps, make([][]float32, len(ps)))
		if err != nil {
			return nil, colourSpace{}, "", err
		}
		feats, err := pixelcolor.FeaturesOf(ctx, ps)
		if err != nil {
			return nil, colourSpace{}, "", err
		}
		vlmText, vlmImage, err := askVLM(ctx, vlm, ps)
		if err != nil {
			return nil, colourSpace{}, "", err
		}
		m := dual.Model()
		for i, p := range ps {
			e := &out[lo+i]
			e.netLogProbs = logProbs[i]
			if x := feats[i]; x != nil {
				e.pixelProbs = clf.Probabilities(x)
				e.pixel = pixelcolor.Attrs(clf.Guesses(e.pixelProbs, pixelcolor.Top, pixelcolor.AltMinP))
			}
			e.id, e.title = p.ID, p.Title
			e.tags = extract.TagsOf(p)
			e.text = tx.Of(p.Title, "")
			e.model = modelAttrs(m.Evidence(withText[i], true))
			e.modelImage = modelAttrs(m.Evidence(imageOnly[i], false))
			if vlm != nil {
				e.vlm, e.vlmImage = vlmText[i], vlmImage[i]
			}
		}
	}
	poolImageColours(out, cs, 0)
	return out, cs, dual.EvidenceVersion(), nil
}

// askVLM asks vlm about products as the evaluator's catalogues hold
// them, tags withheld: with the title and image, and with the image alone.
// Without a VLM it returns nil lists.
func askVLM(ctx context.Context, vlm *extract.VLM, products []catalog.Product) (withText, imageOnly [][]extract.Attr, err error) {
	if vlm == nil {
		return nil, nil, nil
	}
	titled := make([]catalog.Product, len(products))
	bare := make([]catalog.Product, len(products))
	for i, p := range products {
		titled[i] = catalog.Product{ID: p.ID, Title: p.Title, Image: p.Image, ImageFormat: p.ImageFormat, Tags: map[string]string{}}
		bare[i] = catalog.Product{ID: p.ID, Image: p.Image, ImageFormat: p.ImageFormat, Tags: map[string]string{}}
	}
	if withText, err = vlm.Extract(ctx, titled); err != nil {
		return nil, nil, err
	}
	if imageOnly, err = vlm.Extract(ctx, bare); err != nil {
		return nil, nil, err
	}
	return withText, imageOnly, nil
}

// poolImageColours sets each product's colours with the image alone: the
// colour net's reading pooled with the pixel classifier's by weight w
// (pixelcolor.Pool), as the indexer reads them.
func poolImageColours(evs []evidence, cs colourSpace, w float64) {
	for i := range evs {
		e := &evs[i]
		lp := pixelcolor.Pool(cs.net, e.netLogProbs, cs.pixel, e.pixelProbs, w)
		e.pixelImage = pixelcolor.Attrs(pixelcolor.NetTop(cs.net, lp, pixelcolor.Top, pixelcolor.AltMinP))
	}
}

// pixelWeights are the weights fitPixelWeight tries, and logitScales the
// factors it multiplies each pooled reading's log-probabilities by
// before normalising (an inverse temperature: below 1 softens).
var (
	pixelWeights = []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1}
	logitScales  = []float64{0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5, 1.75, 2}
)

// fitPixelWeight returns the weight of the pixel classifier pooled with
// the colour net (pixelcolor.Pool) whose pooled reading has the least
// log-loss on the labelled products of evs, each weight at its best
// scale of the log-probabilities (the calibration curves, fitted after,
// undo a scale; the weight changes which colour comes first), with that
// scale and log-loss. It returns weight 0 and a NaN loss without a
// colour net or labelled colours; a tie goes to the smaller weight.
func fitPixelWeight(evs []evidence, cs colourSpace, lab labels.Set) (w, scale, loss float64) {
	type row struct {
		e *evidence
		y int
	}
	var rows []row
	for i := range evs {
		e := &evs[i]
		l := lab[e.id]
		if l == nil || len(e.netLogProbs) != len(cs.net) || len(cs.net) == 0 {
			continue
		}
		for y, c := range cs.net {
			if l.Match("color", c) {
				rows = append(rows, row{e, y})
				break
			}
		}
	}
	if len(rows) == 0 {
		return 0, 1, math.NaN()
	}
	best, bestScale, bestLoss := 0.0, 1.0, math.Inf(1)
	for _, pw := range pixelWeights {
		nll := make([]float64, len(logitScales))
		for _, r := range rows {
			lp := pixelcolor.Pool(cs.net, r.e.netLogProbs, cs.pixel, r.e.pixelProbs, pw)
			for k, t := range logitScales {
				top := math.Inf(-1)
				for _, v := range lp {
					top = max(top, t*float64(v))
				}
				sum := 0.0
				for _, v := range lp {
					sum += math.Exp(t*float64(v) - top)
				}
				nll[k] += top + math.Log(sum) - t*float64(lp[r.y])
			}
		}
		k := slices.Index(nll, slices.Min(nll))
		if l := nll[k] / float64(len(rows)); l < bestLoss-1e-12 {
			best, bestScale, bestLoss = pw, logitScales[k], l
		}
	}
	return best, bestScale, bestLoss
}

// titled returns the product's evidence as the arbiter reads it with the
// title and image.
func (e *evidence) titled() arbitrate.Evidence {
	return arbitrate.Evidence{Title: e.title, HasText: true, Raw: slices.Concat(e.text, e.pixel, e.vlm), Model: e.model}
}

// imageOnly returns the product's evidence as the arbiter reads it with
// the image alone.
func (e *evidence) imageOnly() arbitrate.Evidence {
	return arbitrate.Evidence{HasText: false, Raw: slices.Concat(e.imagePixel(), e.vlmImage), Model: e.modelImage}
}

// imagePixel returns the pixel evidence with the image alone.
func (e *evidence) imagePixel() []extract.Attr {
	if e.pixelImage != nil {
		return e.pixelImage
	}
	return e.pixel
}

// modelAttrs converts the model's stored attributes to extracted ones.
func modelAttrs(as []store.Attribute) []extract.Attr {
	out := make([]extract.Attr, len(as))
	for i, a := range as {
		out[i] = extract.Attr{Key: a.Key, Value: a.Value, Source: a.Source, Confidence: a.Score}
	}
	return out
}

// evidenceSources judges each source alone and the arbitrated result, with
// title and image and with the image alone.
func evidenceSources(evs []evidence, arb *arbitrate.Arbiter, withVLM bool) []attreval.Source {
	names := []string{"tags (merchant)", "text (title lexicons)", "model (title+image)", "model (image only)",
		"pixel (image only)", "colour net + pixels (image only)", "union, no arbitration (title+image)", "arbitrated (title+image)", "arbitrated (image only)"}
	if withVLM {
		names = append(names, "vlm (title+image)", "vlm (image only)")
	}
	srcs := make([]attreval.Source, len(names))
	for i, n := range names {
		srcs[i].Name = n
	}
	for _, e := range evs {
		assigned := func(as []extract.Attr) []extract.Attr {
			var out []extract.Attr
			for _, a := range as {
				if a.Source == arbitrate.SourceModel {
					out = append(out, a)
				}
			}
			return out
		}
		raw, model := arb.Decide(e.titled())
		rawI, modelI := arb.Decide(e.imageOnly())
		pi := e.imagePixel()
		lists := [][]extract.Attr{e.tags, e.text, assigned(e.model), assigned(e.modelImage), e.pixel[:min(1, len(e.pixel))], pi[:min(1, len(pi))],
			extract.Merge(e.text, assigned(e.model)), append(raw, model...), append(rawI, modelI...)}
		if withVLM {
			lists = append(lists, e.vlm, e.vlmImage)
		}
		for i, l := range lists {
			srcs[i].Products = append(srcs[i].Products, attreval.Product{ID: e.id, Attributes: storedAttributes(l)})
		}
	}
	return srcs
}

// fitArbitration learns the category hierarchy from the labels of the
// training split (neither validation nor test) and the calibration curves
// from the evidence of evs (a split with tags withheld).
func fitArbitration(evs []evidence, lab labels.Set, split, model string) (*arbitrate.Hierarchy, *arbitrate.Calibration) {
	h := learnHierarchy(lab)
	arb := arbitrate.New(nil, h, nil)
	obs := map[string][]arbitrate.Observation{}
	for _, e := range evs {
		l := lab[e.id]
		if l == nil {
			continue
		}
		for _, ev := range []arbitrate.Evidence{e.titled(), e.imageOnly()} {
			colours := 0
			for _, a := range e.text {
				if a.Key == "color" && ev.HasText {
					colours++
				}
			}
			for _, a := range slices.Concat(ev.Raw, ev.Model) {
				if !arbitrated(a.Key) {
					continue
				}
				k := arb.Kind(ev, a, colours)
				obs[k] = append(obs[k], arbitrate.Observation{Score: float64(a.Confidence), Right: l.Match(a.Key, a.Value)})
			}
		}
	}
	cal := &arbitrate.Calibration{Split: split, Model: model, Curves: map[string]arbitrate.Curve{}, MinP: map[string]float64{}, Target: fitTargets}
	for k, o := range obs {
		cal.Curves[k] = arbitrate.FitIsotonic(o, 50)
	}
	// The minimum combined probability per mode and key: the lowest at
	// which the winners at or above it reach the mode's target precision.
	zero := map[string]float64{}
	for _, mode := range []string{"title", "image"} {
		for _, k := range arbitrate.Keys {
			zero[mode+"/"+k] = 0
		}
	}
	free := arbitrate.New(cal, h, zero)
	won := map[string][]arbitrate.Observation{}
	for _, e := range evs {
		l := lab[e.id]
		if l == nil {
			continue
		}
		for _, ev := range []arbitrate.Evidence{e.titled(), e.imageOnly()} {
			for _, w := range free.Winners(ev) {
				k := arbitrate.Mode(ev) + "/" + w.Key
				won[k] = append(won[k], arbitrate.Observation{Score: w.P, Right: l.Match(w.Key, w.Value)})
			}
		}
	}
	for k, o := range won {
		cal.MinP[k] = minPFor(o, fitTargets[strings.SplitN(k, "/", 2)[0]])
	}
	return h, cal
}

// fitTargets are the precisions the minimum probabilities aim at per mode,
// a little above the goals (0.95 with title and image, 0.85 with the image
// alone) so that they hold on unseen products.
var fitTargets = map[string]float64{"title": 0.96, "image": 0.87}

// minPFor returns the lowest score at which the observations scoring at
// least that much reach precision target (1 when none do).
func minPFor(obs []arbitrate.Observation, target float64) float64 {
	o := slices.Clone(obs)
	sort.Slice(o, func(i, j int) bool { return o[i].Score > o[j].Score })
	best, right := 1.0, 0
	for i, x := range o {
		if x.Right {
			right++
		}
		// Only a cut between distinct scores is realisable.
		if i+1 < len(o) && o[i+1].Score == x.Score {
			continue
		}
		if float64(right) >= target*float64(i+1) {
			best = x.Score
		}
	}
	return math.Round(best*1e4) / 1e4
}

func arbitrated(key string) bool {
	for _, k := range arbitrate.Keys {
		if k == key {
			return true
		}
	}
	return false
}

// learnHierarchy places each category leaf (article type) within the
// sub-category most of its training-split products carry.
func learnHierarchy(lab labels.Set) *arbitrate.Hierarchy {
	counts := map[string]map[string]int{}
	for id, l := range lab {
		if inSplit(id, splits["validation"]) || inSplit(id, splits["test"]) {
			continue
		}
		leaf, parent := l.Cols["articletype"], l.Cols["subcategory"]
		if leaf == "" || parent == "" {
			continue
		}
		if counts[leaf] == nil {
			counts[leaf] = map[string]int{}
		}
		counts[leaf][parent]++
	}
	parents := map[string][]string{}
	for leaf, ps := range counts {
		total, best, bestN := 0, "", 0
		for p, n := range ps {
			total += n
			if n > bestN || n == bestN && p < best {
				best, bestN = p, n
			}
		}
		if bestN*10 >= total*9 {
			parents[extract.Normalize(leaf)] = []string{extract.Normalize(best)}
		}
	}
	for _, ps := range parents {
		sort.Strings(ps)
	}
	return arbitrate.NewHierarchy(parents)
}

// trainClassifier trains the pixel colour classifier on the images of
// the training split (up to n products, 0: all) and their labelled base
// colour, stopping early on the validation split's log-loss. Features are
// cached in cacheDir (not the repository): extracting them from some 36k
// images takes minutes.
func trainClassifier(ctx context.Context, catalogPath, cacheDir string, lab labels.Set, n int, stderr io.Writer) (*pixelcolor.Classifier, error) {
	isVal := func(id string) bool { return inSplit(id, splits["validation"]) }
	isTrain := func(id string) bool { return !isVal(id) && !inSplit(id, splits["test"]) }
	feats, err := cachedFeatures(ctx, catalogPath, cacheDir, func(id string) bool { return isTrain(id) || isVal(id) })
	if err != nil {
		return nil, err
	}
	var train, val []pixelcolor.Example
	for _, id := range slices.Sorted(maps.Keys(feats)) {
		l := lab[id]
		x := feats[id]
		if l == nil || l.Cols["basecolour"] == "" || x == nil {
			continue
		}
		e := pixelcolor.Example{X: x, Label: extract.Normalize(l.Cols["basecolour"])}
		switch {
		case isVal(id):
			val = append(val, e)
		case n == 0 || len(train) < n:
			train = append(train, e)
		}
	}
	opt := pixelcolor.DefaultTrainOptions
	c, rep, err := pixelcolor.Train(train, val, opt)
	if err != nil {
		return nil, err
	}
	c.Trained = fmt.Sprintf("%d training-split and %d validation-split images of %s; hidden %d, Adam lr %g, batch %d, decay %g, seed %d; best epoch %d of %d, validation log-loss %.4f, accuracy %.4f",
		len(train), len(val), filepath.Base(catalogPath), opt.Hidden, opt.LR, opt.Batch, opt.Decay, opt.Seed, rep.BestEpoch, rep.Epochs, rep.ValLoss, rep.ValAccuracy)
	fmt.Fprintf(stderr, "pixel classifier: %s\n", c.Trained)
	return c, nil
}

// cachedFeatures returns the pixel features of the catalog's products
// whose id passes keep (nil where the image shows no foreground), read
// from and saved to a cache file in dir ("" : no cache).
func cachedFeatures(ctx context.Context, catalogPath, dir string, keep func(string) bool) (map[string][]float32, error) {
	abs, err := filepath.Abs(catalogPath)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte(abs))
	file := cacheFile(dir, fmt.Sprintf("lander-pixel-%s-%x.gob", pixelcolor.FeatureVersion, h.Sum64()))
	feats := readVectorCache(file)
	missing := func(id string) bool {
		if !keep(id) {
			return false
		}
		_, ok := feats[id]
		return !ok
	}
	// A rejected row has no image to read: it stays out of the fit.
	ps, _, err := readWhere(ctx, catalogPath, missing, 0)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return feats, nil
	}
	// An image that does not decode or shows no foreground gets nil
	// features: no training example, as the extractor gives it no colour.
	out, err := pixelcolor.FeaturesOf(ctx, ps)
	if err != nil {
		return nil, fmt.Errorf("pixel features: %w", err)
	}
	for i, p := range ps {
		feats[p.ID] = out[i]
	}
	if err := writeVectorCache(file, feats); err != nil {
		return nil, fmt.Errorf("cache pixel features: %w", err)
	}
	return feats, nil
}

// cacheFile returns the path of a cache file named name in dir, or "" when
// dir is "" (no cache).
func cacheFile(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}

// readVectorCache returns the vectors by id cached in file, or an empty
// map when there is none or it does not decode (it is then rebuilt).
func readVectorCache(file string) map[string][]float32 {
	m := map[string][]float32{}
	if file == "" {
		return m
	}
	f, err := os.Open(file)
	if err != nil {
		return m
	}
	defer f.Close()
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&m); err != nil {
		return map[string][]float32{}
	}
	return m
}

// writeVectorCache saves m to file atomically; file "" saves nothing.
func writeVectorCache(file string, m map[string][]float32) error {
	if file == "" {
		return nil
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(m); err != nil {
		return err
	}
	return datadir.WriteFileAtomic(file, b.Bytes())
}

// writeFit writes the learned arbitration data into dir.
func writeFit(dir string, h *arbitrate.Hierarchy, cal *arbitrate.Calibration, clf *pixelcolor.Classifier) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, v := range map[string]any{"hierarchy.json": h, "calibration.json": cal, "classifier.json": clf} {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			return err
		}
		if err := datadir.WriteFileAtomic(filepath.Join(dir, name), append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}
