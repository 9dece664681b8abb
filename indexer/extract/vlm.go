package extract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"lander/catalog"
	"lander/llm"
)

// Completer answers chat-completion requests (llm.Client does).
type Completer interface {
	Complete(ctx context.Context, req llm.Request) (string, error)
}

// VLM rejection reasons, counted in VLMStats.Rejected. Answer-level reasons
// drop a product's whole answer; attribute-level ones drop one attribute.
const (
	RejectTimeout       = "timeout"
	RejectRequestFailed = "request_failed"
	RejectEmpty         = "empty_answer"
	RejectNotJSON       = "not_json"
	RejectUnknownKey    = "unknown_key"
	RejectAbsurdValue   = "absurd_value"
	RejectBadConfidence = "bad_confidence"
	RejectTooMany       = "too_many_attributes"
)

// DefaultVLMKeys are the keys the model is asked for.
var DefaultVLMKeys = []string{"category", "color", "gender", "season", "occasion", "brand", "pattern", "material", "fit", "sleeve", "neck", "style"}

// vlmPromptVersion changes when the prompt or schema changes, so that
// cached answers of another prompt are not reused.
const vlmPromptVersion = "vlm-1"

// Limits on one answer.
const (
	maxValueBytes  = 40
	maxValueWords  = 5
	maxAnswerAttrs = 32
)

// VLMOptions configures a VLM extractor.
type VLMOptions struct {
	// Client answers the requests.
	Client Completer
	// Model names the model, part of the cache key.
	Model string
	// Keys are the keys the model may answer; nil means DefaultVLMKeys.
	Keys []string
	// Concurrency is the number of requests in flight; 0 means 4.
	Concurrency int
	// CacheDir, when set, holds one answer per product content hash, so
	// that a rerun sends no request for a product it has seen.
	CacheDir string
	// Logger receives rejected answers at debug level; nil discards them.
	Logger *slog.Logger
}

// VLMStats counts a VLM extractor's work.
type VLMStats struct {
	Products   int            `json:"products"`
	Requests   int            `json:"requests"`
	CacheHits  int            `json:"cache_hits"`
	Answers    int            `json:"answers"`
	Attributes int            `json:"attributes"`
	Rejected   map[string]int `json:"rejected"`
}

// VLM extracts attributes with a vision-language model behind an
// OpenAI-compatible chat-completions endpoint: it sends the image as a
// base64 data URL with the product's metadata and asks for a JSON answer
// constrained by a schema. Bad answers are counted as rejections.
type VLM struct {
	opts    VLMOptions
	allowed map[string]bool
	schema  json.RawMessage
	log     *slog.Logger

	mu    sync.Mutex
	stats VLMStats
}

// NewVLM returns a VLM extractor.
func NewVLM(opts VLMOptions) (*VLM, error) {
	if opts.Client == nil {
		return nil, errors.New("vlm: no client")
	}
	if len(opts.Keys) == 0 {
		opts.Keys = DefaultVLMKeys
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("vlm cache: %w", err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &VLM{opts: opts, allowed: map[string]bool{}, log: log, stats: VLMStats{Rejected: map[string]int{}}}
	for _, k := range opts.Keys {
		v.allowed[k] = true
	}
	v.schema = answerSchema(opts.Keys)
	return v, nil
}

// Source returns SourceVLM.
func (v *VLM) Source() string { return SourceVLM }

// Stats returns a copy of the counts so far.
func (v *VLM) Stats() VLMStats {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.stats
	s.Rejected = make(map[string]int, len(v.stats.Rejected))
	for k, n := range v.stats.Rejected {
		s.Rejected[k] = n
	}
	return s
}

// Extract asks the model about each product, Concurrency at a time. It
// fails only when ctx ends; a product whose answer is bad gets no
// attributes and a counted rejection.
func (v *VLM) Extract(ctx context.Context, products []catalog.Product) ([][]Attr, error) {
	out := make([][]Attr, len(products))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.opts.Concurrency)
	for i := range products {
		g.Go(func() error {
			attrs, err := v.one(gctx, products[i])
			out[i] = attrs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("vlm: %w", err)
	}
	return out, nil
}

func (v *VLM) count(f func(s *VLMStats)) {
	v.mu.Lock()
	f(&v.stats)
	v.mu.Unlock()
}

func (v *VLM) reject(id, reason string, n int, detail string) {
	v.count(func(s *VLMStats) { s.Rejected[reason] += n })
	v.log.Debug("vlm rejection", "id", id, "reason", reason, "detail", detail)
}

func (v *VLM) one(ctx context.Context, p catalog.Product) ([]Attr, error) {
	v.count(func(s *VLMStats) { s.Products++ })
	key := v.cacheKey(p)
	content, hit := v.cached(key)
	if hit {
		v.count(func(s *VLMStats) { s.CacheHits++ })
	} else {
		v.count(func(s *VLMStats) { s.Requests++ })
		var err error
		content, err = v.opts.Client.Complete(ctx, v.request(p))
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, llm.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			v.reject(p.ID, RejectTimeout, 1, err.Error())
			return nil, nil
		case errors.Is(err, llm.ErrEmpty):
			v.reject(p.ID, RejectEmpty, 1, "")
			return nil, nil
		case err != nil:
			v.reject(p.ID, RejectRequestFailed, 1, err.Error())
			return nil, nil
		}
		v.store(key, content)
	}
	attrs, rej, err := ParseAnswer(content, v.allowed)
	if err != nil {
		reason := RejectNotJSON
		if strings.TrimSpace(content) == "" {
			reason = RejectEmpty
		}
		v.reject(p.ID, reason, 1, err.Error())
		return nil, nil
	}
	for reason, n := range rej {
		v.reject(p.ID, reason, n, "")
	}
	v.count(func(s *VLMStats) { s.Answers++; s.Attributes += len(attrs) })
	return attrs, nil
}

func (v *VLM) request(p catalog.Product) llm.Request {
	var meta strings.Builder
	fmt.Fprintf(&meta, "Title: %s\n", p.Title)
	if p.Description != "" {
		fmt.Fprintf(&meta, "Description: %s\n", p.Description)
	}
	tags := make([]string, 0, len(p.Tags))
	for k, val := range p.Tags {
		tags = append(tags, k+"="+val)
	}
	sort.Strings(tags)
	if len(tags) > 0 {
		fmt.Fprintf(&meta, "Merchant tags: %s\n", strings.Join(tags, "; "))
	}
	user := []llm.Part{llm.TextPart(meta.String() + "\nList the product's attributes.")}
	if len(p.Image) > 0 {
		user = append(user, llm.ImagePart(p.ImageFormat, p.Image))
	}
	sys := "You label fashion products for a shop's search. From the image and the metadata, answer with " +
		"JSON only: {\"attributes\":[{\"key\":K,\"value\":V,\"confidence\":C}]}. Keys: " + strings.Join(v.opts.Keys, ", ") +
		". Values are short lowercase shopping terms (at most 3 words, e.g. \"navy blue\", \"casual shoes\", \"striped\"); " +
		"confidence is between 0 and 1. Leave out what you cannot tell."
	return llm.Request{
		Messages: []llm.Message{
			{Role: "system", Content: []llm.Part{llm.TextPart(sys)}},
			{Role: "user", Content: user},
		},
		SchemaName: "product_attributes",
		Schema:     v.schema,
		MaxTokens:  400,
	}
}

func answerSchema(keys []string) json.RawMessage {
	s := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"attributes": map[string]any{
				"type": "array",
				"items": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"key":        map[string]any{"type": "string", "enum": keys},
						"value":      map[string]any{"type": "string"},
						"confidence": map[string]any{"type": "number"},
					},
					"required":             []string{"key", "value", "confidence"},
					"additionalProperties": false,
				},
			},
		},
		"required":             []string{"attributes"},
		"additionalProperties": false,
	}
	b, _ := json.Marshal(s)
	return b
}

