package catalog

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const stylesHeader = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"

// stylesFixture writes a small Fashion Product Images directory.
func stylesFixture(t *testing.T) string {
	dir := t.TempDir()
	lines := []string{
		"1,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual,Turtle Check Men Navy Blue Shirt", // line 2 ok
		"2,Women,Apparel,Topwear,Tops,Red,,2012,NA,Sass & Bella, Red Top, Size M",                  // 3 ok, commas
		"3,Men,Footwear", // 4 bad_row
		",Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,No Id Shirt",      // 5 missing_id
		"1,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Duplicate Shirt", // 6 duplicate_id
		"4,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,No Image Shirt",  // 7 missing_image
		"5,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Garbage Image",   // 8 bad_image
		"6,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Truncated Image", // 9 bad_image
		"", // 10 blank: not a row
		"7,Unisex,Accessories,Bags,Backpacks,Grey,Summer,2015,Casual,Grey Backpack\r",           // 11 ok, CRLF
		"a/b,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Bad Id",                           // 12 bad_id
		`8,Men,Apparel,Bottomwear,Jeans,Blue,Summer,2012,Casual,"Roadster, Men ""Slim"" Jeans"`, // 13 ok, quoted
		"9,,,,,,,,,", // 14 ok, cold start
	}
	writeFile(t, dir, "styles.csv", []byte(stylesHeader+strings.Join(lines, "\n")+"\n"))
	good := jpegBytes(t, 60, 80, false)
	for _, id := range []string{"1", "2", "3", "7", "8", "9"} {
		writeFile(t, dir, "images/"+id+".jpg", good)
	}
	writeFile(t, dir, "images/7.jpg", jpegBytes(t, 60, 80, true))
	writeFile(t, dir, "images/8.jpg", jpegBytes(t, 1080, 1440, false))
	writeFile(t, dir, "images/5.jpg", []byte("this is not an image"))
	writeFile(t, dir, "images/6.jpg", good[:len(good)/2])
	return dir
}

func TestStyles(t *testing.T) {
	dir := stylesFixture(t)
	res := readAll(t, dir, Options{BatchSize: 2, Workers: 3})
	if got, want := res.ids(), []string{"1", "2", "7", "8", "9"}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	wantRej := []rowReason{
		{4, ReasonBadRow}, {5, ReasonMissingID}, {6, ReasonDuplicateID}, {7, ReasonMissingImage},
		{8, ReasonBadImage}, {9, ReasonBadImage}, {12, ReasonBadID},
	}
	if got := res.reasons(); !reflect.DeepEqual(got, wantRej) {
		t.Errorf("rejections %v, want %v", got, wantRej)
	}
	if !slices.Equal(res.batches, []int{2, 2, 1}) {
		t.Errorf("batch sizes %v, want [2 2 1]", res.batches)
	}
	tests := []struct {
		id, title string
		tags      map[string]string
	}{
		{"1", "Turtle Check Men Navy Blue Shirt", map[string]string{
			"gender": "Men", "mastercategory": "Apparel", "subcategory": "Topwear", "articletype": "Shirts",
			"basecolour": "Navy Blue", "season": "Fall", "year": "2011", "usage": "Casual"}},
		{"2", "Sass & Bella, Red Top, Size M", map[string]string{
			"gender": "Women", "mastercategory": "Apparel", "subcategory": "Topwear", "articletype": "Tops",
			"basecolour": "Red", "year": "2012"}},
		{"8", `Roadster, Men "Slim" Jeans`, map[string]string{
			"gender": "Men", "mastercategory": "Apparel", "subcategory": "Bottomwear", "articletype": "Jeans",
			"basecolour": "Blue", "season": "Summer", "year": "2012", "usage": "Casual"}},
		{"9", "", map[string]string{}},
	}
	for _, tt := range tests {
		p := res.byID(t, tt.id)
		if p.Title != tt.title {
			t.Errorf("%s: title %q, want %q", tt.id, p.Title, tt.title)
		}
		if !maps.Equal(p.Tags, tt.tags) {
			t.Errorf("%s: tags %v, want %v", tt.id, p.Tags, tt.tags)
		}
		if p.ImageFormat != "jpeg" || len(p.Image) == 0 || p.Price != nil || p.Tags == nil {
			t.Errorf("%s: format %q, %d image bytes, price %v", tt.id, p.ImageFormat, len(p.Image), p.Price)
		}
	}
	for _, j := range res.rejects {
		if j.Detail == "" {
			t.Errorf("rejection %+v has no detail", j)
		}
	}
}

func TestSplitCSVLine(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a,b,c", []string{"a", "b", "c"}},
		{"", []string{""}},
		{"a,,", []string{"a", "", ""}},
		{`"a,b",c`, []string{"a,b", "c"}},
		{`"a""b"x,c`, []string{`a"bx`, "c"}},
		{`"open,never closed`, []string{"open,never closed"}},
		{`a"b,c`, []string{`a"b`, "c"}},
	}
	for _, tt := range tests {
		if got := splitCSVLine(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitCSVLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
