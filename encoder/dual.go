package encoder

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// DefaultDualDir is the directory of the trained dual encoder, relative to
// the repository root: product.onnx, attribute.onnx and model.json, written
// by encoder/train (make train).
const DefaultDualDir = "encoder/weights"

// DefaultProductBatchSize is the default batch of the product tower.
const DefaultProductBatchSize = 64

// ModelInfo is the model.json beside the dual encoder: preprocessing, sizes,
// version, the vocabulary it was trained on and the calibrated assignment
// parameters.
type ModelInfo struct {
	Version          string       `json:"version"`
	TextModel        string       `json:"text_model"`
	EmbeddingDim     int          `json:"embedding_dim"`
	TextEmbeddingDim int          `json:"text_embedding_dim"`
	Image            ImageInfo    `json:"image"`
	ProductModel     string       `json:"product_model"`
	AttributeModel   string       `json:"attribute_model"`
	AttributePhrase  string       `json:"attribute_phrase"`
	LogitScale       float64      `json:"logit_scale"`
	Assignment       Assignment   `json:"assignment"`
	Vocabulary       []VocabEntry `json:"vocabulary"`
}

// ImageInfo gives the product tower's image preprocessing.
type ImageInfo struct {
	Channels int        `json:"channels"`
	Height   int        `json:"height"`
	Width    int        `json:"width"`
	Layout   string     `json:"layout"`
	Resize   string     `json:"resize"`
	Mean     [3]float32 `json:"mean"`
	Std      [3]float32 `json:"std"`
}

// Assignment holds the assignment rule's parameters (see package
// lander/indexer/assign).
type Assignment struct {
	// Rule states the rule in words.
	Rule string `json:"rule"`
	// Gamma weighs the log prior subtracted from the scores.
	Gamma float64 `json:"gamma"`
	// ExclusiveKeys are keys with one value per product.
	ExclusiveKeys []string `json:"exclusive_keys"`
}

// VocabEntry is one attribute of the shipped vocabulary.
type VocabEntry struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Phrase string `json:"phrase"`
	// Count is the attribute's support in the training split.
	Count int `json:"count"`
	// LogPrior is the log of the attribute's share of its key in training.
	LogPrior float64 `json:"log_prior"`
	// Threshold and ThresholdImage are the calibrated confidence thresholds
	// with title+image and with the image alone.
	Threshold      float64 `json:"threshold"`
	ThresholdImage float64 `json:"threshold_image"`
	// Vector is the attribute tower's output for Phrase.
	Vector []float32 `json:"vector"`
}

// LoadModelInfo reads dir/model.json and checks that it fits this package's
// preprocessing.
func LoadModelInfo(dir string) (*ModelInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, fmt.Errorf("load dual encoder: %w; run make train or check out encoder/weights", err)
	}
	var m ModelInfo
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("load dual encoder %s: %w", dir, err)
	}
	if m.Image.Height != ImageHeight || m.Image.Width != ImageWidth || m.Image.Channels != ImageChannels {
		return nil, fmt.Errorf("load dual encoder %s: image %dx%dx%d, this build preprocesses to %dx%dx%d",
			dir, m.Image.Channels, m.Image.Height, m.Image.Width, ImageChannels, ImageHeight, ImageWidth)
	}
	if m.EmbeddingDim <= 0 || m.TextEmbeddingDim <= 0 {
		return nil, fmt.Errorf("load dual encoder %s: bad dimensions %d, %d", dir, m.EmbeddingDim, m.TextEmbeddingDim)
	}
	for i, v := range m.Vocabulary {
		if len(v.Vector) != m.EmbeddingDim {
			return nil, fmt.Errorf("load dual encoder %s: vocabulary entry %d has %d values, want %d",
				dir, i, len(v.Vector), m.EmbeddingDim)
		}
	}
	return &m, nil
}

// DualOptions configures NewProduct and NewAttribute. Zero values select
// the defaults.
type DualOptions struct {
	// LibraryPath is the ONNX Runtime shared library (DefaultLibraryPath).
	LibraryPath string
	// Dir holds model.json and the ONNX files (DefaultDualDir).
	Dir string
	// Threads is the intra-op thread count; 0 means runtime.NumCPU().
	Threads int
	// BatchSize is the number of rows run at once
	// (DefaultProductBatchSize).
	BatchSize int
}

func (o DualOptions) withDefaults() DualOptions {
	if o.Dir == "" {
		o.Dir = DefaultDualDir
	}
	if o.Threads == 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultProductBatchSize
	}
	return o
}

