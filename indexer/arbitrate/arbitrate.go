// Package arbitrate decides, per product and key, which value the evidence
// supports: merchant tags, the title and description lexicons, the dual
// encoder (assigned values and below-threshold candidates) and the pixel
// colour extractor. Each source's raw score becomes a calibrated
// probability (Calibration, fitted on the development catalogue with tags
// withheld); agreeing sources combine; a generic category word supports
// the leaves within it (Hierarchy) and never overrides a specific leaf; a
// title naming several colours gets one primary colour, the others kept as
// secondary values for ranking only. It is the one place where evidence
// for the arbitrated keys meets.
package arbitrate

import (
	"sort"
	"strings"

	"lander/indexer/extract"
	"lander/store"
)

// Keys are the arbitrated keys: exclusive keys (one value per product)
// that both the title lexicons and the dual encoder read.
var Keys = []string{"category", "color", "gender", "occasion", "season"}

// Source names of the evidence arbitration reads and writes.
const (
	// SourceModel is the dual encoder's assigned value.
	SourceModel = "model"
	// SourceCandidate is the dual encoder's best value below its threshold.
	SourceCandidate = "model-candidate"
	// SourcePixel is the pixel colour extractor's value.
	SourcePixel = "pixel"
	// SourceSecondary marks a value kept for ranking only: a colour of a
	// multi-colour title that is not the primary one. Topic feeds and the
	// evaluation ignore it.
	SourceSecondary = store.SourceSecondary
)

// DefaultMinP is the calibrated probability a value needs to be kept.
const DefaultMinP = 0.5

// secondaryScore caps the score of a secondary value, below any primary
// one, so that it ranks but never wins an exclusive key.
const secondaryScore = 0.3

// Arbiter arbitrates the evidence of products. It is read-only and safe
// for concurrent use.
type Arbiter struct {
	cal  *Calibration
	h    *Hierarchy
	minP map[string]float64
}

// New returns an arbiter; cal and h may be nil (raw scores, no hierarchy).
// minP gives the combined probability a value needs per Mode and key
// ("title/color"); nil takes cal.MinP, and DefaultMinP where neither says.
func New(cal *Calibration, h *Hierarchy, minP map[string]float64) *Arbiter {
	if minP == nil && cal != nil {
		minP = cal.MinP
	}
	return &Arbiter{cal: cal, h: h, minP: minP}
}

// Model names the model whose scores the arbiter's calibration was fitted
// on (Calibration.Model); empty when unknown.
func (a *Arbiter) Model() string {
	if a.cal == nil {
		return ""
	}
	return a.cal.Model
}

// Calibrates reports whether the arbiter's calibration has a curve for
// any evidence of source (extract.SourceVLM, ...), with the title or the
// image alone; a source without one has its raw confidence read as a
// probability.
func (a *Arbiter) Calibrates(source string) bool {
	if a == nil || a.cal == nil {
		return false
	}
	for k := range a.cal.Curves {
		if strings.HasPrefix(k, source+"/") || strings.HasPrefix(k, source+"-image/") {
			return true
		}
	}
	return false
}

// PixelWeight returns the calibration's weight of the pixel classifier
// pooled with the colour net for a product known by its image alone
// (Calibration.PixelWeight); 0 without an arbiter or a calibration.
func (a *Arbiter) PixelWeight() float64 {
	if a == nil || a.cal == nil {
		return 0
	}
	return a.cal.PixelWeight
}

// Mode names the evidence a product offers: "title" when the dual encoder
// read text, "image" when it saw the image alone.
func Mode(ev Evidence) string {
	if ev.HasText {
		return "title"
	}
	return "image"
}

// Winner is an arbitrated key's best value before the minimum probability
// applies, for fitting that minimum.
type Winner struct {
	Key, Value string
	P          float64
}

// Winners returns the best value of each arbitrated key that has evidence
// other than merchant tags, whatever its probability.
func (a *Arbiter) Winners(ev Evidence) []Winner {
	title := " " + strings.Join(wordsOf(ev.Title), " ") + " "
	var out []Winner
	for _, k := range Keys {
		if w, ok := a.winner(ev, k, title); ok {
			out = append(out, Winner{Key: k, Value: w.attr.Value, P: w.p})
		}
	}
	return out
}

