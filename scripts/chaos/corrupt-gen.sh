#!/usr/bin/env bash
# Fault: CURRENT names a generation with a corrupt file (one byte flipped,
# a different file each round). The running server keeps serving the
# previous generation, logs the failure once (not every poll), and moves
# on to the next good generation.
#   scripts/chaos/corrupt-gen.sh
source "$(dirname "$0")/lib.sh"
build
DATA=$WORK/data
CATALOG=$(demo_catalog "$DATA")
INDEX=("$BIN" index --catalog "$CATALOG" --log-level warn)
serve lander --data "$DATA" --log-level warn
gen_of() { curl -s "$URL/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["index"])'; }
round=0
for file in topics.json vocabulary.json images.pack store; do
  round=$((round + 1))
  serving=$(gen_of)
  # Build the next generation beside DATA, corrupt it, then move it in and
  # point CURRENT at it, as a torn write or a bad disk would leave it.
  rm -rf "$WORK/side"; cp -a "$DATA" "$WORK/side"
  "${INDEX[@]}" --data "$WORK/side" >"$WORK/index-$round.log" 2>&1 || { cat "$WORK/index-$round.log" >&2; fail "index"; }
  bad=$(current "$WORK/side")
  target=$WORK/side/$bad/$file
  [[ -d $target ]] && target=$(find "$target" -type f | sort | head -1)
  size=$(stat -c %s "$target")
  python3 - "$target" "$((size / 2))" <<'PY'
import sys
path, at = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0x20]))
PY
  mv "$WORK/side/$bad" "$DATA/$bad"
  errors_before=$(grep -c "reload failed" "$WORK/lander.log" || true)
  echo "$bad" >"$DATA/CURRENT.tmp" && mv "$DATA/CURRENT.tmp" "$DATA/CURRENT"
  sleep 10 # five polls of the reloader
  now=$(gen_of)
  [[ $now == "$serving" ]] || fail "round $round: serving $now after CURRENT named corrupt $bad (was $serving)"
  for p in /readyz /api/v1/collections; do [[ $(status "$URL$p") == 200 ]] || fail "round $round: $p answered $(status "$URL$p")"; done
  logged=$(( $(grep -c "reload failed" "$WORK/lander.log" || true) - errors_before ))
  (( logged == 1 )) || fail "round $round: the failure was logged $logged times in 10 s, want once"
  say "round $round: $bad with ${target#$DATA/} corrupt: still $now, logged once: $(grep 'reload failed' "$WORK/lander.log" | tail -1 | grep -o 'err=.*' | cut -c1-150)"
  # The next good generation is picked up.
  "${INDEX[@]}" --data "$DATA" >"$WORK/index-good-$round.log" 2>&1 || { cat "$WORK/index-good-$round.log" >&2; fail "round $round: the next run failed"; }
  good=$(current "$DATA")
  sleep 3
  [[ $(gen_of) == "generation $((10#${good#gen-}))" ]] || fail "round $round: did not move on to $good: $(gen_of)"
done
say "PASS corrupt-gen: $round corrupt generations, each kept out, logged once, the next good one served"
