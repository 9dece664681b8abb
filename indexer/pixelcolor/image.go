package pixelcolor

import (
	_ "embed"
	"fmt"
)

// The image-only classifier reads, for a product known by its image
// alone, the pixel features together with what the dual encoder reads of
// the image (its image-only product vector and its colour net's
// log-probabilities): the encoder sees the garment where colour
// statistics see a person's skin and clothes as well.

// ImageVersion names the image-only classifier's input for the image
// vectors of imageVersion (the dual encoder's ImageVersion).
func ImageVersion(imageVersion string) string {
	return FeatureVersion + "+dual-image:" + imageVersion
}

// ImageInput is the image-only classifier's input: the image vector,
// then the pixel features.
func ImageInput(vec, features []float32) []float32 {
	return append(append(make([]float32, 0, len(vec)+len(features)), vec...), features...)
}

//go:embed classifier-image.json
var imageClassifierJSON []byte

// DefaultImageClassifier returns the shipped image-only classifier if it
// reads image vectors of imageVersion and size dim, and nil otherwise
// (another encoder: the pixel classifier alone serves).
func DefaultImageClassifier(imageVersion string, dim int) (*Classifier, error) {
	c, err := ParseClassifierOf(imageClassifierJSON, ImageVersion(imageVersion), dim+NumFeatures)
	if err != nil {
		return nil, fmt.Errorf("image classifier: %w", err)
	}
	return c, nil
}

// ReadImage returns up to top colours of a product known by its image
// alone from its image vector and pixel features, as
// attributes of Source (most probable first, see Top and AltMinP).
func (c *Classifier) ReadImage(vec, features []float32, top int) []Guess {
	if features == nil || vec == nil {
		return nil
	}
	return c.Top(ImageInput(vec, features), top, AltMinP)
}