// Default returns the arbiter with the shipped calibration and hierarchy.
func Default() (*Arbiter, error) {
	cal, err := DefaultCalibration()
	if err != nil {
		return nil, err
	}
	h, err := DefaultHierarchy()
	if err != nil {
		return nil, err
	}
	return New(cal, h, nil), nil
}

// Shipped is Default for data that is part of the binary: it panics when
// the shipped files do not parse, which the package's tests rule out.
func Shipped() *Arbiter {
	a, err := Default()
	if err != nil {
		panic(err)
	}
	return a
}

// Evidence is what the sources said about one product.
type Evidence struct {
	// Title is the product title, for the order of its words.
	Title string
	// HasText says whether the dual encoder read text (title or
	// description); it selects the model's calibration.
	HasText bool
	// Raw holds the extracted attributes: tags, VLM, text, pixel.
	Raw []extract.Attr
	// Model holds the dual encoder's values (SourceModel, SourceCandidate).
	Model []extract.Attr
}

// Kind names the calibration curve of one piece of evidence: its source
// and key, refined by what the other sources say. Text and the model are
// calibrated apart when they disagree ("-disputed"), and so are, with the
// image alone, the model and the pixel colour's most probable value
// ("pixel-image/color-disputed": which of the two to believe is then a
// calibrated decision); a VLM's answers with the image alone have curves
// of their own ("vlm-image/..."); the pixels' less probable colours
// ("-alt") and a generic category word ("text/category-generic") and the
// colours of a multi-colour title ("text/color-multi") stand on their own.
func (a *Arbiter) Kind(ev Evidence, at extract.Attr, textColours int) string {
	src := at.Source
	switch src {
	case SourceModel, SourceCandidate:
		src = "model"
		if !ev.HasText {
			src = "model-image"
		}
	case extract.SourceVLM:
		// A VLM that saw the image alone is another reader than one that
		// also read the title, as the dual encoder is.
		if !ev.HasText {
			src = "vlm-image"
		}
	case SourcePixel:
		if !ev.HasText {
			src = "pixel-image"
		}
		if top, _ := topPixel(ev, at.Key); extract.Fold(top.Value) != extract.Fold(at.Value) {
			return src + "/" + at.Key + "-alt"
		}
		if !ev.HasText && a.pixelAgreed(ev, at) {
			return src + "/" + at.Key + "-agreed"
		}
	case extract.SourceText:
		switch {
		case at.Key == "category" && a.h.Generic(at.Value):
			return "text/category-generic"
		case at.Key == "color" && textColours > 1:
			return "text/color-multi"
		}
	}
	if a.subsumed(ev, at) {
		return src + "/" + at.Key + "-agreed"
	}
	if a.disputed(ev, at) {
		return src + "/" + at.Key + "-disputed"
	}
	return src + "/" + at.Key
}

// pixelAgreed reports whether the dual encoder names pixel value at.
func (a *Arbiter) pixelAgreed(ev Evidence, at extract.Attr) bool {
	for _, l := range [][]extract.Attr{ev.Raw, ev.Model} {
		for _, m := range l {
			if m.Key == at.Key && fromModel(m) && a.agree(at.Key, at.Value, m.Value) {
				return true
			}
		}
	}
	return false
}

// subsumed reports whether at is the dual encoder's value with the image
// alone and the pixels' most probable value agrees: the pixels' curve for
// agreement ("pixel-image/color-agreed") then gives the probability of
// both, rather than combining two readings of one image as if they were
// independent.
func (a *Arbiter) subsumed(ev Evidence, at extract.Attr) bool {
	if ev.HasText || !fromModel(at) {
		return false
	}
	top, ok := topPixel(ev, at.Key)
	return ok && a.agree(at.Key, at.Value, top.Value)
}

// disputed reports whether the title and the model name different values
// of at's key, at being one of them (a leaf and its generic parent agree);
// with the image alone, the model and the pixel colour.
func (a *Arbiter) disputed(ev Evidence, at extract.Attr) bool {
	var others []extract.Attr
	switch {
	case at.Source == extract.SourceText:
		for _, m := range ev.Model {
			if m.Key == at.Key && fromModel(m) {
				others = append(others, m)
			}
		}
	case fromModel(at) && ev.HasText:
		for _, t := range ev.Raw {
			if t.Key == at.Key && t.Source == extract.SourceText && t.Confidence >= textTitleConfidence {
				others = append(others, t)
			}
		}
	case fromModel(at):
		if top, ok := topPixel(ev, at.Key); ok {
			others = append(others, top)
		}
	case at.Source == SourcePixel && !ev.HasText:
		for _, l := range [][]extract.Attr{ev.Raw, ev.Model} {
			for _, x := range l {
				if x.Key == at.Key && fromModel(x) {
					others = append(others, x)
				}
			}
		}
	default:
		return false
	}
	if len(others) == 0 {
		return false
	}
	for _, o := range others {
		if a.agree(at.Key, at.Value, o.Value) {
			return false
		}
	}
	return true
}

