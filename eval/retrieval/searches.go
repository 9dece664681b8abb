package retrieval

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"lander/eval/labels"
	"lander/eval/queryeval"
)

// Answer is what one search returned: the result ids in order, and how
// many constraints the search relaxed.
type Answer struct {
	IDs     []string
	Relaxed int
}

// SearchFunc answers one search the way a shopper's client gets it.
type SearchFunc func(ctx context.Context, q string, limit int) (Answer, error)

// KindSearch is the search quality of one kind of query.
type KindSearch struct {
	Kind      string  `json:"kind"`
	Queries   int     `json:"queries"`
	Precision float64 `json:"precision_at_10"`
	// Zero counts searches with no result although the catalog holds
	// matching products; Relaxed counts searches that relaxed a constraint.
	Zero    int `json:"zero_results"`
	Relaxed int `json:"relaxed"`
}

// SearchReport is query Precision@10 measured through the search API,
// with the zero-result and relaxed rates.
type SearchReport struct {
	Queries     int          `json:"queries"`
	Skipped     int          `json:"skipped"`
	Precision   float64      `json:"precision_at_10"`
	ZeroRate    float64      `json:"zero_result_rate"`
	RelaxedRate float64      `json:"relaxed_rate"`
	Kinds       []KindSearch `json:"kinds"`
	Misses      []SearchMiss `json:"misses"`
}

// SearchMiss is a query whose top 10 were not all right.
type SearchMiss struct {
	Kind      string  `json:"kind"`
	Q         string  `json:"q"`
	Precision float64 `json:"precision_at_10"`
	Matching  int     `json:"matching"`
}

// Searches runs every labelled query through search and scores the top
// K against the labels: the fraction of results that satisfy the query,
// over min(K, matching), where matching is counted over the labelled
// catalog l (not read from the file, so that a hand-written set needs no
// counts). Queries nothing in l satisfies are skipped.
func Searches(ctx context.Context, search SearchFunc, qs []queryeval.Query, l labels.Set) (SearchReport, error) {
	rep := SearchReport{Kinds: []KindSearch{}, Misses: []SearchMiss{}}
	byKind := map[string]*KindSearch{}
	sum := 0.0
	zero, relaxed := 0, 0
	for _, q := range qs {
		matching := 0
		for _, p := range l {
			if satisfies(p, q) {
				matching++
			}
		}
		if matching == 0 {
			rep.Skipped++
			continue
		}
		ans, err := search(ctx, q.Q, K)
		if err != nil {
			return rep, fmt.Errorf("search %q: %w", q.Q, err)
		}
		right := 0
		for _, id := range ans.IDs[:min(K, len(ans.IDs))] {
			if p := l[id]; p != nil && satisfies(p, q) {
				right++
			}
		}
		prec := min(float64(right)/float64(min(K, matching)), 1)
		k := byKind[q.Kind]
		if k == nil {
			k = &KindSearch{Kind: q.Kind}
			byKind[q.Kind] = k
		}
		k.Queries++
		k.Precision += prec
		if len(ans.IDs) == 0 {
			k.Zero++
			zero++
		}
		if ans.Relaxed > 0 {
			k.Relaxed++
			relaxed++
		}
		sum += prec
		rep.Queries++
		if prec < 1 {
			rep.Misses = append(rep.Misses, SearchMiss{Kind: q.Kind, Q: q.Q, Precision: prec, Matching: matching})
		}
	}
	if rep.Queries > 0 {
		n := float64(rep.Queries)
		rep.Precision, rep.ZeroRate, rep.RelaxedRate = sum/n, float64(zero)/n, float64(relaxed)/n
	}
	for _, k := range byKind {
		k.Precision /= float64(k.Queries)
		rep.Kinds = append(rep.Kinds, *k)
	}
	slices.SortFunc(rep.Kinds, func(a, b KindSearch) int { return cmp.Compare(a.Kind, b.Kind) })
	slices.SortStableFunc(rep.Misses, func(a, b SearchMiss) int { return cmp.Compare(a.Precision, b.Precision) })
	return rep, nil
}

// APISearch searches through GET /api/v1/search of the server at base
// ("http://127.0.0.1:8080").
func APISearch(client *http.Client, base string) SearchFunc {
	return func(ctx context.Context, q string, limit int) (Answer, error) {
		u := base + "/api/v1/search?q=" + url.QueryEscape(q) + "&limit=" + strconv.Itoa(limit)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return Answer{}, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return Answer{}, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		if err != nil {
			return Answer{}, err
		}
		if resp.StatusCode != http.StatusOK {
			return Answer{}, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
		}
		var out struct {
			Resolved struct {
				Relaxed []json.RawMessage `json:"relaxed"`
			} `json:"resolved"`
			Results []struct {
				ID string `json:"id"`
			} `json:"results"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return Answer{}, fmt.Errorf("decode search: %w", err)
		}
		a := Answer{Relaxed: len(out.Resolved.Relaxed), IDs: make([]string, 0, len(out.Results))}
		for _, r := range out.Results {
			a.IDs = append(a.IDs, r.ID)
		}
		return a, nil
	}
}

// Write prints the report as a table and up to misses of the worst
// queries.
func (rep SearchReport) Write(w io.Writer, misses int) {
	fmt.Fprintf(w, "search Precision@%d through /api/v1/search over %d queries (%d skipped: nothing in the catalog matches)\n\n", K, rep.Queries, rep.Skipped)
	fmt.Fprintf(w, "%-15s %7s %8s %8s %8s\n", "kind", "queries", "P@10", "zero", "relaxed")
	for _, k := range rep.Kinds {
		fmt.Fprintf(w, "%-15s %7d %8.3f %8d %8d\n", k.Kind, k.Queries, k.Precision, k.Zero, k.Relaxed)
	}
	fmt.Fprintf(w, "%-15s %7d %8.3f %7.1f%% %7.1f%%\n", "all", rep.Queries, rep.Precision, 100*rep.ZeroRate, 100*rep.RelaxedRate)
	if misses > 0 && len(rep.Misses) > 0 {
		fmt.Fprintf(w, "\n%d queries below 1; the worst %d:\n", len(rep.Misses), min(misses, len(rep.Misses)))
		for _, m := range rep.Misses[:min(misses, len(rep.Misses))] {
			fmt.Fprintf(w, "  [%s] %.2f %q (matching %d)\n", m.Kind, m.Precision, m.Q, m.Matching)
		}
	}
}
