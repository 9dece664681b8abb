package catalog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDeterministicOrder(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 300 {
		id := fmt.Sprintf("p%03d", i)
		switch i % 7 {
		case 3:
			lines = append(lines, fmt.Sprintf(`{"id":%q}`, id)) // missing_image
		default:
			writeFile(t, dir, "img/"+id+".png", pngBytes(t, 8+i%13, 9, uint64(i)))
			lines = append(lines, fmt.Sprintf(`{"id":%q,"image_uri":"img/%s.png"}`, id, id))
		}
	}
	path := writeFile(t, dir, "c.jsonl", []byte(strings.Join(lines, "\n")+"\n"))
	base := readAll(t, path, Options{Workers: 1, BatchSize: 1})
	for _, opts := range []Options{{Workers: 8, BatchSize: 7}, {Workers: 3, BatchSize: 1000}, {Workers: 16, BatchSize: 1}} {
		got := readAll(t, path, opts)
		if !reflect.DeepEqual(got.ids(), base.ids()) || !reflect.DeepEqual(got.rejects, base.rejects) {
			t.Errorf("%+v: output differs from the single-worker read", opts)
		}
		for _, n := range got.batches {
			if n > opts.BatchSize {
				t.Errorf("%+v: batch of %d", opts, n)
			}
		}
	}
	if len(base.products)+len(base.rejects) != 300 {
		t.Errorf("%d delivered + %d rejected, want 300", len(base.products), len(base.rejects))
	}
}

func TestShards(t *testing.T) {
	path := jsonlFixture(t, "")
	all := readAll(t, path, Options{})
	const n = 3
	seen := map[string]int{}
	rejected := 0
	for i := range n {
		res := readAll(t, path, Options{Shard: i, Shards: n})
		for _, p := range res.products {
			if !InShard(p.ID, i, n) {
				t.Errorf("shard %d delivered %s", i, p.ID)
			}
			seen[p.ID]++
		}
		rejected += len(res.rejects)
		if got := len(res.products) + len(res.rejects) + res.skipped; got != len(all.products)+len(all.rejects) {
			t.Errorf("shard %d: %d delivered + %d rejected + %d skipped, want %d rows", i, len(res.products), len(res.rejects), res.skipped, len(all.products)+len(all.rejects))
		}
		for _, p := range res.products {
			if p.Row != all.byID(t, p.ID).Row || p.Row == 0 {
				t.Errorf("shard %d: %s has row %d, full read %d", i, p.ID, p.Row, all.byID(t, p.ID).Row)
			}
		}
	}
	if len(seen) != len(all.products) {
		t.Errorf("shards delivered %d ids, full read %d", len(seen), len(all.products))
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered by %d shards", id, c)
		}
	}
	if rejected != len(all.rejects) {
		t.Errorf("shards rejected %d rows, full read %d", rejected, len(all.rejects))
	}
	if _, err := Open(path, Options{Shard: 3, Shards: 3}); err == nil {
		t.Error("Open with shard 3/3 succeeded")
	}
}

func TestInShardStable(t *testing.T) {
	// Shards must be spread evenly and stable across releases.
	counts := make([]int, 4)
	for i := range 1000 {
		id := fmt.Sprint(i)
		k := -1
		for s := range 4 {
			if InShard(id, s, 4) {
				if k >= 0 {
					t.Fatalf("%s in shards %d and %d", id, k, s)
				}
				k = s
			}
		}
		if k < 0 {
			t.Fatalf("%s in no shard", id)
		}
		counts[k]++
	}
	for s, c := range counts {
		if c < 200 || c > 300 {
			t.Errorf("shard %d holds %d of 1000 ids", s, c)
		}
	}
	if !InShard("anything", 0, 1) || !InShard("anything", 5, 0) {
		t.Error("n <= 1 must hold every id")
	}
	if !InShard("15970", 1, 4) { // FNV-1a 64 of "15970" is 9172815798118365913
		t.Error("FNV-1a 64 of 15970 mod 4 changed")
	}
}

func TestReadStops(t *testing.T) {
	path := jsonlFixture(t, "")
	r, err := Open(path, Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err = r.Read(context.Background(), func([]Product) error { calls++; return stop }, nil)
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Read = %v after %d calls, want stop after 1", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = r.Read(ctx, func([]Product) error { cancel(); return nil }, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel = %v, want context.Canceled", err)
	}
	// The Reader can be read again.
	if res := readAll(t, path, Options{}); len(res.products) == 0 {
		t.Error("second read delivered nothing")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]string{
		"missing":      dir + "/nope.jsonl",
		"empty dir":    dir,
		"unknown ext":  writeFile(t, dir, "a.txt", []byte("x")),
		"json array":   writeFile(t, dir, "a.json", []byte(" [{\"id\":1}]")),
		"no id header": writeFile(t, t.TempDir(), "styles.csv", []byte("gender,title\nMen,x\n")),
		"empty styles": writeFile(t, t.TempDir(), "styles.csv", nil),
		"bad parquet":  writeFile(t, dir, "a.parquet", []byte("not parquet")),
	}
	for name, path := range tests {
		if _, err := Open(path, Options{}); err == nil {
			t.Errorf("%s: Open(%s) succeeded", name, path)
		} else if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
			t.Errorf("%s: error %q starts upper-case", name, err)
		}
	}
	r, err := Open(writeFile(t, dir, "ok.json", []byte("{\"id\":1}\n")), Options{})
	if err != nil || r.Format() != FormatJSONL {
		t.Errorf("Open(.json lines) = %v, %v", r, err)
	}
	r, err = Open(writeFile(t, t.TempDir(), "styles.csv", []byte(stylesHeader)), Options{})
	if err != nil || r.Format() != FormatFashion {
		t.Errorf("Open(styles.csv) = %v, %v", r, err)
	}
}

func TestVerifyImage(t *testing.T) {
	good := jpegBytes(t, 60, 80, false)
	png := pngBytes(t, 10, 10, 9)
	tests := []struct {
		name       string
		b          []byte
		headerOnly bool
		ok         bool
	}{
		{"jpeg", good, false, true},
		{"grey jpeg", jpegBytes(t, 60, 80, true), false, true},
		{"png", png, false, true},
		{"empty", nil, false, false},
		{"garbage", []byte("GIF89a nope"), false, false},
		{"truncated jpeg", good[:len(good)-40], false, false},
		{"truncated jpeg header only", good[:len(good)-40], true, false},
		{"truncated png header only", png[:len(png)-20], true, false},
		{"jpeg header only", good, true, true},
	}
	for _, tt := range tests {
		_, err := verifyImage(context.Background(), tt.b, tt.headerOnly)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if img, err := DecodeImage(context.Background(), png); err != nil || img.Bounds().Dx() != 10 {
		t.Errorf("DecodeImage = %v, %v", img, err)
	}
	if _, err := DecodeImage(context.Background(), []byte("x")); err == nil {
		t.Error("DecodeImage(garbage) succeeded")
	}
}
