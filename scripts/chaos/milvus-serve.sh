#!/usr/bin/env bash
# Fault: Milvus SIGKILLed while lander serves from it, then restarted.
# While it is down, readyz and uncached searches answer 503 (never 500 or a
# hang); once it is back, both answer 200 again without restarting lander.
#   scripts/chaos/milvus-serve.sh   (DOWN seconds, default 8; ROUNDS, 2)
source "$(dirname "$0")/lib.sh"
DOWN=${DOWN:-8}
ROUNDS=${ROUNDS:-2}
build
start_milvus
DATA=$WORK/data
CATALOG=$(demo_catalog "$WORK/demo")
"$BIN" index --catalog "$CATALOG" --data "$DATA" --milvus "127.0.0.1:$MILVUS_PORT" --log-level warn >"$WORK/index.log" 2>&1 ||
  { cat "$WORK/index.log" >&2; fail "index"; }
serve lander --data "$DATA" --milvus "127.0.0.1:$MILVUS_PORT" --log-level warn
n=0
search() { n=$((n + 1)); status "$URL/api/v1/search?q=blue+shirt+$1+$n"; }
# timed_search TAG: "CODE SECONDS" of one uncached search.
timed_search() { n=$((n + 1)); curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "$URL/api/v1/search?q=blue+shirt+$1+$n" || true; }
for round in $(seq 1 "$ROUNDS"); do
  [[ $(search up$round) == 200 ]] || fail "round $round: search before the kill"
  kill9 milvus
  wait_status "$URL/readyz" 503 15 || fail "round $round: readyz still $(status "$URL/readyz") with Milvus down"
  declare -A codes=()
  slowest=0
  end=$((SECONDS + DOWN))
  while (( SECONDS < end )); do
    n=$((n + 1)); out=$(timed_search "down$round-$n"); c=${out%% *}; took=${out##* }
    codes[$c]=$(( ${codes[$c]:-0} + 1 ))
    slowest=$(python3 -c "print(max($slowest, $took))")
    sleep 0.2
  done
  summary="$(for c in "${!codes[@]}"; do printf '%s:%s ' "$c" "${codes[$c]}"; done)(slowest ${slowest}s)"
  say "round $round: Milvus down ${DOWN}s: readyz 503; uncached searches $summary"
  for c in "${!codes[@]}"; do [[ $c == 503 ]] || fail "round $round: a search answered $c while Milvus was down ($summary)"; done
  unset codes
  t0=$SECONDS
  start_milvus
  wait_status "$URL/readyz" 200 60 || fail "round $round: not ready 60 s after Milvus restarted: $(curl -s "$URL/readyz")"
  wait_status "$URL/api/v1/search?q=green+dress+$round" 200 30 || fail "round $round: search did not recover"
  say "round $round: Milvus back; ready and searching again after $((SECONDS - t0)) s, lander not restarted"
done
say "PASS milvus-serve: $ROUNDS rounds, 503 while Milvus was down, recovery without a restart"
