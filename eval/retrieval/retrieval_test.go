package retrieval

import (
	"context"
	"testing"

	"lander/eval/labels"
	"lander/eval/queryeval"
	"lander/query"
	"lander/store"
	"lander/vocab"
)

type fakeStore struct{ hits []store.Hit }

func (f fakeStore) Search(_ context.Context, _ []float32, flt store.Filter, k, _ int) ([]store.Hit, int, error) {
	return f.hits[:min(k, len(f.hits))], len(f.hits), nil
}

func embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		switch t {
		case "shirts":
			out[i] = []float32{1, 0}
		case "black":
			out[i] = []float32{0.9, 0.1}
		default:
			out[i] = []float32{0, 1}
		}
	}
	return out, nil
}

func TestQueriesAndRecall(t *testing.T) {
	l := labels.Set{
		"1": labels.New("A Black Shirt", map[string]string{"articleType": "Shirts", "baseColour": "Black", "gender": "Men"}),
		"2": labels.New("A White Shirt", map[string]string{"articleType": "Shirts", "baseColour": "White", "gender": "Men"}),
	}
	r := query.NewResolver([]query.Term{{Key: "category", Value: "shirts"}, {Key: "color", Value: "black"}})
	qs := []queryeval.Query{
		{Q: "black shirts", Kind: "head", Expect: map[string][]string{"articleType": {"Shirts"}, "baseColour": {"Black"}}, Matching: 1},
		{Q: "shirts", Kind: "head", Expect: map[string][]string{"articleType": {"Shirts"}}, Matching: 40},
		{Q: "nothing", Kind: "tail", Matching: 0},
	}
	rep, err := Queries(context.Background(), r, fakeStore{hits: []store.Hit{{ID: "2"}, {ID: "1"}}}, embed, qs, l)
	if err != nil {
		t.Fatal(err)
	}
	// black shirts: 1 right over min(10, 1); shirts: 2 right over 10.
	if rep.Queries != 2 || rep.Skipped != 1 || rep.Precision != (1+0.2)/2 {
		t.Errorf("query report %+v", rep)
	}
	v := vocab.Vocabulary{Keys: map[string][]vocab.Value{"category": {{Value: "shirts"}}, "color": {{Value: "black"}}, "gender": {{Value: "women"}}}}
	prods := []store.Product{{ID: "1", Vector: []float32{1, 0}}, {ID: "2", Vector: []float32{1, 0}}}
	rr, err := Attributes(context.Background(), prods, v, TextAttributes(embed), l)
	if err != nil {
		t.Fatal(err)
	}
	// Category found for both, black for product 1 only, gender never.
	if rr.Products != 2 || rr.Keys[0].Found != 2 || rr.Keys[1].Found != 1 || rr.Keys[2].Found != 0 || rr.Recall != 0.5 {
		t.Errorf("recall %+v", rr)
	}
}
