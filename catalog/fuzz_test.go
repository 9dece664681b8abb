package catalog

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

// nonBlankLines counts the lines of data that are rows: those that are not
// blank.
func nonBlankLines(data []byte) int {
	n := 0
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
	return n
}

// readSource runs the Reader pipeline over an in-memory source.
func readSource(t *testing.T, open func() (source, error)) (delivered []Product, rejected []Rejection) {
	r := &Reader{format: "fuzz", opts: Options{BatchSize: 3, Workers: 2}.withDefaults(), open: open}
	err := r.Read(context.Background(), func(ps []Product) error {
		delivered = append(delivered, ps...)
		return nil
	}, func(j Rejection) { rejected = append(rejected, j) })
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return delivered, rejected
}

// checkOutput checks the invariants every read must hold.
func checkOutput(t *testing.T, want int, delivered []Product, rejected []Rejection) {
	if got := len(delivered) + len(rejected); got != want {
		t.Fatalf("%d delivered + %d rejected = %d, want %d rows", len(delivered), len(rejected), got, want)
	}
	seen := map[string]bool{}
	for _, p := range delivered {
		if p.ID == "" || seen[p.ID] || len(p.Image) == 0 || p.ImageFormat == "" || p.Tags == nil {
			t.Fatalf("bad product %+v", p)
		}
		seen[p.ID] = true
		if !utf8.ValidString(p.Title) || !utf8.ValidString(p.ID) {
			t.Fatalf("invalid UTF-8 in %q / %q", p.ID, p.Title)
		}
	}
	for _, j := range rejected {
		if j.Reason == "" || j.Row <= 0 {
			t.Fatalf("bad rejection %+v", j)
		}
	}
}

func fuzzImages(f *testing.F) string {
	dir := f.TempDir()
	writeFile(f, dir, "images/1.jpg", jpegBytes(f, 60, 80, false))
	writeFile(f, dir, "images/2.jpg", jpegBytes(f, 60, 80, true))
	writeFile(f, dir, "images/3.jpg", []byte("garbage"))
	writeFile(f, dir, "img/1.png", pngBytes(f, 8, 8, 1))
	return dir
}

func FuzzJSONL(f *testing.F) {
	dir := fuzzImages(f)
	for _, s := range []string{
		`{"id":"1","image_uri":"img/1.png","title":"x","tags":{"a":"b"},"price":3}`,
		"{\"id\":1,\"image_uri\":\"img/1.png\"}\n{\"id\":1}\n\n  \n[1]\nnull\n{\"id\":\"2\",\"tags\":[\"a:b\",\"c\"]}",
		`{"id":"3","image":"iVBORw0KGgo=","price":"-1"}`,
		`{"id":"4","image_uri":"images/3.jpg","tags":"a, b:c","price":null,"x":[1,"y"]}`,
		"\xff\xfe{\"id\":\"\xff\"}\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		delivered, rejected := readSource(t, func() (source, error) {
			return newJSONLSource(bytes.NewReader(data), dir), nil
		})
		checkOutput(t, nonBlankLines(data), delivered, rejected)
	})
}

func FuzzStylesCSV(f *testing.F) {
	dir := fuzzImages(f)
	for _, s := range []string{
		"1,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual,Turtle Check Men Navy Blue Shirt",
		"2,Women,Apparel,Topwear,Tops,Red,,2012,NA,Sass & Bella, Red Top\n3,a,b\n\n,x,,,,,,,,\n1,,,,,,,,,",
		`2,"a,b",c,d,e,f,g,h,i,"j""k`,
		"../1,a,b,c,d,e,f,g,h,i\r\n\xff,a,b,c,d,e,f,g,h,i",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		delivered, rejected := readSource(t, func() (source, error) {
			return newStylesSource(strings.NewReader(stylesHeader+string(data)), dir+"/images")
		})
		checkOutput(t, nonBlankLines(data), delivered, rejected)
	})
}
