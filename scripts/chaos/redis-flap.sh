#!/usr/bin/env bash
# Fault: Redis, the shared page cache, killed and restarted again and
# again under load. Every request must succeed: the server serves from the
# in-process tier and renders what Redis cannot give.
#   scripts/chaos/redis-flap.sh   (SECONDS_LOAD, default 60; RATE, 50/s; SEED)
source "$(dirname "$0")/lib.sh"
LOAD=${SECONDS_LOAD:-60}
RATE=${RATE:-50}
RANDOM=${SEED:-1}
VEGETA=$ROOT/.tools/bin/vegeta
[[ -x $VEGETA ]] || GOBIN=$ROOT/.tools/bin go install github.com/tsenart/vegeta/v12@v12.13.0
build
start_redis
DATA=$WORK/data
demo_catalog "$DATA" >/dev/null
serve lander --data "$DATA" --redis "127.0.0.1:$REDIS_PORT" --log-level warn
python3 - "$URL" "$WORK/targets" <<'PY'
import json, sys, urllib.request
base, out = sys.argv[1:]
slugs = [c["slug"] for c in json.load(urllib.request.urlopen(base + "/api/v1/collections?limit=60"))["collections"]]
lines = []
for i, s in enumerate(slugs):
    lines += [f"GET {base}/c/{s}", f"GET {base}/api/v1/collections/{s}?limit=12", f"GET {base}/search?q=red+{i}"]
open(out, "w").write("\n".join(lines) + "\n")
PY
"$VEGETA" attack -rate="$RATE/s" -duration="${LOAD}s" -timeout=20s -targets="$WORK/targets" >"$WORK/attack.bin" &
PIDS[vegeta]=$!
flaps=0
end=$((SECONDS + LOAD - 5))
while (( SECONDS < end )); do
  sleep "$((1 + RANDOM % 4))"
  kill9 redis
  flaps=$((flaps + 1))
  sleep "$((1 + RANDOM % 4))"
  start_redis
done
wait "${PIDS[vegeta]}"; unset "PIDS[vegeta]"
"$VEGETA" report "$WORK/attack.bin" | tee "$WORK/report.txt" >&2
ok=$("$VEGETA" report -type=json "$WORK/attack.bin" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("yes" if r["success"] == 1 else "no")')
[[ $ok == yes ]] || fail "requests failed while Redis flapped ($flaps kills)"
say "PASS redis-flap: $flaps Redis kills in ${LOAD}s at $RATE req/s, every request succeeded"
