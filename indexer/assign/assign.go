// Package assign assigns the dual encoder's vocabulary to products. Model
// is pure logic from product vectors, attribute vectors and calibrated
// thresholds to attributes with scores; it runs no model. Dual is the
// indexer's assigner: it runs encoder.Product on each product and applies
// Model. The parameters come from the model.json that ships with the
// trained model (encoder/weights).
//
// The rule, the same as encoder/train/dualenc/metrics.py:
//
//  1. s[a] = scale * cos(product, attribute a).
//  2. Frequency weighting against long-tail smoothing: z[a] = s[a] -
//     gamma * log(prior[a]), where prior[a] is a's share of its key in the
//     training split. Contrastive training pulls uncertain products towards
//     frequent values; the weighting gives rare values back their due. Gamma
//     is chosen on the validation split.
//  3. For an exclusive key (one value per product: category, color, gender,
//     ...) the best value v by z is the candidate; its score is the softmax
//     of z over the key's values at v.
//  4. v is assigned when its score reaches its threshold: the smallest
//     value at which v's precision on the validation split reaches the
//     target (0.96 with title and image, 0.90 with the image alone). Values
//     with too few validation predictions take their key's pooled threshold.
//     Products without text use the image-only thresholds.
//
// Keys that are not exclusive assign every value whose cosine reaches its
// threshold, with the cosine as score.
package assign

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"lander/store"
)

// Source is the source of assigned attributes.
const Source = "model"

// SourceCandidate marks an exclusive key's best value that did not reach
// its threshold: evidence for arbitration (indexer/arbitrate), never an
// assignment on its own. Assign omits candidates; Evidence includes them.
const SourceCandidate = "model-candidate"

// Attribute is one vocabulary attribute with its calibrated parameters.
type Attribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Count is the attribute's support in the training split.
	Count int `json:"count"`
	// LogPrior is the log of the attribute's share of its key in training.
	LogPrior float64 `json:"log_prior"`
	// Threshold and ThresholdImage are the score thresholds with title and
	// image, and with the image alone.
	Threshold      float64 `json:"threshold"`
	ThresholdImage float64 `json:"threshold_image"`
	// Vector is the unit attribute vector.
	Vector []float32 `json:"vector"`
}

// Model holds the vocabulary and the assignment parameters. It is
// read-only after construction and safe for concurrent use.
type Model struct {
	// Version is the model version.
	Version string
	// Attributes is the vocabulary.
	Attributes []Attribute
	// Scale multiplies cosines into logits (the trained temperature).
	Scale float64
	// Gamma weighs the log prior subtracted from the logits.
	Gamma float64
	// Exclusive lists the keys with one value per product.
	Exclusive map[string]bool

	families map[string][]int // key -> attribute indexes
	keys     []string         // sorted keys
}

// New checks the attributes and builds a Model.
func New(version string, attrs []Attribute, scale, gamma float64, exclusive []string) (*Model, error) {
	m := &Model{Version: version, Attributes: attrs, Scale: scale, Gamma: gamma,
		Exclusive: map[string]bool{}, families: map[string][]int{}}
	for _, k := range exclusive {
		m.Exclusive[k] = true
	}
	dim := -1
	for i, a := range attrs {
		if a.Key == "" || a.Value == "" {
			return nil, fmt.Errorf("new assigner: attribute %d has no key or value", i)
		}
		if dim < 0 {
			dim = len(a.Vector)
		}
		if len(a.Vector) != dim || dim == 0 {
			return nil, fmt.Errorf("new assigner: attribute %s:%s has %d values, want %d", a.Key, a.Value, len(a.Vector), dim)
		}
		if _, ok := m.families[a.Key]; !ok {
			m.keys = append(m.keys, a.Key)
		}
		m.families[a.Key] = append(m.families[a.Key], i)
	}
	sort.Strings(m.keys)
	return m, nil
}

// modelFile is the part of model.json that assignment reads.
type modelFile struct {
	Version    string  `json:"version"`
	LogitScale float64 `json:"logit_scale"`
	Assignment struct {
		Gamma         float64  `json:"gamma"`
		ExclusiveKeys []string `json:"exclusive_keys"`
	} `json:"assignment"`
	Vocabulary []Attribute `json:"vocabulary"`
}

