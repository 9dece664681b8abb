package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/datadir"
	"lander/query"
	"lander/store"
	"lander/vocab"
)

// newRelaxServer serves a catalog where red party dresses are rare (one),
// red dresses are not (twelve), and sports shoes are nearly all tagged
// sports while casual shoes are not.
func newRelaxServer(t *testing.T) (*httptest.Server, *Server) {
	t.Helper()
	enc := bagOfWords{dim: 64}
	st := store.NewEmbedded(64)
	counter := vocab.NewCounter()
	type row struct{ id, title, cat, sub, color, occasion string }
	var rows []row
	rows = append(rows, row{"p1", "Red Party Dress", "dresses", "dress", "red", "party"})
	for i := range 12 {
		rows = append(rows, row{"d" + string(rune('a'+i)), "Red Day Dress", "dresses", "dress", "red", "casual"})
	}
	rows = append(rows, row{"p2", "Black Party Dress", "dresses", "dress", "black", "party"})
	for i := range 15 {
		rows = append(rows, row{"s" + string(rune('a'+i)), "Running Shoes", "sports shoes", "shoes", "white", "sports"})
		rows = append(rows, row{"c" + string(rune('a'+i)), "Canvas Shoes", "casual shoes", "shoes", "white", "casual"})
	}
	rows = append(rows, row{"g1", "Gold Watch", "watches", "watches", "gold", "casual"})
	rows = append(rows, row{"w1", "Wedding Kurta", "kurtas", "topwear", "white", "wedding"})
	for i := range 11 {
		rows = append(rows, row{"k" + string(rune('a'+i)), "Festive Kurta", "kurtas", "topwear", "white", "ethnic"})
	}
	var prods []store.Product
	for _, r := range rows {
		attrs := []store.Attribute{
			{Key: "category", Value: r.cat, Score: 1}, {Key: "subcategory", Value: r.sub, Score: 1},
			{Key: "color", Value: r.color, Score: 1}, {Key: "occasion", Value: r.occasion, Score: 1},
		}
		if r.sub == "shoes" {
			attrs = append(attrs, store.Attribute{Key: "category", Value: "shoes", Score: 0.9})
		}
		for _, a := range attrs {
			counter.Add(a.Key, a.Value)
		}
		v, _ := enc.Embed(context.Background(), []string{r.title})
		prods = append(prods, store.Product{ID: r.id, Title: r.title, Attributes: attrs, Vector: v[0]})
	}
	if err := st.Upsert(context.Background(), prods); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Embedder: enc})
	s.SetIndex(NewIndex(datadir.Manifest{Generation: 3}, st, memImages{}, counter.Vocabulary(1)))
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, s
}

