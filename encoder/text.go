// Package encoder turns text into sentence embeddings with all-MiniLM-L6-v2
// run by ONNX Runtime: a BERT WordPiece tokenizer with exact parity to the
// Hugging Face reference, and an ONNX graph (exported by
// encoder/train/export_minilm.py) that ends in mean pooling and L2
// normalisation, so vectors match sentence-transformers'
// encode(normalize_embeddings=True).
//
// The model directory (models/minilm, built by scripts/models.sh) holds
// model.onnx and vocab.txt; the ONNX Runtime shared library comes from
// scripts/setup-ort.sh. The runtime environment is process-global and
// reference-counted by this package: every Text in a process must use the same
// library file.
package encoder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Defaults of TextOptions.
const (
	DefaultMaxLength = 256 // the model's max_seq_length
	DefaultBatchSize = 32
)

// TextOptions configures NewText. Zero values select the defaults.
type TextOptions struct {
	// LibraryPath is the ONNX Runtime shared library (DefaultLibraryPath).
	LibraryPath string
	// ModelDir holds model.onnx and vocab.txt.
	ModelDir string
	// Threads is the intra-op thread count of the session; 0 means
	// runtime.NumCPU(). (ONNX Runtime's own default counts the host's cores,
	// not the CPUs this process may use, and oversubscribes containers.)
	Threads int
	// MaxLength caps the tokens per text, [CLS] and [SEP] included
	// (DefaultMaxLength, at most 512).
	MaxLength int
	// BatchSize is the number of texts run through the model at once
	// (DefaultBatchSize).
	BatchSize int
}

// Text embeds text with all-MiniLM-L6-v2. It is safe for concurrent use: one
// ONNX Runtime session serves all callers, as Run is thread-safe in ONNX
// Runtime, and each call brings its own tensors.
type Text struct {
	tok       *WordPiece
	session   *ort.DynamicAdvancedSession
	maxLength int
	batchSize int
	dim       int

	mu      sync.RWMutex // held for reading by runs, for writing by Close
	closed  bool
	release sync.Once
}

// spinning is the session.intra_op.allow_spinning setting; "0" measured
// about 1.5-2x faster than "1" on a loaded 2-core machine.
const spinning = "0"

var (
	inputNames  = []string{"input_ids", "attention_mask", "token_type_ids"}
	outputNames = []string{"sentence_embedding"}
)

// ErrClosed is returned by Embed after Close.
var ErrClosed = errors.New("encoder closed")

// NewText loads the ONNX Runtime library and the model, and checks the model's
// inputs and outputs. The caller must Close the Text.
func NewText(opts TextOptions) (*Text, error) {
	if opts.MaxLength == 0 {
		opts.MaxLength = DefaultMaxLength
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Threads == 0 {
		opts.Threads = runtime.NumCPU()
	}
	if opts.MaxLength < 2 || opts.MaxLength > 512 || opts.BatchSize < 1 || opts.Threads < 0 {
		return nil, fmt.Errorf("new text encoder: invalid options (max length %d, batch size %d, threads %d)",
			opts.MaxLength, opts.BatchSize, opts.Threads)
	}
	modelPath := filepath.Join(opts.ModelDir, "model.onnx")
	for _, p := range []string{modelPath, filepath.Join(opts.ModelDir, "vocab.txt")} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("model dir %q: %s missing; run scripts/models.sh or set LANDER_MODELS_DIR: %w",
				opts.ModelDir, filepath.Base(p), err)
		}
	}
	tok, err := LoadWordPiece(filepath.Join(opts.ModelDir, "vocab.txt"))
	if err != nil {
		return nil, err
	}
	if err := acquireRuntime(opts.LibraryPath); err != nil {
		return nil, err
	}
	t, err := newSession(modelPath, tok, opts)
	if err != nil {
		releaseRuntime()
		return nil, err
	}
	return t, nil
}

func newSession(modelPath string, tok *WordPiece, opts TextOptions) (*Text, error) {
	inputs, outputs, err := ort.GetInputOutputInfo(modelPath)
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", modelPath, err)
	}
	if err := checkSignature(inputs, outputs); err != nil {
		return nil, fmt.Errorf("load model %q: %w", modelPath, err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	// Idle intra-op threads sleep instead of spinning: a service shares its
	// cores with request handling and other sessions.
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	session, err := ort.NewDynamicAdvancedSession(modelPath, inputNames, outputNames, so)
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", modelPath, err)
	}
	return &Text{
		tok:       tok,
		session:   session,
		maxLength: opts.MaxLength,
		batchSize: opts.BatchSize,
		dim:       int(outputs[0].Dimensions[1]),
	}, nil
}

