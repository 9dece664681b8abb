package collectioneval

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/eval/labels"
	"lander/indexer/topics"
)

func TestEvaluate(t *testing.T) {
	l := labels.Set{}
	for i := range 20 {
		color := "Black"
		if i%10 == 9 {
			color = "White" // one wrong product in each top 10
		}
		l[fmt.Sprint(i)] = labels.New(fmt.Sprintf("Acme Men %s Shirt", color), map[string]string{"articleType": "Shirts", "baseColour": color, "gender": "Men"})
	}
	feed := func(lo, hi int) []topics.Slot {
		var out []topics.Slot
		for i := lo; i < hi; i++ {
			out = append(out, topics.Slot{ID: fmt.Sprint(i)})
		}
		return out
	}
	f := topics.File{
		Topics: []topics.Topic{
			{Slug: "black-shirts", Title: "Shirts", Published: true, Size: 25, Attributes: []topics.KV{{Key: "category", Value: "shirts"}, {Key: "color", Value: "black"}}, Feed: feed(0, 10)},
			{Slug: "acme-shirts", Title: "Acme Shirts", Published: true, Size: 120, Attributes: []topics.KV{{Key: "category", Value: "shirts"}, {Key: "brand", Value: "acme"}}, Feed: feed(10, 20)},
			{Slug: "hidden", Title: "Shirts", Published: false, Size: 5, Attributes: []topics.KV{{Key: "category", Value: "shirts"}}, Feed: feed(0, 5)},
		},
		Baseline: []topics.Topic{{Slug: "shirts", Title: "Shirts", Published: true, Size: 20, Attributes: []topics.KV{{Key: "category", Value: "shirts"}}, Feed: feed(0, 10)}},
	}
	r := Evaluate(f, l)
	if r.Content.Published != 2 || r.Content.Generated != 3 || r.Baseline.Published != 1 || r.Ratio != 2 {
		t.Errorf("counts %+v", r)
	}
	if r.Content.Precision != 0.95 || r.Baseline.Precision != 1 {
		t.Errorf("precision content %v baseline %v", r.Content.Precision, r.Baseline.Precision)
	}
	want := map[string]float64{"category": 0.95, "color": 0.9, "brand": 1}
	for _, fam := range r.Content.Families {
		if fam.Precision != want[fam.Key] {
			t.Errorf("family %s: %v, want %v", fam.Key, fam.Precision, want[fam.Key])
		}
	}
	if r.Content.Slots != 20 || r.Content.Right != 19 || r.Content.Interval != Wilson(19, 20) {
		t.Errorf("slots %d right %d interval %v, want 20, 19, %v", r.Content.Slots, r.Content.Right, r.Content.Interval, Wilson(19, 20))
	}
	for _, fam := range r.Content.Families {
		if fam.Key == "color" && (fam.Slots != 10 || fam.Right != 9 || fam.Interval != Wilson(9, 10)) {
			t.Errorf("colour family %+v, want 9 of 10 slots", fam)
		}
	}
	if len(r.Content.Worst) != 1 || r.Content.Worst[0].Slug != "black-shirts" || r.Content.Worst[0].Wrong[0].ID != "9" {
		t.Errorf("worst %+v", r.Content.Worst)
	}
	if r.Content.SharedTitles != 0 {
		t.Errorf("%d shared titles; only an unpublished topic repeats one", r.Content.SharedTitles)
	}
	f.Topics[1].Title = "Shirts"
	if r := Evaluate(f, l); r.Content.SharedTitles != 2 {
		t.Errorf("%d shared titles, want 2", r.Content.SharedTitles)
	}
	if r.Content.Sizes[1].Count != 1 || r.Content.Sizes[3].Count != 1 {
		t.Errorf("sizes %+v", r.Content.Sizes)
	}
}

// TestWilson checks the interval against values computed independently
// (the closed form, in double precision) and its edge cases.
func TestWilson(t *testing.T) {
	for _, c := range []struct {
		right, n int
		lo, hi   float64
	}{
		{26, 30, 0.703187, 0.946903},
		{66, 70, 0.862080, 0.977556},
		{10, 10, 0.722467, 1},
		{0, 10, 0, 0.277533},
		{4572, 4710, 0.965487, 0.975147},
		{0, 0, 0, 1},
	} {
		got := Wilson(c.right, c.n)
		if math.Abs(got[0]-c.lo) > 1e-5 || math.Abs(got[1]-c.hi) > 1e-5 {
			t.Errorf("Wilson(%d, %d) = %v, want [%.6f %.6f]", c.right, c.n, got, c.lo, c.hi)
		}
		if c.n > 0 {
			p := float64(c.right) / float64(c.n)
			if got[0] > p || got[1] < p {
				t.Errorf("Wilson(%d, %d) = %v excludes the proportion %v", c.right, c.n, got, p)
			}
		}
	}
}

// TestTitleConflicts checks which wrong slots are title/label conflicts:
// the product's title names the collection's value that its label denies.
// A title that names another value, or a key judged by title words, is no
// conflict.
func TestTitleConflicts(t *testing.T) {
	l := labels.Set{
		"flats-heels": labels.New("Rocia Women Black Flats", map[string]string{"articleType": "Heels", "baseColour": "Black"}),
		"right":       labels.New("Rocia Women Black Flats", map[string]string{"articleType": "Flats", "baseColour": "Black"}),
		"sandals":     labels.New("Rocia Women Black Sandals", map[string]string{"articleType": "Heels", "baseColour": "Black"}),
		"white":       labels.New("Rocia Women White Flats", map[string]string{"articleType": "Heels", "baseColour": "White"}),
	}
	f := topics.File{Topics: []topics.Topic{
		{Slug: "black-flats", Title: "Black Flats", Published: true, Size: 10,
			Attributes: []topics.KV{{Key: "category", Value: "flats"}, {Key: "color", Value: "black"}},
			Feed:       []topics.Slot{{ID: "flats-heels"}, {ID: "right"}, {ID: "sandals"}, {ID: "white"}}},
		{Slug: "acme-flats", Title: "Acme Flats", Published: true, Size: 10,
			Attributes: []topics.KV{{Key: "category", Value: "flats"}, {Key: "brand", Value: "acme"}},
			Feed:       []topics.Slot{{ID: "flats-heels"}}},
	}}
	r := Evaluate(f, l)
	conflict := map[string]bool{}
	for _, c := range r.Content.Worst {
		for _, w := range c.Wrong {
			conflict[c.Slug+"/"+w.ID] = w.TitleConflict
		}
	}
	want := map[string]bool{
		"black-flats/flats-heels": true,  // the title says flats, the label heels
		"black-flats/sandals":     false, // the title says sandals too
		"black-flats/white":       false, // the title names flats but not black
		"acme-flats/flats-heels":  false, // the brand, judged by title words, is missed
	}
	for k, v := range want {
		if got, ok := conflict[k]; !ok || got != v {
			t.Errorf("%s: conflict %v (listed %v), want %v", k, got, ok, v)
		}
	}
	if r.Content.TitleConflicts != 1 {
		t.Errorf("%d conflicts counted, want 1", r.Content.TitleConflicts)
	}
	want1 := []Conflict{{ID: "flats-heels", Title: "Rocia Women Black Flats", Named: []string{"category=flats, labelled Heels"}, Collections: []string{"black-flats"}}}
	if diff := cmp.Diff(want1, r.Content.Conflicts); diff != "" {
		t.Errorf("conflicts (-want +got):\n%s", diff)
	}
}
