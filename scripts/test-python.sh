#!/usr/bin/env bash
# Runs the Python tests of encoder/train in the export virtualenv (set up by
# scripts/models.sh); they use unittest, so no extra package is needed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/encoder/train"
"$ROOT/.tools/venv/bin/python" -m unittest -v 2>&1 | tail -5
exit "${PIPESTATUS[0]}"
