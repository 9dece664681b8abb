package catalog

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"testing"
	"time"
)

// bombPNG is a valid PNG header of w x h RGBA pixels followed by a few
// rows of data: a file of a few hundred bytes that asks for w*h*4 bytes.
func bombPNG(t testing.TB, w, h uint32) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8 bits, RGBA
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 2*(1+4*int(w)))) // two rows of zeros
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// TestImageBombRefusedBeforeDecoding: a tiny PNG asking for 36 megapixels
// is rejected as image_too_large from its header, without allocating the
// 144 MB its decode would take.
func TestImageBombRefusedBeforeDecoding(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "img/bomb.png", bombPNG(t, 6000, 6000))
	writeFile(t, dir, "img/ok.png", pngBytes(t, 8, 8, 1))
	path := writeFile(t, dir, "c.jsonl", []byte(`{"id":"bomb","image_uri":"img/bomb.png"}`+"\n"+`{"id":"ok","image_uri":"img/ok.png"}`+"\n"))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := readAll(t, path, Options{Workers: 1})
	runtime.ReadMemStats(&after)
	if len(res.products) != 1 || len(res.rejects) != 1 || res.rejects[0].Reason != ReasonImageTooLarge {
		t.Fatalf("products %v, rejections %+v; want bomb rejected as %s", res.ids(), res.rejects, ReasonImageTooLarge)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("reading the bomb allocated %d MB", alloc>>20)
	}
}

// TestDecodesShareABudget: a decode waits while the decode budget is
// taken, and gives up when its context ends.
func TestDecodesShareABudget(t *testing.T) {
	png := pngBytes(t, 64, 64, 2)
	if err := decodeBudget.Acquire(context.Background(), decodeBudgetBytes); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := DecodeImage(ctx, png)
	cancel()
	decodeBudget.Release(decodeBudgetBytes)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("decode with the budget taken: %v, want it to wait", err)
	}
	if _, err := DecodeImage(context.Background(), png); err != nil {
		t.Fatalf("decode with the budget free: %v", err)
	}
}
