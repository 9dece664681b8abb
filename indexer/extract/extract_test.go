package extract

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/catalog"
	"lander/store"
)

func TestTags(t *testing.T) {
	p := catalog.Product{ID: "1", Tags: map[string]string{
		"articleType": "Casual Shoes", "baseColour": "Navy Blue", "gender": "Men", "usage": "NA",
		"season": "", "year": "2012", "brand": "Puma", "subCategory": "Shoes", "Fabric": " Cotton, Blend ",
	}}
	want := []store.Attribute{
		{Key: "brand", Value: "puma", Score: 1, Source: SourceTag},
		{Key: "category", Value: "casual shoes", Score: 1, Source: SourceTag},
		{Key: "color", Value: "navy blue", Score: 1, Source: SourceTag},
		{Key: "fabric", Value: "cotton blend", Score: 1, Source: SourceTag},
		{Key: "gender", Value: "men", Score: 1, Source: SourceTag},
		{Key: "subcategory", Value: "shoes", Score: 1, Source: SourceTag},
	}
	if diff := cmp.Diff(want, Tags(p)); diff != "" {
		t.Errorf("Tags (-want +got):\n%s", diff)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"  Navy   Blue ": "navy blue", "T-Shirts": "t-shirts", "Lips/Nails": "lips nails", "": ""} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
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
