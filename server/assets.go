package server

// Versioned URLs of the images and the console's script: a URL carries the
// version of what it names, so that a browser may keep it for a year; a
// request for any other version gets the current bytes for a short while
// only.

import (
	"crypto/sha256"
	"encoding/hex"
)

// Cache-Control of versioned and unversioned assets.
const (
	immutable  = "public, max-age=31536000, immutable"
	shortLived = "public, max-age=300"
)

// assetVersion is the version in the URLs of the generation's images: its
// ImageVersion, or else a hash of its number and commit time.
func (ix *Index) assetVersion() string {
	if ix.ImageVersion != "" {
		return ix.ImageVersion
	}
	sum := sha256.Sum256([]byte(generationKey(ix)))
	return hex.EncodeToString(sum[:6])
}

// imageURL is the versioned URL of a product's image in the generation.
func (ix *Index) imageURL(id string) string {
	return "/images/" + pathEscape(id) + "?v=" + ix.assetVersion()
}
