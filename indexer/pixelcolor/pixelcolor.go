// Package pixelcolor reads a product's colour from its pixels: it
// separates the product from the plain studio background (the colour of
// the image border), describes the foreground in CIELAB, and reads the
// colour with a small learned classifier (a softmax MLP over a
// CIELAB histogram of the foreground, its dominant clusters and its size;
// see Features and Classifier), trained on the development catalogue's
// training split (Train) and shipped as classifier.json. For a product
// known by its image alone, the dual encoder's colour net reads the colour
// instead, where the model ships one (NetTop). It serves products with an
// image and no title, and breaks ties between the colours of a
// multi-colour title (indexer/arbitrate).
package pixelcolor

import (
	"image"
	"image/color"
	"math"
	"sort"
	"sync"
)

// Options of the foreground and clustering steps.
const (
	// sample bounds the pixels read per image (a regular grid).
	sample = 64 * 64
	// bgDelta2 is the squared Lab distance from the background colour
	// beyond which a pixel is foreground.
	bgDelta2 = 12 * 12
	// minForeground is the share of foreground pixels below which the image
	// is read as background only (no colour).
	minForeground = 0.02
	// maxCluster bounds the foreground pixels k-means reads.
	maxCluster = 1024
	// k clusters and iterations of k-means.
	k, iterations = 3, 8
)

// Cluster is one colour cluster of an image's foreground.
type Cluster struct {
	Lab   Lab
	Share float64 // of the foreground
}

// Dominant returns the foreground clusters of img, largest first, or nil
// when the image is (almost) all background.
func Dominant(img image.Image) []Cluster {
	fg, _, ok := foreground(img)
	if !ok {
		return nil
	}
	return dominantOf(fg.px)
}

// dominantOf clusters foreground pixels (a regular subsample of at most
// maxCluster of them), largest cluster first.
func dominantOf(px []Lab) []Cluster {
	fg := px
	// A regular subsample of the foreground is enough to place k clusters,
	// at a fraction of the cost.
	if stride := (len(fg) + maxCluster - 1) / maxCluster; stride > 1 {
		sub := make([]Lab, 0, maxCluster)
		for i := 0; i < len(fg); i += stride {
			sub = append(sub, fg[i])
		}
		fg = sub
	}
	return kmeans(fg)
}

// fgPixels are an image's foreground pixels on the sampling grid.
type fgPixels struct {
	px []Lab
	// central marks the pixels within the middle half of each side.
	central []bool
}

// foreground returns the foreground pixels of img on a regular grid and
// the number of grid pixels read; ok is false when the image is (almost)
// all background.
func foreground(img image.Image) (fg fgPixels, total int, ok bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 3 || h < 3 {
		return fg, 0, false
	}
	step := max(1, int(math.Sqrt(float64(w*h)/sample)))
	at := labAt(img)
	bg := background(w, h, at)
	for y := 0; y < h; y += step {
		for x := 0; x < w; x += step {
			total++
			if c := at(x, y); Dist2(c, bg) > bgDelta2 {
				fg.px = append(fg.px, c)
				fg.central = append(fg.central, x >= w/4 && x < w-w/4 && y >= h/4 && y < h-h/4)
			}
		}
	}
	if float64(len(fg.px)) < minForeground*float64(total) || len(fg.px) < k {
		return fgPixels{}, total, false
	}
	return fg, total, true
}

// labAt returns a reader of img's pixels in Lab (x, y from the bounds'
// minimum), through the quantised table; JPEG's YCbCr is read without
// boxing each pixel in a color.Color.
func labAt(img image.Image) func(x, y int) Lab {
	b := img.Bounds()
	if yc, ok := img.(*image.YCbCr); ok {
		return func(x, y int) Lab {
			yi, ci := yc.YOffset(b.Min.X+x, b.Min.Y+y), yc.COffset(b.Min.X+x, b.Min.Y+y)
			r, g, bl := color.YCbCrToRGB(yc.Y[yi], yc.Cb[ci], yc.Cr[ci])
			return quantised(r, g, bl)
		}
	}
	return func(x, y int) Lab {
		r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return quantised(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
	}
}

// labTable holds the Lab colour of every sRGB colour with 5 bits per
// channel (each at its cell's centre): a cube root per channel per pixel
// is most of the extractor's time otherwise. The cells are under 2 ΔE
// wide in most of the gamut, far finer than the palette.
var labTable = sync.OnceValue(func() []Lab {
	t := make([]Lab, 1<<15)
	for i := range t {
		r, g, b := uint8(i>>10)<<3|4, uint8(i>>5&31)<<3|4, uint8(i&31)<<3|4
		t[i] = FromRGB(r, g, b)
	}
	return t
})

// quantised returns the Lab colour of (r, g, b) from labTable.
func quantised(r, g, b uint8) Lab {
	return labTable()[int(r>>3)<<10|int(g>>3)<<5|int(b>>3)]
}

// background is the per-channel median of the border pixels: the studio
// backdrop the product stands on.
func background(w, h int, at func(x, y int) Lab) Lab {
	var ch [3][]float64
	add := func(x, y int) {
		c := at(x, y)
		for i := range ch {
			ch[i] = append(ch[i], c[i])
		}
	}
	for x := 0; x < w; x++ {
		add(x, 0)
		add(x, h-1)
	}
	for y := 1; y < h-1; y++ {
		add(0, y)
		add(w-1, y)
	}
	var out Lab
	for i := range ch {
		sort.Float64s(ch[i])
		out[i] = ch[i][len(ch[i])/2]
	}
	return out
}

// kmeans clusters the pixels into k clusters.
func kmeans(px []Lab) []Cluster { return kmeansN(px, k) }

// kmeansN clusters points into n clusters, seeded at lightness quantiles
// so that the result does not depend on chance; largest first.
func kmeansN(px []Lab, n int) []Cluster {
	sorted := append([]Lab(nil), px...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
	cs := make([]Lab, n)
	for i := range cs {
		cs[i] = sorted[(2*i+1)*len(sorted)/(2*n)]
	}
	assign := make([]int, len(px))
	count := make([]int, n)
	for range iterations {
		sum := make([]Lab, n)
		clear(count)
		for i, p := range px {
			best, bd := 0, math.Inf(1)
			for j, c := range cs {
				if d := Dist2(p, c); d < bd {
					best, bd = j, d
				}
			}
			assign[i] = best
			count[best]++
			for d := range 3 {
				sum[best][d] += p[d]
			}
		}
		for j := range cs {
			if count[j] > 0 {
				for d := range 3 {
					cs[j][d] = sum[j][d] / float64(count[j])
				}
			}
		}
	}
	var out []Cluster
	for j, c := range cs {
		if count[j] > 0 {
			out = append(out, Cluster{Lab: c, Share: float64(count[j]) / float64(len(px))})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Share > out[j].Share })
	return out
}
