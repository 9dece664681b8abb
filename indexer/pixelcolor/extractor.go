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
	unread  atomic.Int64
}

// Unread counts the products whose image gave no colour.
func (e *Extractor) Unread() int64 { return e.unread.Load() }

var _ extract.Extractor = (*Extractor)(nil)

// NewExtractor returns an extractor over classifier c.
func NewExtractor(c *Classifier) *Extractor { return &Extractor{clf: c} }

// Source returns Source.
func (e *Extractor) Source() string { return Source }

// Extract returns at most one colour per product, with the classifier's
// probability as confidence (indexer/arbitrate calibrates it).
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
		g, ok := e.clf.Read(img)
		if !ok {
			e.unread.Add(1)
			continue
		}
		out[i] = []extract.Attr{{Key: "color", Value: g.Value, Source: Source, Confidence: float32(g.Score)}}
	}
	return out, nil
}
