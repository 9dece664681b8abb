#!/usr/bin/env bash
# Fault: the data directory's disk fills up during lander index. The data
# directory is a small tmpfs (mounting it needs root); a filler file leaves
# less room than one generation takes, at a different size each round, so
# the disk fills at different stages. Each run fails with "no space left on
# device", commits nothing, leaves no temporary folder, and the server goes
# on serving the previous generation; once the filler is gone the next run
# commits.
#   scripts/chaos/full-disk.sh
source "$(dirname "$0")/lib.sh"
if [[ $(id -u) != 0 ]]; then
  say "SKIP full-disk: mounting a tmpfs needs root; run it as root (or in the CI container)"
  exit 0
fi
build
CATALOG=$(demo_catalog "$WORK/demo")
DATA=$WORK/disk
mkdir -p "$DATA"
mount -t tmpfs -o size=16m tmpfs "$DATA" || fail "cannot mount a tmpfs on $DATA"
at_exit "umount '$DATA'"
INDEX=("$BIN" index --catalog "$CATALOG" --data "$DATA" --log-level warn)
"${INDEX[@]}" >"$WORK/index-1.log" 2>&1 || { cat "$WORK/index-1.log" >&2; fail "first index run"; }
GEN_KB=$(du -sk "$DATA/$(current "$DATA")" | cut -f1)
serve lander --data "$DATA" --log-level warn
SLUG=$(curl -s "$URL/api/v1/collections?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["collections"][0]["slug"])')
round=0
for free_pct in 5 30 60 90; do
  round=$((round + 1))
  before=$(current "$DATA")
  avail=$(df -k --output=avail "$DATA" | tail -1)
  leave=$(( GEN_KB * free_pct / 100 ))
  fallocate -l "$(( (avail - leave) * 1024 ))" "$DATA/filler" 2>/dev/null ||
    dd if=/dev/zero of="$DATA/filler" bs=1K count="$((avail - leave))" status=none
  if "${INDEX[@]}" >"$WORK/index-full-$round.log" 2>&1; then fail "round $round: the run succeeded with ${leave} KiB free (a generation takes ${GEN_KB} KiB)"; fi
  grep -q "no space left on device" "$WORK/index-full-$round.log" || { cat "$WORK/index-full-$round.log" >&2; fail "round $round: the error does not say the disk is full"; }
  [[ $(current "$DATA") == "$before" ]] || fail "round $round: CURRENT moved to $(current "$DATA")"
  [[ -z $(find "$DATA" -maxdepth 1 -name '.tmp-gen-*') ]] || fail "round $round: a temporary folder is left: $(ls -a "$DATA")"
  for p in /readyz "/c/$SLUG"; do [[ $(status "$URL$p") == 200 ]] || fail "round $round: $p answered $(status "$URL$p")"; done
  say "round $round: ${leave} KiB free of ${GEN_KB} needed: $(grep -o 'lander index: .*' "$WORK/index-full-$round.log" | cut -c1-160)"
  rm -f "$DATA/filler"
  "${INDEX[@]}" >"$WORK/index-next-$round.log" 2>&1 || { cat "$WORK/index-next-$round.log" >&2; fail "round $round: the run with room again failed"; }
  [[ $(current "$DATA") != "$before" ]] || fail "round $round: the run with room committed nothing"
  say "round $round: with room again the next run committed $(current "$DATA")"
done
say "PASS full-disk: $round rounds, no partial generation, the previous one served, each next run committed"
