package queryllm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lander/cache"
	"lander/llm"
	"lander/query"
	"lander/vocab"
)

var testVocab = vocab.Vocabulary{Keys: map[string][]vocab.Value{
	"category": {{Value: "innerwear vests", Count: 200}, {Value: "shirts", Count: 2900}, {Value: "wallets", Count: 800}},
	"gender":   {{Value: "men", Count: 20000}, {Value: "women", Count: 16000}},
	"color":    {{Value: "white", Count: 5000}, {Value: "black", Count: 9000}},
}}

// model serves chat completions whose content is content (or the status,
// or a delay), counting calls.
func model(t *testing.T, status int, content string, delay time.Duration) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			ResponseFormat struct {
				Type string `json:"type"`
			} `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ResponseFormat.Type != "json_schema" {
			t.Errorf("request without a json_schema response format: %v", err)
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": content}}}})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func offlineTuple() query.Resolved {
	return query.Resolved{
		Attributes: []query.Attribute{{Key: "category", Value: "shirts", Strict: true, Confidence: 1}, {Key: "gender", Value: "men", Strict: true, Confidence: 0.9}},
		Excluded:   []query.KV{}, Relaxed: []query.KV{}, LowConfidence: true,
	}
}

func TestResolveOutcomes(t *testing.T) {
	good := `{"attributes":[{"key":"category","value":"innerwear vests"},{"key":"gender","value":"men"}],"excluded":[{"key":"color","value":"black"}]}`
	tests := []struct {
		name    string
		status  int
		content string
		delay   time.Duration
		want    Outcome
	}{
		{"answer", 200, good, 0, Answered},
		{"slow", 200, good, 2 * time.Second, Timeout},
		{"server error", 500, "", 0, Failed},
		{"rate limited", 429, "", 0, Failed},
		{"empty content", 200, "", 0, Failed},
		{"not json", 200, "innerwear vests for men", 0, Invalid},
		{"wrong shape", 200, `{"attributes":"innerwear vests"}`, 0, Invalid},
		{"unknown field", 200, `{"attributes":[{"key":"category","value":"shirts"}],"excluded":[],"why":"x"}`, 0, Invalid},
		{"unknown value", 200, `{"attributes":[{"key":"category","value":"undershirts"}],"excluded":[]}`, 0, OutOfVocabulary},
		{"unknown key", 200, `{"attributes":[{"key":"fabric","value":"cotton"}],"excluded":[]}`, 0, OutOfVocabulary},
		{"key outside the answer keys", 200, `{"attributes":[{"key":"brand","value":"shirts"}],"excluded":[]}`, 0, OutOfVocabulary},
		{"unknown exclusion", 200, `{"attributes":[{"key":"category","value":"shirts"}],"excluded":[{"key":"color","value":"mauve"}]}`, 0, OutOfVocabulary},
		{"no attributes", 200, `{"attributes":[],"excluded":[]}`, 0, Empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := model(t, tt.status, tt.content, tt.delay)
			r := New(Options{Client: llm.New(llm.Options{BaseURL: srv.URL, Model: "m", Timeout: 5 * time.Second}), Model: "m", Budget: 300 * time.Millisecond})
			start := time.Now()
			got, outcome := r.Resolve(context.Background(), "what do men wear under a formal shirt", testVocab, "gen-1", offlineTuple())
			if outcome != tt.want {
				t.Fatalf("outcome = %s, want %s", outcome, tt.want)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %s, beyond the 300ms budget", took)
			}
			if tt.want != Answered {
				if diff := cmp.Diff(offlineTuple(), got); diff != "" {
					t.Errorf("a refused answer changed the tuple (-want +got):\n%s", diff)
				}
				return
			}
			want := offlineTuple()
			want.Attributes = []query.Attribute{{Key: "category", Value: "innerwear vests", Strict: true, Confidence: ModelConfidence}, {Key: "gender", Value: "men", Strict: true, Confidence: ModelConfidence}}
			want.Excluded = []query.KV{{Key: "color", Value: "black"}}
			want.LowConfidence = false
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveCaches(t *testing.T) {
	srv, calls := model(t, 200, `{"attributes":[{"key":"category","value":"wallets"}],"excluded":[]}`, 0)
	lru := cache.NewLRU(16)
	r := New(Options{Client: llm.New(llm.Options{BaseURL: srv.URL, Model: "m"}), Model: "m", Caches: []Cache{lru}})
	for i, want := range []Outcome{Answered, Cached, Cached} {
		// The same words, differently written, share the answer.
		q := []string{"something to carry my phone and cards", "Something to carry my phone and card", "something  to carry my phones and cards"}[i]
		got, outcome := r.Resolve(context.Background(), q, testVocab, "gen-1", offlineTuple())
		if outcome != want {
			t.Fatalf("call %d: outcome = %s, want %s", i, outcome, want)
		}
		if len(got.Attributes) != 1 || got.Attributes[0].Value != "wallets" {
			t.Errorf("call %d: attributes = %v", i, got.Attributes)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("model called %d times, want 1", n)
	}
	// Another generation's vocabulary asks again.
	if _, outcome := r.Resolve(context.Background(), "something to carry my phone and cards", testVocab, "gen-2", offlineTuple()); outcome != Answered {
		t.Errorf("new generation: outcome = %s, want %s", outcome, Answered)
	}
}

func TestSchemaListsTheVocabulary(t *testing.T) {
	var s struct {
		Properties struct {
			Attributes struct {
				Items struct {
					AnyOf []struct {
						Properties struct {
							Key   struct{ Const string }
							Value struct{ Enum []string }
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(Schema(testVocab), &s); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range s.Properties.Attributes.Items.AnyOf {
		got[a.Properties.Key.Const] = a.Properties.Value.Enum
	}
	want := map[string][]string{"category": {"innerwear vests", "shirts", "wallets"}, "gender": {"men", "women"}, "color": {"white", "black"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzMerge: whatever the model answers, merge never panics, and an
// accepted answer holds only vocabulary values of the answer keys.
func FuzzMerge(f *testing.F) {
	for _, s := range []string{
		`{"attributes":[{"key":"category","value":"shirts"}],"excluded":[]}`,
		`{"attributes":[{"key":"gender","value":"men"},{"key":"gender","value":"women"}],"excluded":[{"key":"color","value":"black"}]}`,
		`{"attributes":null}`, `[]`, `{`, ``, `{"attributes":[{"key":"category"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, outcome := merge([]byte(raw), testVocab, offlineTuple())
		if outcome != "" {
			if diff := cmp.Diff(offlineTuple(), got); diff != "" {
				t.Fatalf("refused (%s) but changed (-want +got):\n%s", outcome, diff)
			}
			return
		}
		for _, a := range got.Attributes {
			found := false
			for _, v := range testVocab.Keys[a.Key] {
				found = found || v.Value == a.Value
			}
			if !found {
				t.Fatalf("accepted %s=%s outside the vocabulary from %q", a.Key, a.Value, raw)
			}
		}
	})
}
