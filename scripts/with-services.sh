#!/usr/bin/env bash
# Runs a command with a private Redis and a private Milvus Lite server on free
# loopback ports, exported as LANDER_TEST_REDIS and LANDER_TEST_MILVUS, and
# stops both (and removes their data) when the command ends.
# Usage: scripts/with-services.sh go test ./...
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MILVUS_LIB="$ROOT/.tools/milvus/lib"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { # host port seconds name
  local deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    if (( SECONDS > deadline )); then echo "with-services: $4 did not open $1:$2 within $3s" >&2; return 1; fi
    sleep 0.2
  done
}

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" >/dev/null 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$REDIS_PORT" 20 redis || { cat "$WORK/redis.log" >&2; exit 1; }

MILVUS_PORT="$(free_port)"
(cd "$WORK" && LD_LIBRARY_PATH="$MILVUS_LIB" exec "$MILVUS_LIB/milvus" "$WORK/milvus.db" "127.0.0.1:$MILVUS_PORT" >"$WORK/milvus.log" 2>&1) &
PIDS+=($!)
wait_port 127.0.0.1 "$MILVUS_PORT" 60 milvus || { tail -20 "$WORK/milvus.log" >&2; exit 1; }

export LANDER_TEST_REDIS="127.0.0.1:$REDIS_PORT"
export LANDER_TEST_MILVUS="127.0.0.1:$MILVUS_PORT"
echo "with-services: redis on $LANDER_TEST_REDIS, milvus on $LANDER_TEST_MILVUS" >&2
set +e
"$@"
rc=$?
set -e
exit $rc
