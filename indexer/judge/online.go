package judge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"lander/llm"
)

// Completer answers chat-completion requests (llm.Client does).
type Completer interface {
	Complete(ctx context.Context, req llm.Request) (string, error)
}

// OnlineOptions configures an online judge.
type OnlineOptions struct {
	// Client answers the requests.
	Client Completer
	// Concurrency is the number of requests in flight; 0 means 4.
	Concurrency int
	// Fallback scores a candidate whose answer was bad; nil leaves its
	// score at zero, with a note.
	Fallback Judge
}

// Online asks a chat model to score candidates on the three criteria.
// Bad answers (errors, empty, not JSON, out-of-range scores) are counted
// in Rejected and scored by the fallback.
type Online struct {
	opts OnlineOptions
	mu   sync.Mutex
	rej  map[string]int
}

// NewOnline returns an online judge.
func NewOnline(opts OnlineOptions) (*Online, error) {
	if opts.Client == nil {
		return nil, errors.New("online judge: no client")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	return &Online{opts: opts, rej: map[string]int{}}, nil
}

// Rejected returns the bad answers so far, by reason.
func (j *Online) Rejected() map[string]int {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make(map[string]int, len(j.rej))
	for k, n := range j.rej {
		out[k] = n
	}
	return out
}

var onlineSchema = json.RawMessage(`{"type":"object","properties":{` +
	`"coherence":{"type":"number"},"plausibility":{"type":"number"},"phrasing":{"type":"number"},"reason":{"type":"string"}},` +
	`"required":["coherence","plausibility","phrasing","reason"],"additionalProperties":false}`)

const onlineSystem = "You judge candidate shopping collections for an online fashion shop. A candidate is a tuple of " +
	"attributes and the search query generated for it. Score three criteria between 0 and 1: coherence (the attributes " +
	"describe one kind of product that exists), plausibility (shoppers would want this collection), phrasing (the query " +
	"reads like something a shopper types into a search box). Answer with JSON only."

// Judge scores each candidate, Concurrency at a time. It fails only when
// ctx ends.
func (j *Online) Judge(ctx context.Context, cands []Candidate) ([]Score, error) {
	out := make([]Score, len(cands))
	bad := make([]bool, len(cands))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(j.opts.Concurrency)
	for i, c := range cands {
		g.Go(func() error {
			b, _ := json.Marshal(c)
			content, err := j.opts.Client.Complete(gctx, llm.Request{
				Messages: []llm.Message{
					{Role: "system", Content: []llm.Part{llm.TextPart(onlineSystem)}},
					{Role: "user", Content: []llm.Part{llm.TextPart(string(b))}},
				},
				SchemaName: "judgement", Schema: onlineSchema, MaxTokens: 200,
			})
			if gctx.Err() != nil {
				return gctx.Err()
			}
			var reason string
			if err != nil {
				reason = "request_failed"
				if errors.Is(err, llm.ErrTimeout) {
					reason = "timeout"
				} else if errors.Is(err, llm.ErrEmpty) {
					reason = "empty_answer"
				}
			} else if s, perr := ParseJudgement(content); perr != nil {
				reason = "bad_answer"
			} else {
				out[i] = s
				return nil
			}
			j.mu.Lock()
			j.rej[reason]++
			j.mu.Unlock()
			bad[i] = true
			out[i] = Score{Judge: "online", Notes: []string{"bad answer: " + reason}}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("online judge: %w", err)
	}
	if j.opts.Fallback != nil {
		var idx []int
		var fc []Candidate
		for i, b := range bad {
			if b {
				idx = append(idx, i)
				fc = append(fc, cands[i])
			}
		}
		if len(fc) > 0 {
			fs, err := j.opts.Fallback.Judge(ctx, fc)
			if err != nil {
				return nil, fmt.Errorf("online judge fallback: %w", err)
			}
			for k, i := range idx {
				fs[k].Notes = append(fs[k].Notes, out[i].Notes...)
				out[i] = fs[k]
			}
		}
	}
	return out, nil
}

// ParseJudgement reads a model's judgement: a JSON object with coherence,
// plausibility and phrasing in [0, 1] and a reason.
func ParseJudgement(content string) (Score, error) {
	s := strings.TrimSpace(content)
	s = strings.TrimPrefix(s, "```json")
	s = strings.TrimPrefix(s, "```")
	s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	var a struct {
		Coherence, Plausibility, Phrasing *float64
		Reason                            string
	}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return Score{}, fmt.Errorf("judgement is not JSON: %w", err)
	}
	for name, p := range map[string]*float64{"coherence": a.Coherence, "plausibility": a.Plausibility, "phrasing": a.Phrasing} {
		if p == nil || math.IsNaN(*p) || *p < 0 || *p > 1 {
			return Score{}, fmt.Errorf("judgement: %s missing or out of [0, 1]", name)
		}
	}
	sc := Score{Coherence: *a.Coherence, Plausibility: *a.Plausibility, Phrasing: *a.Phrasing, Judge: "online"}
	if a.Reason != "" {
		sc.Notes = []string{a.Reason}
	}
	overall(&sc)
	return sc, nil
}
