#!/usr/bin/env bash
# Runs every fault script in turn (make chaos) and prints one line per
# fault; it fails when any fails. Each script's own log goes to
# CHAOS_LOGS (default .tools/chaos-logs).
set -uo pipefail
cd "$(dirname "$0")/../.."
LOGS=${CHAOS_LOGS:-.tools/chaos-logs}
mkdir -p "$LOGS"
rc=0
for s in kill-index milvus-index milvus-serve redis-flap full-disk corrupt-gen; do
  start=$SECONDS
  if scripts/chaos/$s.sh >"$LOGS/$s.log" 2>&1; then
    printf '%-13s %s (%ds)\n' "$s" "$(grep -E '^[0-9:]+ (PASS|SKIP)' "$LOGS/$s.log" | tail -1 | cut -d' ' -f2-)" $((SECONDS - start))
  else
    rc=1
    printf '%-13s FAILED (%ds): %s\n' "$s" $((SECONDS - start)) "$(grep FAIL "$LOGS/$s.log" | tail -1)"
  fi
done
exit $rc
