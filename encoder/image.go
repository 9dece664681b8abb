package encoder

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Image geometry of the product tower. Catalog images (mostly 60x80
// portraits) are scaled to fit ImageWidth x ImageHeight keeping their aspect
// ratio and centred on white.
const (
	ImageHeight   = 64
	ImageWidth    = 48
	ImageChannels = 3
	// ImageSize is the number of values of one preprocessed image.
	ImageSize = ImageChannels * ImageHeight * ImageWidth
)

// PreprocessImage turns a decoded image into ImageSize bytes, channel-major
// (CHW, RGB): the image is composited over white, scaled with an exact area
// average (box filter with fractional pixel coverage) to fit the frame
// keeping its aspect ratio, centred on a white frame and rounded to 8 bits.
// The algorithm is deterministic and pure Go; the training set holds these
// very bytes, so training and serving see the same pixels.
func PreprocessImage(img image.Image) ([]byte, error) {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if sw <= 0 || sh <= 0 {
		return nil, fmt.Errorf("preprocess image: empty image %dx%d", sw, sh)
	}
	src := toRGB(img)
	// Fit inside the frame.
	scale := math.Min(float64(ImageWidth)/float64(sw), float64(ImageHeight)/float64(sh))
	dw := max(1, min(ImageWidth, int(math.Round(float64(sw)*scale))))
	dh := max(1, min(ImageHeight, int(math.Round(float64(sh)*scale))))
	ox, oy := (ImageWidth-dw)/2, (ImageHeight-dh)/2
	wx := boxWeights(sw, dw)
	wy := boxWeights(sh, dh)

	out := make([]byte, ImageSize)
	for i := range out {
		out[i] = 255
	}
	// Horizontal pass: sh rows of dw pixels.
	tmp := make([]float64, sh*dw*3)
	for y := range sh {
		row := src[y*sw*3 : (y+1)*sw*3]
		for x, ws := range wx {
			var r, g, bl float64
			for _, w := range ws {
				p := row[w.i*3:]
				r += w.w * p[0]
				g += w.w * p[1]
				bl += w.w * p[2]
			}
			t := tmp[(y*dw+x)*3:]
			t[0], t[1], t[2] = r, g, bl
		}
	}
	// Vertical pass into the frame.
	plane := ImageHeight * ImageWidth
	for y, ws := range wy {
		for x := range dw {
			var r, g, bl float64
			for _, w := range ws {
				t := tmp[(w.i*dw+x)*3:]
				r += w.w * t[0]
				g += w.w * t[1]
				bl += w.w * t[2]
			}
			at := (oy+y)*ImageWidth + ox + x
			out[at] = to8(r)
			out[plane+at] = to8(g)
			out[2*plane+at] = to8(bl)
		}
	}
	return out, nil
}

// NormalizeImage maps preprocessed bytes to the product tower's input:
// (v/255 - mean[c]) / std[c] per channel, appended to dst.
func NormalizeImage(dst []float32, pix []byte, mean, std [3]float32) []float32 {
	plane := len(pix) / ImageChannels
	for c := range ImageChannels {
		for _, v := range pix[c*plane : (c+1)*plane] {
			dst = append(dst, (float32(v)/255-mean[c])/std[c])
		}
	}
	return dst
}

// tap is one source pixel's weight in an output pixel.
type tap struct {
	i int
	w float64
}

// boxWeights returns, for each of n output pixels, the source pixels of a
// length-m axis it covers and their coverage, summing to 1.
func boxWeights(m, n int) [][]tap {
	out := make([][]tap, n)
	step := float64(m) / float64(n)
	for o := range n {
		lo, hi := float64(o)*step, float64(o+1)*step
		for i := int(math.Floor(lo)); i < m && float64(i) < hi; i++ {
			w := math.Min(hi, float64(i+1)) - math.Max(lo, float64(i))
			if w > 1e-12 {
				out[o] = append(out[o], tap{i, w / step})
			}
		}
	}
	return out
}

// to8 rounds a [0, 255] value to a byte, half away from zero.
func to8(v float64) byte {
	return byte(math.Min(255, math.Max(0, math.Round(v))))
}

// toRGB returns the image's pixels as row-major RGB values in [0, 255],
// composited over white. Common decoder outputs take a fast path.
func toRGB(img image.Image) []float64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float64, w*h*3)
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			for x := range w {
				v := float64(m.Pix[(y)*m.Stride+x])
				o := (y*w + x) * 3
				out[o], out[o+1], out[o+2] = v, v, v
			}
		}
		return out
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				o := (y*w + x) * 3
				out[o], out[o+1], out[o+2] = float64(r), float64(g), float64(bl)
			}
		}
		return out
	}
	for y := range h {
		for x := range w {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA() // premultiplied, 16 bit
			white := float64(0xffff - a)
			o := (y*w + x) * 3
			out[o] = (float64(r) + white) / 257
			out[o+1] = (float64(g) + white) / 257
			out[o+2] = (float64(bl) + white) / 257
		}
	}
	return out
}
