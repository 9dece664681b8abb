package pixelcolor

import (
	"context"
	"sync/atomic"

	"lander/catalog"
	"lander/indexer/extract"
)

// Source names the pixel colour extractor's attributes.
const Source = "pixel"

// Extractor reads each product's colour from its image as an
// extract.Extractor. An image that does not decode or shows no
// foreground yields no attribute and is counted.
type Extractor struct {
	clf    *Classifier
	top    int
	unread atomic.Int64
}

// Alternatives bound the colours an extractor returns per product beyond
// the most probable one: up to Top in all, each at least AltMinP
// probable. The arbiter weighs each (a second colour the dual encoder
// agrees with can win over a first one it disputes).
const (
	Top     = 3
	AltMinP = 0.05
)

// Unread counts the products whose image gave no colour.
func (e *Extractor) Unread() int64 { return e.unread.Load() }

var _ extract.Extractor = (*Extractor)(nil)

// NewExtractor returns an extractor over classifier c returning up to top
// colours per product (see Top).
func NewExtractor(c *Classifier, top int) *Extractor { return &Extractor{clf: c, top: max(1, top)} }

// Source returns Source.
func (e *Extractor) Source() string { return Source }

// Extract returns up to the extractor's top colours per product, most
// probable first, with the classifier's probability as confidence
// (indexer/arbitrate calibrates it).
func (e *Extractor) Extract(ctx context.Context, products []catalog.Product) ([][]extract.Attr, error) {
	out := make([][]extract.Attr, len(products))
	for i, p := range products {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := catalog.DecodeImage(ctx, p.Image)
		if err != nil {
			e.unread.Add(1)
			continue
		}
		x, ok := Features(img)
		gs := e.clf.Top(x, e.top, AltMinP)
		if !ok || len(gs) == 0 {
			e.unread.Add(1)
			continue
		}
		for _, g := range gs {
			out[i] = append(out[i], extract.Attr{Key: "color", Value: g.Value, Source: Source, Confidence: float32(g.Score)})
		}
	}
	return out, nil
}