// fromModel reports whether x comes from the dual encoder: a value it
// assigned, or its best value below threshold.
func fromModel(x extract.Attr) bool { return x.Source == SourceModel || x.Source == SourceCandidate }

// topPixel returns the most probable pixel value of key in ev.
func topPixel(ev Evidence, key string) (extract.Attr, bool) {
	var top extract.Attr
	ok := false
	for _, l := range [][]extract.Attr{ev.Raw, ev.Model} {
		for _, x := range l {
			if x.Key == key && x.Source == SourcePixel && (!ok || x.Confidence > top.Confidence) {
				top, ok = x, true
			}
		}
	}
	return top, ok
}

// agree reports whether two values of key name the same thing, or one is
// a leaf within the other.
func (a *Arbiter) agree(key, x, y string) bool {
	if extract.Fold(x) == extract.Fold(y) {
		return true
	}
	return key == "category" && (a.h.Within(x, y) || a.h.Within(y, x))
}

// P returns the calibrated probability of one piece of evidence.
func (a *Arbiter) P(ev Evidence, at extract.Attr, textColours int) float64 {
	return a.cal.P(a.Kind(ev, at, textColours), float64(at.Confidence))
}

// candidate is one value of a key with the evidence for it.
type candidate struct {
	attr  extract.Attr // the representative attribute (strongest source)
	bestP float64      // its own probability
	p     float64      // the combined probability
	pos   int          // first position in the title, or a large number
	// hasText says whether the title named the value; textAttr is that
	// text attribute.
	hasText  bool
	textAttr extract.Attr
}

// Decide arbitrates one product's evidence. It returns the raw attributes
// and the model's after arbitration: the arbitrated keys hold at most one
// value each (plus secondary colours in raw), with the combined calibrated
// probability as confidence, in the list of the source that carried it;
// other keys pass through, without the model's candidates.
func (a *Arbiter) Decide(ev Evidence) (raw, model []extract.Attr) {
	arb := map[string]bool{}
	for _, k := range Keys {
		arb[k] = true
	}
	for _, at := range ev.Raw {
		if !arb[at.Key] && at.Source != SourcePixel {
			raw = append(raw, at)
		}
	}
	for _, at := range ev.Model {
		if !arb[at.Key] && at.Source == SourceModel {
			model = append(model, at)
		}
	}
	title := " " + strings.Join(wordsOf(ev.Title), " ") + " "
	for _, k := range Keys {
		r, m := a.decideKey(ev, k, title)
		raw = append(raw, r...)
		model = append(model, m...)
	}
	sortAttrs(raw)
	sortAttrs(model)
	return raw, model
}

// ranked is one key's evidence: the merchant tags, or the candidates best
// first, with the number of colours the title names.
type ranked struct {
	tags        []extract.Attr
	cands       []*candidate
	textColours int
}

