package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"lander/catalog"
	"lander/eval/attreval"
	"lander/eval/labels"
	"lander/indexer/arbitrate"
	"lander/indexer/extract"
	"lander/llm"
)

// TestFitPixelWeight checks that the pooled weight of the pixel
// classifier grows with what its readings add to the colour net's: next
// to none when they are noise, some when they are right more often than
// not.
func TestFitPixelWeight(t *testing.T) {
	colours := []string{"blue", "red", "green"}
	pixClasses := []string{"green", "red", "blue", "white"}
	build := func(pixelRight float64) ([]evidence, labels.Set) {
		rng := rand.New(rand.NewPCG(7, 9))
		lab := labels.Set{}
		var evs []evidence
		for i := range 600 {
			y := rng.IntN(len(colours))
			id := fmt.Sprint(i)
			lab[id] = labels.New("", map[string]string{"baseColour": colours[y]})
			// The net: right 60% of the time, with probability 0.5.
			guess := y
			if rng.Float64() > 0.6 {
				guess = (y + 1 + rng.IntN(2)) % len(colours)
			}
			lp := make([]float32, len(colours))
			for c := range lp {
				lp[c] = float32(math.Log(0.25))
				if c == guess {
					lp[c] = float32(math.Log(0.5))
				}
			}
			// The pixels: right with probability pixelRight, else a
			// random colour, each time sure at 0.7.
			pc := colours[y]
			if rng.Float64() > pixelRight {
				pc = pixClasses[rng.IntN(len(pixClasses))]
			}
			pix := make([]float64, len(pixClasses))
			for j, c := range pixClasses {
				pix[j] = 0.1
				if c == pc {
					pix[j] = 0.7
				}
			}
			evs = append(evs, evidence{id: id, netLogProbs: lp, pixelProbs: pix})
		}
		return evs, lab
	}
	cs := colourSpace{net: colours, pixel: pixClasses}
	evs, lab := build(0)
	noise, _, _ := fitPixelWeight(evs, cs, lab)
	evs, lab = build(0.8)
	useful, _, loss := fitPixelWeight(evs, cs, lab)
	// Noise can lower a sample's log-loss a little by chance.
	if noise > 0.1 {
		t.Errorf("pixels that are noise: weight %v, want at most 0.1", noise)
	}
	if useful < 0.3 || math.IsNaN(loss) {
		t.Errorf("pixels right 80%% of the time: weight %v (log-loss %v), want at least 0.3", useful, loss)
	}
	evs, lab = build(0.8)
	for i := range evs {
		evs[i].netLogProbs = nil // no colour net
	}
	if w, _, loss := fitPixelWeight(evs, cs, lab); w != 0 || !math.IsNaN(loss) {
		t.Errorf("no colour net: weight %v, log-loss %v, want 0 and NaN", w, loss)
	}
	// poolImageColours reads the pooled colours first: with the useful
	// pixels' weight, more products' first colour is right.
	evs, lab = build(0.8)
	right := func() (n int) {
		for _, e := range evs {
			if len(e.pixelImage) > 0 && lab[e.id].Match("color", e.pixelImage[0].Value) {
				n++
			}
		}
		return n
	}
	poolImageColours(evs, cs, 0)
	alone := right()
	poolImageColours(evs, cs, useful)
	if pooled := right(); pooled <= alone {
		t.Errorf("first colour right for %d pooled, %d with the net alone", pooled, alone)
	}
}

// TestFitPixelWeightScale checks the scale of the log-probabilities: a
// net whose log-probabilities are twice a calibrated reading's is best
// read at half scale. Without pixel readings every weight reads the same,
// and the tie goes to weight 0.
func TestFitPixelWeightScale(t *testing.T) {
	colours := []string{"blue", "red", "green"}
	rng := rand.New(rand.NewPCG(3, 5))
	lab := labels.Set{}
	var evs []evidence
	for i := range 3000 {
		first := rng.IntN(len(colours))
		p := []float64{0.1, 0.1, 0.1}
		p[first], p[(first+1)%3] = 0.6, 0.3
		u, y := rng.Float64(), 0
		for y = range p {
			if u -= p[y]; u < 0 {
				break
			}
		}
		id := fmt.Sprint(i)
		lab[id] = labels.New("", map[string]string{"baseColour": colours[y]})
		lp := make([]float32, len(p))
		for c := range p {
			lp[c] = float32(2 * math.Log(p[c]))
		}
		evs = append(evs, evidence{id: id, netLogProbs: lp})
	}
	w, scale, _ := fitPixelWeight(evs, colourSpace{net: colours}, lab)
	if w != 0 {
		t.Errorf("no pixel readings: weight %v, want 0", w)
	}
	if scale < 0.45 || scale > 0.6 {
		t.Errorf("scale %v, want about 0.5", scale)
	}
}

// vlmRecorder answers VLM requests: a category from the title when there
// is one, a colour otherwise; it records each request's metadata text.
type vlmRecorder struct {
	mu    sync.Mutex
	metas []string
}

func (v *vlmRecorder) Complete(_ context.Context, req llm.Request) (string, error) {
	meta := req.Messages[1].Content[0].Text
	v.mu.Lock()
	v.metas = append(v.metas, meta)
	v.mu.Unlock()
	if strings.HasPrefix(meta, "Title: \n") {
		return `{"attributes":[{"key":"color","value":"black","confidence":0.8}]}`, nil
	}
	return `{"attributes":[{"key":"category","value":"shirts","confidence":0.9}]}`, nil
}

