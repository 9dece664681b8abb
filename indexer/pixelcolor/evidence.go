package pixelcolor

import (
	"context"
	"runtime"

	"golang.org/x/sync/errgroup"

	"lander/catalog"
	"lander/indexer/extract"
)

// Source names the attributes read from an image's pixels.
const Source = "pixel"

// Alternatives bound the colours read per product beyond the most
// probable one: up to Top in all, each at least AltMinP probable. The
// arbiter weighs each (a second colour the dual encoder agrees with can
// win over a first one it disputes).
const (
	Top     = 3
	AltMinP = 0.05
)

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
