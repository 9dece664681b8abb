package encoder

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"lander/catalog"
	"lander/catalog/demo"
)

// The embed job (encoder/train/dualenc/embed.py, PyTorch) must write the
// vectors that the Go indexer computes. testdata/embed/ holds a tiny catalog
// drawn by catalog/demo (regenerate with
// `go test ./encoder -run TestEmbedCatalogGenerate -update-embed`), the Go
// preprocessing of its images (pixels.json, for the Python tests) and the
// job's fp32 CPU output (golden.json, written by
// `python -m dualenc.embed golden`, see encoder/train/make_embed_golden.sh).

var updateEmbed = flag.Bool("update-embed", false, "regenerate testdata/embed/catalog.jsonl, images and pixels.json")

const embedDir = "testdata/embed"

// embedRow is one catalog.jsonl line of the test catalog.
type embedRow struct {
	ID          string  `json:"id,omitempty"`
	Title       string  `json:"title,omitempty"`
	Description string  `json:"description,omitempty"`
	Price       float64 `json:"price,omitempty"`
	ImageURI    string  `json:"image_uri,omitempty"`
}

func TestEmbedCatalogGenerate(t *testing.T) {
	if !*updateEmbed {
		t.Skip("run with -update-embed to regenerate testdata/embed")
	}
	tmp := t.TempDir()
	path, err := demo.Generate(tmp, 14, 11)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(embedDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(embedDir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	var rows []embedRow
	sc := bufio.NewScanner(bytes.NewReader(b))
	for i := 0; sc.Scan(); i++ {
		var r embedRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(tmp, r.ImageURI))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		switch {
		case i < 5: // JPEG, 4:2:0 as most catalogs
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
			r.ImageURI = "images/" + r.ID + ".jpg"
		case i == 5: // PNG with alpha: composited over white
			bb := img.Bounds()
			n := image.NewNRGBA(bb)
			for y := bb.Min.Y; y < bb.Max.Y; y++ {
				for x := bb.Min.X; x < bb.Max.X; x++ {
					c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					c.A = uint8(255 - 200*(x-bb.Min.X)/bb.Dx())
					n.SetNRGBA(x, y, c)
				}
			}
			err = png.Encode(&buf, n)
		case i == 6: // grayscale PNG
			bb := img.Bounds()
			g := image.NewGray(bb)
			for y := bb.Min.Y; y < bb.Max.Y; y++ {
				for x := bb.Min.X; x < bb.Max.X; x++ {
					g.Set(x, y, img.At(x, y))
				}
			}
			err = png.Encode(&buf, g)
		default:
			err = png.Encode(&buf, img)
		}
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 7, 8: // image only (cold start)
			r.Title, r.Description = "", ""
		case 9: // title only
			r.Description = ""
		case 10: // description only
			r.Title = ""
		}
		if err := os.WriteFile(filepath.Join(embedDir, r.ImageURI), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	// Rows the reader rejects, one per reason the job must count.
	if err := os.WriteFile(filepath.Join(embedDir, "images", "broken.png"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	rows = append(rows,
		embedRow{Title: "No id", ImageURI: rows[0].ImageURI},
		embedRow{ID: "missing-image", Title: "Missing image", ImageURI: "images/nope.jpg"},
		embedRow{ID: "broken-image", Title: "Broken image", ImageURI: "images/broken.png"},
		embedRow{ID: rows[1].ID, Title: "Duplicate", ImageURI: rows[2].ImageURI},
	)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	out.WriteString("{\"id\": \"bad-price\", \"title\": \"Bad price\", \"price\": -3, \"image_uri\": \"images/broken.png\"}\n")
	out.WriteString("not json\n")
	if err := os.WriteFile(filepath.Join(embedDir, "catalog.jsonl"), out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The Go preprocessing of every accepted product, deflated and base64,
	// for the Python preprocessing tests.
	pix := map[string]string{}
	for _, p := range readEmbedCatalog(t) {
		img, err := catalog.DecodeImage(context.Background(), p.Image)
		if err != nil {
			t.Fatal(err)
		}
		px, err := PreprocessImage(img)
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, flate.BestCompression)
		w.Write(px)
		w.Close()
		pix[p.ID] = base64.StdEncoding.EncodeToString(z.Bytes())
	}
	pb, _ := json.MarshalIndent(pix, "", " ")
	if err := os.WriteFile(filepath.Join(embedDir, "pixels.json"), append(pb, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readEmbedCatalog reads testdata/embed/catalog.jsonl with the Go reader.
func readEmbedCatalog(t testing.TB) []catalog.Product {
	t.Helper()
	products, _ := readEmbedCatalogAll(t)
	return products
}

func readEmbedCatalogAll(t testing.TB) ([]catalog.Product, []catalog.Rejection) {
	t.Helper()
	r, err := catalog.Open(filepath.Join(embedDir, "catalog.jsonl"), catalog.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	var products []catalog.Product
	var rejected []catalog.Rejection
	err = r.Read(context.Background(), func(b []catalog.Product) error {
		products = append(products, b...)
		return nil
	}, func(rj catalog.Rejection) { rejected = append(rejected, rj) })
	if err != nil {
		t.Fatal(err)
	}
	return products, rejected
}

type embedGolden struct {
	Model    string `json:"model"`
	Products []struct {
		ID            string `json:"id"`
		Vector        string `json:"vector"`
		ProductVector string `json:"product_vector"`
	} `json:"products"`
	Rejected []struct {
		Row    int    `json:"row"`
		ID     string `json:"id"`
		Reason string `json:"reason"`
	} `json:"rejected"`
	Attributes []struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Vector string `json:"vector"`
	} `json:"attributes"`
}

func decodeF32(t testing.TB, s string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, v); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return v
}

func cosine32(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Max(math.Sqrt(aa*bb), 1e-12)
}

// TestEmbedJobParity checks the PyTorch embed job's output against the Go
// text encoder and product tower on the same catalog, and the rejections
// against the Go reader.
func TestEmbedJobParity(t *testing.T) {
	var g embedGolden
	b, err := os.ReadFile(filepath.Join(embedDir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	products, rejected := readEmbedCatalogAll(t)

	// Rejections: same rows, same reasons, in order.
	if len(rejected) != len(g.Rejected) {
		t.Fatalf("Go rejects %d rows, the embed job %d: %+v vs %+v", len(rejected), len(g.Rejected), rejected, g.Rejected)
	}
	for i, r := range rejected {
		if r.Row != g.Rejected[i].Row || r.ID != g.Rejected[i].ID || r.Reason != g.Rejected[i].Reason {
			t.Errorf("rejection %d: Go %d %q %s, embed job %+v", i, r.Row, r.ID, r.Reason, g.Rejected[i])
		}
	}
	if len(products) != len(g.Products) {
		t.Fatalf("Go accepts %d products, the embed job %d", len(products), len(g.Products))
	}

	text := newTestText(t, TextOptions{})
	prod := newTestProduct(t)
	texts := make([]string, len(products))
	for i, p := range products {
		// extract.Text (indexer/extract; not imported here).
		switch {
		case p.Title != "" && p.Description != "":
			texts[i] = p.Title + ". " + p.Description
		case p.Title != "":
			texts[i] = p.Title
		default:
			texts[i] = p.Description
		}
	}
	vecs, err := text.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]ProductInput, len(products))
	for i, p := range products {
		img, err := catalog.DecodeImage(context.Background(), p.Image)
		if err != nil {
			t.Fatal(err)
		}
		if in[i].Pixels, err = PreprocessImage(img); err != nil {
			t.Fatal(err)
		}
		if texts[i] != "" { // as the indexer: nil text embedding for no text
			in[i].TextEmbedding = vecs[i]
		}
	}
	pvecs, err := prod.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	minV, minP := 1.0, 1.0
	for i, p := range products {
		gp := g.Products[i]
		if gp.ID != p.ID {
			t.Fatalf("product %d: Go %q, embed job %q (order differs)", i, p.ID, gp.ID)
		}
		cv := cosine32(vecs[i], decodeF32(t, gp.Vector))
		cp := cosine32(pvecs[i], decodeF32(t, gp.ProductVector))
		minV, minP = math.Min(minV, cv), math.Min(minP, cp)
		if cv < 0.999 || cp < 0.999 {
			t.Errorf("%s (%q): cosine vector %.6f, product_vector %.6f, want >= 0.999", p.ID, texts[i], cv, cp)
		}
	}
	// Attributes: the job's attribute tower against model.json's vectors
	// (the Go attribute tower's output).
	info, err := LoadModelInfo(dualDir)
	if err != nil {
		t.Fatal(err)
	}
	ref := map[[2]string][]float32{}
	for _, v := range info.Vocabulary {
		ref[[2]string{v.Key, v.Value}] = v.Vector
	}
	minA := 1.0
	for _, a := range g.Attributes {
		r, ok := ref[[2]string{a.Key, a.Value}]
		if !ok {
			t.Errorf("attribute %s=%s not in model.json", a.Key, a.Value)
			continue
		}
		c := cosine32(r, decodeF32(t, a.Vector))
		minA = math.Min(minA, c)
		if c < 0.999 {
			t.Errorf("attribute %s=%s: cosine %.6f, want >= 0.999", a.Key, a.Value, c)
		}
	}
	if len(g.Attributes) == 0 {
		t.Error("golden.json holds no attributes")
	}
	t.Logf("min cosine: vector %.6f, product_vector %.6f (%d products), attribute %.6f (%d)", minV, minP, len(products), minA, len(g.Attributes))
}
