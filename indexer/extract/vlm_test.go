package extract

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lander/catalog"
	"lander/llm"
)

// fakeVLM speaks the chat-completions protocol; the product title (in the
// user message) says how to answer.
func fakeVLM(t *testing.T, calls *atomic.Int64) *httptest.Server {
	t.Helper()
	var flaky atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "bad path or key", http.StatusNotFound)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content []struct {
					Type     string `json:"type"`
					Text     string `json:"text"`
					ImageURL *struct {
						URL string `json:"url"`
					} `json:"image_url"`
				} `json:"content"`
			} `json:"messages"`
			ResponseFormat struct {
				Type       string `json:"type"`
				JSONSchema struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "vlm-test" || req.ResponseFormat.Type != "json_schema" || len(req.ResponseFormat.JSONSchema.Schema) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		user := req.Messages[len(req.Messages)-1]
		text := user.Content[0].Text
		if len(user.Content) < 2 || !strings.HasPrefix(user.Content[1].ImageURL.URL, "data:image/png;base64,") {
			http.Error(w, "no image", http.StatusBadRequest)
			return
		}
		content := `{"attributes":[{"key":"color","value":"Navy Blue","confidence":0.9},{"key":"pattern","value":"striped","confidence":0.8}]}`
		switch {
		case strings.Contains(text, "empty"):
			content = ""
		case strings.Contains(text, "prose"):
			content = "I think this is a nice blue shirt."
		case strings.Contains(text, "unknown"):
			content = `{"attributes":[{"key":"mood","value":"happy","confidence":0.9},{"key":"color","value":"red","confidence":0.9}]}`
		case strings.Contains(text, "absurd"):
			content = `{"attributes":[{"key":"pattern","value":"lace-trim hem with side slit and a very long description","confidence":0.9},{"key":"color","value":"1234","confidence":0.9},{"key":"material","value":"cotton","confidence":7}]}`
		case strings.Contains(text, "slow"):
			time.Sleep(300 * time.Millisecond)
		case strings.Contains(text, "flaky") && flaky.Add(1) == 1:
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		case strings.Contains(text, "fenced"):
			content = "```json\n" + content + "\n```"
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": content}}}})
	}))
}

