package changes

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lander/indexer/topics"
	"lander/vocab"
)

// reference decodes topics.json with encoding/json, as readTopics should.
func reference(t *testing.T, b []byte) []Topic {
	t.Helper()
	var f struct {
		Topics []struct {
			Slug       string     `json:"slug"`
			Title      string     `json:"title"`
			Attributes []vocab.KV `json:"attributes"`
			Size       int        `json:"size"`
			Published  bool       `json:"published"`
			Feed       []struct {
				ID string `json:"id"`
			} `json:"feed"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("reference decode: %v", err)
	}
	out := []Topic{}
	for _, tp := range f.Topics {
		var ids []string
		for _, s := range tp.Feed[:min(len(tp.Feed), FeedDepth)] {
			ids = append(ids, s.ID)
		}
		out = append(out, Topic{Slug: tp.Slug, Title: tp.Title, Attributes: tp.Attributes, Size: tp.Size, Published: tp.Published, Feed: ids})
	}
	return out
}

func TestReadTopics(t *testing.T) {
	long := make([]string, 30)
	for i := range long {
		long[i] = fmt.Sprintf(`{"score":0.5,"matched":[1,0.25],"sources":["tag","model"],"id":"p%d"}`, i)
	}
	tests := []struct {
		name string
		json string
	}{
		{"empty", `{"format":1,"topics":[]}`},
		{"no topics", `{"format":1}`},
		{"null topics", `{"topics":null}`},
		{"one topic", `{"format":1,"topics":[{"slug":"red-dress","title":"Red Dresses","attributes":[{"key":"category","value":"dress"},{"key":"color","value":"red"}],"size":12,"published":true,"feed":[{"id":"a"},{"id":"b"}]}]}`},
		{"baseline first and skipped", `{"baseline":[{"slug":"x","feed":[{"id":"q"}]}],"rule":{"min_products":10},"topics":[{"slug":"a","size":3}]}`},
		{"feed cut at FeedDepth, id not first", `{"topics":[{"slug":"a","feed":[` + strings.Join(long, ",") + `]}]}`},
		{"escapes", `{"topics":[{"slug":"a\"b\\","title":"caf\u00e9 \\\"x\\\" \/ \n","attributes":[{"key":"k\\","value":"v\"}]"}],"feed":[{"id":"\\\\"}]}]}`},
		{"brackets and quotes inside skipped strings", `{"intents":{"unresolved":["}]", "\"{[", "\\"]},"topics":[{"reasons":["a]b","}"],"slug":"s","score":{"parts":[1,[2,{"x":"]"}]]}}]}`},
		{"white space everywhere", " {\n\t\"topics\" : [ { \"slug\" : \"a\" , \"size\" : 7 , \"published\" : false , \"feed\" : [ { \"id\" : \"x\" } ] } ] }\r\n"},
		{"nulls", `{"topics":[{"slug":"a","title":null,"attributes":null,"feed":null,"size":null,"published":null,"parent":null}]}`},
		{"escaped key", `{"topics":[{"sl\u0075g":"a"}]}`},
		{"unicode", `{"topics":[{"slug":"日本-ß","title":"Ünïcödé 🎉"}]}`},
		{"negative and exponent numbers skipped", `{"topics":[{"slug":"a","score":{"x":-1.5e-3,"y":1E+2},"size":-2}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readTopics([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(reference(t, []byte(tt.json)), got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("readTopics (-encoding/json +got):\n%s", diff)
			}
		})
	}
}

func TestReadTopicsErrors(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"empty input", ``, "unexpected end"},
		{"not an object", `[1]`, "want an object"},
		{"other format", `{"format":2,"topics":[]}`, "format 2, want 1"},
		{"truncated", `{"topics":[{"slug":"a","feed":[{"id":"x"`, "unexpected end"},
		{"truncated string", `{"topics":[{"slug":"a`, "unexpected end"},
		{"truncated skipped value", `{"baseline":[{"a":[1,2`, "unexpected end"},
		{"mismatched brackets", `{"baseline":[{"a":1]}],"topics":[]}`, "closed by"},
		{"size not an integer", `{"topics":[{"size":1.5}]}`, "want an integer"},
		{"published a string", `{"topics":[{"published":"yes"}]}`, "want a value"},
		{"published a number", `{"topics":[{"published":1}]}`, "want a boolean"},
		{"feed not an array", `{"topics":[{"feed":{"id":"x"}}]}`, "want an array"},
		{"slot not an object", `{"topics":[{"feed":["x"]}]}`, "want an object"},
		{"missing colon", `{"topics" []}`, "want ':'"},
		{"missing comma", `{"topics":[] "format":1}`, "want ',' or '}'"},
		{"trailing data", `{"topics":[]} x`, "data after"},
		{"bad escape", `{"topics":[{"slug":"\x"}]}`, "bad string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readTopics([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("readTopics = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestReadTopicsAsWritten reads topics files as the indexer writes them,
// with random content from a fixed seed, against encoding/json.
func TestReadTopicsAsWritten(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	words := []string{"red", "dress", `"quoted"`, `back\slash`, "café", "<tag>&", "}]", "tab\there", "\u2028"}
	word := func() string { return words[rng.IntN(len(words))] }
	for run := range 20 {
		var f topics.File
		f.Format = topics.FormatVersion
		for i := range rng.IntN(40) {
			tp := topics.Topic{Slug: fmt.Sprintf("%s-%d", word(), i), Title: word() + " " + word(), Description: word(),
				Size: rng.IntN(500), Published: rng.IntN(2) == 0, Reasons: []string{word()}, Query: word(), Parent: word()}
			for range rng.IntN(4) {
				tp.Attributes = append(tp.Attributes, vocab.KV{Key: word(), Value: word()})
			}
			for j := range rng.IntN(60) {
				tp.Feed = append(tp.Feed, topics.Slot{ID: fmt.Sprintf("%s%d", word(), j), Score: rng.Float64(),
					Similarity: -rng.Float64(), Matched: []float32{rng.Float32()}, Sources: []string{word()}})
			}
			f.Topics = append(f.Topics, tp)
			if rng.IntN(3) == 0 {
				f.Baseline = append(f.Baseline, tp)
			}
		}
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readTopics(b)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if diff := cmp.Diff(reference(t, b), got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("run %d: readTopics (-encoding/json +got):\n%s", run, diff)
		}
	}
}

// FuzzReadTopics holds readTopics to encoding/json: it never panics, and
// where encoding/json decodes the document into the slim form, readTopics
// returns the same topics.
func FuzzReadTopics(f *testing.F) {
	for _, s := range []string{
		`{"format":1,"topics":[]}`,
		`{"topics":[{"slug":"a","title":"T","attributes":[{"key":"k","value":"v"}],"size":3,"published":true,"feed":[{"id":"x","score":0.5}]}]}`,
		`{"intents":{"unresolved":["}]"]},"topics":[{"reasons":["a]b"],"slug":"s\u00e9"}]}`,
		`{"topics":[{"slug":"a","size":-2,"score":{"x":-1.5e-3}}]}`,
		`{"topics":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readTopics(b)
		var ref struct {
			Topics []struct {
				Slug       string     `json:"slug"`
				Title      string     `json:"title"`
				Attributes []vocab.KV `json:"attributes"`
				Size       int        `json:"size"`
				Published  bool       `json:"published"`
				Feed       []struct {
					ID string `json:"id"`
				} `json:"feed"`
			} `json:"topics"`
		}
		if json.Unmarshal(b, &ref) != nil || err != nil {
			// One may refuse what the other takes (duplicate keys, invalid
			// UTF-8): only agreement is checked.
			return
		}
		if foldsCase(b) {
			// encoding/json matches keys case-insensitively (Unicode
			// folding: "Slug", "ſlug"); the indexer writes them lower-case
			// and readTopics matches them exactly.
			return
		}
		if len(got) != len(ref.Topics) {
			t.Fatalf("readTopics: %d topics, encoding/json %d", len(got), len(ref.Topics))
		}
		for i, rt := range ref.Topics {
			g := got[i]
			if g.Slug != rt.Slug || g.Size != rt.Size || g.Published != rt.Published || g.Title != rt.Title {
				t.Fatalf("topic %d: got %+v, encoding/json %+v", i, g, rt)
			}
			if len(g.Feed) != min(len(rt.Feed), FeedDepth) {
				t.Fatalf("topic %d: %d feed ids, encoding/json %d", i, len(g.Feed), len(rt.Feed))
			}
			for j := range g.Feed {
				if g.Feed[j] != rt.Feed[j].ID {
					t.Fatalf("topic %d feed %d: %q, encoding/json %q", i, j, g.Feed[j], rt.Feed[j].ID)
				}
			}
		}
	})
}

// foldsCase reports whether b holds an upper-case ASCII letter or a rune
// that Unicode case folding maps onto a lower-case ASCII letter (ſ, K).
func foldsCase(b []byte) bool {
	return strings.ContainsFunc(string(b), func(r rune) bool {
		return r >= 'A' && r <= 'Z' || r == 'ſ' || r == 'K'
	})
}
