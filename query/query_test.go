package query

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"dresses": "dress", "dress": "dress", "watches": "watch", "watch": "watch", "shoes": "shoe",
		"accessories": "accessory", "jeans": "jean", "men": "men", "mens": "men", "casual": "casual",
		"tshirts": "tshirt", "glasses": "glass", "boxes": "box", "bus": "bus", "200": "200",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokens(t *testing.T) {
	got := Tokens("  Women's Crème T-Shirts, under $19.99!")
	want := []string{"women", "creme", "t", "shirt", "under", "$", "19.99"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tokens mismatch (-want +got):\n%s", diff)
	}
}

func f(v float64) *float64 { return &v }

func TestResolve(t *testing.T) {
	r := NewResolver([]Term{
		{Key: "category", Value: "watches"},
		{Key: "category", Value: "casual shoes"},
		{Key: "category", Value: "shoes"},
		{Key: "category", Value: "tshirts", Aliases: []string{"t shirt", "tee"}},
		{Key: "color", Value: "black"},
		{Key: "color", Value: "navy blue", Aliases: []string{"navy"}},
		{Key: "color", Value: "brown"},
		{Key: "gender", Value: "men"},
		{Key: "gender", Value: "women"},
		{Key: "occasion", Value: "casual"},
	})
	tests := []struct {
		q        string
		attrs    string // key=value,... in order
		excluded string
		price    Price
	}{
		{"black watch for men", "color=black,category=watches,gender=men", "", Price{}},
		{"Black Watches for Men", "color=black,category=watches,gender=men", "", Price{}},
		{"navy casual shoes for women", "color=navy blue,category=casual shoes,gender=women", "", Price{}},
		{"casual t-shirts", "occasion=casual,category=tshirts", "", Price{}},
		{"men's shoes without brown", "gender=men,category=shoes", "color=brown", Price{}},
		{"watches under $200", "category=watches", "", Price{Max: f(200)}},
		{"shoes between 50 and 100 dollars", "category=shoes", "", Price{Min: f(50), Max: f(100)}},
		{"something nice", "", "", Price{}},
		{"", "", "", Price{}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			got := r.Resolve(tt.q)
			var a, e []string
			for _, x := range got.Attributes {
				a = append(a, x.Key+"="+x.Value)
			}
			for _, x := range got.Excluded {
				e = append(e, x.Key+"="+x.Value)
			}
			if s := strings.Join(a, ","); s != tt.attrs {
				t.Errorf("attributes = %q, want %q", s, tt.attrs)
			}
			if s := strings.Join(e, ","); s != tt.excluded {
				t.Errorf("excluded = %q, want %q", s, tt.excluded)
			}
			if diff := cmp.Diff(tt.price, got.Price); diff != "" {
				t.Errorf("price (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzResolve(f *testing.F) {
	r := NewResolver([]Term{{Key: "color", Value: "black"}, {Key: "category", Value: "watches"}})
	for _, s := range []string{"black watch under $20", "between 1 and", "not", "€€€", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := r.Resolve(s)
		if got.Attributes == nil || got.Excluded == nil {
			t.Fatal("nil lists")
		}
	})
}
