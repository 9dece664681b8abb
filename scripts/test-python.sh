#!/usr/bin/env bash
# Runs the Python tests of encoder/train in the export virtualenv.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.tools/venv"
"$VENV/bin/python" -m pip show -q pytest >/dev/null 2>&1 || "$VENV/bin/python" -m pip install -q -r "$ROOT/encoder/train/requirements-test.txt"
cd "$ROOT/encoder/train"
"$VENV/bin/python" -m pytest -q
