package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG

	_ "golang.org/x/image/webp" // register WebP
	"golang.org/x/sync/semaphore"
)

// bytesPerPixel is what a decoded pixel costs at most (RGBA, 8 bits per
// channel; 16-bit PNGs are counted like this too, which the cap allows).
const bytesPerPixel = 4

// decodeBudgetBytes bounds the memory of the decodes running at once, in
// decoded bytes: two images of MaxImagePixels, or many ordinary ones. A
// tiny file can ask for a huge decode; without the budget every worker
// could run one at the same time.
const decodeBudgetBytes = 2 * MaxImagePixels * bytesPerPixel

// decodeBudget is shared by every decode of the process.
var decodeBudget = semaphore.NewWeighted(decodeBudgetBytes)

// errImageTooLarge is wrapped by the errors of images over MaxImagePixels.
var errImageTooLarge = errors.New("image too large")

// errEmptyImage is returned for zero-length image data.
var errEmptyImage = errors.New("image is empty")

// imageConfig reads b's header and checks its size against the limits,
// before anything is decoded.
func imageConfig(b []byte) (image.Config, string, error) {
	if len(b) == 0 {
		return image.Config{}, "", errEmptyImage
	}
	if len(b) > MaxImageBytes {
		return image.Config{}, "", fmt.Errorf("image is %d bytes, more than %d", len(b), MaxImageBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return cfg, "", fmt.Errorf("decode image header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, "", fmt.Errorf("image has size %dx%d", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return cfg, "", fmt.Errorf("%w: %dx%d pixels, more than %d", errImageTooLarge, cfg.Width, cfg.Height, MaxImagePixels)
	}
	return cfg, format, nil
}

// decode decodes b once its header passed imageConfig, holding its share
// of the decode budget meanwhile.
func decode(ctx context.Context, b []byte) (image.Image, string, error) {
	cfg, format, err := imageConfig(b)
	if err != nil {
		return nil, "", err
	}
	cost := int64(cfg.Width) * int64(cfg.Height) * bytesPerPixel
	if err := decodeBudget.Acquire(ctx, cost); err != nil {
		return nil, "", fmt.Errorf("wait to decode image: %w", err)
	}
	defer decodeBudget.Release(cost)
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, "", fmt.Errorf("decode image: %w", err)
	}
	return img, format, nil
}

// DecodeImage decodes JPEG, PNG or WebP bytes, as verified by the Reader,
// within the same limits: the pixel cap and the process's decode budget.
func DecodeImage(ctx context.Context, b []byte) (image.Image, error) {
	img, _, err := decode(ctx, b)
	return img, err
}

// verifyImage checks that b is a decodable image within the size limits and
// returns its format. With headerOnly it reads the header only.
func verifyImage(ctx context.Context, b []byte, headerOnly bool) (string, error) {
	if headerOnly {
		_, format, err := imageConfig(b)
		if err != nil {
			return "", err
		}
		if !hasTrailer(b, format) {
			return "", fmt.Errorf("%s image is truncated", format)
		}
		return format, nil
	}
	_, format, err := decode(ctx, b)
	return format, err
}

// imageReason is the rejection reason of a verifyImage error.
func imageReason(err error) string {
	if errors.Is(err, errImageTooLarge) {
		return ReasonImageTooLarge
	}
	return ReasonBadImage
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