// session is one ONNX Runtime session with float inputs of shape
// [batch, ...] and one float output [batch, dim].
type session struct {
	s       *ort.DynamicAdvancedSession
	mu      sync.RWMutex // held for reading by runs, for writing by close
	closed  bool
	release sync.Once
}

// openSession opens a model with one output, named output.
func openSession(path string, inputs []string, output string, threads int) (*session, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	s, err := ort.NewDynamicAdvancedSession(path, inputs, []string{output}, so)
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", path, err)
	}
	return &session{s: s}, nil
}

// run runs one batch of n rows; each input is a flat tensor with its shape
// after the batch dimension.
func (s *session) run(ctx context.Context, n, dim int, inputs [][]float32, shapes [][]int64) ([]float32, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var values []ort.Value
	defer func() {
		for _, v := range values {
			v.Destroy()
		}
	}()
	for i, data := range inputs {
		v, err := ort.NewTensor(ort.NewShape(append([]int64{int64(n)}, shapes[i]...)...), data)
		if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	flat := make([]float32, n*dim)
	out, err := ort.NewTensor(ort.NewShape(int64(n), int64(dim)), flat)
	if err != nil {
		return nil, err
	}
	values = append(values, out)
	opts, err := ort.NewRunOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		opts.Terminate()
		close(terminated)
	})
	err = s.s.RunWithOptions(values[:len(inputs)], values[len(inputs):], opts)
	if !stop() && ctx.Err() != nil {
		<-terminated
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return flat, nil
}

func (s *session) close() error {
	var err error
	s.release.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		err = s.s.Destroy()
	})
	return err
}

// ProductInput is one product for the product tower.
type ProductInput struct {
	// Pixels is the output of PreprocessImage (ImageSize bytes).
	Pixels []byte
	// TextEmbedding is the text encoder's embedding of the product text, or
	// nil when the product has no text (the image-only path).
	TextEmbedding []float32
}

// Product is the product tower of the dual encoder: image and text
// embedding to a unit vector in the attribute space. It is safe for
// concurrent use.
type Product struct {
	*tower
}

// tower is what the towers and the colour net share: the model's
// description, one session and its reference on the ONNX Runtime
// environment.
type tower struct {
	name  string
	info  *ModelInfo
	sess  *session
	batch int
	once  sync.Once
	err   error
}

// openTower loads dir/model.json and the ONNX file that file picks from it,
// whose one output is named output.
func openTower(name string, opts DualOptions, file func(*ModelInfo) string, inputs []string, output string) (*tower, error) {
	opts = opts.withDefaults()
	info, err := LoadModelInfo(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := acquireRuntime(opts.LibraryPath); err != nil {
		return nil, err
	}
	s, err := openSession(filepath.Join(opts.Dir, file(info)), inputs, output, opts.Threads)
	if err != nil {
		releaseRuntime()
		return nil, err
	}
	return &tower{name: name, info: info, sess: s, batch: opts.BatchSize}, nil
}

// Close releases the session and the reference on the ONNX Runtime
// environment. Close is idempotent.
func (t *tower) Close() error {
	t.once.Do(func() {
		if err := t.sess.close(); err != nil {
			t.err = fmt.Errorf("close %s encoder: %w", t.name, err)
		}
		if err := releaseRuntime(); err != nil && t.err == nil {
			t.err = err
		}
	})
	return t.err
}

// NewProduct loads dir/model.json and the product tower. The caller must
// Close it.
func NewProduct(opts DualOptions) (*Product, error) {
	t, err := openTower("product", opts, func(m *ModelInfo) string { return m.ProductModel },
		[]string{"image", "text_embedding", "text_present"}, "embedding")
	if err != nil {
		return nil, err
	}
	return &Product{tower: t}, nil
}

// Info returns the model's model.json.
func (p *Product) Info() *ModelInfo { return p.info }

// Dim returns the size of the shared space.
func (p *Product) Dim() int { return p.info.EmbeddingDim }

// Embed returns one unit vector per input, in order, running batches of
// the configured size.
func (p *Product) Embed(ctx context.Context, in []ProductInput) ([][]float32, error) {
	td := p.info.TextEmbeddingDim
	out := make([][]float32, 0, len(in))
	for start := 0; start < len(in); start += p.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows := in[start:min(start+p.batch, len(in))]
		n := len(rows)
		img := make([]float32, 0, n*ImageSize)
		txt := make([]float32, n*td)
		flag := make([]float32, n)
		for i, r := range rows {
			if len(r.Pixels) != ImageSize {
				return nil, fmt.Errorf("embed product %d: image of %d bytes, want %d", start+i, len(r.Pixels), ImageSize)
			}
			img = NormalizeImage(img, r.Pixels, p.info.Image.Mean, p.info.Image.Std)
			if r.TextEmbedding != nil {
				if len(r.TextEmbedding) != td {
					return nil, fmt.Errorf("embed product %d: text embedding of %d values, want %d", start+i, len(r.TextEmbedding), td)
				}
				copy(txt[i*td:], r.TextEmbedding)
				flag[i] = 1
			}
		}
		flat, err := p.sess.run(ctx, n, p.info.EmbeddingDim, [][]float32{img, txt, flag},
			[][]int64{{ImageChannels, ImageHeight, ImageWidth}, {int64(td)}, {1}})
		if err != nil {
			return nil, fmt.Errorf("embed products %d-%d: %w", start, start+n-1, err)
		}
		out = append(out, rows2(flat, n, p.info.EmbeddingDim)...)
	}
	return out, nil
}

