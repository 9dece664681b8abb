package pixelcolor

import "math"

// Lab is a colour in CIELAB (D65 white), where Euclidean distance follows
// perceived difference far better than in RGB.
type Lab [3]float64

// srgbLinear maps an 8-bit sRGB channel to linear light.
var srgbLinear = func() [256]float64 {
	var t [256]float64
	for i := range t {
		c := float64(i) / 255
		if c <= 0.04045 {
			t[i] = c / 12.92
		} else {
			t[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return t
}()

// FromRGB converts 8-bit sRGB to CIELAB.
func FromRGB(r, g, b uint8) Lab {
	lr, lg, lb := srgbLinear[r], srgbLinear[g], srgbLinear[b]
	x := (0.4124564*lr + 0.3575761*lg + 0.1804375*lb) / 0.95047
	y := 0.2126729*lr + 0.7151522*lg + 0.0721750*lb
	z := (0.0193339*lr + 0.1191920*lg + 0.9503041*lb) / 1.08883
	fx, fy, fz := labF(x), labF(y), labF(z)
	return Lab{116*fy - 16, 500 * (fx - fy), 200 * (fy - fz)}
}

func labF(t float64) float64 {
	const e = 216.0 / 24389
	if t > e {
		return math.Cbrt(t)
	}
	return (24389.0/27*t + 16) / 116
}

// Dist2 is the squared CIE76 colour difference.
func Dist2(a, b Lab) float64 {
	d0, d1, d2 := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return d0*d0 + d1*d1 + d2*d2
}
