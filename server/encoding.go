package server

// Cached responses as bytes: an entry holds a response's body with its gzip
// and brotli encodings and its ETag, all made once when the entry is
// filled. A request is answered from an entry by choosing the encoding its
// Accept-Encoding prefers, or 304 when its If-None-Match names the tag; no
// response is decoded, rendered or compressed on a hit.

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/bits"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/gin-gonic/gin"
)

// Compression of cached entries.
const (
	// minCompress is the smallest body worth compressing, in bytes.
	minCompress = 512
	// brotliLevel trades fill time for size: level 11 takes about ten
	// times as long for a few percent less.
	brotliLevel = 9
)

// coding is a content coding the server sends.
type coding int

const (
	identity coding = iota
	codingGzip
	codingBr
)

// entry is a cached response: its body (raw), the body's gzip and brotli
// encodings (nil when compression does not pay) and tag, the hash of raw
// from which the ETags of the three representations derive.
type entry struct {
	tag           string
	raw, gzip, br []byte
}

// newEntry hashes and compresses raw.
func newEntry(raw []byte) (entry, error) {
	sum := sha256.Sum256(raw)
	e := entry{tag: hex.EncodeToString(sum[:12]), raw: raw}
	if len(raw) < minCompress {
		return e, nil
	}
	var gz bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&gz)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return entry{}, err
	}
	var br bytes.Buffer
	bw, put := brotliWriter(&br, len(raw))
	defer put()
	bw.Write(raw)
	if err := bw.Close(); err != nil {
		return entry{}, err
	}
	if gz.Len() < len(raw) {
		e.gzip = gz.Bytes()
	}
	if br.Len() < len(raw) {
		e.br = br.Bytes()
	}
	return e, nil
}

// Compressors are reused: a new gzip writer allocates about 800 KB and a
// brotli writer its hash tables, which cost more than compressing a search
// response.
var (
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression) // the level is valid
		return w
	}}
	brotliWriters [25]sync.Pool // by window bits
)

// brotliWriter returns a brotli writer to dst whose window is the smallest
// that holds n bytes (brotli sizes its hash tables by the window: the
// default, 4 MiB, costs 32 MB and about 7 ms per entry), and the function
// that gives it back.
func brotliWriter(dst *bytes.Buffer, n int) (*brotli.Writer, func()) {
	lgwin := max(10, min(24, bits.Len(uint(n+16))))
	w, ok := brotliWriters[lgwin].Get().(*brotli.Writer)
	if ok {
		w.Reset(dst)
	} else {
		w = brotli.NewWriterOptions(dst, brotli.WriterOptions{Quality: brotliLevel, LGWin: lgwin})
	}
	return w, func() { brotliWriters[lgwin].Put(w) }
}

// entryMagic starts an encoded entry; it changes with the layout.
const entryMagic = "lce1"

// encode lays e out for a cache: the magic, then the tag and the three
// bodies, each preceded by its length as a uvarint.
func (e entry) encode() []byte {
	b := make([]byte, 0, len(entryMagic)+len(e.tag)+len(e.raw)+len(e.gzip)+len(e.br)+4*binary.MaxVarintLen64)
	b = append(b, entryMagic...)
	for _, part := range [][]byte{[]byte(e.tag), e.raw, e.gzip, e.br} {
		b = binary.AppendUvarint(b, uint64(len(part)))
		b = append(b, part...)
	}
	return b
}

var errBadEntry = errors.New("malformed cache entry")

// decodeEntry reads an encoded entry; its bodies share b's memory.
func decodeEntry(b []byte) (entry, error) {
	rest, ok := bytes.CutPrefix(b, []byte(entryMagic))
	if !ok {
		return entry{}, errBadEntry
	}
	var parts [4][]byte
	for i := range parts {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return entry{}, errBadEntry
		}
		parts[i], rest = rest[w:w+int(n)], rest[w+int(n):]
	}
	if len(rest) != 0 {
		return entry{}, errBadEntry
	}
	var e entry
	e.tag, e.raw = string(parts[0]), parts[1]
	if len(parts[2]) > 0 {
		e.gzip = parts[2]
	}
	if len(parts[3]) > 0 {
		e.br = parts[3]
	}
	return e, nil
}

