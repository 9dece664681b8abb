package encoder

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ModelID names the exact encoders behind a set of embeddings, so that
// embeddings computed elsewhere (the GPU embed job in encoder/train) are
// only used with the model that made them: "TEXT+VERSION@HASH", where
// TEXT and VERSION are model.json's text_model and version and HASH the
// first 16 hex digits of the SHA-256 of product.onnx followed by
// attribute.onnx. The embed job computes the same string.
func ModelID(dir string) (string, error) {
	info, err := LoadModelInfo(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range []string{info.ProductModel, info.AttributeModel} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("model id: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("model id: %w", err)
		}
	}
	return fmt.Sprintf("%s+%s@%s", info.TextModel, info.Version, hex.EncodeToString(h.Sum(nil))[:16]), nil
}
