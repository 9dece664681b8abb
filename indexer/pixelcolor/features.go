package pixelcolor

import (
	"image"
	"math"
)

// The feature vector's layout (FeatureVersion names it; a change to any
// part changes the version, which invalidates cached features and the
// shipped classifier).
const (
	// FeatureVersion names the layout below.
	FeatureVersion = "lab-hist-v1"
	// lBins × abBins × abBins cells of the foreground histogram.
	lBins, abBins = 6, 8
	// cLBins × cABBins × cABBins cells of the central region's histogram.
	cLBins, cABBins = 4, 5
	histLen         = lBins * abBins * abBins
	centralLen      = cLBins * cABBins * cABBins
	clusterLen      = 4 * k
	// NumFeatures is the length of a feature vector: the two histograms,
	// the dominant clusters (L, a, b, share each), the foreground and
	// central shares, the mean and spread of L, a, b and the mean chroma.
	NumFeatures = histLen + centralLen + clusterLen + 2 + 6 + 1
)

// abEdges bins a and b finely near the neutral axis, where black, navy,
// grey, white and off-white differ, and coarsely in saturated colour.
var (
	abEdges  = [abBins - 1]float64{-30, -15, -6, 0, 6, 15, 30}
	cABEdges = [cABBins - 1]float64{-15, -4, 4, 15}
)

// bin returns the index of x among the bins that edges separate.
func bin(x float64, edges []float64) int {
	i := 0
	for i < len(edges) && x >= edges[i] {
		i++
	}
	return i
}

// lBin returns x's lightness bin of n equal bins over [0, 100].
func lBin(l float64, n int) int {
	return min(n-1, max(0, int(l*float64(n)/100)))
}

// Features returns the classifier's input for img: a CIELAB histogram
// of the foreground (each pixel weighs 1/foreground), a coarser one of
// the foreground within the middle half of each side (where the product
// stands, away from the model's face and hair), the dominant k-means
// clusters, the foreground's share of the image and of it the central
// share, and the foreground's mean and spread. It returns false when the
// image is (almost) all background.
func Features(img image.Image) ([]float32, bool) {
	fg, total, ok := foreground(img)
	if !ok {
		return nil, false
	}
	return featuresOf(fg, total), true
}

// featuresOf computes the feature vector of foreground pixels fg out of
// total grid pixels.
func featuresOf(fg fgPixels, total int) []float32 {
	f := make([]float64, NumFeatures)
	hist, central := f[:histLen], f[histLen:histLen+centralLen]
	n := float64(len(fg.px))
	nc := 0
	var sum, sum2 Lab
	chroma := 0.0
	for i, p := range fg.px {
		hist[(lBin(p[0], lBins)*abBins+bin(p[1], abEdges[:]))*abBins+bin(p[2], abEdges[:])]++
		if fg.central[i] {
			central[(lBin(p[0], cLBins)*cABBins+bin(p[1], cABEdges[:]))*cABBins+bin(p[2], cABEdges[:])]++
			nc++
		}
		for d := range 3 {
			sum[d] += p[d]
			sum2[d] += p[d] * p[d]
		}
		chroma += math.Hypot(p[1], p[2])
	}
	for i := range hist {
		hist[i] /= n
	}
	if nc > 0 {
		for i := range central {
			central[i] /= float64(nc)
		}
	}
	o := histLen + centralLen
	for i, c := range dominantOf(fg.px) {
		f[o+4*i], f[o+4*i+1], f[o+4*i+2], f[o+4*i+3] = c.Lab[0]/100, c.Lab[1]/100, c.Lab[2]/100, c.Share
	}
	o += clusterLen
	f[o], f[o+1] = n/float64(total), float64(nc)/n
	o += 2
	for d := range 3 {
		mean := sum[d] / n
		f[o+d] = mean / 100
		f[o+3+d] = math.Sqrt(max(0, sum2[d]/n-mean*mean)) / 100
	}
	f[o+6] = chroma / n / 100
	out := make([]float32, len(f))
	for i, x := range f {
		out[i] = float32(x)
	}
	return out
}