func TestVLMExtractor(t *testing.T) {
	var calls atomic.Int64
	srv := fakeVLM(t, &calls)
	defer srv.Close()
	client := llm.New(llm.Options{BaseURL: srv.URL + "/v1", APIKey: "k", Model: "vlm-test", Timeout: 100 * time.Millisecond, MaxRetries: 1, Backoff: time.Millisecond})
	cache := t.TempDir()
	newVLM := func() *VLM {
		v, err := NewVLM(VLMOptions{Client: client, Model: "vlm-test", Concurrency: 3, CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var products []catalog.Product
	for _, title := range []string{"good shirt", "empty", "prose", "unknown", "absurd", "slow", "flaky", "fenced"} {
		products = append(products, catalog.Product{ID: title, Title: title, Image: []byte("\x89PNG"), ImageFormat: "png"})
	}
	v := newVLM()
	got, err := v.Extract(context.Background(), products)
	if err != nil {
		t.Fatal(err)
	}
	want := []Attr{{Key: "color", Value: "navy blue", Source: SourceVLM, Confidence: 0.9}, {Key: "pattern", Value: "striped", Source: SourceVLM, Confidence: 0.8}}
	for _, i := range []int{0, 6, 7} {
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", products[i].Title, diff)
		}
	}
	if len(got[3]) != 1 || got[3][0].Value != "red" {
		t.Errorf("unknown-key answer kept %v", got[3])
	}
	for _, i := range []int{1, 2, 4, 5} {
		if len(got[i]) != 0 {
			t.Errorf("%s: got %v, want nothing", products[i].Title, got[i])
		}
	}
	st := v.Stats()
	wantRej := map[string]int{RejectEmpty: 1, RejectNotJSON: 1, RejectUnknownKey: 1, RejectAbsurdValue: 2, RejectBadConfidence: 1, RejectTimeout: 1}
	if diff := cmp.Diff(wantRej, st.Rejected); diff != "" {
		t.Errorf("rejections (-want +got):\n%s", diff)
	}
	if st.Products != 8 || st.Requests != 8 || st.Answers != 5 || st.CacheHits != 0 {
		t.Errorf("stats = %+v", st)
	}

	// A rerun answers from the cache, except for the products that got no
	// answer: the timed-out one and the empty one.
	before := calls.Load()
	v2 := newVLM()
	got2, err := v2.Extract(context.Background(), products)
	if err != nil {
		t.Fatal(err)
	}
	if st2 := v2.Stats(); st2.CacheHits != 6 || st2.Requests != 2 {
		t.Errorf("rerun stats = %+v", st2)
	}
	if n := calls.Load() - before; n != 3 { // the slow product tried twice, the empty one
		t.Errorf("rerun sent %d requests, want 3", n)
	}
	if diff := cmp.Diff(got[0], got2[0]); diff != "" {
		t.Errorf("cached answer differs (-first +rerun):\n%s", diff)
	}

	// A cancelled context stops the run.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v3, _ := NewVLM(VLMOptions{Client: client, Model: "other"})
	if _, err := v3.Extract(ctx, products[:1]); err == nil {
		t.Error("no error with a cancelled context")
	}
}

func TestParseAnswer(t *testing.T) {
	allowed := map[string]bool{"color": true, "category": true}
	tests := []struct {
		name    string
		in      string
		want    int
		rej     map[string]int
		wantErr bool
	}{
		{"good", `{"attributes":[{"key":"color","value":"Red","confidence":1}]}`, 1, map[string]int{}, false},
		{"fenced", "```json\n{\"attributes\":[]}\n```", 0, map[string]int{}, false},
		{"empty", "  ", 0, nil, true},
		{"prose", "red shirt", 0, nil, true},
		{"array", `[1,2]`, 0, nil, true},
		{"no confidence", `{"attributes":[{"key":"color","value":"red"}]}`, 1, map[string]int{}, false},
		{"unknown key", `{"attributes":[{"key":"vibe","value":"boho","confidence":0.5}]}`, 0, map[string]int{RejectUnknownKey: 1}, false},
		{"absurd", `{"attributes":[{"key":"color","value":"a b c d e f","confidence":0.5},{"key":"color","value":"!!!","confidence":0.5}]}`, 0, map[string]int{RejectAbsurdValue: 2}, false},
		{"confidence", `{"attributes":[{"key":"color","value":"red","confidence":-1}]}`, 0, map[string]int{RejectBadConfidence: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rej, err := ParseAnswer(tt.in, allowed)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if len(got) != tt.want {
				t.Errorf("attrs = %v", got)
			}
			if diff := cmp.Diff(tt.rej, rej); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
	var many strings.Builder
	many.WriteString(`{"attributes":[`)
	for i := range 40 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`{"key":"color","value":"red","confidence":0.5}`)
	}
	many.WriteString("]}")
	if _, rej, _ := ParseAnswer(many.String(), allowed); rej[RejectTooMany] != 8 {
		t.Errorf("too many: %v", rej)
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"attributes":[{"key":"color","value":"Red","confidence":1}]}`,
		"```json\n{\"attributes\":[]}\n```", "", "null", `{"attributes":null}`, `{"attributes":[{"key":1}]}`,
	} {
		f.Add(s)
	}
	allowed := map[string]bool{"color": true}
	f.Fuzz(func(t *testing.T, s string) {
		attrs, _, err := ParseAnswer(s, allowed)
		if err != nil && attrs != nil {
			t.Fatal("attributes with an error")
		}
		for _, a := range attrs {
			if !allowed[a.Key] || a.Value == "" || len(a.Value) > maxValueBytes || a.Confidence <= 0 || a.Confidence > 1 || a.Source != SourceVLM {
				t.Fatalf("bad attribute %+v", a)
			}
		}
	})
}
