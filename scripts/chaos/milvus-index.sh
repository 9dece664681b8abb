#!/usr/bin/env bash
# Fault: Milvus SIGKILLed during lander index. The run fails with an error
# that names Milvus, commits no generation and leaves no temporary folder;
# after Milvus restarts, the next run commits the next generation.
#   scripts/chaos/milvus-index.sh   (ROUNDS, default 3; SEED)
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
RANDOM=${SEED:-1}
build
start_milvus
DATA=$WORK/data
CATALOG=$(demo_catalog "$WORK/demo")
# An array, not a function: a function run with & is a subshell, and
# SIGKILL would hit the subshell and leave lander running.
INDEX=("$BIN" index --catalog "$CATALOG" --data "$DATA" --milvus "127.0.0.1:$MILVUS_PORT" --log-level warn)
"${INDEX[@]}" >"$WORK/index-1.log" 2>&1 || { cat "$WORK/index-1.log" >&2; fail "first index run"; }
for round in $(seq 1 "$ROUNDS"); do
  before=$(current "$DATA")
  delay=$(( RANDOM % 5000 ))
  "${INDEX[@]}" >"$WORK/index-$round.log" 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill9 milvus
  say "round $round: Milvus killed ${delay}ms into the run"
  if wait "$pid"; then fail "round $round: the index run succeeded without Milvus"; fi
  grep -qi "milvus" "$WORK/index-$round.log" || { cat "$WORK/index-$round.log" >&2; fail "round $round: the error does not name Milvus"; }
  say "round $round: index failed: $(grep -i milvus "$WORK/index-$round.log" | tail -1 | cut -c1-200)"
  [[ $(current "$DATA") == "$before" ]] || fail "round $round: CURRENT moved to $(current "$DATA")"
  [[ -z $(find "$DATA" -maxdepth 1 -name '.tmp-gen-*') ]] || fail "round $round: temporary folder left behind"
  start_milvus
  "${INDEX[@]}" >"$WORK/index-$round-next.log" 2>&1 || { cat "$WORK/index-$round-next.log" >&2; fail "round $round: the next run failed"; }
  after=$(current "$DATA")
  [[ $after != "$before" ]] || fail "round $round: the next run committed nothing"
  say "round $round: next run committed $after"
done
say "PASS milvus-index: $ROUNDS rounds, no generation committed without Milvus, each next run clean"
