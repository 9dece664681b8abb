package pixelcolor

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"lander/catalog"
)

// studio draws a w×h image: a plain background with a centred product
// rectangle of colour fg covering the middle half of each side, and a
// small stripe of colour accent inside it.
func studio(w, h int, bg, fg, accent color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := bg
			if x >= w/4 && x < 3*w/4 && y >= h/4 && y < 3*h/4 {
				c = fg
				if y < h/4+h/16 {
					c = accent
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

var (
	white = color.RGBA{250, 250, 250, 255}
	red   = color.RGBA{200, 20, 30, 255}
	navy  = color.RGBA{20, 30, 90, 255}
	grey  = color.RGBA{235, 235, 235, 255}
	black = color.RGBA{20, 20, 20, 255}
	green = color.RGBA{30, 140, 50, 255}
)

// synthetic draws n studio images per colour: the product's colour
// jittered per image, a smaller accent of a random other colour, sizes
// and backgrounds varied; all from seed.
func synthetic(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, seed))
	colours := map[string]color.RGBA{"red": red, "navy blue": navy, "black": black, "green": green}
	names := []string{"black", "green", "navy blue", "red"}
	jitter := func(c color.RGBA, d int) color.RGBA {
		j := func(v uint8) uint8 { return uint8(min(255, max(0, int(v)+rng.IntN(2*d+1)-d))) }
		return color.RGBA{j(c.R), j(c.G), j(c.B), 255}
	}
	var out []Example
	for range n {
		for _, name := range names {
			bg := white
			if rng.IntN(2) == 0 {
				bg = grey
			}
			accent := colours[names[rng.IntN(len(names))]]
			img := studio(40+rng.IntN(30), 60+rng.IntN(30), bg, jitter(colours[name], 25), jitter(accent, 10))
			x, ok := Features(img)
			if !ok {
				continue
			}
			out = append(out, Example{X: x, Label: name})
		}
	}
	return out
}

// trainedSynthetic is a classifier trained on synthetic images, shared by
// the tests.
var trainedSynthetic = sync.OnceValues(func() (*Classifier, TrainReport) {
	opt := TrainOptions{Hidden: 16, MinN: 5, Epochs: 60, Patience: 5, Batch: 16, LR: 1e-2, Decay: 1e-4, Seed: 1}
	c, rep, err := Train(synthetic(40, 1), synthetic(10, 2), opt)
	if err != nil {
		panic(err)
	}
	return c, rep
})

func TestTrainSynthetic(t *testing.T) {
	c, rep := trainedSynthetic()
	if want := []string{"black", "green", "navy blue", "red"}; !slices.Equal(c.Classes, want) {
		t.Fatalf("classes %v, want %v", c.Classes, want)
	}
	if err := c.validate(FeatureVersion, NumFeatures); err != nil {
		t.Fatal(err)
	}
	test := synthetic(25, 3)
	right := 0
	for _, e := range test {
		if g, ok := c.Classify(e.X); ok && g.Value == e.Label {
			right++
		}
	}
	if acc := float64(right) / float64(len(test)); acc < 0.93 {
		t.Errorf("accuracy %.3f on unseen synthetic images, want >= 0.93 (report %+v)", acc, rep)
	}
	if rep.BestEpoch < 1 || rep.BestEpoch > rep.Epochs || rep.ValAccuracy < 0.93 {
		t.Errorf("report %+v", rep)
	}
}

func TestTrainDeterministic(t *testing.T) {
	opt := TrainOptions{Hidden: 8, MinN: 5, Epochs: 3, Patience: 3, Batch: 8, LR: 3e-3, Seed: 9}
	train, val := synthetic(10, 4), synthetic(4, 5)
	a, _, err := Train(train, val, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Train(train, val, opt)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Error("two runs with one seed differ")
	}
	opt.Seed = 10
	c, _, _ := Train(train, val, opt)
	if jc, _ := json.Marshal(c); bytes.Equal(ja, jc) {
		t.Error("another seed gave the same weights")
	}
}

func TestTrainErrors(t *testing.T) {
	x := make([]float32, NumFeatures)
	for _, tt := range []struct {
		name  string
		train []Example
	}{
		{"one colour", []Example{{X: x, Label: "red"}, {X: x, Label: "red"}}},
		{"too few per colour", []Example{{X: x, Label: "red"}, {X: x, Label: "blue"}}},
		{"short vector", []Example{{X: x[:3], Label: "red"}}},
	} {
		if _, _, err := Train(tt.train, nil, TrainOptions{Hidden: 2, MinN: 2, Epochs: 1, Batch: 1, LR: 1e-3}); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestRead(t *testing.T) {
	c, _ := trainedSynthetic()
	tests := []struct {
		name string
		img  image.Image
		want string
		ok   bool
	}{
		{"red product on white", studio(60, 80, white, red, navy), "red", true},
		{"navy product on light grey", studio(60, 80, grey, navy, red), "navy blue", true},
		{"white product on white reads as background only", studio(60, 80, white, white, white), "", false},
		{"too small", image.NewRGBA(image.Rect(0, 0, 2, 2)), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := c.Read(tt.img)
			if ok != tt.ok || g.Value != tt.want {
				t.Fatalf("Read = %+v, %v; want %q, %v", g, ok, tt.want, tt.ok)
			}
			if ok && (g.Score <= 0.5 || g.Score > 1) {
				t.Errorf("score %v of a clear colour not in (0.5, 1]", g.Score)
			}
		})
	}
}

func TestFeatures(t *testing.T) {
	// 60×80, product 30×40 = a quarter of the image, all within the
	// central half; a navy stripe of 5 rows of 40.
	x, ok := Features(studio(60, 80, white, red, navy))
	if !ok || len(x) != NumFeatures {
		t.Fatalf("Features: %d values, %v", len(x), ok)
	}
	sum := func(xs []float32) float64 {
		s := 0.0
		for _, v := range xs {
			s += float64(v)
		}
		return s
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-4 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("histogram mass", sum(x[:histLen]), 1)
	near("central histogram mass", sum(x[histLen:histLen+centralLen]), 1)
	o := histLen + centralLen
	redLab, navyLab := FromRGB(200, 20, 30), FromRGB(20, 30, 90)
	// The red cell holds 35 of the 40 rows.
	redCell := (lBin(redLab[0], lBins)*abBins+bin(redLab[1], abEdges[:]))*abBins + bin(redLab[2], abEdges[:])
	near("red cell", float64(x[redCell]), 35.0/40)
	navyCell := (lBin(navyLab[0], lBins)*abBins+bin(navyLab[1], abEdges[:]))*abBins + bin(navyLab[2], abEdges[:])
	near("navy cell", float64(x[navyCell]), 5.0/40)
	// The dominant cluster is the red, 7/8 of the foreground.
	if d := Dist2(Lab{float64(x[o]) * 100, float64(x[o+1]) * 100, float64(x[o+2]) * 100}, redLab); d > 16 {
		t.Errorf("dominant cluster %v, want red %v", x[o:o+3], redLab)
	}
	near("dominant share", float64(x[o+3]), 35.0/40)
	o += clusterLen
	near("foreground share", float64(x[o]), 0.25)
	near("central share", float64(x[o+1]), 1)
	if _, ok := Features(studio(60, 80, white, white, white)); ok {
		t.Error("a blank image has features")
	}
}

func TestBin(t *testing.T) {
	for _, tt := range []struct {
		x    float64
		want int
	}{{-100, 0}, {-30, 1}, {-0.5, 3}, {0, 4}, {5.9, 4}, {6, 5}, {29, 6}, {30, 7}, {1e9, 7}} {
		if got := bin(tt.x, abEdges[:]); got != tt.want {
			t.Errorf("bin(%v) = %d, want %d", tt.x, got, tt.want)
		}
	}
	for _, tt := range []struct {
		l    float64
		want int
	}{{-1, 0}, {0, 0}, {16, 0}, {17, 1}, {99.9, 5}, {100, 5}, {120, 5}} {
		if got := lBin(tt.l, lBins); got != tt.want {
			t.Errorf("lBin(%v) = %d, want %d", tt.l, got, tt.want)
		}
	}
}

func TestFromRGB(t *testing.T) {
	for _, tt := range []struct {
		r, g, b uint8
		want    Lab
	}{
		{255, 255, 255, Lab{100, 0, 0}},
		{0, 0, 0, Lab{0, 0, 0}},
		{255, 0, 0, Lab{53.24, 80.09, 67.20}},
	} {
		got := FromRGB(tt.r, tt.g, tt.b)
		if Dist2(got, tt.want) > 0.05 {
			t.Errorf("FromRGB(%d,%d,%d) = %v, want %v", tt.r, tt.g, tt.b, got, tt.want)
		}
	}
}

// TestImageColours follows the indexer's path: an image's features,
// the classifier's guesses, colour attributes of Source; an image that
// does not decode gives no features.
func TestImageColours(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, studio(60, 80, white, red, red)); err != nil {
		t.Fatal(err)
	}
	c, _ := trainedSynthetic()
	feats, err := FeaturesOf(context.Background(), []catalog.Product{{ID: "1", Image: buf.Bytes()}, {ID: "2", Image: []byte("not an image")}})
	if err != nil {
		t.Fatal(err)
	}
	if feats[0] == nil || feats[1] != nil {
		t.Fatalf("features %v, %v; want some for product 1, none for 2", feats[0] != nil, feats[1] != nil)
	}
	attrs := Attrs(c.Guesses(c.Probabilities(feats[0]), 1, AltMinP))
	if len(attrs) != 1 || attrs[0].Value != "red" || attrs[0].Source != Source || attrs[0].Key != "color" {
		t.Errorf("product 1: %+v", attrs)
	}
	if Attrs(nil) != nil {
		t.Error("no guesses gave attributes")
	}
}

func TestClassifierJSON(t *testing.T) {
	c, _ := trainedSynthetic()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseClassifier(b)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := Features(studio(60, 80, white, green, red))
	if g1, g2 := mustClassify(t, c, x), mustClassify(t, back, x); g1 != g2 {
		t.Errorf("round trip changed the guess: %+v, %+v", g1, g2)
	}
	bad := *back
	bad.Version = "other"
	if b, _ := json.Marshal(&bad); mustFail(ParseClassifier(b)) {
		t.Error("another feature version parsed")
	}
	bad = *back
	bad.B2 = bad.B2[1:]
	if b, _ := json.Marshal(&bad); mustFail(ParseClassifier(b)) {
		t.Error("short weights parsed")
	}
	if mustFail(ParseClassifier([]byte(`{"w1":"!!"}`))) {
		t.Error("bad base64 parsed")
	}
}

func mustClassify(t *testing.T, c *Classifier, x []float32) Guess {
	t.Helper()
	g, ok := c.Classify(x)
	if !ok {
		t.Fatal("no guess")
	}
	return g
}

// mustFail reports whether a parse unexpectedly succeeded.
func mustFail(_ *Classifier, err error) bool { return err == nil }

func TestShipped(t *testing.T) {
	c, err := DefaultClassifier()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Classes) < 10 {
		t.Errorf("shipped classifier has %d colours", len(c.Classes))
	}
	if _, err := ParseClassifier([]byte("{")); err == nil {
		t.Error("bad JSON parsed")
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	png.Encode(&buf, studio(8, 8, white, red, navy))
	f.Add(buf.Bytes())
	c := Shipped()
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := catalog.DecodeImage(context.Background(), b)
		if err != nil {
			return
		}
		if img.Bounds().Dx()*img.Bounds().Dy() > 1<<20 {
			return
		}
		if g, ok := c.Read(img); ok && (!(g.Score > 0) || g.Score > 1) {
			t.Fatalf("score %v out of range", g.Score)
		}
	})
}

