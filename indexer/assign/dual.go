package assign

import (
	"context"
	"errors"
	"fmt"

	"lander/catalog"
	"lander/embeddings"
	"lander/encoder"
	"lander/indexer"
	"lander/store"
)

// Dual is the indexer's assigner, with the product tower's steps apart.
var (
	_ indexer.ProductEmbedder = (*Dual)(nil)
	_ indexer.ImageReader     = (*Dual)(nil)
)

// Dual assigns the trained dual encoder's vocabulary to products: it runs
// the product tower (encoder.Product) on each product's image and text
// embedding, then applies the calibrated rule of Model. It is the
// indexer's model assigner.
type Dual struct {
	prod   *encoder.Product
	colour *encoder.Colour // nil: the model ships no colour net
	model  *Model
}

// DualOptions configures OpenDual.
type DualOptions struct {
	// Library is the ONNX Runtime shared library.
	Library string
	// Dir holds the trained model: the towers and model.json.
	Dir string
	// Threads is the intra-op thread count; 0 is the runtime's default.
	Threads int
}

// OpenDual loads the product tower and the assignment parameters from
// o.Dir. Close releases the tower.
func OpenDual(o DualOptions) (*Dual, error) {
	prod, err := encoder.NewProduct(encoder.DualOptions{LibraryPath: o.Library, Dir: o.Dir, Threads: o.Threads})
	if err != nil {
		return nil, err
	}
	m, err := Load(o.Dir)
	if err != nil {
		prod.Close()
		return nil, err
	}
	col, err := encoder.NewColour(encoder.DualOptions{LibraryPath: o.Library, Dir: o.Dir, Threads: o.Threads})
	if errors.Is(err, encoder.ErrNoColour) {
		col, err = nil, nil
	}
	if err != nil {
		prod.Close()
		return nil, err
	}
	return &Dual{prod: prod, colour: col, model: m}, nil
}

// Version names the dual encoder, for the manifest.
func (d *Dual) Version() string { return d.prod.Info().Version }

// EvidenceVersion names the model whose scores the arbitration reads
// (arbitrate.Calibration.Model): the dual encoder, and its colour net if
// any.
func (d *Dual) EvidenceVersion() string {
	if d.colour == nil {
		return d.Version()
	}
	return d.Version() + "+" + d.colour.Info().Version
}

// Assign runs the product tower on each product's image and text
// embedding (nil: no text) and applies the calibrated assignment rule.
func (d *Dual) Assign(ctx context.Context, products []catalog.Product, textVecs [][]float32) ([][]store.Attribute, error) {
	vecs, err := d.EmbedProducts(ctx, products, textVecs)
	if err != nil {
		return nil, err
	}
	hasText := make([]bool, len(textVecs))
	for i, v := range textVecs {
		hasText[i] = v != nil
	}
	return d.AssignVectors(vecs, hasText), nil
}

// EmbedProducts runs the product tower on each product's image and text
// embedding (nil: no text).
func (d *Dual) EmbedProducts(ctx context.Context, products []catalog.Product, textVecs [][]float32) ([][]float32, error) {
	pix, err := pixels(ctx, products)
	if err != nil {
		return nil, err
	}
	return d.embed(ctx, pix, textVecs)
}

// EmbedImages is EmbedProducts, and also the colour net's
// log-probabilities (ImageLogProbs) for each product without text (nil
// for the others), from the same decoded images: decoding and
// preprocessing cost as much as the colour net. Without a colour net it
// is EmbedProducts.
func (d *Dual) EmbedImages(ctx context.Context, products []catalog.Product, textVecs [][]float32) (pvecs, logProbs [][]float32, err error) {
	pix, err := pixels(ctx, products)
	if err != nil {
		return nil, nil, err
	}
	if pvecs, err = d.embed(ctx, pix, textVecs); err != nil {
		return nil, nil, err
	}
	logProbs = make([][]float32, len(products))
	if d.colour == nil {
		return pvecs, logProbs, nil
	}
	var at []int
	var sub [][]byte
	for i, tv := range textVecs {
		if tv == nil {
			at = append(at, i)
			sub = append(sub, pix[i])
		}
	}
	if len(at) == 0 {
		return pvecs, logProbs, nil
	}
	lp, err := d.colour.LogProbs(ctx, sub)
	if err != nil {
		return nil, nil, err
	}
	for j, i := range at {
		logProbs[i] = lp[j]
	}
	return pvecs, logProbs, nil
}

// embed runs the product tower on preprocessed pixels and text embeddings.
func (d *Dual) embed(ctx context.Context, pix [][]byte, textVecs [][]float32) ([][]float32, error) {
	in := make([]encoder.ProductInput, len(pix))
	for i := range pix {
		in[i] = encoder.ProductInput{Pixels: pix[i], TextEmbedding: textVecs[i]}
	}
	return d.prod.Embed(ctx, in)
}

// pixels decodes and preprocesses each product's image for the towers.
func pixels(ctx context.Context, products []catalog.Product) ([][]byte, error) {
	out := make([][]byte, len(products))
	for i, p := range products {
		img, err := catalog.DecodeImage(ctx, p.Image)
		if err != nil {
			return nil, fmt.Errorf("decode image of %s: %w", p.ID, err)
		}
		if out[i], err = encoder.PreprocessImage(img); err != nil {
			return nil, fmt.Errorf("preprocess image of %s: %w", p.ID, err)
		}
	}
	return out, nil
}

// AssignVectors applies the calibrated assignment rule to product vectors.
// Each exclusive key's best value below its threshold comes too, as a
// candidate (Model.Evidence), for the indexer's arbitration.
func (d *Dual) AssignVectors(vecs [][]float32, hasText []bool) [][]store.Attribute {
	out := make([][]store.Attribute, len(vecs))
	for i, v := range vecs {
		out[i] = d.model.Evidence(v, hasText[i])
	}
	return out
}

// Model returns the assignment rule.
func (d *Dual) Model() *Model { return d.model }

// ProductDim is the length of the product tower's vectors.
func (d *Dual) ProductDim() int { return d.prod.Dim() }

// AttributeEmbeddings returns the shipped vocabulary's attribute vectors.
func (d *Dual) AttributeEmbeddings() []embeddings.Attribute {
	voc := d.prod.Info().Vocabulary
	out := make([]embeddings.Attribute, len(voc))
	for i, v := range voc {
		out[i] = embeddings.Attribute{Key: v.Key, Value: v.Value, Vector: v.Vector}
	}
	return out
}

// ImageColours names the colours of ImageLogProbs' rows, in order; nil
// when the model ships no colour net.
func (d *Dual) ImageColours() []string {
	if d.colour == nil {
		return nil
	}
	return d.colour.Info().Classes
}

// ImageLogProbs returns the colour net's log-probabilities over
// ImageColours for each product's image; nil rows without a colour net.
func (d *Dual) ImageLogProbs(ctx context.Context, products []catalog.Product) ([][]float32, error) {
	if d.colour == nil {
		return make([][]float32, len(products)), nil
	}
	pix, err := pixels(ctx, products)
	if err != nil {
		return nil, err
	}
	return d.colour.LogProbs(ctx, pix)
}

// Close releases the product tower and the colour net.
func (d *Dual) Close() error {
	err := d.prod.Close()
	if d.colour != nil {
		err = errors.Join(err, d.colour.Close())
	}
	return err
}