// answer is the JSON the model is asked for.
type answer struct {
	Attributes []struct {
		Key        string   `json:"key"`
		Value      string   `json:"value"`
		Confidence *float64 `json:"confidence"`
	} `json:"attributes"`
}

// ParseAnswer reads a model answer: the JSON object of the schema, possibly
// wrapped in a Markdown code fence. It returns the accepted attributes and,
// by reason, the attributes it rejected (unknown keys, absurd values, bad
// confidences, too many). An answer that is not such an object is an error.
func ParseAnswer(content string, allowed map[string]bool) ([]Attr, map[string]int, error) {
	s := strings.TrimSpace(content)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```json")
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	}
	if s == "" {
		return nil, nil, errors.New("empty answer")
	}
	var a answer
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil, nil, fmt.Errorf("answer is not the schema's JSON: %w", err)
	}
	rej := map[string]int{}
	var out []Attr
	for i, at := range a.Attributes {
		if i >= maxAnswerAttrs {
			rej[RejectTooMany] += len(a.Attributes) - maxAnswerAttrs
			break
		}
		key := strings.ToLower(strings.TrimSpace(at.Key))
		if !allowed[key] {
			rej[RejectUnknownKey]++
			continue
		}
		val := Normalize(at.Value)
		if absurd(val) {
			rej[RejectAbsurdValue]++
			continue
		}
		conf := 0.5
		if at.Confidence != nil {
			conf = *at.Confidence
		}
		if math.IsNaN(conf) || conf <= 0 || conf > 1 {
			rej[RejectBadConfidence]++
			continue
		}
		out = append(out, Attr{Key: key, Value: val, Source: SourceVLM, Confidence: float32(conf)})
	}
	return Merge(out), rej, nil
}

// absurd reports a value no shopper would type: empty, long, wordy, or with
// no letter at all.
func absurd(v string) bool {
	if v == "" || len(v) > maxValueBytes || len(strings.Fields(v)) > maxValueWords {
		return true
	}
	for _, c := range v {
		if c >= 'a' && c <= 'z' || c > 127 {
			return false
		}
	}
	return true
}

// cacheKey hashes what the answer depends on: the model, the prompt
// version and the product's content.
func (v *VLM) cacheKey(p catalog.Product) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", vlmPromptVersion, v.opts.Model, strings.Join(v.opts.Keys, ","), p.Title, p.Description)
	keys := make([]string, 0, len(p.Tags))
	for k := range p.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, p.Tags[k])
	}
	h.Write(p.Image)
	return hex.EncodeToString(h.Sum(nil))
}

func (v *VLM) cachePath(key string) string {
	return filepath.Join(v.opts.CacheDir, key[:2], key+".json")
}

func (v *VLM) cached(key string) (string, bool) {
	if v.opts.CacheDir == "" {
		return "", false
	}
	b, err := os.ReadFile(v.cachePath(key))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// store writes an answer into the cache; a failed write only costs a
// request on the next run.
func (v *VLM) store(key, content string) {
	if v.opts.CacheDir == "" {
		return
	}
	path := v.cachePath(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		v.log.Warn("vlm cache", "err", err)
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		v.log.Warn("vlm cache", "err", err)
		return
	}
	_, werr := tmp.WriteString(content)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		v.log.Warn("vlm cache", "err", errors.Join(werr, cerr))
		return
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		v.log.Warn("vlm cache", "err", err)
	}
}
