package pixelcolor

import (
	"context"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

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
	feats, err := FeaturesOf(ctx, products)
	if err != nil {
		return nil, err
	}
	out := make([][]extract.Attr, len(feats))
	for i, x := range feats {
		var gs []Guess
		if x != nil {
			gs = e.clf.Top(x, e.top, AltMinP)
		}
		if len(gs) == 0 {
			e.unread.Add(1)
			continue
		}
		out[i] = Attrs(gs)
	}
	return out, nil
}

// FeaturesOf returns the pixel features of each product's image (see
// Features): nil where the image does not decode or shows no foreground.
// It reads the images on every CPU: the indexer calls it between the
// encoders' batches, when the other cores are idle.
func FeaturesOf(ctx context.Context, products []catalog.Product) ([][]float32, error) {
	out := make([][]float32, len(products))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(products)/8))
	g, gctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			for i := w; i < len(products); i += workers {
				if err := gctx.Err(); err != nil {
					return err
				}
				img, err := catalog.DecodeImage(gctx, products[i].Image)
				if err != nil {
					continue
				}
				if x, ok := Features(img); ok {
					out[i] = x
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// Attrs converts guesses to colour attributes of Source, the guess's
// probability as confidence; no guesses give nil.
func Attrs(gs []Guess) []extract.Attr {
	var out []extract.Attr
	for _, g := range gs {
		out = append(out, extract.Attr{Key: "color", Value: g.Value, Source: Source, Confidence: float32(g.Score)})
	}
	return out
}
