package encoder

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

func testWordPiece(t testing.TB) *WordPiece {
	t.Helper()
	w, err := LoadWordPiece("testdata/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

type goldenTokens struct {
	MaxLength int `json:"max_length"`
	Cases     []struct {
		Text string  `json:"text"`
		IDs  []int64 `json:"ids"`
	} `json:"cases"`
}

func TestWordPieceGolden(t *testing.T) {
	var g goldenTokens
	data, err := os.ReadFile("testdata/golden_tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 40 {
		t.Fatalf("golden file has %d cases, want at least 40", len(g.Cases))
	}
	w := testWordPiece(t)
	truncated := false
	for _, c := range g.Cases {
		got := w.Encode(c.Text, g.MaxLength)
		if !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
		}
		truncated = truncated || len(c.IDs) == g.MaxLength
	}
	if !truncated {
		t.Error("golden file has no case truncated at max length")
	}
}

func TestWordPieceBasics(t *testing.T) {
	w := testWordPiece(t)
	if got := w.Encode("", 256); !slices.Equal(got, []int64{101, 102}) {
		t.Errorf("Encode(\"\") = %v, want [101 102]", got)
	}
	if got := w.Encode(" \t\n\u200b ", 256); !slices.Equal(got, []int64{101, 102}) {
		t.Errorf("Encode(whitespace) = %v, want [101 102]", got)
	}
	if got, want := w.Tokenize("Crème brûlée, S.A."), []string{"cr", "##eme", "br", "##ule", "##e", ",", "s", ".", "a", "."}; !slices.Equal(got, want) {
		t.Errorf("Tokenize = %q, want %q", got, want)
	}
	if got := w.Tokenize(strings.Repeat("a", 101)); !slices.Equal(got, []string{"[UNK]"}) {
		t.Errorf("Tokenize(101 chars) = %q, want [UNK]", got)
	}
	if got := w.Tokenize("北京"); !slices.Equal(got, []string{"北", "京"}) {
		t.Errorf("Tokenize(CJK) = %q", got)
	}
	long := strings.Repeat("running shoes ", 300)
	for _, n := range []int{0, 1, 2, 3, 10, 256} {
		got := w.Encode(long, n)
		if want := max(n, 2); len(got) != want || got[0] != 101 || got[len(got)-1] != 102 {
			t.Errorf("Encode(long, %d): len %d, ends %d..%d", n, len(got), got[0], got[len(got)-1])
		}
	}
	if w.VocabSize() != 30522 {
		t.Errorf("VocabSize = %d, want 30522", w.VocabSize())
	}
}

func TestNewWordPieceNeedsSpecialTokens(t *testing.T) {
	if _, err := NewWordPiece(strings.NewReader("[PAD]\n[UNK]\nhello\n")); err == nil ||
		!strings.Contains(err.Error(), "[CLS]") {
		t.Errorf("err = %v, want missing [CLS]", err)
	}
	if _, err := LoadWordPiece("testdata/missing.txt"); err == nil {
		t.Error("LoadWordPiece(missing) succeeded")
	}
}

func FuzzWordPiece(f *testing.F) {
	w := testWordPiece(f)
	for _, s := range []string{"", "red running shoes", "Crème brûlée", "北京烤鸭", "🎉 x50", "a\u0000b\ufffd", "\xff\xfe", strings.Repeat("ab", 80)} {
		f.Add(s, 256)
	}
	f.Fuzz(func(t *testing.T, s string, maxLength int) {
		maxLength = maxLength%600 - 50 // exercise tiny and negative limits too
		ids := w.Encode(s, maxLength)
		if len(ids) < 2 || len(ids) > max(maxLength, 2) {
			t.Fatalf("Encode(%q, %d): %d ids", s, maxLength, len(ids))
		}
		if ids[0] != w.cls || ids[len(ids)-1] != w.sep {
			t.Fatalf("Encode(%q): not framed by [CLS]/[SEP]: %v", s, ids)
		}
		for _, id := range ids {
			if id < 0 || id >= int64(w.VocabSize()) {
				t.Fatalf("Encode(%q): id %d out of range", s, id)
			}
		}
		w.Tokenize(s)
	})
}

func BenchmarkWordPiece(b *testing.B) {
	w := testWordPiece(b)
	text := "Women's Waterproof Hiking Boots, size 38 — Crème brûlée set für 4 Personen"
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		w.Encode(text, 256)
	}
}
