package assign

import (
	"context"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"lander/catalog"
	"lander/encoder"
	"lander/indexer/extract"
)

// TestHeldOutEval runs the shipped model end to end in Go (preprocessing,
// MiniLM, product tower, assignment) on the held-out test split of the
// development catalogue (FNV-1a 64 of the id mod 10 == 1, never used in
// training or calibration) with tags withheld, and logs Recall@10 and the
// per-key precision and recall with title+image and with the image alone.
// It reads ../shared/data and takes a minute or two, so it runs only with
// LANDER_EVAL=1.
func TestHeldOutEval(t *testing.T) {
	if os.Getenv("LANDER_EVAL") != "1" {
		t.Skip("set LANDER_EVAL=1 to run the held-out evaluation")
	}
	root := filepath.Join("..", "..")
	cat := filepath.Join(root, "..", "shared", "data", "fashion-small")
	lib := filepath.Join(root, encoder.DefaultLibraryPath)
	dir := filepath.Join(root, encoder.DefaultDualDir)
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	text, err := encoder.NewText(encoder.TextOptions{LibraryPath: lib, ModelDir: filepath.Join(root, "models", "minilm"), BatchSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer text.Close()
	prod, err := encoder.NewProduct(encoder.DualOptions{LibraryPath: lib, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	rd, err := catalog.Open(cat, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int{}
	for i, a := range m.Attributes {
		vocab[a.Key+":"+a.Value] = i
	}
	type counts struct{ tp, assigned, labelled int }
	modes := []string{"title_image", "image"}
	fam := map[string]map[string]*counts{}
	recall := map[string]*counts{}
	rawDistinct, assignedDistinct := map[string]bool{}, map[string]map[string]bool{}
	rawPer, assignedPer := 0, map[string]int{}
	n := 0
	ctx := context.Background()
	err = rd.Read(ctx, func(batch []catalog.Product) error {
		var items []encoder.ProductItem
		var labels [][]int
		for _, p := range batch {
			h := fnv.New64a()
			h.Write([]byte(p.ID))
			if h.Sum64()%10 != 1 {
				continue
			}
			img, err := catalog.DecodeImage(context.Background(), p.Image)
			if err != nil {
				return err
			}
			var l []int
			for _, a := range extract.TagsOf(p) {
				rawDistinct[a.Key+":"+a.Value] = true
				rawPer++
				if i, ok := vocab[a.Key+":"+a.Value]; ok {
					l = append(l, i)
				}
			}
			items = append(items, encoder.ProductItem{Image: img, Text: p.Title}) // tags withheld
			labels = append(labels, l)
		}
		if len(items) == 0 {
			return nil
		}
		n += len(items)
		for _, mode := range modes {
			in := items
			if mode == "image" {
				in = make([]encoder.ProductItem, len(items))
				for i, it := range items {
					in[i] = encoder.ProductItem{Image: it.Image}
				}
			}
			vecs, err := prod.EmbedItems(ctx, text, in)
			if err != nil {
				return err
			}
			for i, v := range vecs {
				near := map[int]bool{}
				for _, j := range m.Nearest(v, 10) {
					near[j] = true
				}
				got := map[string]string{}
				as := m.Assign(v, mode == "title_image")
				assignedPer[mode] += len(as)
				if assignedDistinct[mode] == nil {
					assignedDistinct[mode] = map[string]bool{}
				}
				for _, a := range as {
					got[a.Key] = a.Value
					assignedDistinct[mode][a.Key+":"+a.Value] = true
				}
				for _, j := range labels[i] {
					a := m.Attributes[j]
					if fam[mode+"/"+a.Key] == nil {
						fam[mode+"/"+a.Key] = map[string]*counts{}
					}
					c := fam[mode+"/"+a.Key]
					if c[""] == nil {
						c[""] = &counts{}
					}
					c[""].labelled++
					if g, ok := got[a.Key]; ok {
						c[""].assigned++
						if g == a.Value {
							c[""].tp++
						}
					}
					if a.Key == "category" || a.Key == "color" || a.Key == "gender" {
						if recall[mode] == nil {
							recall[mode] = &counts{}
						}
						recall[mode].labelled++
						if near[j] {
							recall[mode].tp++
						}
					}
				}
			}
		}
		return nil
	}, func(catalog.Rejection) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out products: %d; model %s", n, m.Version)
	for _, mode := range modes {
		r := recall[mode]
		t.Logf("%s: Recall@10 %.4f; attributes/product %.2f; distinct assigned %d", mode,
			float64(r.tp)/float64(r.labelled), float64(assignedPer[mode])/float64(n), len(assignedDistinct[mode]))
		var keys []string
		for k := range fam {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			key, ok := strings.CutPrefix(k, mode+"/")
			if !ok {
				continue
			}
			c := fam[k][""]
			t.Logf("  %-22s precision %.3f recall %.3f (n=%d)", key, float64(c.tp)/max(float64(c.assigned), 1),
				float64(c.tp)/float64(c.labelled), c.labelled)
		}
	}
	t.Logf("raw: attributes/product %.2f; distinct %d", float64(rawPer)/float64(n), len(rawDistinct))
}
