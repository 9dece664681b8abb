#!/usr/bin/env bash
# Runs the Python tests of encoder/train in the export virtualenv (set up by
# scripts/models.sh), after adding the small pinned packages of
# encoder/train/requirements-test.txt (pillow, pyarrow, simplejpeg; no torch: tests that
# need torch skip). Idempotent: a stamp skips pip when nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.tools/venv"
REQ="$ROOT/encoder/train/requirements-test.txt"
STAMP="$VENV/.test-req-$(sha256sum "$REQ" | cut -c1-16)"
if [[ ! -f "$STAMP" ]]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  touch "$STAMP"
fi
cd "$ROOT/encoder/train"
"$VENV/bin/python" -m unittest -v 2>&1 | tail -5
exit "${PIPESTATUS[0]}"