func TestSearchRelaxes(t *testing.T) {
	ts, _ := newRelaxServer(t)
	tests := []struct {
		q            string
		limit        string
		strict       []query.KV
		relaxed      []query.KV
		total, first int // first: how many leading results must carry the relaxed value
	}{
		// A context word that leaves fewer than a page is relaxed; the one
		// red party dress still ranks first.
		{"red dress for a party", "10", []query.KV{{Key: "color", Value: "red"}, {Key: "category", Value: "dresses"}},
			[]query.KV{{Key: "occasion", Value: "party"}}, 13, 1},
		// ... and kept when the page asks for no more than there are.
		{"red dress for a party", "1", []query.KV{{Key: "color", Value: "red"}, {Key: "category", Value: "dresses"}, {Key: "occasion", Value: "party"}},
			[]query.KV{}, 1, 0},
		// A product word is relaxed only when nothing matches: one gold
		// watch is a result, no gold dress is.
		{"gold watch", "10", []query.KV{{Key: "color", Value: "gold"}, {Key: "category", Value: "watches"}}, []query.KV{}, 1, 0},
		{"gold dress", "10", []query.KV{{Key: "category", Value: "dresses"}}, []query.KV{{Key: "color", Value: "gold"}}, 14, 0},
		// A context value the catalog barely holds falls back to the
		// broader one its words suggest before the key is dropped.
		{"a kurta for a wedding", "10", []query.KV{{Key: "category", Value: "kurtas"}, {Key: "occasion", Value: "ethnic"}},
			[]query.KV{{Key: "occasion", Value: "wedding"}}, 11, 0},
	}
	for _, tt := range tests {
		var got SearchJSON
		get(t, ts, "/api/v1/search?limit="+tt.limit+"&q="+url.QueryEscape(tt.q), 200, &got)
		if diff := cmp.Diff(tt.strict, got.Resolved.Strict()); diff != "" {
			t.Errorf("%q limit %s: strict (-want +got):\n%s", tt.q, tt.limit, diff)
		}
		if diff := cmp.Diff(tt.relaxed, got.Resolved.Relaxed); diff != "" {
			t.Errorf("%q limit %s: relaxed (-want +got):\n%s", tt.q, tt.limit, diff)
		}
		if got.Total != tt.total {
			t.Errorf("%q limit %s: total %d, want %d", tt.q, tt.limit, got.Total, tt.total)
		}
		for i := range tt.first {
			if i >= len(got.Results) || got.Results[i].ID != "p1" {
				t.Errorf("%q: result %d is not the red party dress: %+v", tt.q, i, got.Results)
			}
		}
	}
}

func TestSearchNarrowsGenericWords(t *testing.T) {
	ts, _ := newRelaxServer(t)
	var got SearchJSON
	get(t, ts, "/api/v1/search?q="+url.QueryEscape("comfortable shoes for my morning jog"), 200, &got)
	want := []query.KV{{Key: "category", Value: "sports shoes"}, {Key: "occasion", Value: "sports"}}
	if diff := cmp.Diff(want, got.Resolved.Strict()); diff != "" {
		t.Errorf("strict (-want +got):\n%s", diff)
	}
	// Without a context word "shoes" stays generic.
	get(t, ts, "/api/v1/search?q=shoes", 200, &got)
	if diff := cmp.Diff([]query.KV{{Key: "category", Value: "shoes"}}, got.Resolved.Strict()); diff != "" {
		t.Errorf("shoes: strict (-want +got):\n%s", diff)
	}
}

func TestSearchPageShowsRelaxedApart(t *testing.T) {
	ts, _ := newRelaxServer(t)
	resp, err := http.Get(ts.URL + "/search?q=" + url.QueryEscape("red dress for a party"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	for _, want := range []string{
		"No red party dresses; showing red dresses.",
		`<a class="chip relaxed" href="/search?q=red&#43;dresses" aria-label="Drop party" data-key="occasion">party`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, grepLines(page, "chip"))
		}
	}
	if strings.Contains(page, "Nothing matches every filter") {
		t.Error("page says nothing matches")
	}
	resp2, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	m, _ := io.ReadAll(resp2.Body)
	if !strings.Contains(string(m), "lander_search_relaxed_total 1") || !strings.Contains(string(m), "lander_search_zero_results_total 0") {
		t.Errorf("metrics lack the relaxed and zero-result counts:\n%s", grepLines(string(m), "lander_search_"))
	}
}

func TestRelaxedNote(t *testing.T) {
	res := query.Resolved{
		Attributes: []query.Attribute{{Key: "color", Value: "red", Strict: true}, {Key: "category", Value: "dresses", Strict: true}, {Key: "occasion", Value: "party"}, {Key: "gender", Value: "women", Strict: true}},
		Relaxed:    []query.KV{{Key: "occasion", Value: "party"}},
	}
	if got, want := relaxedNote(res), "No red party dresses for women; showing red dresses for women."; got != want {
		t.Errorf("note = %q, want %q", got, want)
	}
	res.Relaxed = []query.KV{}
	if got := relaxedNote(res); got != "" {
		t.Errorf("note without relaxing = %q", got)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
