package demo

import (
	"bytes"
	"context"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"lander/catalog"
)

func TestGenerateReadBack(t *testing.T) {
	dir := t.TempDir()
	path, err := Generate(dir, 0, 42)
	if err != nil {
		t.Fatal(err)
	}
	r, err := catalog.Open(path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	perCat := map[string]int{}
	perColor := map[string]int{}
	n := 0
	err = r.Read(context.Background(), func(ps []catalog.Product) error {
		for _, p := range ps {
			n++
			perCat[p.Tags["category"]]++
			perColor[p.Tags["color"]]++
			for _, k := range []string{"category", "color", "gender", "season", "occasion", "pattern", "material", "brand"} {
				if p.Tags[k] == "" {
					t.Errorf("%s: no %s tag", p.ID, k)
				}
			}
			if p.Title == "" || p.Price == nil || *p.Price < 9 || *p.Price > 300 || p.ImageFormat != "png" {
				t.Errorf("%s: %q price %v format %s", p.ID, p.Title, p.Price, p.ImageFormat)
			}
			checkDrawnColor(t, p)
		}
		return nil
	}, func(j catalog.Rejection) { t.Errorf("rejected: %+v", j) })
	if err != nil {
		t.Fatal(err)
	}
	if n != DefaultN {
		t.Errorf("read %d products, want %d", n, DefaultN)
	}
	if len(perCat) != len(categories) {
		t.Errorf("categories %v", perCat)
	}
	for c, k := range perCat {
		if k != DefaultN/len(categories) {
			t.Errorf("category %s: %d products, want %d", c, k, DefaultN/len(categories))
		}
	}
	if len(perColor) != len(Colors) {
		t.Errorf("colours %v, want all %d", perColor, len(Colors))
	}
	t.Logf("per category %v", perCat)
	t.Logf("per colour %v", perColor)
}

// checkDrawnColor checks that the image's commonest non-background colour is
// nearest to the palette colour named by the tag.
func checkDrawnColor(t *testing.T, p catalog.Product) {
	img, err := catalog.DecodeImage(context.Background(), p.Image)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c != background && c != outline {
				counts[c]++
			}
		}
	}
	var top color.RGBA
	for c, k := range counts {
		if k > counts[top] || (k == counts[top] && c.R < top.R) {
			top = c
		}
	}
	best, bestD := "", 1<<30
	for _, name := range Colors {
		pc := palette[name]
		dr, dg, db := int(pc.R)-int(top.R), int(pc.G)-int(top.G), int(pc.B)-int(top.B)
		if d := dr*dr + dg*dg + db*db; d < bestD {
			best, bestD = name, d
		}
	}
	if best != p.Tags["color"] {
		t.Errorf("%s (%s): dominant drawn colour %v is %s", p.ID, p.Title, top, best)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []struct {
		dir  string
		seed int64
	}{{a, 7}, {b, 7}, {c, 8}} {
		if _, err := Generate(d.dir, 60, d.seed); err != nil {
			t.Fatal(err)
		}
	}
	ja, _ := os.ReadFile(filepath.Join(a, "catalog.jsonl"))
	jb, _ := os.ReadFile(filepath.Join(b, "catalog.jsonl"))
	jc, _ := os.ReadFile(filepath.Join(c, "catalog.jsonl"))
	if len(ja) == 0 || !bytes.Equal(ja, jb) {
		t.Error("same seed gave different catalog.jsonl")
	}
	if bytes.Equal(ja, jc) {
		t.Error("different seeds gave the same catalog.jsonl")
	}
	files, _ := filepath.Glob(filepath.Join(a, "images", "*.png"))
	if len(files) != 60 {
		t.Fatalf("%d images, want 60", len(files))
	}
	for _, f := range files {
		x, _ := os.ReadFile(f)
		y, err := os.ReadFile(filepath.Join(b, "images", filepath.Base(f)))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs", filepath.Base(f))
		}
	}
}
