package indexer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"lander/indexer/arbitrate"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"lander/datadir"
	"lander/indexer/curate"
	"lander/indexer/extract"
	"lander/indexer/judge"
	"lander/indexer/topics"
	"lander/store"
	"lander/vocab"
)

// finish runs stages B and C over the items of the whole catalog, in
// catalog order, and commits g: brands learned from the titles, text
// attributes, curation, judge, topics and feeds, then the products into
// the store, rejected.jsonl, summary.json and the manifest. enc says how
// the items were encoded.
func (ix *Indexer) finish(ctx context.Context, r *run, g *generation, items []item, searchLog []judge.LogQuery, enc encoding) (Summary, error) {
	sum := &r.sum
	if len(items) == 0 {
		return r.summary(), errors.New("no product could be indexed")
	}

	// Stage B: text attributes with learned brands, then curation.
	t0 := time.Now()
	ix.dropBadKeys(sum, items)
	raw, counts := textAttributes(sum, items, ix.opts.Arbiter)
	r.timed("extract", t0)
	t0 = time.Now()
	cur, err := ix.curateValues(ctx, raw)
	if err != nil {
		return r.summary(), err
	}
	r.timed("curate", t0)
	t0 = time.Now()
	scores, err := ix.judgeVocabulary(ctx, sum, cur, searchLog)
	if err != nil {
		return r.summary(), err
	}
	r.timed("judge", t0)
	t0 = time.Now()
	voc, report := applyCuration(sum, cur, items, raw, counts, enc.Assigned)
	if err := writeCuration(g.b.Path(), voc, report, scores); err != nil {
		return r.summary(), err
	}
	r.timed("curate", t0)

	// Topics and feeds, from whatever attributes (with scores) the products
	// carry by now, and their vectors.
	t0 = time.Now()
	if err := ix.buildTopics(ctx, g.b.Path(), items, voc, searchLog, sum); err != nil {
		return r.summary(), err
	}
	r.timed("topics", t0)

	// Stage C: write products with their curated attributes.
	t0 = time.Now()
	if err := ix.storeProducts(ctx, g.target, items, sum); err != nil {
		return r.summary(), err
	}
	r.timed("store", t0)
	if ix.opts.EmbeddingsModel != "" {
		t0 = time.Now()
		if err := keepEmbeddings(filepath.Join(g.b.Path(), EmbeddingsDir), ix.opts.EmbeddingsModel, enc.Dim, items, ix.opts.Attributes); err != nil {
			return r.summary(), err
		}
		r.timed("keep_embeddings", t0)
	}
	t0 = time.Now()
	if err := commitStore(ctx, g, sum); err != nil {
		return r.summary(), err
	}
	r.timed("commit", t0)
	final := r.summary()
	if err := ix.commitGeneration(g, final, voc, enc); err != nil {
		return final, err
	}
	return final, nil
}

// dropBadKeys removes the items' tags and model attributes whose key no
// store can hold (see store.ValidKey), so that one bad catalog column
// costs its attributes and not the run; it counts them by reason in the
// summary and logs them once, with a few of the keys.
func (ix *Indexer) dropBadKeys(sum *Summary, items []item) {
	const maxLogged = 10
	keys := map[string]int{} // the first maxLogged bad keys, for the log
	keep := func(attrs []extract.Attr) []extract.Attr {
		out := attrs[:0]
		for _, a := range attrs {
			if store.ValidKey(a.Key) {
				out = append(out, a)
				continue
			}
			reason := DropKeyHasEquals
			if a.Key == "" {
				reason = DropKeyEmpty
			}
			sum.Extraction.Dropped[reason]++
			if _, ok := keys[a.Key]; ok || len(keys) < maxLogged {
				keys[a.Key]++
			}
		}
		return out
	}
	for i := range items {
		items[i].raw = keep(items[i].raw)
		items[i].model = keep(items[i].model)
	}
	if len(keys) > 0 {
		ix.log.Warn("attributes dropped: no store can hold their key", "dropped", sum.Extraction.Dropped, "keys", keys)
	}
}

// attrCounts counts attributes over all products: extracted, after
// curation, and after curation with the dual encoder's assigned ones.
type attrCounts struct {
	raw, curated, assigned int
}