// body returns the representation of e in coding k, its ETag and its
// Content-Encoding ("" for identity).
func (e entry) body(k coding) (b []byte, etag, encoding string) {
	switch k {
	case codingBr:
		return e.br, `"` + e.tag + `-br"`, "br"
	case codingGzip:
		return e.gzip, `"` + e.tag + `-gz"`, "gzip"
	}
	return e.raw, `"` + e.tag + `"`, ""
}

// negotiate picks the coding of a response from the request's
// Accept-Encoding field values, among those e has: the acceptable one with
// the highest weight, brotli before gzip before identity on ties. No field
// means identity. Identity is acceptable unless "identity;q=0", or "*;q=0"
// without identity listed, says otherwise, and unlisted it comes after any
// listed coding; when nothing is acceptable the response goes unencoded all
// the same rather than failing.
func negotiate(values []string, e entry) coding {
	if len(values) == 0 {
		return identity
	}
	var br, gz, id, star float64 = -1, -1, -1, -1
	for _, v := range values {
		for el := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(el, ";")
			q, ok := qvalue(params)
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "br":
				br = q
			case "gzip", "x-gzip":
				gz = q
			case "identity":
				id = q
			case "*":
				star = q
			}
		}
	}
	if br < 0 {
		br = max(star, 0)
	}
	if gz < 0 {
		gz = max(star, 0)
	}
	if id < 0 {
		// Unlisted, identity is acceptable but least preferred.
		id = math.SmallestNonzeroFloat64
		if star >= 0 {
			id = star
		}
	}
	best, bestQ := identity, id
	if e.gzip != nil && gz > 0 && gz >= bestQ {
		best, bestQ = codingGzip, gz
	}
	if e.br != nil && br > 0 && br >= bestQ {
		best = codingBr
	}
	return best
}

// qvalue reads the weight of an Accept-Encoding element from its
// parameters: 1 when there is none; false when it is malformed.
func qvalue(params string) (float64, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0, false
		}
		return q, true
	}
	return 1, true
}

// noneMatch reports whether the If-None-Match field values name etag by
// the weak comparison (RFC 9110, 13.1.2): "*", or a listed tag whose
// opaque part is etag's, with or without W/.
func noneMatch(values []string, etag string) bool {
	for _, v := range values {
		for v != "" {
			v = strings.TrimLeft(v, " \t,")
			switch {
			case v == "":
			case v[0] == '*':
				return true
			default:
				v = strings.TrimPrefix(v, "W/")
				if v == "" || v[0] != '"' {
					return false // malformed: nothing matches
				}
				end := strings.IndexByte(v[1:], '"')
				if end < 0 {
					return false
				}
				if v[:end+2] == etag {
					return true
				}
				v = v[end+2:]
			}
		}
	}
	return false
}

// Header values shared by the responses written from entries; the slices
// are never changed.
var (
	varyAcceptEncoding = []string{"Accept-Encoding"}
	xCacheHit          = []string{"hit"}
	xCacheMiss         = []string{"miss"}
)

// writeEntry answers c with e as contentType, in the coding the request
// prefers, or with 304 when its If-None-Match names that representation.
// hit says whether e came from the cache.
func writeEntry(c *gin.Context, e entry, contentType string, hit bool) {
	h := c.Writer.Header()
	k := negotiate(c.Request.Header.Values("Accept-Encoding"), e)
	b, etag, enc := e.body(k)
	h["Vary"] = varyAcceptEncoding
	h["Etag"] = []string{etag}
	if hit {
		h["X-Cache"] = xCacheHit
	} else {
		h["X-Cache"] = xCacheMiss
	}
	if noneMatch(c.Request.Header.Values("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	if enc != "" {
		h["Content-Encoding"] = []string{enc}
	}
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	c.Status(http.StatusOK)
	c.Writer.Write(b)
}
