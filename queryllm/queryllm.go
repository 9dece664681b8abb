// Package queryllm is the optional model resolver of shopper queries: it
// asks a chat model on an OpenAI-compatible endpoint (through package llm)
// for the attribute tuple of a query that the offline rules read poorly
// (query.Resolved.LowConfidence: "what do men wear under a formal shirt",
// "something to carry my phone and cards"). The answer is constrained by a
// JSON schema to the curated vocabulary, checked again against it, and
// cached (an in-process LRU, then Redis when configured). The offline
// resolver stays the default: a timeout (the latency budget, 300 ms by
// default), an error, an unparsable or out-of-vocabulary answer all fall
// back to it, and each outcome is reported so that the server can count it.
package queryllm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"lander/llm"
	"lander/query"
	"lander/vocab"
)

// DefaultBudget is the latency budget of one model call.
const DefaultBudget = 300 * time.Millisecond

// DefaultTTL is how long a model answer is cached.
const DefaultTTL = 24 * time.Hour

// Keys are the vocabulary keys the model may answer with: the ones a
// shopper's product intent is judged on. Brand, pattern and material are
// named in the query itself, which the rules read.
var Keys = []string{"category", "color", "gender", "occasion", "season"}

// Completer sends a chat completion (llm.Client does).
type Completer interface {
	Complete(ctx context.Context, req llm.Request) (string, error)
}

// Cache stores answers by key (cache.LRU and cache.Redis do).
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// Outcome is how one call ended.
type Outcome string

// Outcomes of Resolve. Only Answered and Cached change the tuple.
const (
	Answered        Outcome = "answered"
	Cached          Outcome = "cached"
	Timeout         Outcome = "timeout"
	Failed          Outcome = "error"
	Invalid         Outcome = "invalid"           // not JSON of the schema
	OutOfVocabulary Outcome = "out_of_vocabulary" // a key or value the vocabulary lacks
	Empty           Outcome = "empty"             // no attribute at all
)

// Options configures a Resolver.
type Options struct {
	// Client asks the model.
	Client Completer
	// Model names the model in cache keys.
	Model string
	// Budget bounds one call, cache lookups included; 0 means
	// DefaultBudget.
	Budget time.Duration
	// Caches are looked up nearest first and all filled on an answer.
	Caches []Cache
	// TTL is how long answers are cached; 0 means DefaultTTL.
	TTL time.Duration
}

// Resolver asks the model. It is safe for concurrent use.
type Resolver struct {
	opts Options
}

// New returns a resolver.
func New(opts Options) *Resolver {
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	return &Resolver{opts: opts}
}

// Budget returns the latency budget of one call.
func (r *Resolver) Budget() time.Duration { return r.opts.Budget }

// answer is the model's JSON answer.
type answer struct {
	Attributes []pair `json:"attributes"`
	Excluded   []pair `json:"excluded"`
}

type pair struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Resolve asks the model for q's tuple in the vocabulary v (generation
// names v in cache keys) and merges it into offline: the model's
// attributes replace the rules' attributes (strict, with confidence
// ModelConfidence), its exclusions join theirs, the price stays the
// rules'. On any outcome but Answered and Cached, offline is returned
// unchanged. It never fails: errors are outcomes.
func (r *Resolver) Resolve(ctx context.Context, q string, v vocab.Vocabulary, generation string, offline query.Resolved) (query.Resolved, Outcome) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Budget)
	defer cancel()
	key := r.cacheKey(q, generation)
	var raw []byte
	outcome := Cached
	for _, c := range r.opts.Caches {
		if b, ok, err := c.Get(ctx, key); err == nil && ok {
			raw = b
			break
		}
	}
	if raw == nil {
		content, err := r.opts.Client.Complete(ctx, r.request(q, v))
		switch {
		case errors.Is(err, llm.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			return offline, Timeout
		case err != nil:
			return offline, Failed
		}
		raw, outcome = []byte(content), Answered
	}
	res, o := merge(raw, v, offline)
	if o != "" {
		return offline, o
	}
	if outcome == Answered {
		for _, c := range r.opts.Caches {
			_ = c.Set(ctx, key, raw, r.opts.TTL) // a failing cache only costs the next call
		}
	}
	return res, outcome
}

