package pixelcolor

// For a product known by its image alone, the dual encoder's colour net
// (encoder.Colour) reads the colour in place of the pixel classifier: it
// sees the garment where colour statistics also see a person's skin and
// other clothes. Its probabilities are read as they are. A classifier
// fitted over them on the training split (the net's own training
// images, where it is more often right than on new ones) learned to
// trust it too much: on validation, recall at precision 0.87 was 0.473
// stacked and 0.490 read directly.

// NetTop returns up to n colours of a colour net's log-probabilities
// logProbs over classes, most probable first, each with a probability of
// at least minP (the first one always); nil when the lengths differ.
func NetTop(classes []string, logProbs []float32, n int, minP float64) []Guess {
	if len(classes) == 0 || len(logProbs) != len(classes) {
		return nil
	}
	p := make([]float64, len(logProbs))
	for i, v := range logProbs {
		p[i] = float64(v)
	}
	// Log-probabilities from float32 need not sum to one exactly.
	softmax(p)
	return top(classes, p, n, minP)
}
