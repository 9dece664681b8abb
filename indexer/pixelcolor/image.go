package pixelcolor

import (
	_ "embed"
	"fmt"
)

// The image-only classifier reads, for a product known by its image
// alone, the pixel features together with the dual encoder's image-only
// product vector: the encoder sees the garment where colour statistics
// see a person's skin and clothes as well.

// ImageVersion names the image-only classifier's input for a dual encoder
// of modelVersion.
func ImageVersion(modelVersion string) string {
	return FeatureVersion + "+dual-image:" + modelVersion
}

// ImageInput is the image-only classifier's input: the product vector,
// then the pixel features.
func ImageInput(vec, features []float32) []float32 {
	return append(append(make([]float32, 0, len(vec)+len(features)), vec...), features...)
}

//go:embed classifier-image.json
var imageClassifierJSON []byte

// DefaultImageClassifier returns the shipped image-only classifier if it
// reads the vectors of the dual encoder of modelVersion and size dim, and
// nil otherwise (another encoder: the pixel classifier alone serves).
func DefaultImageClassifier(modelVersion string, dim int) (*Classifier, error) {
	c, err := ParseClassifierOf(imageClassifierJSON, ImageVersion(modelVersion), dim+NumFeatures)
	if err != nil {
		return nil, fmt.Errorf("image classifier: %w", err)
	}
	return c, nil
}

// ReadImage returns up to top colours of a product known by its image
// alone from its image-only product vector and pixel features, as
// attributes of Source (most probable first, see Top and AltMinP).
func (c *Classifier) ReadImage(vec, features []float32, top int) []Guess {
	if features == nil || vec == nil {
		return nil
	}
	return c.Top(ImageInput(vec, features), top, AltMinP)
}
