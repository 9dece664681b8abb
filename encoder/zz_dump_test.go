package encoder

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

func TestDump(t *testing.T) {
	w, err := LoadWordPiece("testdata/vocab.txt")
	if err != nil { t.Fatal(err) }
	in, _ := os.Open(os.Getenv("WP_IN"))
	out, _ := os.Create(os.Getenv("WP_OUT"))
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<24)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var s string
		json.Unmarshal(sc.Bytes(), &s)
		enc.Encode(w.Encode(s, 256))
	}
	out.Close()
}