// rank gathers the evidence for key k and orders its values by combined
// probability, then by their place in the title.
func (a *Arbiter) rank(ev Evidence, k, title string) ranked {
	var r ranked
	var ev2 []extract.Attr
	for _, at := range ev.Raw {
		if at.Key != k {
			continue
		}
		if at.Source == extract.SourceTag {
			r.tags = append(r.tags, at)
			continue
		}
		if at.Source == extract.SourceText && k == "color" && at.Confidence >= textTitleConfidence {
			r.textColours++
		}
		ev2 = append(ev2, at)
	}
	if len(r.tags) > 0 { // merchant tags are the merchant's word
		return r
	}
	for _, at := range ev.Model {
		if at.Key == k {
			ev2 = append(ev2, at)
		}
	}
	byFold := map[string]*candidate{}
	var generic []extract.Attr
	for _, at := range ev2 {
		if a.subsumed(ev, at) {
			continue
		}
		if at.Source == extract.SourceText && k == "category" && a.h.Generic(at.Value) {
			generic = append(generic, at)
			continue
		}
		f := extract.Fold(at.Value)
		c, ok := byFold[f]
		if !ok {
			c = &candidate{pos: position(title, at)}
			byFold[f] = c
			r.cands = append(r.cands, c)
		} else {
			c.pos = min(c.pos, position(title, at))
		}
		c.add(at, a.P(ev, at, r.textColours))
	}
	// A generic category word supports the leaves within it and stands on
	// its own only when no source names such a leaf.
	for _, g := range generic {
		p := a.P(ev, g, r.textColours)
		supported := false
		for _, c := range r.cands {
			if a.h.Within(c.attr.Value, g.Value) {
				c.p = 1 - (1-c.p)*(1-p)
				supported = true
			}
		}
		if !supported {
			f := extract.Fold(g.Value)
			c, ok := byFold[f]
			if !ok {
				c = &candidate{pos: position(title, g)}
				byFold[f] = c
				r.cands = append(r.cands, c)
			}
			c.add(g, p)
		}
	}
	sort.SliceStable(r.cands, func(i, j int) bool {
		ci, cj := r.cands[i], r.cands[j]
		if ci.p != cj.p {
			return ci.p > cj.p
		}
		return ci.pos < cj.pos // word order breaks ties
	})
	return r
}

// winner returns key k's best candidate other than merchant tags.
func (a *Arbiter) winner(ev Evidence, k, title string) (*candidate, bool) {
	r := a.rank(ev, k, title)
	if len(r.tags) > 0 || len(r.cands) == 0 {
		return nil, false
	}
	return r.cands[0], true
}

// decideKey arbitrates key k.
func (a *Arbiter) decideKey(ev Evidence, k, title string) (raw, model []extract.Attr) {
	r := a.rank(ev, k, title)
	if len(r.tags) > 0 {
		return r.tags, nil
	}
	if len(r.cands) == 0 {
		return nil, nil
	}
	win := r.cands[0]
	minP, ok := a.minP[Mode(ev)+"/"+k]
	if !ok {
		minP = DefaultMinP
	}
	if win.p >= minP {
		at := win.attr
		at.Confidence = float32(win.p)
		if fromModel(at) {
			at.Source = SourceModel
			model = append(model, at)
		} else {
			raw = append(raw, at)
		}
	}
	// The other colours a title names stay as secondary values.
	if k == "color" && r.textColours > 1 {
		for _, c := range r.cands[1:] {
			if !c.hasText || c.textAttr.Confidence < textTitleConfidence {
				continue
			}
			at := c.textAttr
			at.Source, at.Confidence = SourceSecondary, float32(min(c.p, secondaryScore))
			raw = append(raw, at)
		}
	}
	return raw, model
}

// textTitleConfidence is the text extractor's confidence for a title
// value; description values have less.
const textTitleConfidence = 0.85

// add records one piece of evidence for the candidate: probabilities
// combine as independent evidence (noisy-or), and the strongest source
// represents the value.
func (c *candidate) add(at extract.Attr, p float64) {
	if c.p == 0 && c.bestP == 0 {
		c.attr, c.bestP, c.p = at, p, p
	} else {
		c.p = 1 - (1-c.p)*(1-p)
		if p > c.bestP {
			c.attr, c.bestP = at, p
		}
	}
	if at.Source == extract.SourceText && !c.hasText {
		c.hasText, c.textAttr = true, at
	}
}

// position returns where the attribute's words first occur in the title
// (as " w1 w2 " within the space-joined title words), or a large number.
func position(title string, at extract.Attr) int {
	best := 1 << 30
	for _, s := range []string{at.Surface, at.Value} {
		if s == "" {
			continue
		}
		if i := strings.Index(title, " "+strings.Join(wordsOf(s), " ")+" "); i >= 0 {
			best = min(best, i)
		}
	}
	return best
}

// wordsOf returns the folded words of s.
func wordsOf(s string) []string {
	var out []string
	for _, w := range strings.Fields(extract.Normalize(s)) {
		out = append(out, extract.Fold(w))
	}
	return out
}

func sortAttrs(as []extract.Attr) {
	sort.SliceStable(as, func(i, j int) bool {
		if as[i].Key != as[j].Key {
			return as[i].Key < as[j].Key
		}
		return as[i].Value < as[j].Value
	})
}
