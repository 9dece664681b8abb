package demo

import (
	"image"
	"image/color"
	"math"
)

// Pixel kinds on a canvas.
const (
	kBackground uint8 = iota
	kBody             // the product's colour and pattern
	kSole             // light grey sole
	kMetal            // steel
	kFace             // white watch face
	kDetail           // outline-coloured seams, laces, hands
)

// canvas records which kind of surface each pixel shows; shapes are shifted
// by (dx, dy).
type canvas struct {
	dx, dy float64
	kind   [Width * Height]uint8
}

func newCanvas(dx, dy int) *canvas { return &canvas{dx: float64(dx), dy: float64(dy)} }

// fill sets every pixel whose centre satisfies in to kind k.
func (c *canvas) fill(k uint8, in func(x, y float64) bool) {
	for y := range Height {
		for x := range Width {
			if in(float64(x)+0.5-c.dx, float64(y)+0.5-c.dy) {
				c.kind[y*Width+x] = k
			}
		}
	}
}

// poly fills the polygon given as x0, y0, x1, y1, ... (even-odd rule).
func (c *canvas) poly(k uint8, pts ...float64) {
	c.fill(k, func(x, y float64) bool {
		in := false
		n := len(pts) / 2
		for i, j := 0, n-1; i < n; j, i = i, i+1 {
			xi, yi, xj, yj := pts[2*i], pts[2*i+1], pts[2*j], pts[2*j+1]
			if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
				in = !in
			}
		}
		return in
	})
}

func (c *canvas) rect(k uint8, x0, y0, x1, y1 float64) {
	c.fill(k, func(x, y float64) bool { return x >= x0 && x < x1 && y >= y0 && y < y1 })
}

func (c *canvas) ellipse(k uint8, cx, cy, rx, ry float64) {
	c.fill(k, func(x, y float64) bool {
		u, v := (x-cx)/rx, (y-cy)/ry
		return u*u+v*v <= 1
	})
}

// ring fills an elliptical band of the given thickness above y = maxY.
func (c *canvas) ring(k uint8, cx, cy, rx, ry, thick, maxY float64) {
	c.fill(k, func(x, y float64) bool {
		if y > maxY {
			return false
		}
		u, v := (x-cx)/rx, (y-cy)/ry
		a, b := (x-cx)/(rx-thick), (y-cy)/(ry-thick)
		return u*u+v*v <= 1 && a*a+b*b > 1
	})
}

// line draws a detail line over non-background pixels.
func (c *canvas) line(x0, y0, x1, y1 float64) {
	steps := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= steps; i++ {
		t := float64(i) / float64(steps)
		x := int(math.Floor(x0 + t*(x1-x0) + c.dx))
		y := int(math.Floor(y0 + t*(y1-y0) + c.dy))
		if x >= 0 && x < Width && y >= 0 && y < Height && c.kind[y*Width+x] != kBackground {
			c.kind[y*Width+x] = kDetail
		}
	}
}

// accent is the pattern colour that contrasts with base.
func accent(base color.RGBA) color.RGBA {
	lum := 0.299*float64(base.R) + 0.587*float64(base.G) + 0.114*float64(base.B)
	if lum < 128 {
		return color.RGBA{238, 238, 238, 255}
	}
	return color.RGBA{50, 50, 50, 255}
}

// patterned reports whether (x, y) of a body shows the pattern colour.
func patterned(pattern string, x, y int) bool {
	switch pattern {
	case "striped":
		return y%8 < 3
	case "checked":
		return x%10 < 2 || y%10 < 2
	case "printed":
		ox := 0
		if (y/10)%2 == 1 {
			ox = 5
		}
		u, v := (x+ox)%10-5, y%10-5
		return u*u+v*v <= 4
	}
	return false
}

// render paints the canvas: the body in base with its pattern, a dark
// outline around every shape.
func (c *canvas) render(base color.RGBA, pattern string) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, Width, Height))
	acc := accent(base)
	for y := range Height {
		for x := range Width {
			k := c.kind[y*Width+x]
			var col color.RGBA
			switch k {
			case kBackground:
				col = background
			case kBody:
				col = base
				if patterned(pattern, x-int(c.dx), y-int(c.dy)) {
					col = acc
				}
			case kSole:
				col = soleColor
			case kMetal:
				col = steel
			case kFace:
				col = color.RGBA{250, 250, 250, 255}
			default:
				col = outline
			}
			if k != kBackground && c.edge(x, y) {
				col = outline
			}
			img.SetRGBA(x, y, col)
		}
	}
	return img
}

// edge reports whether a shape pixel touches the background.
func (c *canvas) edge(x, y int) bool {
	for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
		nx, ny := x+d[0], y+d[1]
		if nx < 0 || nx >= Width || ny < 0 || ny >= Height || c.kind[ny*Width+nx] == kBackground {
			return true
		}
	}
	return false
}

