package vocab

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCounterAndRoundTrip(t *testing.T) {
	c := NewCounter()
	for _, kv := range [][2]string{{"color", "black"}, {"color", "black"}, {"color", "red"}, {"gender", "men"}} {
		c.Add(kv[0], kv[1])
	}
	if n, per := c.Distinct(); n != 3 || per["color"] != 2 || per["gender"] != 1 {
		t.Fatalf("Distinct = %d, %v", n, per)
	}
	v := c.Vocabulary(2)
	want := Vocabulary{Keys: map[string][]Value{"color": {{Value: "black", Count: 2, Aliases: []string{}}}}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Fatalf("Vocabulary(2) (-want +got):\n%s", diff)
	}
	path := filepath.Join(t.TempDir(), "v.json")
	if err := v.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
