package extract

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/catalog"
)

func TestTagsOf(t *testing.T) {
	p := catalog.Product{ID: "1", Tags: map[string]string{
		"articleType": "Casual Shoes", "baseColour": "Navy Blue", "gender": "Men", "usage": "NA",
		"season": "", "year": "2012", "brand": "Puma", "subCategory": "Shoes", "Fabric": " Cotton, Blend ",
	}}
	tag := func(k, v string) Attr { return Attr{Key: k, Value: v, Source: SourceTag, Confidence: 1} }
	want := []Attr{
		tag("brand", "puma"), tag("category", "casual shoes"), tag("color", "navy blue"),
		tag("fabric", "cotton blend"), tag("gender", "men"), tag("subcategory", "shoes"),
	}
	if diff := cmp.Diff(want, TagsOf(p)); diff != "" {
		t.Errorf("TagsOf (-want +got):\n%s", diff)
	}
	got, err := Tags{}.Extract(context.Background(), []catalog.Product{p, {ID: "2"}})
	if err != nil || len(got) != 2 || len(got[0]) != 6 || len(got[1]) != 0 {
		t.Errorf("Extract = %v, %v", got, err)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"  Navy   Blue ": "navy blue", "T-Shirts": "t-shirts", "Lips/Nails": "lips nails", "": "", "-x-": "x"} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ a, b string }{
		{"T-Shirts", "tshirt"}, {"t shirt", "tshirts"}, {"Casual Shoes", "casual shoe"}, {"Dresses", "dress"},
		{"Watches", "watch"}, {"Panties", "panty"}, {"Flip-Flops", "flip flop"}, {"Sunglasses", "sun glass"},
		{"Men's", "men"}, {"Mens", "men"},
	}
	for _, tt := range tests {
		if Fold(tt.a) != Fold(tt.b) {
			t.Errorf("Fold(%q) = %q, Fold(%q) = %q; want equal", tt.a, Fold(tt.a), tt.b, Fold(tt.b))
		}
	}
	for _, w := range []string{"dress", "bus", "tennis", "bra", "status"} {
		if got := FoldWord(w); got != w {
			t.Errorf("FoldWord(%q) = %q, want unchanged", w, got)
		}
	}
	if Fold("navy") == Fold("navy blue") {
		t.Error("navy and navy blue fold alike")
	}
}

func TestMerge(t *testing.T) {
	got := Merge(
		[]Attr{{Key: "color", Value: "navy blue", Source: SourceText, Confidence: 0.9}, {Key: "category", Value: "tshirt", Source: SourceText, Confidence: 0.9}},
		[]Attr{{Key: "category", Value: "tshirts", Source: SourceTag, Confidence: 1}, {Key: "color", Value: "navy blue", Source: SourceVLM, Confidence: 0.9}},
	)
	want := []Attr{
		{Key: "category", Value: "tshirts", Source: SourceTag, Confidence: 1},
		{Key: "color", Value: "navy blue", Source: SourceVLM, Confidence: 0.9},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		p    catalog.Product
		want string
	}{
		{catalog.Product{Title: "A", Description: "B"}, "A. B"},
		{catalog.Product{Title: "A"}, "A"},
		{catalog.Product{Description: "B"}, "B"},
		{catalog.Product{}, ""},
	}
	for _, tt := range tests {
		if got := Text(tt.p); got != tt.want {
			t.Errorf("Text(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestDefaultLexiconBuilds(t *testing.T) {
	if _, err := NewLexicon(lexicons); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLexicon(map[string]string{"color": "navy blue|navy", "brand": "navy"}); err == nil {
		t.Error("a phrase under two keys was accepted")
	}
}
