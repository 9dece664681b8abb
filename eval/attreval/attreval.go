// Package attreval measures attribute extraction against a catalog's
// labels, per source of evidence and per key: precision (assigned values
// that match the label), recall (products whose label was found) and a
// reliability table (observed precision per band of stated confidence),
// which shows whether a source's scores are calibrated probabilities.
package attreval

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"lander/eval/labels"
	"lander/indexer/arbitrate"
	"lander/store"
)

// Keys are the keys the report judges by default: the contract's keys
// with a label column that every product has.
var Keys = []string{"category", "color", "gender", "occasion", "season"}

// Bins is the number of confidence bands of a reliability table.
const Bins = 10

// Product is the evidence one source gave for one product.
type Product struct {
	ID         string
	Attributes []store.Attribute
}

// Source is one source's evidence over the evaluated products, in any
// order; a product absent from Products counts as having no attributes.
type Source struct {
	Name     string
	Products []Product
}

// KeyScore is one source's precision and recall for one key.
type KeyScore struct {
	Key string `json:"key"`
	// Assigned counts the values the source gave; Right those matching the
	// label.
	Assigned int `json:"assigned"`
	Right    int `json:"right"`
	// Products counts the labelled products evaluated; Found those with at
	// least one right value.
	Products  int     `json:"products"`
	Found     int     `json:"found"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	// Reliability holds Bins bands of stated confidence [i/Bins, (i+1)/Bins).
	Reliability []Band `json:"reliability"`
	// CalibrationError is the expected calibration error over those
	// bands: the mean over values of |observed precision - mean stated
	// score| of their band. A source whose scores are calibrated
	// probabilities is near 0; one stating a constant c is |precision - c|
	// off. It is 0 when the source gave no values (Assigned 0).
	CalibrationError float64 `json:"calibration_error"`
}

// Band is one confidence band of a reliability table.
type Band struct {
	Lo, Hi float64
	// N counts the values whose score lies in the band; Right those that
	// match the label. Mean is their mean stated score.
	N     int     `json:"n"`
	Right int     `json:"right"`
	Mean  float64 `json:"mean"`
}

// Observed is the share of the band's values that were right.
func (b Band) Observed() float64 {
	if b.N == 0 {
		return 0
	}
	return float64(b.Right) / float64(b.N)
}

// SourceScore is one source's scores over the keys.
type SourceScore struct {
	Source string     `json:"source"`
	Keys   []KeyScore `json:"keys"`
}

// Report is the attribute evaluation.
type Report struct {
	// Split names the evaluated products (for example "held-out test,
	// tags withheld").
	Split    string        `json:"split"`
	Products int           `json:"products"`
	Sources  []SourceScore `json:"sources"`
}

// Evaluate judges every source over the products in ids (those with
// labels) for keys. Secondary values (store.Attribute.Source ==
// SecondarySource) are not assertions of the key and are skipped.
func Evaluate(split string, ids []string, sources []Source, lab labels.Set, keys []string) Report {
	var judged []string
	for _, id := range ids {
		if lab[id] != nil {
			judged = append(judged, id)
		}
	}
	rep := Report{Split: split, Products: len(judged)}
	for _, s := range sources {
		byID := make(map[string][]store.Attribute, len(s.Products))
		for _, p := range s.Products {
			byID[p.ID] = p.Attributes
		}
		ss := SourceScore{Source: s.Name}
		for _, k := range keys {
			ss.Keys = append(ss.Keys, score(k, judged, byID, lab))
		}
		rep.Sources = append(rep.Sources, ss)
	}
	return rep
}

// SecondarySource marks a value kept for ranking only (a second colour of
// a multi-colour title); it is not judged as the product's value.
const SecondarySource = arbitrate.SourceSecondary

func score(key string, ids []string, byID map[string][]store.Attribute, lab labels.Set) KeyScore {
	ks := KeyScore{Key: key, Reliability: make([]Band, Bins)}
	for i := range ks.Reliability {
		ks.Reliability[i].Lo, ks.Reliability[i].Hi = float64(i)/Bins, float64(i+1)/Bins
	}
	for _, id := range ids {
		l := lab[id]
		ks.Products++
		found := false
		for _, a := range byID[id] {
			if a.Key != key || a.Source == SecondarySource {
				continue
			}
			ok := l.Match(a.Key, a.Value)
			ks.Assigned++
			b := &ks.Reliability[min(Bins-1, max(0, int(float64(a.Score)*Bins)))]
			b.N++
			b.Mean += float64(a.Score)
			if ok {
				ks.Right++
				b.Right++
				found = true
			}
		}
		if found {
			ks.Found++
		}
	}
	for i := range ks.Reliability {
		if b := &ks.Reliability[i]; b.N > 0 {
			b.Mean /= float64(b.N)
			ks.CalibrationError += float64(b.N) * math.Abs(b.Observed()-b.Mean)
		}
	}
	if ks.Assigned > 0 {
		ks.CalibrationError /= float64(ks.Assigned)
		ks.Precision = float64(ks.Right) / float64(ks.Assigned)
	}
	if ks.Products > 0 {
		ks.Recall = float64(ks.Found) / float64(ks.Products)
	}
	return ks
}

// WriteText prints the per-source tables: precision / recall per key, and
// the calibration error per key ("-" where the source gave no values).
func (r Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\nattributes by source (%s, %d products): precision / recall (values assigned)\n", r.Split, r.Products)
	if len(r.Sources) == 0 {
		return
	}
	// The first column is as wide as the longest source name, so that
	// the columns line up.
	width := len("source")
	for _, s := range r.Sources {
		width = max(width, len(s.Source))
	}
	fmt.Fprintf(w, "  %-*s", width, "source")
	for _, k := range r.Sources[0].Keys {
		fmt.Fprintf(w, " %-24s", k.Key)
	}
	fmt.Fprintln(w)
	for _, s := range r.Sources {
		fmt.Fprintf(w, "  %-*s", width, s.Source)
		for _, k := range s.Keys {
			fmt.Fprintf(w, " %-24s", fmt.Sprintf("%.3f / %.3f (%d)", k.Precision, k.Recall, k.Assigned))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\ncalibration error per source (mean |observed precision - stated score| over %d score bands; 0 is calibrated, - no values)\n", Bins)
	fmt.Fprintf(w, "  %-*s", width, "source")
	for _, k := range r.Sources[0].Keys {
		fmt.Fprintf(w, " %-10s", k.Key)
	}
	fmt.Fprintln(w)
	for _, s := range r.Sources {
		fmt.Fprintf(w, "  %-*s", width, s.Source)
		for _, k := range s.Keys {
			v := "-"
			if k.Assigned > 0 {
				v = fmt.Sprintf("%.3f", k.CalibrationError)
			}
			fmt.Fprintf(w, " %-10s", v)
		}
		fmt.Fprintln(w)
	}
}

// Errors lists up to n (product id, value) pairs a source got wrong for
// key, sorted by id, for reading the failure modes.
func Errors(s Source, key string, lab labels.Set, n int) []string {
	ps := slices.Clone(s.Products)
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	var out []string
	for _, p := range ps {
		l := lab[p.ID]
		if l == nil {
			continue
		}
		for _, a := range p.Attributes {
			if a.Key == key && a.Source != SecondarySource && !l.Match(a.Key, a.Value) && len(out) < n {
				out = append(out, fmt.Sprintf("%s %q: %s=%s (%s %.2f)", p.ID, l.Title, key, a.Value, a.Source, a.Score))
			}
		}
	}
	return out
}
