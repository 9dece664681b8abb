package catalog

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode/utf8"
)

// Product is one catalog row as read.
type Product struct {
	// ID is the product id as given (integer ids are formatted in decimal).
	ID string
	// Title is the product title; it may be empty for a cold-start product.
	Title string
	// Description is the free-text description; it may be empty.
	Description string
	// Brand is the brand name; it may be empty.
	Brand string
	// Price is the price, or nil when absent.
	Price *float64
	// Tags holds the merchant tags: key = lowercased column or tag key, value
	// as given (trimmed). The brand is also stored here as "brand". Tags is
	// never nil.
	Tags map[string]string
	// Image holds the raw image bytes, already verified decodable.
	Image []byte
	// ImageFormat is the image format: "jpeg", "png" or "webp".
	ImageFormat string
	// Row locates the row in the catalog, numbered as Rejection.Row; it
	// orders the products of several shards as one read would.
	Row int
}

// Rejection says why a row was not accepted.
type Rejection struct {
	// Row locates the row: the 1-based line number of the file for
	// styles.csv (the header is line 1) and JSON Lines, the 1-based row
	// number for Parquet.
	Row int
	// ID is the row's id when it could be read, else empty.
	ID string
	// Reason is one of the Reason* codes.
	Reason string
	// Detail is a human-readable explanation.
	Detail string
}

// Rejection reason codes.
const (
	// ReasonBadRow is a row that cannot be parsed into fields (wrong number of
	// CSV fields, a field of the wrong type).
	ReasonBadRow = "bad_row"
	// ReasonBadJSON is a JSON Lines line that is not a JSON object.
	ReasonBadJSON = "bad_json"
	// ReasonMissingID is a row without an id.
	ReasonMissingID = "missing_id"
	// ReasonBadID is an id that is too long, holds control characters or, in
	// the Fashion layout, cannot name an image file.
	ReasonBadID = "bad_id"
	// ReasonDuplicateID is a row whose id was already delivered.
	ReasonDuplicateID = "duplicate_id"
	// ReasonMissingImage is a row with no image, or whose image file or URL
	// could not be read.
	ReasonMissingImage = "missing_image"
	// ReasonBadImage is an image that is not a decodable JPEG, PNG or WebP,
	// or is more than MaxImageBytes.
	ReasonBadImage = "bad_image"
	// ReasonBadPrice is a price that is not a finite non-negative number.
	ReasonBadPrice = "bad_price"
	// ReasonUnreadable is a Parquet row that could not be decoded: its row
	// group or one of its values is corrupt.
	ReasonUnreadable = "unreadable"
	// ReasonImageTooLarge is an image whose header asks for more than
	// MaxImagePixels pixels: it is refused before any decoding.
	ReasonImageTooLarge = "image_too_large"
)

// Reasons lists every rejection reason code.
var Reasons = []string{
	ReasonBadRow, ReasonBadJSON, ReasonMissingID, ReasonBadID, ReasonDuplicateID,
	ReasonMissingImage, ReasonBadImage, ReasonBadPrice, ReasonUnreadable, ReasonImageTooLarge,
}

// Limits applied to every row.
const (
	// MaxIDLen is the longest accepted id, in bytes.
	MaxIDLen = 256
	// MaxImageBytes is the largest accepted image, in bytes.
	MaxImageBytes = 32 << 20
	// MaxImagePixels is the largest accepted image area, in pixels (32
	// megapixels, 128 MiB decoded): catalog photos are far smaller, and a
	// larger header is more likely an attack on memory than a product.
	MaxImagePixels = 32 << 20
)

// ImageFetcher fetches the image at an http(s) URL: a
// *remoteimage.Fetcher.
type ImageFetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, error)
}

// Options configures a Reader. The zero value is usable.
type Options struct {
	// BatchSize is the number of products per batch; 0 means 256.
	BatchSize int
	// Workers is the number of goroutines loading and verifying images; 0
	// means GOMAXPROCS.
	Workers int
	// Remote fetches http(s) image_uri values (remoteimage.New guards the
	// fetches: deadlines, a size cap, few redirects, public addresses
	// only). When nil such rows are rejected as missing_image.
	Remote ImageFetcher
	// Shard and Shards select a slice of the catalog: with Shards > 1 only
	// rows for which InShard(id, Shard, Shards) holds are read; the others are
	// neither delivered nor rejected. Rows whose id cannot be read count as
	// id "" for this purpose, so each lands in exactly one shard.
	Shard, Shards int
	// HeaderOnly verifies images by decoding their header only, which is
	// faster but lets truncated images through. By default images are fully
	// decoded.
	HeaderOnly bool
}

// InShard reports whether id belongs to shard i of n, using the FNV-1a 64
// hash of the id. With n <= 1 every id belongs to the (only) shard.
func InShard(id string, i, n int) bool {
	if n <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()%uint64(n) == uint64(i)
}

// placeholders are tag values that mean "absent".
var placeholders = map[string]bool{"na": true, "n/a": true, "null": true}

// cleanText trims s and replaces invalid UTF-8.
func cleanText(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// addTag adds value under key following the package's tag rule.
func addTag(tags map[string]string, key, value string) {
	key = strings.ToLower(cleanText(key))
	value = cleanText(value)
	if key == "" || value == "" || placeholders[strings.ToLower(value)] {
		return
	}
	if old, ok := tags[key]; ok && old != "" {
		tags[key] = old + ", " + value
		return
	}
	tags[key] = value
}

// addTagElem adds one tag-list element: "k:v" or "k=v" gives key k, anything
// else goes under "tag".
func addTagElem(tags map[string]string, elem string) {
	elem = cleanText(elem)
	if i := strings.IndexAny(elem, ":="); i > 0 {
		k, v := strings.TrimSpace(elem[:i]), strings.TrimSpace(elem[i+1:])
		if k != "" && v != "" && len(k) <= 40 {
			addTag(tags, k, v)
			return
		}
	}
	addTag(tags, "tag", elem)
}

// checkID returns a rejection reason and detail for a bad id, or "".
func checkID(id string) (reason, detail string) {
	if id == "" {
		return ReasonMissingID, "id is empty"
	}
	if len(id) > MaxIDLen {
		return ReasonBadID, "id longer than 256 bytes"
	}
	if !utf8.ValidString(id) {
		return ReasonBadID, "id is not valid UTF-8"
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return ReasonBadID, "id holds control characters"
		}
	}
	return "", ""
}

// validPrice reports whether f is a finite non-negative price.
func validPrice(f float64) bool {
	return !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0
}
