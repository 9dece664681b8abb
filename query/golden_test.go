package query

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the resolver's output")

// testResolver is built from testdata/terms.json, a small fashion
// vocabulary with the keys of the contract.
func testResolver(tb testing.TB) *Resolver {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "terms.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var terms []Term
	if err := json.Unmarshal(b, &terms); err != nil {
		tb.Fatal(err)
	}
	return NewResolver(terms)
}

func goldenQueries(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "queries.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var qs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			qs = append(qs, l)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return qs
}

// goldenCase is one entry of testdata/golden.json.
type goldenCase struct {
	Query    string   `json:"query"`
	Resolved Resolved `json:"resolved"`
	Rest     string   `json:"rest"`
	Low      bool     `json:"low_confidence,omitempty"`
}

// TestGolden resolves testdata/queries.txt and compares with
// testdata/golden.json; go test -run Golden -update rewrites it.
func TestGolden(t *testing.T) {
	r := testResolver(t)
	var got []goldenCase
	for _, q := range goldenQueries(t) {
		res := r.Resolve(q)
		got = append(got, goldenCase{Query: q, Resolved: res, Rest: res.Rest, Low: res.LowConfidence})
	}
	path := filepath.Join("testdata", "golden.json")
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	var want []goldenCase
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	wantBy := map[string]goldenCase{}
	for _, w := range want {
		wantBy[w.Query] = w
	}
	for _, g := range got {
		w, ok := wantBy[g.Query]
		if !ok {
			t.Errorf("%q: not in golden.json (run go test -run Golden -update)", g.Query)
			continue
		}
		// Rest and LowConfidence are not serialised with Resolved; compare
		// them on their own.
		w.Resolved.Rest, g.Resolved.Rest = w.Rest, g.Rest
		w.Resolved.LowConfidence = w.Low
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%q (-want +got):\n%s", g.Query, diff)
		}
	}
	if len(want) != len(got) {
		t.Errorf("golden.json has %d cases, queries.txt %d (run go test -run Golden -update)", len(want), len(got))
	}
}
