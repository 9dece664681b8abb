package report

import (
	"bytes"
	"strings"
	"testing"

	"lander/eval/collectioneval"
	"lander/eval/retrieval"
)

func TestWrite(t *testing.T) {
	r := Report{Source: "test", Collections: &collectioneval.Report{
		Content: collectioneval.Side{Generated: 3, Published: 2, Precision: 0.95,
			Families: []collectioneval.Family{{Key: "color", Collections: 2, Precision: 0.9}},
			Sizes:    []collectioneval.Bucket{{Label: "10-19", Count: 2}}},
		Ratio: 2,
	}, Queries: &retrieval.QueryReport{Queries: 1, Precision: 0.5}}
	var text, html bytes.Buffer
	r.WriteText(&text)
	for _, s := range []string{"P@10 0.950", "color", "ratio content/baseline: 2.00x", "Precision@10 0.500"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(html.String(), "<svg"); n != 2 {
		t.Errorf("%d plots, want 2", n)
	}
	if !strings.Contains(html.String(), "<rect") || !strings.Contains(html.String(), "0.900") {
		t.Error("plots lack bars")
	}
}