// textAttributes learns brands from the titles and adds the title and
// description attributes to the items' raw ones, counting them. It
// returns the attributes curation sees: the raw ones with the model's
// beside them, so that the vocabulary holds what the model assigns (the
// contract's "raw" mean counts extraction alone).
func textAttributes(sum *Summary, items []item, arb *arbitrate.Arbiter) ([][]extract.Attr, attrCounts) {
	// Brands are learned from prefixes that recur at all; the frequency
	// filter then keeps those with enough support, like any value.
	brands := extract.NewBrandLearner(nil)
	for i := range items {
		brands.Observe(items[i].product.Title)
	}
	learned := brands.Brands(extract.BrandRecurrence)
	sum.Extraction.BrandsLearned = learned.Len()
	text := extract.NewText(nil, learned)
	raw := make([][]extract.Attr, len(items))
	var counts attrCounts
	for i := range items {
		items[i].raw = extract.Merge(items[i].raw, text.Of(items[i].product.Title, items[i].desc))
		// The contract's raw counts are of extraction alone, before the
		// arbiter weighs it against the model.
		counts.raw += len(items[i].raw)
		for _, a := range items[i].raw {
			sum.Extraction.Attributes[a.Source]++
		}
		items[i].extracted = items[i].raw
		items[i].raw, items[i].model = arb.Decide(arbitrate.Evidence{Title: items[i].product.Title,
			HasText: items[i].product.Title != "" || items[i].desc != "", Raw: items[i].raw, Model: items[i].model})
		raw[i] = items[i].raw
		if len(items[i].model) > 0 {
			raw[i] = append(append([]extract.Attr{}, items[i].raw...), items[i].model...)
			sum.Extraction.Attributes[SourceModel] += len(items[i].model)
		}
	}
	return raw, counts
}

// curateValues filters the raw attributes' values by frequency and clusters
// them with the encoder.
func (ix *Indexer) curateValues(ctx context.Context, raw [][]extract.Attr) (*curate.Curator, error) {
	cur := curate.New(raw, curate.Options{MinSupport: ix.opts.MinVocabularyCount, Threshold: ix.opts.ClusterThreshold, Embedder: ix.enc})
	cur.Frequency()
	if err := cur.Cluster(ctx); err != nil {
		return nil, err
	}
	return cur, nil
}

// judgeVocabulary scores the curated values (see judgeValues) and counts the
// online judge's bad answers.
func (ix *Indexer) judgeVocabulary(ctx context.Context, sum *Summary, cur *curate.Curator, searchLog []judge.LogQuery) ([]JudgedValue, error) {
	scores, err := ix.judgeValues(ctx, cur, searchLog)
	if err != nil {
		return nil, err
	}
	if on, ok := ix.opts.Judge.(interface{ Rejected() map[string]int }); ok {
		sum.Extraction.JudgeRejected = on.Rejected()
	}
	return scores, nil
}

// applyCuration gives every item its curated attributes and returns the
// curated vocabulary and the curation report, counted in the summary.
func applyCuration(sum *Summary, cur *curate.Curator, items []item, raw [][]extract.Attr, counts attrCounts, assigned bool) (vocab.Vocabulary, curate.Report) {
	counts.curated, counts.assigned = curateItems(cur, items, raw)
	voc := curatedVocabulary(cur)
	report := cur.Report()
	countCuration(sum, cur, voc, report, counts, len(items), assigned)
	return voc, report
}

// curateItems gives every item its curated attributes and counts them:
// from extraction alone, before arbitration (curated), and as stored,
// arbitrated with the model's (assigned).
func curateItems(cur *curate.Curator, items []item, raw [][]extract.Attr) (curated, assigned int) {
	for i := range items {
		items[i].product.Attributes = cur.Apply(raw[i])
		assigned += len(items[i].product.Attributes)
		curated += len(cur.Apply(items[i].extracted))
		items[i].extracted = nil
	}
	return curated, assigned
}

// curatedVocabulary is the curated vocabulary, versioned by its content.
func curatedVocabulary(cur *curate.Curator) vocab.Vocabulary {
	voc := cur.Vocabulary("")
	voc.Version = vocabVersion(voc)
	return voc
}

// countCuration records the vocabulary's sizes before and after curation,
// the attributes per product and the curation steps in the summary.
func countCuration(sum *Summary, cur *curate.Curator, voc vocab.Vocabulary, report curate.Report, counts attrCounts, products int, assigned bool) {
	rawN, rawPer := cur.RawCounts()
	sum.Vocabulary.RawValues = rawN
	sum.Vocabulary.CuratedValues = voc.Size()
	rawSupport := cur.RawSupport()
	for k, n := range rawPer {
		kc := KeyCounts{Raw: n, Curated: len(voc.Keys[k]), RawProductsPerValue: round2(float64(rawSupport[k]) / float64(n))}
		for _, v := range voc.Keys[k] {
			kc.CuratedProductsPerValue += float64(v.Count)
		}
		if kc.Curated > 0 {
			kc.CuratedProductsPerValue = round2(kc.CuratedProductsPerValue / float64(kc.Curated))
		}
		sum.Vocabulary.PerKey[k] = kc
	}
	n := float64(products)
	sum.AttributesPerProduct.Raw = float64(counts.raw) / n
	sum.AttributesPerProduct.Curated = float64(counts.curated) / n
	if assigned {
		sum.AttributesPerProduct.Assigned = float64(counts.assigned) / n
	}
	sum.Curation = report.Steps
}

