#!/usr/bin/env bash
# Fault: lander index SIGKILLed at random moments until ROUNDS runs (default
# 20) were killed mid-run (a run that commits before its moment comes
# counts as completed, not killed), while lander serve serves the data directory with Milvus. After each
# kill the previous generation still serves (readyz, a landing page and a
# search answer 200), and every committed generation verifies; the run
# after the last kill commits the next generation.
#   scripts/chaos/kill-index.sh    (SEED picks the kill moments; default 1)
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-20}
RANDOM=${SEED:-1}
build
start_milvus
DATA=$WORK/data
say "kill-index: indexing the demo catalog into Milvus"
CATALOG=$(demo_catalog "$WORK/demo")
# An array, not a function: a function run with & is a subshell, and
# SIGKILL would hit the subshell and leave lander running.
INDEX=("$BIN" index --catalog "$CATALOG" --data "$DATA" --milvus "127.0.0.1:$MILVUS_PORT" --log-level warn)
t0=$SECONDS
"${INDEX[@]}" >"$WORK/index-1.log" 2>&1 || { cat "$WORK/index-1.log" >&2; fail "first index run"; }
RUN_MS=$(( (SECONDS - t0) * 1000 + 1000 ))
serve lander --data "$DATA" --milvus "127.0.0.1:$MILVUS_PORT" --log-level warn
SLUG=$(curl -s "$URL/api/v1/collections?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["collections"][0]["slug"])')
GEN=$(current "$DATA")

check_serving() {
  local p
  for p in /readyz "/c/$SLUG" "/api/v1/search?q=red+dress+$1"; do
    [[ $(status "$URL$p") == 200 ]] || fail "round $1: $p answered $(status "$URL$p") (generation $(current "$DATA"))"
  done
}

kills=0
round=0
while (( kills < ROUNDS && round < 3 * ROUNDS )); do
  round=$((round + 1))
  delay=$(( RANDOM % RUN_MS ))
  "${INDEX[@]}" >"$WORK/index-kill-$round.log" 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then what="killed"; else what="completed before"; fi
  wait "$pid" 2>/dev/null && what="completed before" || true
  [[ $what == killed ]] && kills=$((kills + 1))
  now=$(current "$DATA")
  # CURRENT names the old generation or one that was fully committed.
  [[ -f $DATA/$now/manifest.json ]] || fail "round $round: CURRENT names $now, which has no manifest"
  check_serving "$round"
  say "round $round: $what ${delay}ms; CURRENT $now; serving"
done

(( kills == ROUNDS )) || fail "only $kills runs killed mid-run in $round rounds"
say "kill-index: $kills runs killed mid-run in $round rounds; a last run must succeed"
"${INDEX[@]}" >"$WORK/index-last.log" 2>&1 || { cat "$WORK/index-last.log" >&2; fail "the run after the kills failed"; }
last=$(current "$DATA")
[[ $last != "$GEN" ]] || fail "the last run committed nothing"
wait_status "$URL/readyz" 200 30 || fail "not ready after the last run"
sleep 3 # the server picks the new generation within its 2 s poll
curl -s "$URL/readyz" | grep -q "generation $((10#${last#gen-}))" || fail "server did not move to $last: $(curl -s "$URL/readyz")"
check_serving last
leftovers=$(find "$DATA" -maxdepth 1 -name '.tmp-gen-*' | wc -l)
(( leftovers == 0 )) || fail "$leftovers temporary folders left after the successful run"
say "PASS kill-index: $kills runs SIGKILLed mid-run ($round rounds), previous generation served throughout, next run committed $last"
