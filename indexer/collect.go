package indexer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"lander/catalog"
	"lander/embeddings"
	"lander/imagepack"
	"lander/indexer/extract"
	"lander/indexer/pixelcolor"
	"lander/store"
)

// item is one product kept in memory between stage A and stage C; a shard
// keeps its items in its folder until Finalize.
type item struct {
	product store.Product // id, title, price, vector
	row     int           // catalog row: every path orders the products by it
	desc    string
	raw     []extract.Attr // tags and VLM attributes; text ones join in stage B
	// extracted is raw with the text attributes, before arbitration: what
	// the summary's curated count measures.
	extracted []extract.Attr
	model     []extract.Attr // assigned by the dual encoder, its candidates and the pixel colours
	pvec      []float32      // the product tower's vector, when it ran or was given
	// pixelProbs holds the pixel classifier's probabilities of a product
	// without text when a colour net reads it, to pool with the net's
	// (pixelcolor.Pool); nil otherwise.
	pixelProbs []float64
}

// extracted is one batch through extraction and encoding: the catalog
// products, for their images, and their items.
type extracted struct {
	products []catalog.Product
	items    []item
}

// collect runs stage A over the catalog: it reads the rows (rejections go
// into the summary), extracts merchant tags and model attributes, encodes
// and assigns, and adds the images to pack, which it closes. The items
// come in catalog order.
func (ix *Indexer) collect(ctx context.Context, r *run, rd *catalog.Reader, pack *imagepack.Writer) ([]item, error) {
	var items []item
	seen := map[string]bool{}        // ids looked up in Precomputed; touched by one goroutine
	rejectedIDs := map[string]bool{} // guarded by r.mu until stage A ends

	// Stage A: read, extract and encode, pack images; overlapped.
	g, gctx := errgroup.WithContext(ctx)
	readCh := make(chan []catalog.Product, 2)
	encCh := make(chan extracted, 2)
	g.Go(func() error {
		defer close(readCh)
		return ix.readCatalog(gctx, r, rd, rejectedIDs, readCh)
	})
	g.Go(func() error {
		defer close(encCh)
		return ix.encodeBatches(gctx, r, seen, readCh, encCh)
	})
	g.Go(func() error {
		return ix.packImages(r, pack, encCh, &items)
	})

	if err := g.Wait(); err != nil {
		pack.Abort()
		return nil, err
	}
	if err := ix.unmatched(seen, rejectedIDs); err != nil {
		pack.Abort()
		return nil, err
	}
	if err := pack.Close(); err != nil {
		return nil, err
	}
	for _, x := range ix.opts.Extractors {
		if st, ok := x.(interface{ Stats() extract.VLMStats }); ok {
			r.sum.Extraction.Models[x.Source()] = st.Stats()
		}
	}
	return items, nil
}

// readCatalog reads the catalog's batches into out, counting the rows and
// the rejected ones (their ids into rejectedIDs).
func (ix *Indexer) readCatalog(ctx context.Context, r *run, rd *catalog.Reader, rejectedIDs map[string]bool, out chan<- []catalog.Product) error {
	t0 := time.Now()
	err := rd.Read(ctx, func(batch []catalog.Product) error {
		r.mu.Lock()
		r.sum.Products.Read += len(batch)
		r.mu.Unlock()
		select {
		case out <- batch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, func(rj catalog.Rejection) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sum.Products.Read++
		r.sum.Products.Rejected[rj.Reason]++
		r.sum.Rejections = append(r.sum.Rejections, Rejected{Row: rj.Row, ID: rj.ID, Reason: rj.Reason, Detail: rj.Detail})
		if rj.ID != "" {
			rejectedIDs[rj.ID] = true
		}
	})
	r.timed("read", t0)
	r.mu.Lock()
	r.sum.Products.Skipped = rd.Skipped()
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("read catalog: %w", err)
	}
	return nil
}

