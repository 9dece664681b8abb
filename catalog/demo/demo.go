// Package demo generates the small synthetic catalog behind "lander demo".
//
// Every product is drawn by the package itself: a garment, shoe, bag or
// watch silhouette in one named colour with a pattern on it. The title, the
// description and the tags are built from the same choices as the drawing,
// so they are the ground truth of what the image shows. Output is a pure
// function of the seed: the same seed gives byte-identical files.
package demo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// DefaultN is the number of products Generate writes when asked for n <= 0.
const DefaultN = 480

// Image size in pixels.
const (
	Width  = 96
	Height = 128
)

// Colors lists the palette names used for the "color" tag.
var Colors = []string{"black", "white", "navy blue", "red", "yellow", "green", "pink", "grey", "brown", "beige", "blue", "purple", "orange"}

// palette maps each colour name to the RGB drawn for it.
var palette = map[string]color.RGBA{
	"black": {25, 25, 25, 255}, "white": {250, 250, 250, 255}, "navy blue": {25, 35, 95, 255},
	"red": {205, 30, 35, 255}, "yellow": {245, 205, 30, 255}, "green": {35, 145, 60, 255},
	"pink": {245, 145, 185, 255}, "grey": {130, 130, 130, 255}, "brown": {115, 70, 35, 255},
	"beige": {220, 200, 160, 255}, "blue": {40, 105, 215, 255}, "purple": {120, 45, 155, 255},
	"orange": {245, 130, 30, 255},
}

// PaletteColor returns the RGB drawn for a colour name.
func PaletteColor(name string) (color.RGBA, bool) {
	c, ok := palette[name]
	return c, ok
}

var (
	background = color.RGBA{236, 236, 236, 255}
	outline    = color.RGBA{45, 45, 45, 255}
	soleColor  = color.RGBA{215, 215, 215, 255}
	steel      = color.RGBA{175, 178, 182, 255}
)

var brands = []string{"Northwind", "Kestrel", "Marlowe", "Solano", "Urbanite", "Bluefin"}

// category describes one kind of product and how it is drawn.
type category struct {
	name      string // tag value
	noun      string // title noun
	genders   []string
	colors    []string // nil means every colour
	patterns  []string
	materials []string
	occasions []string
	price     [2]float64
	draw      func(c *canvas)
}

// Categories lists the "category" tag values Generate uses.
func Categories() []string {
	out := make([]string, len(categories))
	for i, c := range categories {
		out[i] = c.name
	}
	return out
}

var (
	mw   = []string{"men", "women"}
	mwu  = []string{"men", "women", "unisex"}
	wom  = []string{"women"}
	allP = []string{"solid", "striped", "checked", "printed"}
	sol  = []string{"solid"}
)

var categories = []category{
	{"shirt", "Shirt", mw, nil, allP, []string{"cotton", "linen", "silk"}, []string{"formal", "casual"}, [2]float64{19, 79}, drawShirt},
	{"t-shirt", "T-Shirt", mw, nil, allP, []string{"cotton", "polyester"}, []string{"casual", "sports"}, [2]float64{9, 39}, drawTShirt},
	{"dress", "Dress", wom, nil, allP, []string{"cotton", "silk", "polyester"}, []string{"party", "casual", "formal"}, [2]float64{29, 199}, drawDress},
	{"trousers", "Trousers", mw, nil, []string{"solid", "striped", "checked"}, []string{"cotton", "wool", "linen"}, []string{"formal", "casual"}, [2]float64{24, 99}, drawTrousers},
	{"jeans", "Jeans", mw, []string{"blue", "navy blue", "black", "grey"}, sol, []string{"denim"}, []string{"casual"}, [2]float64{29, 119}, drawJeans},
	{"jacket", "Jacket", mw, nil, []string{"solid", "checked"}, []string{"leather", "denim", "wool", "polyester"}, []string{"casual", "formal"}, [2]float64{49, 299}, drawJacket},
	{"sneakers", "Sneakers", mwu, nil, sol, []string{"canvas", "leather", "mesh"}, []string{"sports", "casual"}, [2]float64{29, 149}, drawSneakers},
	{"heels", "Heels", wom, nil, sol, []string{"leather", "suede"}, []string{"party", "formal"}, [2]float64{29, 179}, drawHeels},
	{"boots", "Boots", mw, []string{"black", "brown", "beige", "grey", "navy blue", "red"}, sol, []string{"leather", "suede"}, []string{"casual"}, [2]float64{49, 249}, drawBoots},
	{"handbag", "Handbag", wom, nil, []string{"solid", "printed"}, []string{"leather", "canvas"}, []string{"casual", "party", "formal"}, [2]float64{24, 299}, drawHandbag},
	{"backpack", "Backpack", mwu, nil, []string{"solid", "striped", "printed"}, []string{"canvas", "polyester", "leather"}, []string{"casual", "sports"}, [2]float64{19, 129}, drawBackpack},
	{"watch", "Watch", mwu, []string{"black", "brown", "navy blue", "white", "beige", "grey", "red", "blue"}, sol, []string{"steel", "leather"}, []string{"formal", "casual", "sports"}, [2]float64{39, 299}, drawWatch},
}