func drawTShirt(c *canvas) {
	c.rect(kBody, 30, 30, 66, 104)
	c.poly(kBody, 30, 30, 12, 44, 20, 56, 31, 48)
	c.poly(kBody, 66, 30, 84, 44, 76, 56, 65, 48)
	c.ellipse(kBackground, 48, 29, 8, 5)
}

func drawShirt(c *canvas) {
	c.rect(kBody, 30, 28, 66, 106)
	c.poly(kBody, 30, 28, 16, 38, 12, 94, 21, 96, 29, 52)
	c.poly(kBody, 66, 28, 80, 38, 84, 94, 75, 96, 67, 52)
	c.poly(kBody, 40, 22, 56, 22, 58, 30, 48, 38, 38, 30) // collar
	c.line(48, 38, 48, 106)
	c.line(40, 24, 48, 38)
	c.line(56, 24, 48, 38)
	for y := 46.0; y < 104; y += 12 {
		c.line(50, y, 51, y)
	}
}

func drawDress(c *canvas) {
	c.rect(kBody, 36, 24, 60, 54)
	c.rect(kBody, 37, 12, 41, 24)
	c.rect(kBody, 55, 12, 59, 24)
	c.poly(kBody, 36, 52, 60, 52, 80, 116, 16, 116)
	c.line(36, 54, 60, 54)
}

func drawTrousers(c *canvas) {
	c.poly(kBody, 28, 12, 68, 12, 70, 118, 52, 118, 48, 44, 44, 118, 26, 118)
	c.line(28, 20, 68, 20)
}

func drawJeans(c *canvas) {
	drawTrousers(c)
	c.line(34, 20, 40, 32) // pockets and fly
	c.line(62, 20, 56, 32)
	c.line(48, 20, 48, 40)
	c.line(37, 60, 37, 116)
	c.line(60, 60, 60, 116)
}

func drawJacket(c *canvas) {
	c.rect(kBody, 26, 26, 70, 108)
	c.poly(kBody, 26, 26, 12, 36, 8, 98, 18, 100, 25, 54)
	c.poly(kBody, 70, 26, 84, 36, 88, 98, 78, 100, 71, 54)
	c.poly(kBody, 36, 18, 60, 18, 62, 28, 48, 30, 34, 28)
	c.line(48, 30, 48, 108)
	c.line(36, 22, 46, 52)
	c.line(60, 22, 50, 52)
	c.rect(kDetail, 32, 78, 42, 79)
	c.rect(kDetail, 54, 78, 64, 79)
}

func drawSneakers(c *canvas) {
	c.poly(kBody, 10, 96, 12, 80, 34, 74, 54, 58, 68, 60, 72, 74, 88, 84, 88, 96)
	c.rect(kSole, 8, 96, 90, 106)
	for i := 0.0; i < 4; i++ {
		c.line(40+i*5, 72-i*3, 46+i*5, 76-i*3)
	}
	c.line(12, 88, 88, 90)
}

func drawHeels(c *canvas) {
	c.poly(kBody, 10, 100, 12, 90, 32, 86, 54, 74, 66, 60, 82, 56, 84, 70, 66, 82, 40, 100)
	c.rect(kBody, 74, 68, 81, 112)
	c.line(12, 98, 40, 98)
}

func drawBoots(c *canvas) {
	c.poly(kBody, 40, 20, 64, 20, 64, 96, 14, 96, 14, 86, 24, 80, 40, 76)
	c.rect(kSole, 12, 96, 66, 106)
	c.line(40, 26, 64, 26)
	c.line(52, 28, 52, 74)
}

func drawHandbag(c *canvas) {
	c.poly(kBody, 20, 60, 76, 60, 86, 112, 10, 112)
	c.ring(kBody, 48, 62, 20, 28, 4, 60)
	c.line(20, 72, 76, 72)
	c.rect(kMetal, 44, 68, 52, 76)
}

func drawBackpack(c *canvas) {
	c.ellipse(kBody, 48, 40, 24, 16)
	c.rect(kBody, 24, 40, 72, 116)
	c.ring(kBody, 48, 26, 8, 8, 3, 26)
	c.rect(kBody, 32, 76, 64, 108)
	c.line(32, 76, 64, 76)
	c.line(32, 76, 32, 108)
	c.line(64, 76, 64, 108)
	c.line(34, 48, 62, 48)
}

func drawWatch(c *canvas) {
	c.rect(kBody, 34, 4, 62, 124)
	c.ellipse(kMetal, 48, 64, 17, 17)
	c.ellipse(kFace, 48, 64, 13, 13)
	c.line(48, 64, 48, 55)
	c.line(48, 64, 55, 68)
	for y := 16.0; y < 44; y += 8 {
		c.line(36, y, 60, y)
	}
	for y := 88.0; y < 120; y += 8 {
		c.line(36, y, 60, y)
	}
}