// writeCuration writes the vocabulary and the curation report, with the
// judge's scores, into the generation folder dir.
func writeCuration(dir string, voc vocab.Vocabulary, report curate.Report, scores []JudgedValue) error {
	if err := voc.Save(filepath.Join(dir, VocabularyFile)); err != nil {
		return err
	}
	return datadir.WriteJSON(filepath.Join(dir, CurationFile), curationFile{Version: voc.Version, Report: report, Judged: scores})
}

// buildTopics mines the search log, builds topics, feeds and the
// baseline, writes them into the generation and counts them.
func (ix *Indexer) buildTopics(ctx context.Context, dir string, items []item, voc vocab.Vocabulary, log []judge.LogQuery, sum *Summary) error {
	products := make([]store.Product, len(items))
	for i := range items {
		products[i] = items[i].product
	}
	opts := ix.opts.Topics
	if opts.Logger == nil {
		opts.Logger = ix.log
	}
	res, err := topics.Build(ctx, topics.Input{Products: products, Vocabulary: voc, Log: log}, opts)
	if err != nil {
		return err
	}
	f := topics.NewFile(res, voc.Version)
	if err := f.Save(filepath.Join(dir, TopicsFile)); err != nil {
		return err
	}
	sum.Topics = TopicCounts{Generated: f.Counts.Generated, Published: f.Counts.Published,
		BaselineGenerated: f.Counts.BaselineGenerated, BaselinePublished: f.Counts.BaselinePublished, Gaps: f.Counts.Gaps,
		Merged: f.Counts.Merged, MergedFeeds: f.Counts.MergedFeeds, MergedTitles: f.Counts.MergedTitles}
	sum.Intents = res.Intents
	ix.log.Info("topics built", "generated", f.Counts.Generated, "published", f.Counts.Published,
		"baseline_published", f.Counts.BaselinePublished, "gaps", f.Counts.Gaps, "merged", f.Counts.Merged)
	return nil
}

// storeProducts upserts the items' products into target in batches,
// counting them as indexed, then the attribute embeddings when target
// takes named vectors.
func (ix *Indexer) storeProducts(ctx context.Context, target Target, items []item, sum *Summary) error {
	for lo := 0; lo < len(items); lo += ix.opts.BatchSize {
		hi := min(lo+ix.opts.BatchSize, len(items))
		batch := make([]store.Product, hi-lo)
		for i := range batch {
			batch[i] = items[lo+i].product
		}
		if err := target.Upsert(ctx, batch); err != nil {
			return fmt.Errorf("store products: %w", err)
		}
		sum.Products.Indexed += len(batch)
	}
	if nt, ok := target.(NamedTarget); ok && len(ix.opts.Attributes) > 0 {
		named := make([]store.NamedVector, len(ix.opts.Attributes))
		for i, a := range ix.opts.Attributes {
			named[i] = store.NamedVector{Name: a.Key + "=" + a.Value, Vector: a.Vector}
		}
		if err := nt.UpsertNamed(ctx, named); err != nil {
			return fmt.Errorf("store attribute embeddings: %w", err)
		}
	}
	return nil
}

// commitStore makes the generation's store durable and writes the
// rejected rows, in catalog order, beside it.
func commitStore(ctx context.Context, g *generation, sum *Summary) error {
	if err := g.target.Commit(ctx); err != nil {
		return fmt.Errorf("commit store: %w", err)
	}
	sortRejected(sum.Rejections)
	return writeRejected(filepath.Join(g.b.Path(), RejectedFile), sum.Rejections)
}

