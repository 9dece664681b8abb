package server

import (
	"bytes"
	"strings"
	"testing"
)

func TestEntryRoundTrip(t *testing.T) {
	for _, raw := range [][]byte{[]byte("{}"), bytes.Repeat([]byte("<li>black watches</li>\n"), 200)} {
		e, err := newEntry(raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) >= minCompress && (e.gzip == nil || e.br == nil || len(e.br) >= len(raw)) {
			t.Errorf("%d bytes: gzip %d, br %d", len(raw), len(e.gzip), len(e.br))
		}
		if len(raw) < minCompress && (e.gzip != nil || e.br != nil) {
			t.Errorf("%d bytes compressed", len(raw))
		}
		got, err := decodeEntry(e.encode())
		if err != nil {
			t.Fatal(err)
		}
		if got.tag != e.tag || !bytes.Equal(got.raw, e.raw) || !bytes.Equal(got.gzip, e.gzip) || !bytes.Equal(got.br, e.br) {
			t.Errorf("%d bytes: round trip differs", len(raw))
		}
	}
	e, _ := newEntry([]byte("{}"))
	b := e.encode()
	for _, bad := range [][]byte{nil, []byte("{}"), b[:len(b)-1], append(append([]byte{}, b...), 0)} {
		if _, err := decodeEntry(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

func TestNegotiate(t *testing.T) {
	full := entry{raw: []byte("r"), gzip: []byte("g"), br: []byte("b")}
	gzipOnly := entry{raw: []byte("r"), gzip: []byte("g")}
	small := entry{raw: []byte("r")}
	tests := []struct {
		accept []string // field values; nil: no field
		e      entry
		want   coding
	}{
		{nil, full, identity},
		{[]string{""}, full, identity},
		{[]string{"gzip"}, full, codingGzip},
		{[]string{"br"}, full, codingBr},
		{[]string{"gzip, deflate, br"}, full, codingBr},
		{[]string{"gzip", "br"}, full, codingBr},
		{[]string{"br;q=0.5, gzip"}, full, codingGzip},
		{[]string{"br;q=0, gzip;q=0"}, full, identity},
		{[]string{"gzip;q=0.5, identity"}, full, identity},
		{[]string{"*"}, full, codingBr},
		{[]string{"*;q=0, identity"}, full, identity},
		{[]string{"br;q=0, *"}, full, codingGzip},
		{[]string{"identity;q=0, gzip"}, full, codingGzip},
		{[]string{"x-gzip"}, full, codingGzip},
		{[]string{"GZIP ; Q=0.8"}, full, codingGzip},
		{[]string{"deflate"}, full, identity},
		{[]string{"br;q=2, gzip"}, full, codingGzip}, // a malformed weight drops its element
		{[]string{"br"}, gzipOnly, identity},
		{[]string{"br, gzip;q=0.1"}, gzipOnly, codingGzip},
		{[]string{"gzip, br"}, small, identity},
		{[]string{"identity;q=0"}, small, identity}, // nothing acceptable: unencoded all the same
	}
	for _, tt := range tests {
		if got := negotiate(tt.accept, tt.e); got != tt.want {
			t.Errorf("negotiate(%q) = %d, want %d", tt.accept, got, tt.want)
		}
	}
}

func TestNoneMatch(t *testing.T) {
	const etag = `"abc"`
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{`"abc"`}, true},
		{[]string{`W/"abc"`}, true},
		{[]string{`"x", "abc"`}, true},
		{[]string{`"x",W/"abc"`}, true},
		{[]string{`"x"`, `"abc"`}, true},
		{[]string{`*`}, true},
		{[]string{`"x,abc"`}, false}, // a comma inside a tag is part of it
		{[]string{`"abcd"`}, false},
		{[]string{`abc`}, false},
		{[]string{`"abc`}, false},
		{[]string{`"x", `}, false},
	}
	for _, tt := range tests {
		if got := noneMatch(tt.values, etag); got != tt.want {
			t.Errorf("noneMatch(%q) = %v, want %v", strings.Join(tt.values, " | "), got, tt.want)
		}
	}
}