// ProductItem is a product as the catalog gives it.
type ProductItem struct {
	// Image is the decoded image.
	Image image.Image
	// Text is the title and description; empty for an image-only product.
	Text string
}

// EmbedItems preprocesses the images, embeds the non-empty texts with text
// and runs the product tower.
func (p *Product) EmbedItems(ctx context.Context, text *Text, items []ProductItem) ([][]float32, error) {
	in := make([]ProductInput, len(items))
	var texts []string
	var at []int
	for i, it := range items {
		pix, err := PreprocessImage(it.Image)
		if err != nil {
			return nil, fmt.Errorf("embed product %d: %w", i, err)
		}
		in[i].Pixels = pix
		if it.Text != "" {
			texts = append(texts, it.Text)
			at = append(at, i)
		}
	}
	if len(texts) > 0 {
		embs, err := text.Embed(ctx, texts)
		if err != nil {
			return nil, err
		}
		for j, i := range at {
			in[i].TextEmbedding = embs[j]
		}
	}
	return p.Embed(ctx, in)
}

// Attribute is the attribute tower: the text encoder's embedding of an
// attribute phrase (AttributePhrase) through the trained projection. It is
// safe for concurrent use.
type Attribute struct {
	*tower
}

// NewAttribute loads dir/model.json and the attribute projection. The
// caller must Close it.
func NewAttribute(opts DualOptions) (*Attribute, error) {
	t, err := openTower("attribute", opts, func(m *ModelInfo) string { return m.AttributeModel },
		[]string{"text_embedding"}, "embedding")
	if err != nil {
		return nil, err
	}
	t.batch = max(t.batch, 256)
	return &Attribute{tower: t}, nil
}

// Embed projects text-encoder embeddings of attribute phrases into the
// shared space.
func (a *Attribute) Embed(ctx context.Context, textEmbeddings [][]float32) ([][]float32, error) {
	td := a.info.TextEmbeddingDim
	out := make([][]float32, 0, len(textEmbeddings))
	for start := 0; start < len(textEmbeddings); start += a.batch {
		rows := textEmbeddings[start:min(start+a.batch, len(textEmbeddings))]
		flat := make([]float32, 0, len(rows)*td)
		for i, r := range rows {
			if len(r) != td {
				return nil, fmt.Errorf("embed attribute %d: %d values, want %d", start+i, len(r), td)
			}
			flat = append(flat, r...)
		}
		res, err := a.sess.run(ctx, len(rows), a.info.EmbeddingDim, [][]float32{flat}, [][]int64{{int64(td)}})
		if err != nil {
			return nil, fmt.Errorf("embed attributes: %w", err)
		}
		out = append(out, rows2(res, len(rows), a.info.EmbeddingDim)...)
	}
	return out, nil
}

// EmbedPhrases embeds "key: value" phrases with text and projects them.
func (a *Attribute) EmbedPhrases(ctx context.Context, text *Text, phrases []string) ([][]float32, error) {
	embs, err := text.Embed(ctx, phrases)
	if err != nil {
		return nil, err
	}
	return a.Embed(ctx, embs)
}

// rows2 splits a flat [n, dim] buffer into n capped slices.
func rows2(flat []float32, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
	}
	return out
}