// checkSignature verifies the three int64 [batch, seq] inputs and the float
// [batch, dim] output that Embed relies on.
func checkSignature(inputs, outputs []ort.InputOutputInfo) error {
	have := map[string]ort.InputOutputInfo{}
	for _, in := range inputs {
		have[in.Name] = in
	}
	for _, name := range inputNames {
		in, ok := have[name]
		if !ok || in.DataType != ort.TensorElementDataTypeInt64 || len(in.Dimensions) != 2 {
			return fmt.Errorf("model has no int64 [batch, seq] input %q", name)
		}
	}
	if len(outputs) != 1 || outputs[0].Name != outputNames[0] || len(outputs[0].Dimensions) != 2 ||
		outputs[0].DataType != ort.TensorElementDataTypeFloat || outputs[0].Dimensions[1] <= 0 {
		return fmt.Errorf("model has no float [batch, dim] output %q", outputNames[0])
	}
	return nil
}

// Dim returns the embedding dimension (384 for all-MiniLM-L6-v2).
func (t *Text) Dim() int { return t.dim }

// MaxLength returns the token limit per text, [CLS] and [SEP] included.
func (t *Text) MaxLength() int { return t.maxLength }

// Tokenizer returns the WordPiece tokenizer of the model.
func (t *Text) Tokenizer() *WordPiece { return t.tok }

// Embed returns one L2-normalised vector per text, in order. Texts are run in
// batches of BatchSize, each padded to its longest text; texts longer than
// MaxLength tokens are truncated. An empty text gets the embedding of
// "[CLS] [SEP]". Cancelling ctx stops between batches and interrupts a
// running batch.
func (t *Text) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for i, start := 0, 0; start < len(texts); i, start = i+1, start+t.batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+t.batchSize, len(texts))
		vecs, err := t.embedBatch(ctx, texts[start:end])
		if err != nil {
			return nil, fmt.Errorf("encode batch %d: %w", i, err)
		}
		out = append(out, vecs...)
	}
	return out, nil
}

// embedBatch tokenizes, pads and runs one batch.
func (t *Text) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	enc := make([][]int64, len(texts))
	seq := 0
	for i, s := range texts {
		enc[i] = t.tok.Encode(s, t.maxLength)
		seq = max(seq, len(enc[i]))
	}
	n := len(texts)
	ids := make([]int64, n*seq)
	mask := make([]int64, n*seq)
	types := make([]int64, n*seq) // single segment: all zero
	for i, e := range enc {
		copy(ids[i*seq:], e)
		for j := range e {
			mask[i*seq+j] = 1
		}
	}
	flat := make([]float32, n*t.dim)

	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return nil, ErrClosed
	}
	shape := ort.NewShape(int64(n), int64(seq))
	var values []ort.Value
	defer func() {
		for _, v := range values {
			v.Destroy()
		}
	}()
	for _, data := range [][]int64{ids, mask, types} {
		v, err := ort.NewTensor(shape, data)
		if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	output, err := ort.NewTensor(ort.NewShape(int64(n), int64(t.dim)), flat)
	if err != nil {
		return nil, err
	}
	values = append(values, output)

	run, err := ort.NewRunOptions()
	if err != nil {
		return nil, err
	}
	defer run.Destroy()
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		run.Terminate()
		close(terminated)
	})
	err = t.session.RunWithOptions(values[:3], values[3:], run)
	if !stop() && ctx.Err() != nil {
		<-terminated // run is destroyed below; let Terminate finish first
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = flat[i*t.dim : (i+1)*t.dim : (i+1)*t.dim]
	}
	return vecs, nil
}

// Close releases the session and the reference on the ONNX Runtime
// environment. It waits for running batches; later Embed calls fail with
// ErrClosed. Close is idempotent.
func (t *Text) Close() error {
	var err error
	t.release.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		if e := t.session.Destroy(); e != nil {
			err = fmt.Errorf("close text encoder: %w", e)
		}
		if e := releaseRuntime(); e != nil && err == nil {
			err = e
		}
	})
	return err
}
