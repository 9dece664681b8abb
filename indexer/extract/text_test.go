package extract

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/catalog"
)

var update = flag.Bool("update", false, "rewrite golden files")

// titles is a small catalog in the fashion-small style: brands first.
var titles = []string{
	"Peter England Men Party Blue Jeans",
	"Peter England Men Navy Checked Shirt",
	"Peter England Men Slim Fit Formal Trousers",
	"Puma Men Grey T-shirt",
	"Puma Women Navy Blue Sports Shoes",
	"Puma Men's Round Neck Red Tshirts",
	"Inkfruit Mens Chain Reaction T-shirt",
	"Inkfruit Women Printed Pink Top",
	"Red Tape Men Brown Leather Casual Shoes",
	"Red Tape Men Black Formal Shoes",
	"Colorbar Soft Touch Copper Lipstick 037",
	"Colorbar Pro Flirt Nail Lacquer 013",
	"Colorbar Velvet Matte Lipstick",
	"Black Striped Cotton Full Sleeve Shirt",
	"United Colors of Benetton Men Solid Olive Polo T-shirt",
	"United Colors of Benetton Women Floral Silk Dress",
	"NA Men Blue Jeans",
	"NA Women Blue Jeans",
	"Red Rose Women White & Pink Polka Dot Print Bath Robe",
	"Red Rose Women Maroon Camisole",
	"Navy Blue Men Shirt",
	"Navy Blue Men Jeans",
}

func TestTextExtractorGolden(t *testing.T) {
	learner := NewBrandLearner(nil)
	for _, s := range titles {
		learner.Observe(s)
	}
	x := NewText(nil, learner.Brands(2))
	var b strings.Builder
	for _, s := range titles {
		fmt.Fprintf(&b, "%s\n", s)
		for _, a := range x.Of(s, "") {
			fmt.Fprintf(&b, "  %s=%s", a.Key, a.Value)
			if a.Surface != "" {
				fmt.Fprintf(&b, " (from %q)", a.Surface)
			}
			fmt.Fprintf(&b, " %.1f\n", a.Confidence)
		}
	}
	golden := filepath.Join("testdata", "text.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("text extraction (-want +got):\n%s", diff)
	}
}

func TestTextExtractorCases(t *testing.T) {
	learner := NewBrandLearner(nil)
	for _, s := range titles {
		learner.Observe(s)
	}
	brands := learner.Brands(2)
	x := NewText(nil, brands)
	get := func(title, key string) []string {
		var out []string
		for _, a := range x.Of(title, "") {
			if a.Key == key {
				out = append(out, a.Value)
			}
		}
		return out
	}
	tests := []struct {
		title, key string
		want       []string
	}{
		{"Puma Women Navy Blue Sports Shoes", "color", []string{"navy blue"}},
		{"Peter England Men Navy Checked Shirt", "color", []string{"navy blue"}},
		{"Puma Men Navy Blue Tshirt", "color", []string{"navy blue"}},
		{"Peter England Men Navy Checked Shirt", "brand", []string{"peter england"}},
		{"Red Tape Men Black Formal Shoes", "brand", []string{"red tape"}},
		{"Red Tape Men Black Formal Shoes", "color", []string{"black"}},
		{"Colorbar Soft Touch Copper Lipstick 037", "brand", []string{"colorbar"}},
		{"Inkfruit Mens Chain Reaction T-shirt", "category", []string{"tshirts"}},
		{"Inkfruit Mens Chain Reaction T-shirt", "gender", []string{"men"}},
		{"Black Striped Cotton Full Sleeve Shirt", "brand", nil},
		{"Black Striped Cotton Full Sleeve Shirt", "sleeve", []string{"full sleeve"}},
		{"Black Striped Cotton Full Sleeve Shirt", "material", []string{"cotton"}},
		{"NA Men Blue Jeans", "brand", nil},
		// A learned brand of colour words masks them.
		{"Red Rose Women Maroon Camisole", "brand", []string{"red rose"}},
		{"Red Rose Women Maroon Camisole", "color", []string{"maroon"}},
		{"Red Rose Maroon Camisole", "color", []string{"maroon"}},
		// One colour phrase before the gender word is no brand.
		{"Navy Blue Men Shirt", "brand", nil},
		{"Navy Blue Men Shirt", "color", []string{"navy blue"}},
		// In "X with Y" the product is X, of X's colour.
		{"Vishudh Women Pink Churidar Kurta with Dupatta", "category", []string{"kurtas"}},
		{"Classic Polo Men's White T-shirt with Navy Stripes", "color", []string{"white"}},
		{"Classic Polo Men's White T-shirt with Navy Stripes", "category", []string{"tshirts"}},
		// Without a category before it, "with" changes nothing.
		{"Murcia Women White With Stitch Bag", "color", []string{"white"}},
		{"", "category", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, get(tt.title, tt.key)); diff != "" {
			t.Errorf("%q %s (-want +got):\n%s", tt.title, tt.key, diff)
		}
	}
	// Descriptions add attributes at a lower confidence.
	attrs := x.Of("Puma Men Tshirt", "Made of soft cotton with a striped pattern.")
	found := 0
	for _, a := range attrs {
		if a.Key == "material" && a.Value == "cotton" || a.Key == "pattern" && a.Value == "striped" {
			found++
			if a.Confidence >= confTitle {
				t.Errorf("description attribute %v has title confidence", a)
			}
		}
	}
	if found != 2 {
		t.Errorf("description attributes missing: %v", attrs)
	}
	got, _ := x.Extract(context.Background(), []catalog.Product{{Title: "Puma Men Grey T-shirt"}})
	if b, _ := json.Marshal(got); !strings.Contains(string(b), `"Value":"puma"`) {
		t.Errorf("Extract = %s", b)
	}
}

func BenchmarkTextExtractor(b *testing.B) {
	learner := NewBrandLearner(nil)
	for _, s := range titles {
		learner.Observe(s)
	}
	x := NewText(nil, learner.Brands(2))
	for i := 0; b.Loop(); i++ {
		x.Of(titles[i%len(titles)], "")
	}
}
