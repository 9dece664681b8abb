package labels

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMatch(t *testing.T) {
	p := New("Puma Men Navy Blue Checks Casual Shoes", map[string]string{
		"articleType": "Casual Shoes", "subCategory": "Shoes", "baseColour": "Navy Blue", "gender": "Men", "season": "Summer", "usage": "Casual",
	})
	for _, tc := range []struct {
		key, value string
		want       bool
	}{
		{"category", "casual shoes", true},
		{"category", "casual shoe", true},
		{"category", "shoes", true}, // the subCategory level
		{"category", "sports shoes", false},
		{"color", "navy blue", true},
		{"color", "navy-blue", true},
		{"color", "blue", false},
		{"gender", "men", true},
		{"gender", "women", false},
		{"season", "summer", true},
		{"occasion", "casual", true},
		{"brand", "puma", true},
		{"pattern", "check", true},
		{"pattern", "checked", false},
		{"brand", "nike", false},
		{"material", "", false},
	} {
		if got := p.Match(tc.key, tc.value); got != tc.want {
			t.Errorf("Match(%s, %s) = %v, want %v", tc.key, tc.value, got, tc.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	csv := "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n" +
		"1,Men,Apparel,Topwear,Tshirts,Black,Summer,2012,Casual,Nike Men Black, Round Neck Tshirt\n" +
		"2,Women,Footwear,Shoes,Heels,Red,Fall,2011,Party,Catwalk Women Red Heels\n"
	if err := os.WriteFile(filepath.Join(dir, "styles.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s["1"].Title != "Nike Men Black, Round Neck Tshirt" || !s["1"].Match("category", "tshirts") || !s["2"].Match("occasion", "party") {
		t.Errorf("loaded %+v %+v", s["1"], s["2"])
	}
}

// TestTitleNames checks the whole-word rule that judges keys by title
// words, against the looser TitleContains of the labelled queries.
func TestTitleNames(t *testing.T) {
	for _, tc := range []struct {
		title, value    string
		names, contains bool
	}{
		{"Nike Men Navy Blue T-shirt", "tshirts", true, true},
		{"Nike Men Navy Blue Tshirt", "t shirt", true, true},
		{"Navy-Blue Shirt", "navy blue", true, true},
		{"Lee Cooper Men Black Shoes", "lee cooper", true, true},
		{"Lee Men Sleeveless Vest", "lee", true, true},
		{"Puma Men Sleeveless Vest", "lee", false, true}, // "lee" inside "sleeveless"
		{"Wildcraft Unisex Laptop Bag", "tops", false, true},
		{"Puma Men Shirt", "shirts", true, true},
		{"Puma Men Shirt", "", false, false},
		{"Puma Men Shirt", "puma men shirt dress", false, false},
	} {
		p := New(tc.title, nil)
		if got := p.TitleNames(tc.value); got != tc.names {
			t.Errorf("%q names %q: %v, want %v", tc.title, tc.value, got, tc.names)
		}
		if got := p.TitleContains(tc.value); got != tc.contains {
			t.Errorf("%q contains %q: %v, want %v", tc.title, tc.value, got, tc.contains)
		}
	}
}
