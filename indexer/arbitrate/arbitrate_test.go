package arbitrate

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lander/indexer/extract"
)

func text(k, v string) extract.Attr {
	return extract.Attr{Key: k, Value: v, Source: extract.SourceText, Confidence: 0.9}
}

func model(k, v string, score float32, assigned bool) extract.Attr {
	src := SourceModel
	if !assigned {
		src = SourceCandidate
	}
	return extract.Attr{Key: k, Value: v, Source: src, Confidence: score}
}

// testArbiter calibrates text at 0.8 (0.55 for generic categories and
// multi-colour titles) and keeps the model's and pixels' raw scores.
func testArbiter() *Arbiter {
	flat := func(p float64) Curve { return Curve{X: []float64{0, 1}, Y: []float64{p, p}, N: []int{100, 100}} }
	cal := &Calibration{Curves: map[string]Curve{
		"text/category": flat(0.8), "text/color": flat(0.8), "text/gender": flat(0.8),
		"text/category-generic": flat(0.55), "text/color-multi": flat(0.55),
	}}
	h := NewHierarchy(map[string][]string{"casual shoes": {"shoes"}, "sports shoes": {"shoes"}, "watches": {"watches"}, "kurtas": {"topwear"}})
	return New(cal, h, nil)
}

// decided returns key=value/source for the arbitrated keys.
func decided(raw, model []extract.Attr) []string {
	var out []string
	for _, a := range append(raw, model...) {
		out = append(out, a.Key+"="+a.Value+"/"+a.Source)
	}
	return out
}