// TestAskVLMWithholdsTags checks that the evaluation asks the VLM about
// each product as the evaluator's catalogues hold it: with its title and
// image, then with the image alone, and never with its merchant tags.
func TestAskVLMWithholdsTags(t *testing.T) {
	rec := &vlmRecorder{}
	vlm, err := extract.NewVLM(extract.VLMOptions{Client: rec, Model: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	ps := []catalog.Product{
		{ID: "1", Title: "Acme Men Black Shirt", Image: []byte("jpeg 1"), ImageFormat: "jpeg", Tags: map[string]string{"articletype": "Shirts", "basecolour": "Black"}},
		{ID: "2", Title: "Acme Women Red Dress", Image: []byte("jpeg 2"), ImageFormat: "jpeg", Tags: map[string]string{"articletype": "Dresses"}},
	}
	withText, imageOnly, err := askVLM(context.Background(), vlm, ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.metas) != 4 {
		t.Fatalf("%d requests, want 2 per product", len(rec.metas))
	}
	titled := 0
	for _, m := range rec.metas {
		if strings.Contains(m, "Merchant tags") || strings.Contains(m, "Shirts") || strings.Contains(m, "Dresses") {
			t.Errorf("the VLM was told the tags: %q", m)
		}
		if strings.HasPrefix(m, "Title: Acme") {
			titled++
		}
	}
	if titled != 2 {
		t.Errorf("%d requests with a title, want 2", titled)
	}
	for i := range ps {
		if len(withText[i]) != 1 || withText[i][0].Value != "shirts" || withText[i][0].Source != extract.SourceVLM {
			t.Errorf("product %d with its title: %+v", i, withText[i])
		}
		if len(imageOnly[i]) != 1 || imageOnly[i][0].Value != "black" {
			t.Errorf("product %d with the image alone: %+v", i, imageOnly[i])
		}
	}
	if a, b, err := askVLM(context.Background(), nil, ps); a != nil || b != nil || err != nil {
		t.Errorf("no VLM: %v, %v, %v", a, b, err)
	}
}

// TestFitArbitrationVLM checks that a VLM's answers are calibrated like
// any other source's, apart with the title and with the image alone, and
// that the arbitration and the per-source rows read them.
func TestFitArbitrationVLM(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	lab := labels.Set{}
	var evs []evidence
	colours := []string{"black", "white", "red"}
	for i := range 400 {
		id := fmt.Sprint(i)
		y := colours[rng.IntN(len(colours))]
		lab[id] = labels.New("Acme Shirt", map[string]string{"articleType": "Shirts", "baseColour": y})
		// With the image alone the VLM is sure and right, or unsure and
		// wrong; with the title it names the category, always right.
		conf, c := float32(0.9), y
		if i%4 == 0 {
			conf, c = 0.6, colours[(slices.Index(colours, y)+1)%len(colours)]
		}
		evs = append(evs, evidence{id: id, title: "Acme Shirt",
			vlm:      []extract.Attr{{Key: "category", Value: "shirts", Source: extract.SourceVLM, Confidence: 0.7}},
			vlmImage: []extract.Attr{{Key: "color", Value: c, Source: extract.SourceVLM, Confidence: conf}}})
	}
	h, cal := fitArbitration(evs, lab, "test", "m")
	img, ok := cal.Curves["vlm-image/color"]
	if !ok {
		t.Fatalf("no vlm-image/color curve: %v", slices.Collect(maps.Keys(cal.Curves)))
	}
	if p := img.At(0.9); p < 0.99 {
		t.Errorf("sure image-only answers, right every time: calibrated %v", p)
	}
	if p := img.At(0.6); p > 0.01 {
		t.Errorf("unsure image-only answers, wrong every time: calibrated %v", p)
	}
	if p := cal.P("vlm/category", 0.7); p < 0.99 {
		t.Errorf("the title's category, always right at 0.7: calibrated %v", p)
	}
	srcs := evidenceSources(evs, arbitrate.New(cal, h, nil), true)
	if n := len(srcs); n != 11 || srcs[9].Name != "vlm (title+image)" || srcs[10].Name != "vlm (image only)" {
		t.Fatalf("%d sources, want the VLM's two last", n)
	}
	rep := attreval.Evaluate("t", slices.Collect(maps.Keys(lab)), srcs, lab, attreval.Keys)
	score := func(src, key string) attreval.KeyScore {
		for _, s := range rep.Sources {
			for _, k := range s.Keys {
				if s.Source == src && k.Key == key {
					return k
				}
			}
		}
		t.Fatalf("no %s %s in the report", src, key)
		return attreval.KeyScore{}
	}
	// Arbitrated with the image alone: the sure answers kept, the unsure
	// ones dropped, so every kept colour is right.
	arb := score("arbitrated (image only)", "color")
	if arb.Assigned != 300 || arb.Precision != 1 {
		t.Errorf("arbitrated image-only colour: %+v, want the 300 sure answers, all right", arb)
	}
	if c := score("arbitrated (title+image)", "category"); c.Assigned != 400 || c.Precision != 1 {
		t.Errorf("arbitrated category: %+v, want the VLM's 400", c)
	}
	if len(evidenceSources(evs, arbitrate.New(cal, h, nil), false)) != 9 {
		t.Error("rows for a VLM that was not asked")
	}
}