// ModelConfidence is the confidence of the model's attributes: below a
// named value, so that the search relaxes them before the rules' own.
const ModelConfidence = 0.75

// merge validates the model's answer against v and merges it into
// offline; a non-empty Outcome says why it was refused.
func merge(raw []byte, v vocab.Vocabulary, offline query.Resolved) (query.Resolved, Outcome) {
	var a answer
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return offline, Invalid
	}
	known := func(p pair) bool {
		if !slices.Contains(Keys, p.Key) {
			return false
		}
		return slices.ContainsFunc(v.Keys[p.Key], func(x vocab.Value) bool { return x.Value == p.Value })
	}
	if len(a.Attributes) == 0 {
		return offline, Empty
	}
	out := offline
	out.Attributes = []query.Attribute{}
	out.Excluded = slices.Clone(offline.Excluded)
	perKey := map[string]int{}
	for _, p := range a.Attributes {
		if !known(p) {
			return offline, OutOfVocabulary
		}
		perKey[p.Key]++
	}
	for _, p := range a.Excluded {
		if !known(p) {
			return offline, OutOfVocabulary
		}
	}
	for _, p := range a.Attributes {
		kv := query.KV{Key: p.Key, Value: p.Value}
		if slices.Contains(out.Excluded, kv) || slices.ContainsFunc(out.Attributes, func(x query.Attribute) bool { return x.Key == p.Key && x.Value == p.Value }) {
			continue
		}
		// Several values of one key are a choice, as in the rules.
		out.Attributes = append(out.Attributes, query.Attribute{Key: p.Key, Value: p.Value, Strict: perKey[p.Key] == 1, Confidence: ModelConfidence})
	}
	for _, p := range a.Excluded {
		if kv := (query.KV{Key: p.Key, Value: p.Value}); !slices.Contains(out.Excluded, kv) {
			out.Excluded = append(out.Excluded, kv)
		}
	}
	out.LowConfidence = false
	return out, ""
}

// cacheKey names an answer by model, vocabulary generation and query.
func (r *Resolver) cacheKey(q, generation string) string {
	h := sha256.Sum256([]byte(strings.Join(query.Tokens(q), " ")))
	return "qllm:" + r.opts.Model + ":" + generation + ":" + hex.EncodeToString(h[:12])
}

const systemPrompt = `You map a shopper's search to product attributes of a fashion catalog.
Answer with the attributes of the product the shopper wants to buy, using only the
allowed values. Name the product type (category) when the query implies one, even
when it names another product the wanted one goes with or under. Add colour, gender,
occasion or season only when the query says or clearly implies them. Put values the
shopper rules out in "excluded".`

// request builds the chat request: the query, and a schema whose enums are
// the vocabulary's values of Keys.
func (r *Resolver) request(q string, v vocab.Vocabulary) llm.Request {
	return llm.Request{
		Messages: []llm.Message{
			{Role: "system", Content: []llm.Part{llm.TextPart(systemPrompt)}},
			{Role: "user", Content: []llm.Part{llm.TextPart(q)}},
		},
		SchemaName: "shopper_tuple",
		Schema:     Schema(v),
		MaxTokens:  200,
	}
}

// Schema returns the JSON schema of an answer over v: lists of key-value
// pairs whose values are the vocabulary's, one alternative per key.
func Schema(v vocab.Vocabulary) json.RawMessage {
	var alts []any
	for _, k := range Keys {
		var vals []string
		for _, x := range v.Keys[k] {
			vals = append(vals, x.Value)
		}
		if len(vals) == 0 {
			continue
		}
		alts = append(alts, map[string]any{
			"type": "object",
			"properties": map[string]any{
				"key":   map[string]any{"const": k},
				"value": map[string]any{"enum": vals},
			},
			"required":             []string{"key", "value"},
			"additionalProperties": false,
		})
	}
	list := map[string]any{"type": "array", "items": map[string]any{"anyOf": alts}}
	s := map[string]any{
		"type":                 "object",
		"properties":           map[string]any{"attributes": list, "excluded": list},
		"required":             []string{"attributes", "excluded"},
		"additionalProperties": false,
	}
	b, _ := json.Marshal(s) // maps of strings and string slices always encode
	return b
}
