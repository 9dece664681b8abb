package encoder

import (
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"
)

// TestUnicodeCompatDump writes the encoding of "a"+c+"b" for every code point
// c to $LANDER_UNICODE_DUMP, one JSON array per line, for
// encoder/train/unicode_compat.py. With LANDER_UNICODE_DUMP_RAW=1 the
// compatibility table is ignored. It is skipped unless the variable is set.
func TestUnicodeCompatDump(t *testing.T) {
	path := os.Getenv("LANDER_UNICODE_DUMP")
	if path == "" {
		t.Skip("LANDER_UNICODE_DUMP not set")
	}
	if os.Getenv("LANDER_UNICODE_DUMP_RAW") == "1" {
		saved := compatRanges
		compatRanges = nil
		defer func() { compatRanges = saved }()
	}
	w := testWordPiece(t)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for r := rune(0x80); r <= unicodeDumpMax; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		if err := enc.Encode(w.Encode("a"+string(r)+"b", 16)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// unicodeDumpMax is the last code point the dump covers (planes 0-3 and 14).
const unicodeDumpMax = 0xE01EF
