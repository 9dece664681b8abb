#!/usr/bin/env bash
# The API contract under a property-based fuzzer: builds bin/lander, indexes
# the demo catalog (480 synthetic products, made by `lander demo`, so no
# data from outside the repository), serves it on a free loopback port and
# runs schemathesis with every check against /api/v1/openapi.json, once
# without and once with the merchandiser token. Any failure fails the run.
#
# schemathesis (pinned below) is installed into .tools/api-venv once; a
# stamp skips pip afterwards. scripts/schemathesis.toml holds the statuses
# each check accepts besides its defaults, and why.
#
# Environment: API_FUZZ_EXAMPLES (examples per operation and phase,
# default 25), API_FUZZ_SEED (default 1), API_FUZZ_REPORT (a folder for the
# JUnit reports; default none).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
VERSION=4.32.5
VENV="$ROOT/.tools/api-venv"
STAMP="$VENV/.schemathesis-$VERSION"
if [[ ! -f "$STAMP" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
  touch "$STAMP"
fi
if [[ -n "${API_FUZZ_REPORT:-}" ]]; then API_FUZZ_REPORT="$(realpath -m "$API_FUZZ_REPORT")"; fi
EXAMPLES="${API_FUZZ_EXAMPLES:-25}"
SEED="${API_FUZZ_SEED:-1}"

WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  if [[ -n "$SERVER" ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

go build -o "$WORK/lander" ./cmd/lander
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
TOKEN="fuzz-$RANDOM$RANDOM"
# The preview's rate limit is raised so that the fuzzer's requests reach
# the handler instead of a 429 (the limit has its own test).
"$WORK/lander" demo --data "$WORK/data" --addr "127.0.0.1:$PORT" --merch-token "$TOKEN" \
  --preview-rate 100000 --log-level warn >"$WORK/serve.log" 2>&1 &
SERVER=$!
deadline=$((SECONDS + 300))
until curl -fs "$BASE/readyz" >/dev/null 2>&1; do
  if ! kill -0 "$SERVER" 2>/dev/null || (( SECONDS > deadline )); then
    echo "test-api: lander demo did not become ready" >&2
    tail -20 "$WORK/serve.log" >&2
    exit 1
  fi
  sleep 1
done

run() { # name, extra schemathesis arguments...
  local name="$1"; shift
  local report=()
  if [[ -n "${API_FUZZ_REPORT:-}" ]]; then
    mkdir -p "$API_FUZZ_REPORT"
    report=(--report junit --report-junit-path "$API_FUZZ_REPORT/$name.xml")
  fi
  echo "test-api: schemathesis $VERSION, $name" >&2
  # Run from the scratch folder: schemathesis keeps a cache in .schemathesis
  # of its working directory. One worker: with two, hypothesis parses lambda
  # sources on two threads at once, which CPython 3.11.7's ast.parse fails
  # now and then ("AST constructor recursion depth mismatch"), an error of
  # the tool that fails the run.
  (cd "$WORK" && "$VENV/bin/schemathesis" --config-file "$ROOT/scripts/schemathesis.toml" --no-color run "$BASE/api/v1/openapi.json" \
    --checks all --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 --request-timeout 20 \
    "${report[@]}" "$@") 2>&1 | tee "$WORK/$name.txt" | sed -n '/^=* SUMMARY/,$p'
  local rc="${PIPESTATUS[0]}"
  if (( rc != 0 )); then
    echo "test-api: $name failed (schemathesis exit $rc); the full output:" >&2
    cat "$WORK/$name.txt" >&2
    return "$rc"
  fi
}
rc=0
run "without-token" || rc=1
run "with-token" -H "Authorization: Bearer $TOKEN" || rc=1
if grep -qiE 'panic|level=ERROR' "$WORK/serve.log"; then
  echo "test-api: the server logged errors:" >&2
  grep -iE 'panic|level=ERROR' "$WORK/serve.log" | head -20 >&2
  rc=1
fi
exit "$rc"
