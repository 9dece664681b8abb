package retrieval

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"lander/eval/labels"
	"lander/eval/queryeval"
)

func TestSearchesThroughTheAPI(t *testing.T) {
	l := labels.Set{
		"1": labels.New("Nike Black Shirt", map[string]string{"articleType": "Shirts", "baseColour": "Black"}),
		"2": labels.New("Puma White Shirt", map[string]string{"articleType": "Shirts", "baseColour": "White"}),
		"3": labels.New("Nike Black Dress", map[string]string{"articleType": "Dresses", "baseColour": "Black"}),
	}
	// A stand-in for /api/v1/search: "black shirts" relaxes and finds 1
	// and 3, "white shirts" finds nothing, "shirts but not nike" finds 1.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/search" || r.URL.Query().Get("limit") != "10" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body := map[string]any{"resolved": map[string]any{"relaxed": []any{}}, "results": []any{}}
		switch r.URL.Query().Get("q") {
		case "black shirts":
			body["resolved"] = map[string]any{"relaxed": []any{map[string]string{"key": "occasion", "value": "party"}}}
			body["results"] = []any{map[string]string{"id": "1"}, map[string]string{"id": "3"}}
		case "shirts but not nike":
			body["results"] = []any{map[string]string{"id": "1"}}
		case "boom":
			http.Error(w, "internal", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	defer api.Close()
	qs := []queryeval.Query{
		{Q: "black shirts", Kind: "torso", Expect: map[string][]string{"articleType": {"Shirts"}, "baseColour": {"Black"}}},
		{Q: "white shirts", Kind: "torso", Expect: map[string][]string{"articleType": {"Shirts"}, "baseColour": {"White"}}},
		{Q: "shirts but not nike", Kind: "constraint", Expect: map[string][]string{"articleType": {"Shirts"}}, TitleNone: []string{"nike"}},
		{Q: "green shirts", Kind: "torso", Expect: map[string][]string{"articleType": {"Shirts"}, "baseColour": {"Green"}}},
	}
	rep, err := Searches(context.Background(), APISearch(api.Client(), api.URL), qs, l)
	if err != nil {
		t.Fatal(err)
	}
	// black shirts: 1 of min(10, 1 matching) right = 1; white shirts: 0 of
	// 1 = 0, a zero result; not nike: 0 of 1 (product 1 is a Nike) = 0;
	// green shirts: nothing matches, skipped.
	if rep.Queries != 3 || rep.Skipped != 1 {
		t.Fatalf("queries %d skipped %d, want 3 and 1", rep.Queries, rep.Skipped)
	}
	if rep.Precision != 1.0/3 || rep.ZeroRate != 1.0/3 || rep.RelaxedRate != 1.0/3 {
		t.Errorf("precision %v zero %v relaxed %v, want 1/3 each", rep.Precision, rep.ZeroRate, rep.RelaxedRate)
	}
	if len(rep.Kinds) != 2 || rep.Kinds[1].Kind != "torso" || rep.Kinds[1].Precision != 0.5 || rep.Kinds[1].Zero != 1 || rep.Kinds[1].Relaxed != 1 {
		t.Errorf("kinds = %+v", rep.Kinds)
	}
	if _, err := Searches(context.Background(), APISearch(api.Client(), api.URL), []queryeval.Query{{Q: "boom", Expect: map[string][]string{"articleType": {"Shirts"}}}}, l); err == nil {
		t.Error("a failing search was not reported")
	}
}
