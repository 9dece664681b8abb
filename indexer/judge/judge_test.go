package judge

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"lander/llm"
)

func catalog() [][]KV {
	var out [][]KV
	add := func(n int, kvs ...KV) {
		for range n {
			out = append(out, kvs)
		}
	}
	add(40, KV{Key: "category", Value: "tshirts"}, KV{Key: "color", Value: "navy blue"}, KV{Key: "gender", Value: "men"})
	add(30, KV{Key: "category", Value: "dresses"}, KV{Key: "color", Value: "red"}, KV{Key: "gender", Value: "women"})
	add(2, KV{Key: "category", Value: "dresses"}, KV{Key: "color", Value: "navy blue"}, KV{Key: "gender", Value: "men"})
	return out
}

func TestOffline(t *testing.T) {
	log, err := ReadSearchLog(strings.NewReader("navy tshirts for men\t120\nred dress\t40\n\nshoes\t5\n"))
	if err != nil || len(log) != 3 {
		t.Fatalf("log = %v, %v", log, err)
	}
	o := NewOffline(catalog(), OfflineOptions{Log: log, Aliases: map[string]map[string][]string{"color": {"navy blue": {"navy"}}}})
	cands := []Candidate{
		{Attributes: []KV{{Key: "category", Value: "tshirts"}, {Key: "color", Value: "navy blue"}}, Query: "navy blue tshirts"},
		{Attributes: []KV{{Key: "category", Value: "dresses"}, {Key: "gender", Value: "men"}}, Query: "dresses for men"},
		{Attributes: []KV{{Key: "category", Value: "tshirts"}, {Key: "color", Value: "red"}}, Query: "red tshirts"},
		{Attributes: []KV{{Key: "category", Value: "dresses"}, {Key: "color", Value: "red"}}, Query: "Buy: the best red red dresses!!! 2024 2025 2026 now"},
	}
	s, err := o.Judge(context.Background(), cands)
	if err != nil {
		t.Fatal(err)
	}
	if !(s[0].Coherence > 0.9 && s[0].Plausibility > 0.8 && s[0].Phrasing == 1) {
		t.Errorf("good candidate: %+v", s[0])
	}
	if !(s[1].Coherence < 0.1 && s[1].Overall < s[0].Overall) {
		t.Errorf("rare combination: %+v", s[1])
	}
	if s[2].Coherence != 0 || s[2].Overall != 0 {
		t.Errorf("absent combination: %+v", s[2])
	}
	if s[3].Phrasing >= 0.8 || len(s[3].Notes) == 0 {
		t.Errorf("bad phrasing: %+v", s[3])
	}
	if o.Support([]KV{{Key: "color", Value: "navy blue"}}) != 42 {
		t.Error("support")
	}
	if _, err := ReadSearchLog(strings.NewReader("q\tmany\n")); err == nil {
		t.Error("bad count accepted")
	}
}

func TestPhrasing(t *testing.T) {
	tests := []struct {
		q    string
		want float64
	}{
		{"navy blue tshirts", 1},
		{"", 0.714},
		{"navy blue tshirts tshirts", 0.857},
	}
	for _, tt := range tests {
		got, _ := Phrasing(Candidate{Attributes: []KV{{Key: "color", Value: "navy blue"}}, Query: tt.q})
		if round(got) != round(tt.want) {
			t.Errorf("Phrasing(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestOnline(t *testing.T) {
	// The slow answer waits for the end of the test, far past the client's
	// timeout, which is long enough for the others on a loaded machine
	// under -race (50 ms was not).
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct {
				Content []struct{ Text string } `json:"content"`
			} `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		q := req.Messages[1].Content[0].Text
		content := `{"coherence":0.9,"plausibility":0.8,"phrasing":1,"reason":"fine"}`
		switch {
		case strings.Contains(q, "prose"):
			content = "looks good to me"
		case strings.Contains(q, "range"):
			content = `{"coherence":9,"plausibility":0.8,"phrasing":1,"reason":""}`
		case strings.Contains(q, "slow"):
			<-release
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": content}}}})
	}))
	defer srv.Close()
	defer close(release)
	client := llm.New(llm.Options{BaseURL: srv.URL, Model: "judge", Timeout: 2 * time.Second})
	j, err := NewOnline(OnlineOptions{Client: client, Fallback: NewOffline(catalog(), OfflineOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	cands := []Candidate{
		{Attributes: []KV{{Key: "category", Value: "tshirts"}}, Query: "tshirts"},
		{Attributes: []KV{{Key: "category", Value: "tshirts"}}, Query: "prose"},
		{Attributes: []KV{{Key: "category", Value: "tshirts"}}, Query: "range"},
		{Attributes: []KV{{Key: "category", Value: "tshirts"}}, Query: "slow"},
	}
	s, err := j.Judge(context.Background(), cands)
	if err != nil {
		t.Fatal(err)
	}
	if s[0].Judge != "online" || s[0].Coherence != 0.9 || s[0].Overall < 0.8 {
		t.Errorf("online score = %+v", s[0])
	}
	for _, i := range []int{1, 2, 3} {
		if s[i].Judge != "offline" {
			t.Errorf("candidate %d not scored by the fallback: %+v", i, s[i])
		}
	}
	if r := j.Rejected(); r["bad_answer"] != 2 || r["timeout"] != 1 {
		t.Errorf("rejected = %v", r)
	}
}

func FuzzParseJudgement(f *testing.F) {
	f.Add(`{"coherence":0.9,"plausibility":0.8,"phrasing":1,"reason":"fine"}`)
	f.Add("```json\n{}\n```")
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseJudgement(s)
		if err != nil {
			return
		}
		for _, x := range []float64{sc.Coherence, sc.Plausibility, sc.Phrasing, sc.Overall} {
			if !(x >= 0 && x <= 1) {
				t.Fatalf("score out of range: %+v", sc)
			}
		}
	})
}
