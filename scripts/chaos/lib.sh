# Shared helpers of the fault scripts (scripts/chaos/*.sh) and the soak
# test (scripts/soak.sh): private Redis and Milvus Lite servers that a
# script can kill and restart, the demo catalog, and HTTP probes. Source it;
# it sets ROOT, BIN and WORK and removes WORK (and stops what it started)
# on exit unless KEEP=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
MILVUS_LIB="$ROOT/.tools/milvus/lib"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lander-chaos.XXXXXX")"
# Each script builds its own binary, so that a rebuild of bin/lander (or a
# second script) cannot swap it mid-run.
BIN="$WORK/lander"
declare -A PIDS=()
AT_EXIT=()
# at_exit CMD: run CMD (through eval) when the script ends, before WORK goes.
at_exit() { AT_EXIT+=("$1"); }

cleanup() {
  local name cmd
  for name in "${!PIDS[@]}"; do kill "${PIDS[$name]}" 2>/dev/null || true; done
  for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}" 2>/dev/null || true; done
  for cmd in "${AT_EXIT[@]}"; do eval "$cmd" || true; done
  [[ ${KEEP:-0} == 1 ]] && { echo "kept $WORK" >&2; return; }
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# wait_port HOST PORT SECONDS
wait_port() {
  local deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    (( SECONDS > deadline )) && return 1
    sleep 0.2
  done
}

# status URL: the HTTP status of a GET (000 when nothing answers).
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$1" || true; }

# wait_status URL CODE SECONDS
wait_status() {
  local deadline=$((SECONDS + $3))
  until [[ $(status "$1") == "$2" ]]; do
    (( SECONDS > deadline )) && return 1
    sleep 0.2
  done
}

build() { (cd "$ROOT" && go build -o "$BIN" ./cmd/lander); }

# start_redis: a private Redis on REDIS_PORT (chosen once, kept across
# restarts so that clients reconnect to the same address).
REDIS_PORT=""
start_redis() {
  [[ -n $REDIS_PORT ]] || REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" --logfile "$WORK/redis.log" >/dev/null 2>&1 &
  PIDS[redis]=$!
  wait_port 127.0.0.1 "$REDIS_PORT" 20 || fail "redis did not open port $REDIS_PORT"
}

# start_milvus: a private Milvus Lite on MILVUS_PORT, its data in
# WORK/milvus.db (kept across restarts).
MILVUS_PORT=""
start_milvus() {
  [[ -n $MILVUS_PORT ]] || MILVUS_PORT=$(free_port)
  (cd "$WORK" && LD_LIBRARY_PATH="$MILVUS_LIB" exec "$MILVUS_LIB/milvus" "$WORK/milvus.db" "127.0.0.1:$MILVUS_PORT" >>"$WORK/milvus.log" 2>&1) &
  PIDS[milvus]=$!
  wait_port 127.0.0.1 "$MILVUS_PORT" 60 || fail "milvus did not open port $MILVUS_PORT"
}

# kill9 NAME: SIGKILL a process this script started, and reap it.
kill9() {
  local pid=${PIDS[$1]:-}
  [[ -n $pid ]] || return 0
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$1]"
}

# demo_catalog DIR: writes the demo catalog of lander demo (480 products,
# seed 1) into DIR/demo-catalog, indexes it into DIR (generation 1) and
# prints the catalog's path. lander demo serves after indexing; it is
# stopped once ready.
demo_catalog() {
  local dir=$1 port
  port=$(free_port)
  "$BIN" demo --data "$dir" --addr "127.0.0.1:$port" --log-level warn >"$WORK/demo.log" 2>&1 &
  local pid=$!
  wait_status "http://127.0.0.1:$port/readyz" 200 600 || { cat "$WORK/demo.log" >&2; fail "lander demo never became ready"; }
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$dir/demo-catalog/catalog.jsonl"
}

# serve NAME ARGS...: starts lander serve (logging to WORK/NAME.log) on a
# free port, sets URL and waits until it is ready.
serve() {
  local name=$1; shift
  local port
  port=$(free_port)
  URL="http://127.0.0.1:$port"
  "$BIN" serve --addr "127.0.0.1:$port" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS[$name]=$!
  wait_status "$URL/readyz" 200 120 || { tail -20 "$WORK/$name.log" >&2; fail "$name never became ready"; }
}

# current DATA: the name of the generation CURRENT points at.
current() { cat "$1/CURRENT" 2>/dev/null | tr -d '\n' || true; }