var seasons = []string{"summer", "winter", "fall", "spring"}

// record is one JSON Lines row.
type record struct {
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Brand       string            `json:"brand"`
	Price       float64           `json:"price"`
	Tags        map[string]string `json:"tags"`
	ImageURI    string            `json:"image_uri"`
}

// Generate writes a synthetic catalog of n products (DefaultN when n <= 0)
// drawn from seed: dir/catalog.jsonl, whose image_uri values point to
// dir/images/<id>.png. It returns the path of catalog.jsonl.
func Generate(dir string, n int, seed int64) (string, error) {
	if n <= 0 {
		n = DefaultN
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return "", fmt.Errorf("generate demo catalog: %w", err)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c616e646572))
	// Categories come round-robin, then shuffled, so each is equally common.
	cats := make([]int, n)
	for i := range cats {
		cats[i] = i % len(categories)
	}
	rng.Shuffle(n, func(i, j int) { cats[i], cats[j] = cats[j], cats[i] })

	path := filepath.Join(dir, "catalog.jsonl")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("generate demo catalog: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range n {
		rec, img := product(rng, i, &categories[cats[i]])
		if err := writePNG(filepath.Join(dir, "images", rec.ID+".png"), img); err != nil {
			return "", err
		}
		if err := enc.Encode(rec); err != nil {
			return "", fmt.Errorf("generate demo catalog: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return "", fmt.Errorf("generate demo catalog: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("generate demo catalog: %w", err)
	}
	return path, nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write demo image: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write demo image: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write demo image: %w", err)
	}
	return nil
}

func pick(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }

// titleCase capitalises each word: "navy blue" -> "Navy Blue".
func titleCase(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// product makes the i-th product of category c and its image.
func product(rng *rand.Rand, i int, c *category) (record, *image.RGBA) {
	colors := c.colors
	if colors == nil {
		colors = Colors
	}
	col := pick(rng, colors)
	// Half of the patterned categories' products are solid.
	pattern := "solid"
	if len(c.patterns) > 1 && rng.IntN(2) == 0 {
		pattern = c.patterns[1+rng.IntN(len(c.patterns)-1)]
	}
	gender := pick(rng, c.genders)
	material := pick(rng, c.materials)
	occasion := pick(rng, c.occasions)
	season := pick(rng, seasons)
	brand := pick(rng, brands)
	lo, hi := c.price[0], c.price[1]
	price := math.Floor(lo+rng.Float64()*(hi-lo)) + 0.99

	words := []string{brand, titleCase(gender), titleCase(col)}
	if pattern != "solid" {
		words = append(words, titleCase(pattern))
	}
	if rng.IntN(2) == 0 {
		words = append(words, titleCase(season))
	}
	if rng.IntN(3) == 0 {
		words = append(words, titleCase(material))
	}
	words = append(words, c.noun)
	desc := fmt.Sprintf("A %s %s %s for %s, made of %s. Ideal for %s occasions in %s.",
		col, pattern, strings.ToLower(c.noun), gender, material, occasion, season)

	id := fmt.Sprintf("demo-%04d", i+1)
	rec := record{
		ID: id, Title: strings.Join(words, " "), Description: desc, Brand: brand, Price: price,
		Tags: map[string]string{
			"category": c.name, "color": col, "gender": gender, "season": season,
			"occasion": occasion, "pattern": pattern, "material": material,
		},
		ImageURI: "images/" + id + ".png",
	}
	cv := newCanvas(rng.IntN(7)-3, rng.IntN(7)-3)
	c.draw(cv)
	img := cv.render(jitter(rng, palette[col]), pattern)
	return rec, img
}

// jitter shifts a colour by a few levels so images are not all identical.
func jitter(rng *rand.Rand, c color.RGBA) color.RGBA {
	j := func(v uint8) uint8 { return uint8(min(255, max(0, int(v)+rng.IntN(9)-4))) }
	return color.RGBA{j(c.R), j(c.G), j(c.B), 255}
}
