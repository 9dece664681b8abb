package attreval

import (
	"strings"
	"testing"

	"lander/eval/labels"
	"lander/store"
)

func TestEvaluate(t *testing.T) {
	lab := labels.Set{
		"1": labels.New("Puma Men Blue Shirt", map[string]string{"articleType": "Shirts", "baseColour": "Blue", "gender": "Men"}),
		"2": labels.New("Puma Women Red Top", map[string]string{"articleType": "Tops", "baseColour": "Red", "gender": "Women"}),
	}
	src := Source{Name: "s", Products: []Product{
		{ID: "1", Attributes: []store.Attribute{
			{Key: "color", Value: "blue", Score: 0.95},
			{Key: "color", Value: "white", Score: 0.25, Source: SecondarySource}, // not judged
			{Key: "category", Value: "shirts", Score: 0.9},
		}},
		{ID: "2", Attributes: []store.Attribute{{Key: "color", Value: "pink", Score: 0.91}}},
		{ID: "3", Attributes: []store.Attribute{{Key: "color", Value: "pink", Score: 0.5}}}, // unlabelled
	}}
	rep := Evaluate("test", []string{"1", "2", "3"}, []Source{src}, lab, Keys)
	if rep.Products != 2 {
		t.Fatalf("products %d, want 2", rep.Products)
	}
	byKey := map[string]KeyScore{}
	for _, k := range rep.Sources[0].Keys {
		byKey[k.Key] = k
	}
	c := byKey["color"]
	if c.Assigned != 2 || c.Right != 1 || c.Precision != 0.5 || c.Recall != 0.5 {
		t.Errorf("color %+v, want 1 of 2 right, 1 of 2 found", c)
	}
	if b := c.Reliability[9]; b.N != 2 || b.Right != 1 || b.Observed() != 0.5 {
		t.Errorf("band 0.9-1.0 %+v, want 2 values, 1 right", b)
	}
	// Colour: both values in band 0.9-1.0 (mean 0.93), half right.
	if d := c.CalibrationError - 0.43; d > 1e-6 || d < -1e-6 {
		t.Errorf("color calibration error %v, want |0.5 - 0.93| = 0.43", c.CalibrationError)
	}
	// Category: one right value in band 0.9-1.0 (|1 - 0.9| = 0.1) and,
	// from a second source, two wrong ones in band 0.2-0.3 (|0 - 0.25|):
	// weighted by values, (0.1 + 2 * 0.25) / 3 = 0.2, not the bands' mean
	// 0.175.
	two := Source{Name: "two", Products: []Product{
		{ID: "1", Attributes: []store.Attribute{{Key: "category", Value: "shirts", Score: 0.9}}},
		{ID: "2", Attributes: []store.Attribute{{Key: "category", Value: "jeans", Score: 0.25}, {Key: "category", Value: "skirts", Score: 0.25}}},
	}}
	for _, k := range Evaluate("test", []string{"1", "2"}, []Source{two}, lab, []string{"category"}).Sources[0].Keys {
		if d := k.CalibrationError - 0.2; d > 1e-6 || d < -1e-6 {
			t.Errorf("category calibration error %v, want 0.2", k.CalibrationError)
		}
	}
	if g := byKey["gender"]; g.Assigned != 0 || g.Recall != 0 || g.Precision != 0 {
		t.Errorf("gender %+v, want nothing assigned", g)
	}
	if cat := byKey["category"]; cat.Precision != 1 || cat.Recall != 0.5 {
		t.Errorf("category %+v", cat)
	}
	if errs := Errors(src, "color", lab, 5); len(errs) != 1 {
		t.Errorf("errors %v, want product 2's pink", errs)
	}
}

// TestWriteTextAligned checks that the table's columns line up whatever
// the length of the source names.
func TestWriteTextAligned(t *testing.T) {
	lab := labels.Set{"1": labels.New("Puma Men Blue Shirt", map[string]string{"articleType": "Shirts", "baseColour": "Blue", "gender": "Men"})}
	p := []Product{{ID: "1", Attributes: []store.Attribute{{Key: "color", Value: "blue", Score: 0.9}}}}
	r := Evaluate("test", []string{"1"}, []Source{
		{Name: "short", Products: p},
		{Name: "a source with a name longer than the old column", Products: p},
	}, lab, []string{"color", "gender"})
	var b strings.Builder
	r.WriteText(&b)
	tables := strings.Split(strings.TrimSpace(b.String()), "\n\n")
	if len(tables) != 2 {
		t.Fatalf("%d tables, want precision and calibration error:\n%s", len(tables), b.String())
	}
	for i, want := range []string{"1.000 / 1.000", "0.100"} {
		lines := strings.Split(tables[i], "\n")
		if len(lines) != 4 {
			t.Fatalf("table %d: %d lines, want 4:\n%s", i, len(lines), b.String())
		}
		col := strings.Index(lines[1], "color")
		for _, l := range lines[2:] {
			if j := strings.Index(l, want); j != col {
				t.Errorf("table %d: first value at column %d, header at %d:\n%s", i, j, col, b.String())
			}
		}
	}
}
