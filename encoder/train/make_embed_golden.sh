#!/usr/bin/env bash
# Regenerates encoder/testdata/embed/golden.json: the embed job (torch, fp32,
# CPU) on the tiny catalog that `go test ./encoder -run TestEmbedCatalogGenerate
# -update-embed` draws. Needs a Python with torch, tokenizers, safetensors,
# onnx, pyarrow and pillow (requirements-embed.txt): PYTHON=/path/to/python.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-python3}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cd "$HERE"
PYTHONPATH=. "$PY" -m dualenc.embed --catalog ../testdata/embed/catalog.jsonl --out "$OUT" \
  --device cpu --workers 0 --batch 8 --shard-size 8 >/dev/null
PYTHONPATH=. "$PY" -m dualenc.embed golden --out "$OUT" --json ../testdata/embed/golden.json
