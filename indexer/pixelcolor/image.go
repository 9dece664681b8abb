package pixelcolor

import "math"

// For a product known by its image alone, the dual encoder's colour net
// (encoder.Colour) reads the colour in place of the pixel classifier: it
// sees the garment where colour statistics also see a person's skin and
// other clothes. A classifier
// fitted over them on the training split (the net's own training
// images, where it is more often right than on new ones) learned to
// trust it too much: on validation, recall at precision 0.87 was 0.473
// stacked and 0.490 read directly. Pooled with the pixel classifier's
// probabilities (Pool), with a weight fitted on the validation split,
// the two read better than the net alone: their errors differ.

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

// PoolFloor is the least probability Pool gives a colour of the pixel
// classifier: a colour it rules out, or does not know (the net's
// burgundy, coffee brown and rose, too rare for the classifier), weighs
// against the colour the net names but cannot veto it. (A neutral term
// for the unknown ones instead read the same on validation: log-loss
// 0.9973 against 0.9972; 13 of 4,429 products are of those colours.)
const PoolFloor = 1e-4

// Pool returns the colour net's log-probabilities logProbs over classes
// pooled with the pixel classifier's probabilities pix over pixClasses:
// logProbs + w*log(q), q being pix on classes (floored at PoolFloor and
// renormalised), up to a constant (NetTop normalises). It returns
// logProbs as they are when w is 0, pix is nil (no foreground) or the
// lengths differ.
func Pool(classes []string, logProbs []float32, pixClasses []string, pix []float64, w float64) []float32 {
	if w == 0 || pix == nil || len(pix) != len(pixClasses) || len(logProbs) != len(classes) {
		return logProbs
	}
	at := make(map[string]int, len(pixClasses))
	for i, c := range pixClasses {
		at[c] = i
	}
	q := make([]float64, len(classes))
	sum := 0.0
	for i, c := range classes {
		q[i] = PoolFloor
		if j, ok := at[c]; ok {
			q[i] = max(pix[j], PoolFloor)
		}
		sum += q[i]
	}
	out := make([]float32, len(logProbs))
	for i, v := range logProbs {
		out[i] = v + float32(w*math.Log(q[i]/sum))
	}
	return out
}
