package report

import (
	"bytes"
	"strings"
	"testing"

	"lander/eval/attreval"
	"lander/eval/collectioneval"
	"lander/eval/retrieval"
)

func TestWrite(t *testing.T) {
	r := Report{Source: "test", Collections: &collectioneval.Report{
		Content: collectioneval.Side{Generated: 3, Published: 2, Precision: 0.95, Slots: 20, Right: 19, Interval: collectioneval.Wilson(19, 20),
			Families:       []collectioneval.Family{{Key: "color", Collections: 2, Precision: 0.9, Slots: 20, Right: 18, Interval: collectioneval.Wilson(18, 20)}},
			TitleConflicts: 1,
			Conflicts:      []collectioneval.Conflict{{ID: "7", Title: "Rocia Women Black Flats", Named: []string{"category=flats, labelled Heels"}, Collections: []string{"black-flats"}}},
			Worst: []collectioneval.Collection{{Title: "Black Flats", Precision: 0.9, Size: 12,
				Wrong: []collectioneval.WrongSlot{{ID: "7", Title: "Rocia Women Black Flats", Missed: []string{"category=flats"}, TitleConflict: true}}}},
			Sizes: []collectioneval.Bucket{{Label: "10-19", Count: 2}}},
		Ratio: 2,
	}, Queries: &retrieval.QueryReport{Queries: 1, Precision: 0.5}}
	var text, html bytes.Buffer
	r.WriteText(&text)
	for _, s := range []string{"P@10 0.950 (95% interval 0.764-0.991, 19 of 20 slots)", "color", "0.900   0.699-0.972", "wrong top-10 slots: 1, of which 1 are title/label conflicts", `conflict: 7 "Rocia Women Black Flats": category=flats, labelled Heels (1 collections)`, `"Rocia Women Black Flats" misses category=flats (its title says otherwise)`, "ratio content/baseline: 2.00x", "Precision@10 0.500"} {
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
	if !strings.Contains(html.String(), "<td>0.699–0.972</td>") || !strings.Contains(html.String(), "label denies): 1</p>") {
		t.Errorf("html lacks the colour family's interval:\n%s", html.String())
	}
}

func TestReliabilityPlots(t *testing.T) {
	ks := attreval.KeyScore{Key: "color", Assigned: 3, Right: 2, Precision: 0.667, Recall: 0.5, Reliability: make([]attreval.Band, attreval.Bins), CalibrationError: 0.283}
	ks.Reliability[9] = attreval.Band{Lo: 0.9, Hi: 1, N: 3, Right: 2, Mean: 0.95}
	r := Report{Source: "test", Attributes: &attreval.Report{Split: "held-out", Products: 4,
		Sources: []attreval.SourceScore{{Source: "model", Keys: []attreval.KeyScore{ks}},
			{Source: "empty", Keys: []attreval.KeyScore{{Key: "color", Reliability: make([]attreval.Band, attreval.Bins)}}}}}}
	var text, html bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "0.667 / 0.500 (3)") {
		t.Errorf("text lacks the model's colour scores:\n%s", text.String())
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	// One plot: the source without values has no bands to draw.
	if n := strings.Count(html.String(), "<svg"); n != 1 {
		t.Errorf("%d reliability plots, want 1", n)
	}
	if !strings.Contains(html.String(), "Reliability: model, color (observed precision per score band; calibration error 0.283)") || !strings.Contains(html.String(), "0.9-1.0 (n=3)") {
		t.Errorf("plot lacks its title or band:\n%s", html.String())
	}
	// The calibration error table: a value for the source with values, a
	// dash for the one without.
	if !strings.Contains(html.String(), "<tr><td>model</td><td>0.283</td></tr>") || !strings.Contains(html.String(), "<tr><td>empty</td><td>&ndash;</td></tr>") {
		t.Errorf("no calibration error table:\n%s", html.String())
	}
}
