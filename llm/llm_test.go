package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func answer(w http.ResponseWriter, content string) {
	json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": content}}}})
}

func TestComplete(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		var req wireRequest
		json.NewDecoder(r.Body).Decode(&req)
		switch req.Messages[0].Content[0].Text {
		case "ok":
			if req.ResponseFormat == nil || req.ResponseFormat.JSONSchema.Name != "x" || req.Model != "m" {
				http.Error(w, "no schema", http.StatusBadRequest)
				return
			}
			answer(w, `{"a":1}`)
		case "retry":
			if n%2 == 1 {
				http.Error(w, "busy", http.StatusTooManyRequests)
				return
			}
			answer(w, "done")
		case "bad":
			http.Error(w, "nope", http.StatusBadRequest)
		case "empty":
			answer(w, "")
		case "slow":
			time.Sleep(200 * time.Millisecond)
			answer(w, "late")
		}
	}))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Model: "m", Timeout: 50 * time.Millisecond, MaxRetries: 2, Backoff: time.Millisecond})
	req := func(s string) Request {
		return Request{Messages: []Message{{Role: "user", Content: []Part{TextPart(s)}}}, SchemaName: "x", Schema: json.RawMessage(`{}`)}
	}
	ctx := context.Background()
	if got, err := c.Complete(ctx, req("ok")); err != nil || got != `{"a":1}` {
		t.Errorf("ok: %q, %v", got, err)
	}
	calls.Store(0)
	if got, err := c.Complete(ctx, req("retry")); err != nil || got != "done" || calls.Load() != 2 {
		t.Errorf("retry: %q, %v after %d calls", got, err, calls.Load())
	}
	calls.Store(0)
	var se *StatusError
	if _, err := c.Complete(ctx, req("bad")); !errors.As(err, &se) || se.Code != 400 || calls.Load() != 1 {
		t.Errorf("bad: %v after %d calls (400 is not retried)", err, calls.Load())
	}
	if _, err := c.Complete(ctx, req("empty")); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	calls.Store(0)
	if _, err := c.Complete(ctx, req("slow")); !errors.Is(err, ErrTimeout) || calls.Load() != 3 {
		t.Errorf("slow: %v after %d calls", err, calls.Load())
	}
}

func TestRateLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w, "x") }))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, RequestsPerSecond: 50})
	start := time.Now()
	for range 6 {
		if _, err := c.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: []Part{TextPart("hi")}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("6 requests at 50/s took %v, want >= 100ms", d)
	}
}

func TestImagePart(t *testing.T) {
	p := ImagePart("", []byte{1, 2, 3})
	if p.Type != "image_url" || p.ImageURL.URL != "data:image/jpeg;base64,AQID" {
		t.Errorf("ImagePart = %+v", p.ImageURL)
	}
}
