// Package llm is a small client for OpenAI-compatible chat-completions
// endpoints (OpenAI, vLLM, llama.cpp server, Ollama, ...): text and image
// messages, JSON-schema-constrained answers, per-request timeouts, retries
// with exponential backoff and a client-side rate limit.
package llm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Errors a Complete call can end with, besides context errors.
var (
	// ErrTimeout is a request that ran past Options.Timeout on every try.
	ErrTimeout = errors.New("llm: request timed out")
	// ErrEmpty is an answer with no choice or empty content.
	ErrEmpty = errors.New("llm: empty answer")
)

// StatusError is an HTTP status the endpoint answered with.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("llm: status %d: %s", e.Code, e.Body)
}

// Options configures a Client.
type Options struct {
	// BaseURL is the API root, such as "http://localhost:8000/v1"; the
	// client posts to BaseURL + "/chat/completions".
	BaseURL string
	// APIKey, when set, is sent as a bearer token.
	APIKey string
	// Model is the model name sent with each request.
	Model string
	// Timeout bounds one HTTP request; 0 means 60s.
	Timeout time.Duration
	// MaxRetries is the number of retries after a failed try (timeouts,
	// network errors, 429 and 5xx); 0 means none.
	MaxRetries int
	// Backoff is the wait before the first retry, doubled for each next;
	// 0 means 500ms.
	Backoff time.Duration
	// RequestsPerSecond limits the request rate; 0 means no limit.
	RequestsPerSecond float64
	// HTTPClient sends the requests; nil means a default client.
	HTTPClient *http.Client
	// Logger receives retry lines; nil discards them.
	Logger *slog.Logger
}

// Client calls a chat-completions endpoint. It is safe for concurrent use.
type Client struct {
	opts Options
	http *http.Client
	log  *slog.Logger
	lim  *limiter
}

// New returns a client.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, http: hc, log: log}
	if opts.RequestsPerSecond > 0 {
		c.lim = &limiter{every: time.Duration(float64(time.Second) / opts.RequestsPerSecond)}
	}
	return c
}

// Model returns the model name the client asks for.
func (c *Client) Model() string { return c.opts.Model }

// Part is one piece of a message's content.
type Part struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL points at an image, here always a data URL.
type ImageURL struct {
	URL string `json:"url"`
}

// TextPart returns a text part.
func TextPart(s string) Part { return Part{Type: "text", Text: s} }

// ImagePart returns an image part holding the image as a base64 data URL;
// format is "jpeg", "png" or "webp".
func ImagePart(format string, data []byte) Part {
	if format == "" {
		format = "jpeg"
	}
	return Part{Type: "image_url", ImageURL: &ImageURL{URL: "data:image/" + format + ";base64," + base64.StdEncoding.EncodeToString(data)}}
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content []Part `json:"content"`
}

// Request is one completion request.
type Request struct {
	// Messages is the conversation, system message first.
	Messages []Message
	// SchemaName and Schema, when Schema is set, constrain the answer to
	// JSON matching the schema (response_format json_schema, strict).
	SchemaName string
	Schema     json.RawMessage
	// MaxTokens bounds the answer; 0 leaves it to the server.
	MaxTokens int
}

type wireRequest struct {
	Model          string          `json:"model"`
	Messages       []Message       `json:"messages"`
	Temperature    float64         `json:"temperature"`
	MaxTokens      int             `json:"max_tokens,omitempty"`
	ResponseFormat *responseFormat `json:"response_format,omitempty"`
}

type responseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *jsonSchema `json:"json_schema,omitempty"`
}

type jsonSchema struct {
	Name   string          `json:"name"`
	Strict bool            `json:"strict"`
	Schema json.RawMessage `json:"schema"`
}

type wireResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

// Complete sends the request and returns the content of the first choice,
// retrying timeouts, network errors, 429 and 5xx answers.
func (c *Client) Complete(ctx context.Context, req Request) (string, error) {
	wr := wireRequest{Model: c.opts.Model, Messages: req.Messages, MaxTokens: req.MaxTokens}
	if len(req.Schema) > 0 {
		name := req.SchemaName
		if name == "" {
			name = "answer"
		}
		wr.ResponseFormat = &responseFormat{Type: "json_schema", JSONSchema: &jsonSchema{Name: name, Strict: true, Schema: req.Schema}}
	}
	body, err := json.Marshal(wr)
	if err != nil {
		return "", fmt.Errorf("llm: encode request: %w", err)
	}
	wait := c.opts.Backoff
	for try := 0; ; try++ {
		content, err := c.once(ctx, body)
		if err == nil || !retryable(err) || try >= c.opts.MaxRetries || ctx.Err() != nil {
			return content, err
		}
		c.log.Debug("llm retry", "try", try+1, "err", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusTooManyRequests || se.Code >= 500
	}
	return !errors.Is(err, ErrEmpty) && !errors.Is(err, context.Canceled)
}

func (c *Client) once(ctx context.Context, body []byte) (string, error) {
	if c.lim != nil {
		if err := c.lim.wait(ctx); err != nil {
			return "", err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, strings.TrimRight(c.opts.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("llm: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if c.opts.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() == nil && rctx.Err() != nil {
			return "", ErrTimeout
		}
		return "", fmt.Errorf("llm: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		if ctx.Err() == nil && rctx.Err() != nil {
			return "", ErrTimeout
		}
		return "", fmt.Errorf("llm: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", &StatusError{Code: resp.StatusCode, Body: truncate(string(b), 200)}
	}
	var wr wireResponse
	if err := json.Unmarshal(b, &wr); err != nil {
		return "", fmt.Errorf("llm: decode answer: %w", err)
	}
	if len(wr.Choices) == 0 || strings.TrimSpace(wr.Choices[0].Message.Content) == "" {
		return "", ErrEmpty
	}
	return wr.Choices[0].Message.Content, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// limiter spaces requests at least every apart.
type limiter struct {
	mu    sync.Mutex
	next  time.Time
	every time.Duration
}

func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.every)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
