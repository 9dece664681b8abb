package encoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ColourFile is the colour net's description beside the dual encoder.
const ColourFile = "colour.json"

// ErrNoColour means the model directory ships no colour net.
var ErrNoColour = errors.New("no colour net")

// ColourInfo is colour.json: the colour net, an image classifier over base
// colours fine-tuned from the product tower's image trunk (encoder/train,
// python -m dualenc.colour; an ensemble of such nets read as one). It
// reads the product tower's preprocessed image.
type ColourInfo struct {
	// Version names the net; the calibration of its colours is tied to it.
	Version string `json:"version"`
	// Model is the ONNX file: image [N,C,H,W] to log_probs [N,len(Classes)].
	Model string `json:"model"`
	// Trunk is the dual encoder version whose image trunk it starts from.
	Trunk string `json:"trunk"`
	// Classes are the colours, in output order.
	Classes []string `json:"classes"`
	// Trained says how it was trained.
	Trained string `json:"trained"`
}

// Colour is the colour net. It is safe for concurrent use.
type Colour struct {
	*tower // info is the dual encoder's model.json: the image preprocessing
	colour *ColourInfo
}

// NewColour loads dir/colour.json and its net, with the image
// preprocessing of dir/model.json. It returns an error wrapping
// ErrNoColour when dir has no colour.json. The caller must Close it.
func NewColour(opts DualOptions) (*Colour, error) {
	opts = opts.withDefaults()
	b, err := os.ReadFile(filepath.Join(opts.Dir, ColourFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", opts.Dir, ErrNoColour)
	}
	if err != nil {
		return nil, fmt.Errorf("colour net: %w", err)
	}
	var ci ColourInfo
	if err := json.Unmarshal(b, &ci); err != nil {
		return nil, fmt.Errorf("colour net %s: %w", ColourFile, err)
	}
	if ci.Version == "" || ci.Model == "" || len(ci.Classes) == 0 {
		return nil, fmt.Errorf("colour net %s: version, model and classes are required", ColourFile)
	}
	t, err := openTower("colour", opts, func(*ModelInfo) string { return ci.Model }, []string{"image"}, "log_probs")
	if err != nil {
		return nil, err
	}
	if ci.Trunk != t.info.Version {
		t.Close()
		return nil, fmt.Errorf("colour net %s: trained from %q, the model is %q", ci.Version, ci.Trunk, t.info.Version)
	}
	return &Colour{tower: t, colour: &ci}, nil
}

// Info returns the net's colour.json.
func (c *Colour) Info() *ColourInfo { return c.colour }

// Dim is the number of classes: the length of each LogProbs row.
func (c *Colour) Dim() int { return len(c.colour.Classes) }

// LogProbs returns, for each preprocessed image (PreprocessImage), the
// log-probabilities of the colour classes.
func (c *Colour) LogProbs(ctx context.Context, pixels [][]byte) ([][]float32, error) {
	out := make([][]float32, 0, len(pixels))
	for start := 0; start < len(pixels); start += c.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows := pixels[start:min(start+c.batch, len(pixels))]
		img := make([]float32, 0, len(rows)*ImageSize)
		for i, px := range rows {
			if len(px) != ImageSize {
				return nil, fmt.Errorf("colour of image %d: %d bytes, want %d", start+i, len(px), ImageSize)
			}
			img = NormalizeImage(img, px, c.info.Image.Mean, c.info.Image.Std)
		}
		flat, err := c.sess.run(ctx, len(rows), c.Dim(), [][]float32{img}, [][]int64{{ImageChannels, ImageHeight, ImageWidth}})
		if err != nil {
			return nil, fmt.Errorf("colour of images %d-%d: %w", start, start+len(rows)-1, err)
		}
		out = append(out, rows2(flat, len(rows), c.Dim())...)
	}
	return out, nil
}
