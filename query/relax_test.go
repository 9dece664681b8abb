package query

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRelaxOrderAndBroader(t *testing.T) {
	r := NewResolver([]Term{
		{Key: "category", Value: "dresses", Count: 400}, {Key: "color", Value: "red", Count: 2500},
		{Key: "gender", Value: "men", Count: 20000}, {Key: "occasion", Value: "party", Count: 51},
		{Key: "occasion", Value: "wedding", Count: 52}, {Key: "occasion", Value: "ethnic", Count: 2900},
		{Key: "season", Value: "summer", Count: 19000}, {Key: "pattern", Value: "striped", Count: 1600},
	})
	res := r.Resolve("red striped dress for a summer party")
	// Context first, the rarer of two named values first (party before
	// summer), then descriptive words, colour, the product type last.
	want := []KV{{Key: "occasion", Value: "party"}, {Key: "season", Value: "summer"}, {Key: "pattern", Value: "striped"}, {Key: "color", Value: "red"}, {Key: "category", Value: "dresses"}}
	if diff := cmp.Diff(want, r.RelaxOrder(res)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}

	res = r.Resolve("what should a man wear to a wedding")
	if got := res.Strict(); !cmp.Equal(got, []KV{{Key: "gender", Value: "men"}, {Key: "occasion", Value: "wedding"}}) {
		t.Fatalf("strict = %v", got)
	}
	broader, ok := res.Relax(KV{Key: "occasion", Value: "wedding"})
	if !ok || broader != (KV{Key: "occasion", Value: "ethnic"}) {
		t.Fatalf("relax = %v %v, want the broader occasion=ethnic", broader, ok)
	}
	if diff := cmp.Diff([]KV{{Key: "gender", Value: "men"}, {Key: "occasion", Value: "ethnic"}}, res.Strict()); diff != "" {
		t.Errorf("strict after relaxing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]KV{{Key: "occasion", Value: "wedding"}}, res.Relaxed); diff != "" {
		t.Errorf("relaxed (-want +got):\n%s", diff)
	}
	// The broader value relaxes like any other, with no further fallback.
	if broader, ok := res.Relax(KV{Key: "occasion", Value: "ethnic"}); !ok || broader.Key != "" {
		t.Errorf("relax ethnic = %v %v", broader, ok)
	}
	if _, ok := res.Relax(KV{Key: "color", Value: "red"}); ok {
		t.Error("relaxed an attribute the query lacks")
	}
}