// encodeBatches extracts, encodes and assigns each batch of in, and sends
// the batch with its items to out.
func (ix *Indexer) encodeBatches(ctx context.Context, r *run, seen map[string]bool, in <-chan []catalog.Product, out chan<- extracted) error {
	extractors := append([]extract.Extractor{extract.Tags{}}, ix.opts.Extractors...)
	var clf *pixelcolor.Classifier
	if ix.opts.Pixel != nil && len(ix.opts.Pixel.Classes) > 0 {
		clf = ix.opts.Pixel
	}
	mode := pixelsOnly
	if ir, _ := ix.imageReader(); ir != nil {
		mode = pixelsSkipped
		if ix.opts.Arbiter.PixelWeight() > 0 {
			mode = pixelsPooled
		}
	}
	for batch := range in {
		t0 := time.Now()
		its, texts, err := extractBatch(ctx, extractors, batch)
		if err != nil {
			return err
		}
		if clf != nil {
			if err := pixelEvidence(ctx, clf, mode, batch, texts, its); err != nil {
				return err
			}
		}
		r.timed("extract", t0)
		t1 := time.Now()
		vecs, pvecs, err := ix.vectors(ctx, batch, texts, seen)
		if err != nil {
			return err
		}
		for i := range its {
			its[i].product.Vector = vecs[i]
		}
		r.timed("encode", t1)
		if ix.opts.Assigner != nil {
			t2 := time.Now()
			if pvecs, err = ix.assign(ctx, batch, texts, vecs, pvecs, its); err != nil {
				return err
			}
			r.timed("assign", t2)
		}
		if pvecs != nil {
			for i := range its {
				its[i].pvec = pvecs[i]
			}
		}
		select {
		case out <- extracted{products: batch, items: its}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// imagePixels says what the pixel classifier does with a product known by
// its image alone.
type imagePixels int

const (
	// pixelsOnly: no colour net; the classifier's colours are its
	// evidence, as for any product.
	pixelsOnly imagePixels = iota
	// pixelsPooled: the colour net reads it, pooled with the classifier's
	// probabilities (kept in item.pixelProbs); the classifier's colours
	// stay as evidence only where the net's row is unusable (imageColour).
	pixelsPooled
	// pixelsSkipped: the colour net reads it alone (pixel weight 0): the
	// classifier does not read it.
	pixelsSkipped
)

// pixelEvidence reads the batch's images with the pixel classifier clf.
// A product's most probable colours join its evidence, beside the
// model's, weighed by the arbiter in stage B, not raw extraction; a
// product without text is read as mode says.
func pixelEvidence(ctx context.Context, clf *pixelcolor.Classifier, mode imagePixels, batch []catalog.Product, texts []string, its []item) error {
	at := make([]int, 0, len(batch))
	sub := make([]catalog.Product, 0, len(batch))
	for i, p := range batch {
		if texts[i] != "" || mode != pixelsSkipped {
			at, sub = append(at, i), append(sub, p)
		}
	}
	feats, err := pixelcolor.FeaturesOf(ctx, sub)
	if err != nil {
		return fmt.Errorf("extract %s: %w", pixelcolor.Source, err)
	}
	for j, x := range feats {
		if x == nil {
			continue // no image or no foreground: no pixel evidence
		}
		i := at[j]
		p := clf.Probabilities(x)
		if mode == pixelsPooled && texts[i] == "" {
			its[i].pixelProbs = p
		}
		its[i].model = append(its[i].model, pixelcolor.Attrs(clf.Guesses(p, pixelcolor.Top, pixelcolor.AltMinP))...)
	}
	return nil
}

// extractBatch runs the extractors over a batch and returns its items,
// with their merged raw attributes, and the texts to encode.
func extractBatch(ctx context.Context, extractors []extract.Extractor, batch []catalog.Product) ([]item, []string, error) {
	lists := make([][][]extract.Attr, len(extractors))
	for i, x := range extractors {
		l, err := x.Extract(ctx, batch)
		if err != nil {
			return nil, nil, fmt.Errorf("extract %s: %w", x.Source(), err)
		}
		lists[i] = l
	}
	its := make([]item, len(batch))
	texts := make([]string, len(batch))
	for i, p := range batch {
		per := make([][]extract.Attr, len(lists))
		for j := range lists {
			per[j] = lists[j][i]
		}
		its[i] = item{product: store.Product{ID: p.ID, Title: p.Title, Price: p.Price}, row: p.Row, desc: p.Description, raw: extract.Merge(per...)}
		texts[i] = extract.Text(p)
	}
	return its, texts, nil
}

// assign runs Options.Assigner over a batch and adds the attributes it
// assigns to its items, and the colour net's colours, pooled with the
// pixel classifier's by the calibration's weight (pixelcolor.Pool), to
// those of the products without text (see imageReader). It returns the product
// vectors: pvecs when given, else those the product tower computed (nil
// when the assigner has none).
func (ix *Indexer) assign(ctx context.Context, batch []catalog.Product, texts []string, vecs, pvecs [][]float32, its []item) ([][]float32, error) {
	hasText := make([]bool, len(vecs))
	tv := make([][]float32, len(vecs))
	for i := range vecs {
		if texts[i] != "" {
			hasText[i], tv[i] = true, vecs[i]
		}
	}
	var assigned [][]store.Attribute
	var lps [][]float32 // colour log-probabilities of the products without text, when read with pvecs
	var err error
	ir, colours := ix.imageReader()
	if pe, ok := ix.opts.Assigner.(ProductEmbedder); ok {
		if pvecs == nil {
			if ir != nil {
				pvecs, lps, err = ir.EmbedImages(ctx, batch, tv)
			} else {
				pvecs, err = pe.EmbedProducts(ctx, batch, tv)
			}
			if err != nil {
				return nil, fmt.Errorf("assign attributes: %w", err)
			}
		}
		assigned = pe.AssignVectors(pvecs, hasText)
	} else if assigned, err = ix.opts.Assigner.Assign(ctx, batch, tv); err != nil {
		return nil, fmt.Errorf("assign attributes: %w", err)
	}
	if ir != nil {
		// Products known by their image alone, also those whose image
		// shows the pixel classifier no foreground (a white product on
		// the white studio background): the net reads them.
		var at []int
		for i := range batch {
			if !hasText[i] {
				at = append(at, i)
			}
		}
		rows := make([][]float32, len(at))
		if lps != nil {
			for j, i := range at {
				rows[j] = lps[i]
			}
		} else if len(at) > 0 {
			// Precomputed product vectors: the images are read here, once.
			ps := make([]catalog.Product, len(at))
			for j, i := range at {
				ps[j] = batch[i]
			}
			if rows, err = ir.ImageLogProbs(ctx, ps); err != nil {
				return nil, fmt.Errorf("read image-only colours: %w", err)
			}
		}
		var pixClasses []string
		if ix.opts.Pixel != nil {
			pixClasses = ix.opts.Pixel.Classes
		}
		w := ix.opts.Arbiter.PixelWeight()
		for j, i := range at {
			lp := pixelcolor.Pool(colours, rows[j], pixClasses, its[i].pixelProbs, w)
			its[i].model = imageColour(pixelcolor.NetTop(colours, lp, pixelcolor.Top, pixelcolor.AltMinP), its[i].model)
			its[i].pixelProbs = nil // read; the items live until the run ends
		}
	}
	for i, as := range assigned {
		for _, a := range as {
			its[i].model = append(its[i].model, extract.Attr{Key: a.Key, Value: a.Value, Surface: a.Value, Source: SourceModel, Confidence: a.Score})
		}
	}
	return pvecs, nil
}

// imageReader returns the Assigner as the ImageReader of products known
// by their image alone, and the colours it reads; nil when it reads none
// (the pixel classifier's colours serve).
func (ix *Indexer) imageReader() (ImageReader, []string) {
	if _, ok := ix.opts.Assigner.(ProductEmbedder); !ok {
		return nil, nil
	}
	ir, ok := ix.opts.Assigner.(ImageReader)
	if !ok {
		return nil, nil
	}
	if cs := ir.ImageColours(); len(cs) > 0 {
		return ir, cs
	}
	return nil, nil
}

// imageColour replaces the pixel classifier's colours in the evidence of
// a product known by its image alone with gs, what the colour net read.
// The evidence stays as it is when gs is empty (a row that does not match
// the net's colours): the pixel classifier's colours, unless the net
// reads such products alone (pixelsSkipped), when it is left without
// colour evidence.
func imageColour(gs []pixelcolor.Guess, evidence []extract.Attr) []extract.Attr {
	if len(gs) == 0 {
		return evidence
	}
	out := make([]extract.Attr, 0, len(evidence)+len(gs))
	for _, a := range evidence {
		if a.Source != pixelcolor.Source {
			out = append(out, a)
		}
	}
	return append(out, pixelcolor.Attrs(gs)...)
}

// packImages adds the images of each batch of in to pack and appends its
// items to items, reporting progress.
func (ix *Indexer) packImages(r *run, pack *imagepack.Writer, in <-chan extracted, items *[]item) error {
	for e := range in {
		t0 := time.Now()
		for _, p := range e.products {
			if err := pack.Add(p.ID, p.ImageFormat, p.Image); err != nil {
				return err
			}
		}
		*items = append(*items, e.items...)
		r.timed("images", t0)
		r.mu.Lock()
		p := Progress{Read: r.sum.Products.Read, Indexed: len(*items), Rejected: len(r.sum.Rejections)}
		r.mu.Unlock()
		if ix.opts.Progress != nil {
			ix.opts.Progress(p)
		}
	}
	return nil
}

// vectors returns a batch's text vectors, and its product vectors when
// they were precomputed (nil otherwise): from Precomputed when set, else
// from the encoder.
func (ix *Indexer) vectors(ctx context.Context, batch []catalog.Product, texts []string, seen map[string]bool) ([][]float32, [][]float32, error) {
	pre := ix.opts.Precomputed
	if pre == nil {
		vecs, err := ix.enc.Embed(ctx, texts)
		if err != nil {
			return nil, nil, fmt.Errorf("encode products: %w", err)
		}
		return vecs, nil, nil
	}
	vecs := make([][]float32, len(batch))
	var pvecs [][]float32
	for i, p := range batch {
		v, pv, ok := pre.Lookup(p.ID)
		if !ok {
			return nil, nil, fmt.Errorf("precomputed embeddings: catalog product %q has none; embed this catalog again, or index without --embeddings", p.ID)
		}
		if len(v) != ix.enc.Dim() {
			return nil, nil, fmt.Errorf("precomputed embeddings: product %q has %d values, the text encoder %d", p.ID, len(v), ix.enc.Dim())
		}
		seen[p.ID] = true
		vecs[i] = v
		if pv != nil {
			if pvecs == nil {
				pvecs = make([][]float32, len(batch))
			}
			pvecs[i] = pv
		}
	}
	if pvecs != nil {
		for i := range pvecs {
			if pvecs[i] == nil {
				return nil, nil, fmt.Errorf("precomputed embeddings: product %q has no product vector", batch[i].ID)
			}
		}
	}
	if _, ok := ix.opts.Assigner.(ProductEmbedder); ok && pvecs == nil && ix.opts.Assigner != nil {
		return nil, nil, errors.New("precomputed embeddings have no product vectors, and the dual encoder in use needs them")
	}
	return vecs, pvecs, nil
}

// unmatched reports precomputed embeddings of products that this run did
// not read (nor reject): they come from another catalog.
func (ix *Indexer) unmatched(seen, rejected map[string]bool) error {
	if ix.opts.Precomputed == nil {
		return nil
	}
	var extra []string
	for _, id := range ix.opts.Precomputed.IDs() {
		if ix.opts.ShardCount > 1 && !catalog.InShard(id, ix.opts.Shard, ix.opts.ShardCount) {
			continue
		}
		if !seen[id] && !rejected[id] {
			extra = append(extra, id)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	show := extra[:min(5, len(extra))]
	return fmt.Errorf("precomputed embeddings: %d products are not in the catalog, e.g. %q; they were embedded from another catalog", len(extra), show)
}

// keepEmbeddings writes the items' vectors into dir in the layout of
// package embeddings, with product vectors when every item has one, and
// the attribute embeddings as attributes.parquet.
func keepEmbeddings(dir, model string, dim int, items []item, attrs []embeddings.Attribute) error {
	m := embeddings.Meta{Model: model, Dim: dim, ProductDim: len(items[0].pvec)}
	for i := range items {
		if len(items[i].pvec) != m.ProductDim {
			m.ProductDim = 0 // mixed: keep the text vectors alone
			break
		}
	}
	w, err := embeddings.NewWriter(dir, m, 0)
	if err != nil {
		return fmt.Errorf("keep embeddings: %w", err)
	}
	for i := range items {
		p := embeddings.Product{ID: items[i].product.ID, Vector: items[i].product.Vector}
		if m.ProductDim > 0 {
			p.ProductVector = items[i].pvec
		}
		if err := w.Write([]embeddings.Product{p}); err != nil {
			return fmt.Errorf("keep embeddings: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("keep embeddings: %w", err)
	}
	if len(attrs) > 0 {
		m.AttributeDim = len(attrs[0].Vector)
		if err := embeddings.WriteAttributes(dir, m, attrs); err != nil {
			return fmt.Errorf("keep embeddings: %w", err)
		}
	}
	return nil
}