// Load reads dir/model.json (see encoder.DefaultDualDir).
func Load(dir string) (*Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, fmt.Errorf("load assigner: %w", err)
	}
	var f modelFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("load assigner %s: %w", dir, err)
	}
	return New(f.Version, f.Vocabulary, f.LogitScale, f.Assignment.Gamma, f.Assignment.ExclusiveKeys)
}

// Dim returns the size of the vectors.
func (m *Model) Dim() int {
	if len(m.Attributes) == 0 {
		return 0
	}
	return len(m.Attributes[0].Vector)
}

// Similarities returns the cosine of vec (a unit vector) to every attribute.
func (m *Model) Similarities(vec []float32) []float64 {
	out := make([]float64, len(m.Attributes))
	for i, a := range m.Attributes {
		var d float64
		for j, x := range a.Vector {
			d += float64(x) * float64(vec[j])
		}
		out[i] = d
	}
	return out
}

// Nearest returns the indexes of the k attributes most similar to vec,
// most similar first (ties by index).
func (m *Model) Nearest(vec []float32, k int) []int {
	sims := m.Similarities(vec)
	idx := make([]int, len(sims))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return sims[idx[a]] > sims[idx[b]] })
	return idx[:min(k, len(idx))]
}

// Assign returns the attributes assigned to one product with vector vec
// (unit length); hasText says whether the vector was computed with the
// product's text, which selects the thresholds. The result is sorted by
// key, then value; Source is "model".
func (m *Model) Assign(vec []float32, hasText bool) []store.Attribute {
	var out []store.Attribute
	for _, a := range m.Evidence(vec, hasText) {
		if a.Source == Source {
			out = append(out, a)
		}
	}
	return out
}

// Evidence is Assign with, for each exclusive key whose best value did not
// reach its threshold, that value as a candidate (Source SourceCandidate)
// with its softmax score, so that arbitration can weigh it against other
// evidence.
func (m *Model) Evidence(vec []float32, hasText bool) []store.Attribute {
	if len(vec) != m.Dim() {
		return nil
	}
	sims := m.Similarities(vec)
	var out []store.Attribute
	for _, key := range m.keys {
		idx := m.families[key]
		if !m.Exclusive[key] {
			for _, i := range idx {
				if sims[i] >= m.threshold(i, hasText) {
					out = append(out, m.attr(i, sims[i]))
				}
			}
			continue
		}
		best, bestZ := -1, math.Inf(-1)
		z := make([]float64, len(idx))
		for j, i := range idx {
			z[j] = m.Scale*sims[i] - m.Gamma*m.Attributes[i].LogPrior
			if z[j] > bestZ {
				best, bestZ = j, z[j]
			}
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(v - bestZ)
		}
		score := 1 / sum
		a := m.attr(idx[best], score)
		if score < m.threshold(idx[best], hasText) {
			a.Source = SourceCandidate
		}
		out = append(out, a)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Key != out[b].Key {
			return out[a].Key < out[b].Key
		}
		return out[a].Value < out[b].Value
	})
	return out
}

func (m *Model) threshold(i int, hasText bool) float64 {
	if hasText {
		return m.Attributes[i].Threshold
	}
	return m.Attributes[i].ThresholdImage
}

func (m *Model) attr(i int, score float64) store.Attribute {
	a := m.Attributes[i]
	return store.Attribute{Key: a.Key, Value: a.Value, Score: float32(score), Source: Source}
}

// Edge is one edge of the attribute graph.
type Edge struct {
	ProductID string
	store.Attribute
}

// Graph assigns every product: ids[i] has vector vecs[i], computed with
// text when hasText[i]. It returns the dense attribute graph in product
// order.
func (m *Model) Graph(ids []string, vecs [][]float32, hasText []bool) ([]Edge, error) {
	if len(ids) != len(vecs) || len(ids) != len(hasText) {
		return nil, fmt.Errorf("assign graph: %d ids, %d vectors, %d text flags", len(ids), len(vecs), len(hasText))
	}
	var out []Edge
	for i, id := range ids {
		if len(vecs[i]) != m.Dim() {
			return nil, fmt.Errorf("assign graph: product %q has a vector of %d values, want %d", id, len(vecs[i]), m.Dim())
		}
		for _, a := range m.Assign(vecs[i], hasText[i]) {
			out = append(out, Edge{ProductID: id, Attribute: a})
		}
	}
	return out, nil
}
