package curate

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/indexer/extract"
	"lander/vocab"
)

// tableEmbedder embeds values by a fixed table: values in one group get
// the same direction, others orthogonal ones.
type tableEmbedder map[string]int

func (e tableEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, s := range texts {
		v := make([]float32, 16)
		g, ok := e[s]
		if !ok {
			g = 8 + len(s)%8
		}
		v[g] = 1
		out[i] = v
	}
	return out, nil
}

func attr(k, v, src string) extract.Attr {
	return extract.Attr{Key: k, Value: v, Source: src, Confidence: 1}
}

// products returns n copies of attrs.
func products(n int, attrs ...extract.Attr) [][]extract.Attr {
	out := make([][]extract.Attr, n)
	for i := range out {
		out[i] = attrs
	}
	return out
}

func TestCurate(t *testing.T) {
	var raw [][]extract.Attr
	raw = append(raw, products(10, attr("color", "navy blue", "tag"), attr("style", "boho", "vlm"))...)
	raw = append(raw, products(6, attr("color", "blue", "tag"), attr("style", "bohemian", "vlm"), attr("category", "tshirt", "text"))...)
	raw = append(raw, products(4, attr("color", "navy", "vlm"), attr("style", "boho-chic", "vlm"), attr("category", "tshirts", "tag"))...)
	raw = append(raw, products(2, attr("color", "dark navy", "vlm"), attr("category", "t-shirts", "vlm"))...)
	emb := tableEmbedder{"navy blue": 0, "blue": 0, "navy": 0, "dark navy": 0, "boho": 1, "bohemian": 1, "boho-chic": 1}
	c := New(raw, Options{MinSupport: 5, Threshold: 0.9, Embedder: emb})
	c.Frequency()
	if err := c.Cluster(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := c.Vocabulary("v1")
	want := vocab.Vocabulary{Version: "v1", Keys: map[string][]vocab.Value{
		// tshirt (text, 6) and tshirts (tag, 4) fold alike: the tag form wins.
		"category": {{Value: "tshirts", Count: 12, Aliases: []string{"t-shirts", "tshirt"}}},
		// blue and navy blue are both tags: they never merge; navy (4) and
		// dark navy (2) fall to the frequency filter.
		"color": {{Value: "navy blue", Count: 10, Aliases: []string{}}, {Value: "blue", Count: 6, Aliases: []string{}}},
		// bohemian merges into boho, the most frequent; boho-chic (4) is too rare.
		"style": {{Value: "boho", Count: 16, Aliases: []string{"bohemian"}}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vocabulary (-want +got):\n%s", diff)
	}
	n, per := c.RawCounts()
	if n != 8 || per["color"] != 4 || per["category"] != 1 {
		t.Errorf("raw counts = %d %v", n, per)
	}
	r := c.Report()
	if len(r.Steps) != 3 || r.Steps[0].Values != 8 || r.Steps[1].Values != 5 || r.Steps[2].Values != 4 {
		t.Errorf("steps = %+v", r.Steps)
	}
	if len(r.Removed) != 3 {
		t.Errorf("removed = %+v", r.Removed)
	}
	var cluster []Merged
	for _, m := range r.Merged {
		if m.Step == StepCluster {
			cluster = append(cluster, m)
		}
	}
	if len(cluster) != 1 || cluster[0].Canonical != "boho" || cluster[0].Members[1].Value != "bohemian" || cluster[0].Members[1].Cosine != 1 {
		t.Errorf("cluster merges = %+v", cluster)
	}
	// Products carry canonical values.
	applied := c.Apply(raw[10])
	if len(applied) != 3 || applied[0].Value != "tshirts" || applied[0].Source != "text" || applied[2].Value != "boho" {
		t.Errorf("Apply = %+v", applied)
	}
	if !c.Drop("style", "bohemian", StepJudge, "test") || len(c.Apply(raw[10])) != 2 {
		t.Error("Drop of a merged value's canonical did not remove it")
	}
}

func TestCurateWithoutEmbedder(t *testing.T) {
	c := New(products(3, attr("color", "red", "tag")), Options{MinSupport: 1})
	c.Frequency()
	if err := c.Cluster(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := c.Vocabulary(""); v.Size() != 1 || v.Keys["color"][0].Count != 3 {
		t.Errorf("vocabulary = %+v", v)
	}
}