// BenchmarkImageColours measures the indexer's pixel path on a 60×80
// JPEG, the size of the development catalogue's images: decode,
// foreground, features, classifier, guesses.
func BenchmarkImageColours(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, studio(60, 80, white, red, navy), nil); err != nil {
		b.Fatal(err)
	}
	c := Shipped()
	ps := []catalog.Product{{ID: "1", Image: buf.Bytes()}}
	for b.Loop() {
		feats, err := FeaturesOf(context.Background(), ps)
		if err != nil || feats[0] == nil {
			b.Fatal("no features", err)
		}
		_ = c.Guesses(c.Probabilities(feats[0]), Top, AltMinP)
	}
}

// TestFeaturesOfInOrder checks that FeaturesOf, which reads the images on
// every CPU, returns each product's own features in order, nil for an
// image that does not decode.
func TestFeaturesOfInOrder(t *testing.T) {
	colours := []color.RGBA{red, navy, {30, 140, 50, 255}, {240, 200, 40, 255}}
	var ps []catalog.Product
	var want [][]float32
	for i := range 64 {
		img := studio(60, 80, white, colours[i%len(colours)], colours[(i/4)%len(colours)])
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		x, _ := Features(img)
		if i%9 == 0 {
			b, x = []byte("not an image"), nil
		}
		ps = append(ps, catalog.Product{ID: string(rune('a' + i%26)), Image: b})
		want = append(want, x)
	}
	got, err := FeaturesOf(context.Background(), ps)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("product %d: features differ from its own image's", i)
		}
	}
}
