#!/usr/bin/env bash
# Installs the ONNX Runtime shared library for linux-x64 into lib/ from the npm
# registry package onnxruntime-node (it carries the official libonnxruntime.so.1).
# Idempotent: does nothing when the library is already there.
set -euo pipefail
ORT_VERSION="${ORT_VERSION:-1.30.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/lib"
LIB="$DEST/libonnxruntime.so.1"
if [[ -s "$LIB" && -f "$DEST/.ort-$ORT_VERSION" ]]; then
  exit 0
fi
case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64|arm64) ARCH=arm64 ;;
  *) echo "setup-ort: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "setup-ort: npm is required to fetch onnxruntime-node" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "setup-ort: fetching onnxruntime-node@$ORT_VERSION from the npm registry" >&2
(cd "$TMP" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
tar -xzf "$TMP"/onnxruntime-node-*.tgz -C "$TMP" "package/bin/napi-v6/linux/$ARCH/libonnxruntime.so.1"
mkdir -p "$DEST"
install -m 0644 "$TMP/package/bin/napi-v6/linux/$ARCH/libonnxruntime.so.1" "$LIB.tmp"
mv "$LIB.tmp" "$LIB"
rm -f "$DEST"/.ort-*
touch "$DEST/.ort-$ORT_VERSION"
echo "setup-ort: installed $LIB" >&2