// commitGeneration writes the final summary into g and commits g with its
// manifest.
func (ix *Indexer) commitGeneration(g *generation, final Summary, voc vocab.Vocabulary, enc encoding) error {
	if err := datadir.WriteJSON(filepath.Join(g.b.Path(), SummaryFile), final); err != nil {
		return err
	}
	counts := map[string]int{"products": final.Products.Indexed, "rejected": len(final.Rejections), "vocabulary": voc.Size(),
		"topics": final.Topics.Generated, "published": final.Topics.Published}
	if _, err := g.b.Commit(datadir.Manifest{
		Model: enc.Model, Vocabulary: voc.Version, Backend: ix.opts.Backend,
		MilvusCollection: collectionName(g.target), Dim: ix.enc.Dim(), Counts: counts,
	}); err != nil {
		return err
	}
	g.done = true
	ix.log.Info("index committed", "generation", final.Generation, "indexed", final.Products.Indexed, "rejected", len(final.Rejections),
		"raw_values", final.Vocabulary.RawValues, "curated_values", final.Vocabulary.CuratedValues)
	return nil
}

// curationFile is the generation's curation report.
type curationFile struct {
	Version string `json:"version"`
	curate.Report
	Judged []JudgedValue `json:"judged"`
}

// JudgedValue is the judge's score of one vocabulary value, asked as the
// value with the category it goes with most ("puma tshirts").
type JudgedValue struct {
	Key     string      `json:"key"`
	Value   string      `json:"value"`
	Query   string      `json:"query"`
	Score   judge.Score `json:"score"`
	Dropped bool        `json:"dropped,omitempty"`
	Tuple   []judge.KV  `json:"tuple"`
}

// judgeValues scores every curated value and, with JudgeMinScore set, drops
// those below it.
func (ix *Indexer) judgeValues(ctx context.Context, cur *curate.Curator, log []judge.LogQuery) ([]JudgedValue, error) {
	values := cur.Values()
	var products [][]judge.KV
	topCat := map[judge.KV]map[string]int{}
	for _, attrs := range cur.Products() {
		kvs := make([]judge.KV, len(attrs))
		var cats []string
		for i, a := range attrs {
			kvs[i] = judge.KV{Key: a.Key, Value: a.Value}
			if a.Key == "category" {
				cats = append(cats, a.Value)
			}
		}
		for _, kv := range kvs {
			if kv.Key == "category" {
				continue
			}
			m := topCat[kv]
			if m == nil {
				m = map[string]int{}
				topCat[kv] = m
			}
			for _, c := range cats {
				m[c]++
			}
		}
		products = append(products, kvs)
	}
	j := ix.opts.Judge
	if j == nil {
		j = judge.NewOffline(products, judge.OfflineOptions{Log: log, Aliases: cur.Aliases()})
	}
	var out []JudgedValue
	var cands []judge.Candidate
	for _, k := range slices.Sorted(maps.Keys(values)) {
		for _, v := range slices.Sorted(maps.Keys(values[k])) {
			jv := JudgedValue{Key: k, Value: v, Query: v, Tuple: []judge.KV{{Key: k, Value: v}}}
			if c := best(topCat[judge.KV{Key: k, Value: v}]); c != "" && k != "category" {
				jv.Tuple = append(jv.Tuple, judge.KV{Key: "category", Value: c})
				jv.Query = v + " " + c
			}
			out = append(out, jv)
			cands = append(cands, judge.Candidate{Attributes: jv.Tuple, Query: jv.Query})
		}
	}
	scores, err := j.Judge(ctx, cands)
	if err != nil {
		return nil, fmt.Errorf("judge vocabulary: %w", err)
	}
	for i := range out {
		out[i].Score = scores[i]
		if ix.opts.JudgeMinScore > 0 && scores[i].Overall < ix.opts.JudgeMinScore {
			out[i].Dropped = cur.Drop(out[i].Key, out[i].Value, curate.StepJudge,
				fmt.Sprintf("judge score %.2f < %.2f (%s)", scores[i].Overall, ix.opts.JudgeMinScore, strings.Join(scores[i].Notes, "; ")))
		}
	}
	cur.RecordStep(curate.StepJudge)
	return out, nil
}

// best is the most frequent key of m, the least one among ties.
func best(m map[string]int) string {
	b, bn := "", 0
	for k, n := range m {
		if n > bn || n == bn && k < b {
			b, bn = k, n
		}
	}
	return b
}

// vocabVersion names a vocabulary by a hash of its content.
func vocabVersion(v vocab.Vocabulary) string {
	b, _ := json.Marshal(v.Keys)
	h := sha256.Sum256(b)
	return "curated-" + hex.EncodeToString(h[:6])
}

// collectionName is the collection a Milvus target wrote into, for the
// manifest; empty for targets that keep their store in the generation.
func collectionName(t Target) string {
	if ct, ok := t.(CollectionTarget); ok {
		return ct.Collection()
	}
	return ""
}
