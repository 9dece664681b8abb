// Package pixelcolor reads a product's colour from its pixels: it
// separates the product from the plain studio background (the colour of
// the image border), clusters the foreground in CIELAB (k-means), and maps
// the dominant cluster onto the curated colour vocabulary by the nearest
// learned centroid. The centroids are learned on the development
// catalogue's training split (Learn) and shipped as centroids.json. It
// serves products with an image and no title, and breaks ties between the
// colours of a multi-colour title (indexer/arbitrate).
package pixelcolor

import (
	_ "embed"
	"encoding/json"
	"fmt"
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
	// sigma2 turns centroid distances into a softmax score.
	sigma2 = 2 * 12 * 12
)

// Cluster is one colour cluster of an image's foreground.
type Cluster struct {
	Lab   Lab
	Share float64 // of the foreground
}

// Dominant returns the foreground clusters of img, largest first, or nil
// when the image is (almost) all background.
func Dominant(img image.Image) []Cluster {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 3 || h < 3 {
		return nil
	}
	step := max(1, int(math.Sqrt(float64(w*h)/sample)))
	at := labAt(img)
	bg := background(w, h, at)
	var fg []Lab
	total := 0
	for y := 0; y < h; y += step {
		for x := 0; x < w; x += step {
			total++
			if c := at(x, y); Dist2(c, bg) > bgDelta2 {
				fg = append(fg, c)
			}
		}
	}
	if float64(len(fg)) < minForeground*float64(total) || len(fg) < k {
		return nil
	}
	// A regular subsample of the foreground is enough to place k clusters,
	// at a fraction of the cost.
	if stride := (len(fg) + maxCluster - 1) / maxCluster; stride > 1 {
		sub := fg[:0]
		for i := 0; i < len(fg); i += stride {
			sub = append(sub, fg[i])
		}
		fg = sub
	}
	return kmeans(fg)
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

// Centroid is one colour value's learned position in Lab.
type Centroid struct {
	Value string `json:"value"`
	Lab   Lab    `json:"lab"`
	// N counts the training images it was learned from.
	N int `json:"n"`
}

// Palette maps Lab colours onto colour values by the nearest centroid.
type Palette struct {
	Centroids []Centroid `json:"centroids"`
}

// Guess is a colour value read from pixels with its score: the softmax of
// the negative squared distances to the centroids, summed over the
// nearest centroid's value.
type Guess struct {
	Value string
	Score float64
}

// Nearest returns the palette's best value for c.
func (p *Palette) Nearest(c Lab) (Guess, bool) {
	if p == nil || len(p.Centroids) == 0 {
		return Guess{}, false
	}
	ds := make([]float64, len(p.Centroids))
	best := 0
	for i, ct := range p.Centroids {
		ds[i] = Dist2(c, ct.Lab)
		if ds[i] < ds[best] {
			best = i
		}
	}
	// A value's weight sums over its centroids.
	var sum, mine float64
	for i, d := range ds {
		w := math.Exp(-(d - ds[best]) / sigma2)
		sum += w
		if p.Centroids[i].Value == p.Centroids[best].Value {
			mine += w
		}
	}
	return Guess{Value: p.Centroids[best].Value, Score: mine / sum}, true
}

// Read returns the colour of img's dominant foreground cluster.
func (p *Palette) Read(img image.Image) (Guess, bool) {
	cl := Dominant(img)
	if len(cl) == 0 {
		return Guess{}, false
	}
	return p.Nearest(cl[0].Lab)
}

// Learn builds a palette from labelled dominant colours: for each value
// with at least minN examples, the per-channel median of its examples'
// dominant Lab colours.
func Learn(examples map[string][]Lab, minN int) *Palette {
	p := &Palette{}
	for v, ls := range examples {
		if len(ls) < minN {
			continue
		}
		var c Lab
		for d := range 3 {
			xs := make([]float64, len(ls))
			for i, l := range ls {
				xs[i] = l[d]
			}
			sort.Float64s(xs)
			c[d] = math.Round(xs[len(xs)/2]*100) / 100
		}
		p.Centroids = append(p.Centroids, Centroid{Value: v, Lab: c, N: len(ls)})
	}
	sort.Slice(p.Centroids, func(i, j int) bool { return p.Centroids[i].Value < p.Centroids[j].Value })
	return p
}

//go:embed centroids.json
var centroidsJSON []byte

// DefaultPalette returns the palette learned on the development
// catalogue (lander eval attributes --fit), shipped with the code.
func DefaultPalette() (*Palette, error) {
	return ParsePalette(centroidsJSON)
}

// ParsePalette reads a palette file's content.
func ParsePalette(b []byte) (*Palette, error) {
	var p Palette
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse palette: %w", err)
	}
	return &p, nil
}

// Shipped is DefaultPalette for data that is part of the binary: it panics
// when the shipped file does not parse, which the package's tests rule
// out.
func Shipped() *Palette {
	p, err := DefaultPalette()
	if err != nil {
		panic(err)
	}
	return p
}

// LearnPrototypes is Learn with up to per centroids per value: k-means of
// the value's examples, seeded at lightness quantiles, so that a value
// with several looks (light and dark brown) keeps each.
func LearnPrototypes(examples map[string][]Lab, minN, per int) *Palette {
	p := &Palette{}
	for v, ls := range examples {
		if len(ls) < minN {
			continue
		}
		n := min(per, len(ls)/minN)
		for _, c := range kmeansN(ls, max(n, 1)) {
			c.Lab = Lab{math.Round(c.Lab[0]*100) / 100, math.Round(c.Lab[1]*100) / 100, math.Round(c.Lab[2]*100) / 100}
			p.Centroids = append(p.Centroids, Centroid{Value: v, Lab: c.Lab, N: int(math.Round(c.Share * float64(len(ls))))})
		}
	}
	sort.Slice(p.Centroids, func(i, j int) bool {
		a, b := p.Centroids[i], p.Centroids[j]
		if a.Value != b.Value {
			return a.Value < b.Value
		}
		return a.Lab[0] < b.Lab[0]
	})
	return p
}
