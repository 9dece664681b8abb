package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG

	_ "golang.org/x/image/webp" // register WebP
)

// DecodeImage decodes JPEG, PNG or WebP bytes, as verified by the Reader.
func DecodeImage(b []byte) (image.Image, error) {
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	return img, nil
}

// errEmptyImage is returned for zero-length image data.
var errEmptyImage = errors.New("image is empty")

// verifyImage checks that b is a decodable image within the size limits and
// returns its format. With headerOnly it reads the header only.
func verifyImage(b []byte, headerOnly bool) (string, error) {
	if len(b) == 0 {
		return "", errEmptyImage
	}
	if len(b) > MaxImageBytes {
		return "", fmt.Errorf("image is %d bytes, more than %d", len(b), MaxImageBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("decode image header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", fmt.Errorf("image has size %dx%d", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return "", fmt.Errorf("image of %dx%d pixels is too large", cfg.Width, cfg.Height)
	}
	if headerOnly {
		if !hasTrailer(b, format) {
			return "", fmt.Errorf("%s image is truncated", format)
		}
		return format, nil
	}
	if _, _, err := image.Decode(bytes.NewReader(b)); err != nil {
		return "", fmt.Errorf("decode image: %w", err)
	}
	return format, nil
}

// hasTrailer reports whether a JPEG ends with its EOI marker or a PNG with
// its IEND chunk (trailing padding allowed); other formats pass.
func hasTrailer(b []byte, format string) bool {
	switch format {
	case "jpeg":
		t := bytes.TrimRight(b, "\x00\r\n \t")
		return bytes.HasSuffix(t, []byte{0xFF, 0xD9})
	case "png":
		tail := b[max(0, len(b)-64):]
		return bytes.Contains(tail, []byte("IEND"))
	}
	return true
}
