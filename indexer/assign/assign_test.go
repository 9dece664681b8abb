package assign

import (
	"lander/store"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func unit(v ...float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(n))
	}
	return out
}

func testModel(t *testing.T) *Model {
	t.Helper()
	attrs := []Attribute{
		{Key: "color", Value: "red", LogPrior: math.Log(0.1), Threshold: 0.6, ThresholdImage: 0.8, Vector: unit(1, 0, 0, 0)},
		{Key: "color", Value: "blue", LogPrior: math.Log(0.9), Threshold: 0.6, ThresholdImage: 0.8, Vector: unit(0, 1, 0, 0)},
		{Key: "gender", Value: "men", LogPrior: math.Log(0.5), Threshold: 0.5, ThresholdImage: 0.5, Vector: unit(0, 0, 1, 0)},
		{Key: "gender", Value: "women", LogPrior: math.Log(0.5), Threshold: 0.5, ThresholdImage: 0.5, Vector: unit(0, 0, -1, 0)},
		{Key: "pattern", Value: "striped", Threshold: 0.5, ThresholdImage: 0.5, Vector: unit(0, 0, 0, 1)},
	}
	m, err := New("test", attrs, 10, 0, []string{"color", "gender"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAssignExclusive(t *testing.T) {
	m := testModel(t)
	got := m.Assign(unit(1, 0, 1, 0), true)
	if len(got) != 2 || got[0].Value != "red" || got[1].Value != "men" || got[0].Source != Source {
		t.Fatalf("got %+v", got)
	}
	if got[0].Score <= 0.5 || got[0].Score > 1 {
		t.Fatalf("score %v", got[0].Score)
	}
}

func TestAssignThresholdsByText(t *testing.T) {
	m := testModel(t)
	// cos red 0.5, blue 0.4: softmax 1/(1+e^-1) = 0.73: over 0.6, under 0.8.
	vec := unit(0.5, 0.4, 0, 0.7681)
	if !hasValue(m.Assign(vec, true), "red") {
		t.Error("red not assigned with text")
	}
	if hasValue(m.Assign(vec, false), "red") {
		t.Error("red assigned without text under its image threshold")
	}
	if !hasValue(m.Assign(vec, false), "striped") {
		t.Error("non-exclusive striped not assigned by cosine")
	}
}

func TestAssignFrequencyWeighting(t *testing.T) {
	m := testModel(t)
	vec := unit(0.5, 0.55, 0, 0) // blue slightly nearer
	if !hasValue(m.Assign(vec, true), "blue") {
		t.Fatal("blue not assigned without weighting")
	}
	m.Gamma = 1 // -log(0.1) lifts red above blue
	if !hasValue(m.Assign(vec, true), "red") {
		t.Fatal("weighting did not lift the rare value")
	}
}

func TestGraph(t *testing.T) {
	m := testModel(t)
	g, err := m.Graph([]string{"a", "b"}, [][]float32{unit(1, 0, 1, 0), unit(0, 1, -1, 0)}, []bool{true, false})
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 4 || g[0].ProductID != "a" || g[3].ProductID != "b" || g[3].Value != "women" {
		t.Fatalf("got %+v", g)
	}
	if _, err := m.Graph([]string{"a"}, [][]float32{{1}}, []bool{true}); err == nil {
		t.Fatal("a short vector was accepted")
	}
}

func TestNearest(t *testing.T) {
	m := testModel(t)
	if got := m.Nearest(unit(0.1, 0, 0, 1), 2); got[0] != 4 || got[1] != 0 {
		t.Fatalf("got %v", got)
	}
}

// TestLoadShipped reads the committed model: every vocabulary vector is a
// unit vector of the same size, and an attribute's own vector assigns it.
func TestLoadShipped(t *testing.T) {
	dir := filepath.Join("..", "..", "encoder", "weights")
	if _, err := os.Stat(filepath.Join(dir, "model.json")); err != nil {
		t.Skip("no trained model in encoder/weights")
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attributes) < 50 || m.Scale <= 0 || !m.Exclusive["category"] {
		t.Fatalf("model: %d attributes, scale %v", len(m.Attributes), m.Scale)
	}
	for _, a := range m.Attributes {
		var n float64
		for _, x := range a.Vector {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-3 {
			t.Fatalf("%s:%s has squared norm %v", a.Key, a.Value, n)
		}
	}
	if got := m.Nearest(m.Attributes[0].Vector, 1); got[0] != 0 {
		t.Fatalf("nearest to attribute 0 is %d", got[0])
	}
}

func hasValue(as []store.Attribute, v string) bool {
	for _, a := range as {
		if a.Value == v {
			return true
		}
	}
	return false
}

func TestEvidenceKeepsCandidates(t *testing.T) {
	m := testModel(t)
	vec := unit(0.5, 0.4, 0, 0.7681) // red 0.73: assigned with text, a candidate without
	find := func(as []store.Attribute, v string) *store.Attribute {
		for i := range as {
			if as[i].Value == v {
				return &as[i]
			}
		}
		return nil
	}
	if a := find(m.Evidence(vec, true), "red"); a == nil || a.Source != Source {
		t.Errorf("with text: red = %+v, want assigned", a)
	}
	a := find(m.Evidence(vec, false), "red")
	if a == nil || a.Source != SourceCandidate || a.Score < 0.7 || a.Score > 0.75 {
		t.Errorf("image only: red = %+v, want a candidate scored 0.73", a)
	}
	if find(m.Assign(vec, false), "red") != nil {
		t.Error("Assign returned a candidate")
	}
}