func TestDecide(t *testing.T) {
	a := testArbiter()
	tests := []struct {
		name string
		ev   Evidence
		want []string
	}{
		{"generic word never overrides the model's leaf",
			Evidence{Title: "Puma Men Shoes", HasText: true, Raw: []extract.Attr{text("category", "shoes")},
				Model: []extract.Attr{model("category", "casual shoes", 0.4, false)}},
			[]string{"category=casual shoes/model"}}, // 0.4 alone is too weak; with the generic word's support it passes
		{"generic word alone stands",
			Evidence{Title: "Puma Men Shoes", HasText: true, Raw: []extract.Attr{text("category", "shoes")}},
			[]string{"category=shoes/text"}},
		{"generic word against an unrelated leaf loses to a confident model",
			Evidence{Title: "Puma Men Shoes", HasText: true, Raw: []extract.Attr{text("category", "shoes")},
				Model: []extract.Attr{model("category", "kurtas", 0.9, true)}},
			[]string{"category=kurtas/model"}},
		{"multi-colour title: the model's colour is primary, the other secondary",
			Evidence{Title: "Blue & White Check Shirt", HasText: true, Raw: []extract.Attr{text("color", "blue"), text("color", "white")},
				Model: []extract.Attr{model("color", "white", 0.3, false)}},
			[]string{"color=blue/secondary", "color=white/text"}},
		{"multi-colour title without other evidence: word order",
			Evidence{Title: "White & Blue Check Shirt", HasText: true, Raw: []extract.Attr{text("color", "blue"), text("color", "white")}},
			[]string{"color=blue/secondary", "color=white/text"}},
		{"merchant tags win",
			Evidence{Title: "Red Shirt", HasText: true, Raw: []extract.Attr{{Key: "color", Value: "maroon", Source: extract.SourceTag, Confidence: 1}, text("color", "red")},
				Model: []extract.Attr{model("color", "red", 0.99, true)}},
			[]string{"color=maroon/tag"}},
		{"a weak candidate alone is dropped",
			Evidence{HasText: false, Model: []extract.Attr{model("gender", "men", 0.3, false)}},
			nil},
		{"other keys pass through without candidates",
			Evidence{Title: "x", HasText: true, Raw: []extract.Attr{text("pattern", "striped")},
				Model: []extract.Attr{model("season", "summer", 0.9, true), model("occasion", "casual", 0.2, false)}},
			[]string{"pattern=striped/text", "season=summer/model"}},
		{"pixel colour serves an image-only product",
			Evidence{Raw: nil, Model: []extract.Attr{{Key: "color", Value: "black", Source: SourcePixel, Confidence: 0.9}}},
			[]string{"color=black/pixel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, model := a.Decide(tt.ev)
			if diff := cmp.Diff(tt.want, decided(raw, model)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFitIsotonic(t *testing.T) {
	// Scores 0.1..0.9; the right share rises with the score but with a dip
	// that pooling must remove.
	var obs []Observation
	rights := []int{1, 3, 2, 5, 6, 6, 8, 9, 10} // of 10 per score
	for i, r := range rights {
		for j := range 10 {
			obs = append(obs, Observation{Score: float64(i+1) / 10, Right: j < r})
		}
	}
	c := FitIsotonic(obs, 10)
	for i := 1; i < len(c.Y); i++ {
		if c.Y[i] < c.Y[i-1] || c.X[i] <= c.X[i-1] {
			t.Fatalf("curve not monotone: %+v", c)
		}
	}
	if got := c.At(0.25); got < 0.2 || got > 0.3 {
		t.Errorf("At(0.25) = %v, want the pooled 0.25 of scores 0.2 and 0.3", got)
	}
	if got, want := c.At(1), 1.0; got != want {
		t.Errorf("At(1) = %v, want %v", got, want)
	}
	if got := c.At(0); got != 0.1 {
		t.Errorf("At(0) = %v, want the first block's 0.1", got)
	}
}

func TestFitIsotonicNaN(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		obs  []Observation
		want Curve
	}{
		{"only NaN", []Observation{{Score: nan, Right: true}, {Score: nan}}, Curve{}},
		{"NaN skipped", []Observation{{Score: 0.2}, {Score: nan, Right: true}, {Score: 0.8, Right: true}, {Score: nan}},
			Curve{X: []float64{0.2, 0.8}, Y: []float64{0, 1}, N: []int{1, 1}}},
		{"infinities kept", []Observation{{Score: math.Inf(-1)}, {Score: math.Inf(1), Right: true}},
			Curve{X: []float64{math.Inf(-1), math.Inf(1)}, Y: []float64{0, 1}, N: []int{1, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan Curve, 1)
			go func() { done <- FitIsotonic(tc.obs, 1) }()
			select {
			case got := <-done:
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("FitIsotonic did not return")
			}
		})
	}
}

func TestShippedData(t *testing.T) {
	if _, err := Default(); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCalibration([]byte(`{"curves":{"x":{"x":[0.5,0.2],"y":[1,1]}}}`)); err == nil {
		t.Error("a decreasing curve parsed")
	}
	if _, err := ParseHierarchy([]byte(`{`)); err == nil {
		t.Error("bad JSON parsed")
	}
}

func TestKind(t *testing.T) {
	a := testArbiter()
	ev := Evidence{Title: "Rocia Women Black Sandals", HasText: true,
		Raw:   []extract.Attr{text("category", "sandals"), text("color", "black"), text("gender", "women")},
		Model: []extract.Attr{model("category", "flats", 0.7, true), model("color", "black", 0.9, true)}}
	tests := []struct {
		at   extract.Attr
		want string
	}{
		{ev.Raw[0], "text/category-disputed"},
		{ev.Model[0], "model/category-disputed"},
		{ev.Raw[1], "text/color"},
		{ev.Model[1], "model/color"},
		{ev.Raw[2], "text/gender"}, // the model said nothing
		{text("category", "shoes"), "text/category-generic"},
	}
	for _, tt := range tests {
		if got := a.Kind(ev, tt.at, 1); got != tt.want {
			t.Errorf("Kind(%s=%s/%s) = %q, want %q", tt.at.Key, tt.at.Value, tt.at.Source, got, tt.want)
		}
	}
	// A leaf and its generic parent agree.
	ev2 := Evidence{HasText: true, Raw: []extract.Attr{text("category", "shoes")}, Model: []extract.Attr{model("category", "casual shoes", 0.9, true)}}
	if got := a.Kind(ev2, ev2.Model[0], 0); got != "model/category" {
		t.Errorf("leaf under its parent word: %q", got)
	}
	if got := a.Kind(Evidence{HasText: false}, model("color", "red", 0.5, false), 0); got != "model-image/color" {
		t.Errorf("image only: %q", got)
	}
	// A VLM's answer has its own curve, apart with the image alone.
	vlm := extract.Attr{Key: "category", Value: "flats", Source: extract.SourceVLM, Confidence: 0.8}
	if got := a.Kind(ev, vlm, 1); got != "vlm/category" {
		t.Errorf("VLM with the title: %q", got)
	}
	if got := a.Kind(Evidence{HasText: false, Raw: []extract.Attr{vlm}}, vlm, 0); got != "vlm-image/category" {
		t.Errorf("VLM with the image alone: %q", got)
	}
	// With the image alone, the model and the pixels dispute a colour;
	// with a title, the pixels keep one curve.
	px := func(v string) extract.Attr {
		return extract.Attr{Key: "color", Value: v, Source: SourcePixel, Confidence: 0.7}
	}
	for _, tt := range []struct {
		name string
		ev   Evidence
		at   extract.Attr
		want string
	}{
		{"pixel alone", Evidence{Raw: []extract.Attr{px("red")}}, px("red"), "pixel-image/color"},
		{"pixel agrees", Evidence{Raw: []extract.Attr{px("red")}, Model: []extract.Attr{model("color", "Red", 0.4, false)}}, px("red"), "pixel-image/color-agreed"},
		{"model agrees with the pixels", Evidence{Raw: []extract.Attr{px("red")}, Model: []extract.Attr{model("color", "Red", 0.4, false)}}, model("color", "Red", 0.4, false), "model-image/color-agreed"},
		{"pixel disputed", Evidence{Raw: []extract.Attr{px("red")}, Model: []extract.Attr{model("color", "pink", 0.4, false)}}, px("red"), "pixel-image/color-disputed"},
		{"model disputed by pixel", Evidence{Raw: []extract.Attr{px("red")}, Model: []extract.Attr{model("color", "pink", 0.4, false)}}, model("color", "pink", 0.4, false), "model-image/color-disputed"},
		{"pixel in the model list", Evidence{Model: []extract.Attr{model("color", "pink", 0.4, true), px("red")}}, px("red"), "pixel-image/color-disputed"},
		{"pixel with a title", Evidence{HasText: true, Raw: []extract.Attr{px("red")}, Model: []extract.Attr{model("color", "pink", 0.4, false)}}, px("red"), "pixel/color"},
		{"second pixel colour", Evidence{Raw: []extract.Attr{px("red"), {Key: "color", Value: "pink", Source: SourcePixel, Confidence: 0.2}}}, extract.Attr{Key: "color", Value: "pink", Source: SourcePixel, Confidence: 0.2}, "pixel-image/color-alt"},
		{"model agrees with the second pixel colour", Evidence{Raw: []extract.Attr{px("red"), {Key: "color", Value: "pink", Source: SourcePixel, Confidence: 0.2}}, Model: []extract.Attr{model("color", "pink", 0.4, false)}}, model("color", "pink", 0.4, false), "model-image/color-disputed"},
		{"model with a title, pixel differs", Evidence{HasText: true, Raw: []extract.Attr{px("red")}, Model: []extract.Attr{model("color", "pink", 0.4, false)}}, model("color", "pink", 0.4, false), "model/color"},
	} {
		if got := a.Kind(tt.ev, tt.at, 0); got != tt.want {
			t.Errorf("%s: Kind = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzCalibration(f *testing.F) {
	f.Add([]byte(`{"curves":{"model/color":{"x":[0.1,0.5,0.9],"y":[0.2,0.6,0.95]}}}`), 0.3)
	f.Add([]byte(`{"curves":{"a":{"x":[],"y":[]}}}`), -1.0)
	f.Add([]byte(`{"curves":{},"pixel_weight":0.35}`), 0.5)
	f.Add([]byte(`{"curves":{},"pixel_weight":-1}`), 0.5)
	f.Fuzz(func(t *testing.T, b []byte, x float64) {
		c, err := ParseCalibration(b)
		if err != nil {
			return
		}
		if w := New(c, nil, nil).PixelWeight(); !(w >= 0 && w <= 10) {
			t.Fatalf("pixel weight %v accepted", w)
		}
		for _, cv := range c.Curves {
			p := cv.At(x)
			lo, hi := 0.0, 0.0
			if len(cv.Y) > 0 {
				lo, hi = slices.Min(cv.Y), slices.Max(cv.Y)
				if !math.IsNaN(x) && (p < lo-1e-9 || p > hi+1e-9) {
					t.Fatalf("At(%v) = %v outside the curve's [%v, %v]", x, p, lo, hi)
				}
			}
		}
	})
}

// TestImageAgreement checks that with the image alone the dual encoder's
// colour, when the pixels' first colour agrees, adds nothing to the
// pixels' probability (their agreement curve holds both), and that a
// disputed pair keeps the stronger value.
func TestImageAgreement(t *testing.T) {
	a := New(nil, NewHierarchy(nil), map[string]float64{"image/color": 0})
	px := extract.Attr{Key: "color", Value: "red", Source: SourcePixel, Confidence: 0.7}
	for _, tt := range []struct {
		name  string
		model extract.Attr
		want  string
		p     float32
	}{
		{"agree", model("color", "red", 0.6, false), "red", 0.7},
		{"dispute, pixels stronger", model("color", "pink", 0.6, false), "red", 0.7},
		{"dispute, model stronger", model("color", "pink", 0.9, true), "pink", 0.9},
	} {
		raw, m := a.Decide(Evidence{Raw: []extract.Attr{px}, Model: []extract.Attr{tt.model}})
		var got []extract.Attr
		for _, x := range append(raw, m...) {
			if x.Key == "color" {
				got = append(got, x)
			}
		}
		if len(got) != 1 || got[0].Value != tt.want || math.Abs(float64(got[0].Confidence-tt.p)) > 1e-6 {
			t.Errorf("%s: %+v, want %s at %v", tt.name, got, tt.want, tt.p)
		}
	}
}

// TestParsePixelWeight checks that a calibration's pixel weight reaches
// the arbiter, and that one outside [0, 10] is refused.
func TestParsePixelWeight(t *testing.T) {
	for _, tt := range []struct {
		json string
		want float64
		err  bool
	}{
		{`{"curves":{}}`, 0, false},
		{`{"curves":{},"pixel_weight":0.35}`, 0.35, false},
		{`{"curves":{},"pixel_weight":-0.1}`, 0, true},
		{`{"curves":{},"pixel_weight":11}`, 0, true},
	} {
		c, err := ParseCalibration([]byte(tt.json))
		if (err != nil) != tt.err {
			t.Errorf("%s: error %v, want error %v", tt.json, err, tt.err)
			continue
		}
		if err == nil && New(c, nil, nil).PixelWeight() != tt.want {
			t.Errorf("%s: weight %v, want %v", tt.json, New(c, nil, nil).PixelWeight(), tt.want)
		}
	}
	if w := New(nil, nil, nil).PixelWeight(); w != 0 {
		t.Errorf("no calibration: weight %v", w)
	}
}
