package pixelcolor

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"lander/catalog"
)

// TestDevEval learns a palette from training-split images of the
// development catalogue and logs its accuracy on validation-split images
// (FNV-1a of the id mod 10: 0 validation, 1 test, the rest training). It
// reads ../shared/data, so it runs only with LANDER_EVAL=1.
func TestDevEval(t *testing.T) {
	if os.Getenv("LANDER_EVAL") != "1" {
		t.Skip("set LANDER_EVAL=1 to run the development evaluation")
	}
	dir := filepath.Join("..", "..", "..", "shared", "data", "fashion-small")
	f, err := os.Open(filepath.Join(dir, "styles.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	type ex struct {
		lab   []Cluster
		color string
	}
	var train, val []ex
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ",")
		if len(fs) < 10 {
			continue
		}
		id, col := fs[0], strings.ToLower(fs[5])
		isVal := catalog.InShard(id, 0, 10)
		isTrain := !isVal && !catalog.InShard(id, 1, 10)
		if isTrain && len(train) >= 6000 || isVal && len(val) >= 2000 || !isVal && !isTrain {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "images", id+".jpg"))
		if err != nil {
			continue
		}
		img, err := catalog.DecodeImage(context.Background(), b)
		if err != nil {
			continue
		}
		e := ex{Dominant(img), col}
		if isTrain {
			train = append(train, e)
		} else {
			val = append(val, e)
		}
		if len(train) >= 6000 && len(val) >= 2000 {
			break
		}
	}
	examples := map[string][]Lab{}
	for _, e := range train {
		if len(e.lab) > 0 {
			examples[e.color] = append(examples[e.color], e.lab[0].Lab)
		}
	}
	for _, name := range []string{"median", "prototypes"} {
		var p *Palette
		if name == "median" {
			p = Learn(examples, 20)
		} else {
			p = LearnPrototypes(examples, 20, 8)
		}
		type sc struct {
			s  float64
			ok bool
		}
		var scores []sc
		right, n := 0, 0
		for _, e := range val {
			n++
			if len(e.lab) == 0 {
				continue
			}
			g, ok := p.Nearest(e.lab[0].Lab)
			if !ok {
				continue
			}
			scores = append(scores, sc{g.Score, g.Value == e.color})
			if g.Value == e.color {
				right++
			}
		}
		sort.Slice(scores, func(i, j int) bool { return scores[i].s > scores[j].s })
		// Recall at which precision stays >= 0.85.
		best, r := 0, 0
		for i, s := range scores {
			if s.ok {
				r++
			}
			if float64(r) >= 0.85*float64(i+1) {
				best = r
			}
		}
		t.Logf("%s: %d centroids, accuracy %.3f over %d, recall at precision 0.85: %.3f", name, len(p.Centroids), float64(right)/float64(n), n, float64(best)/float64(n))
	}
}
