#!/usr/bin/env bash
# The soak test: mixed load on lander serve (landing, home and search
# pages, the JSON API, uncached searches and merchandiser override writes)
# with Redis as the page cache, while lander index commits a new generation
# of the demo catalog every EVERY seconds. It samples the server's
# goroutines, live heap and RSS every SAMPLE seconds (pprof on a separate
# port) and fails on any failed request or on goroutines or heap that grow.
#
#   scripts/soak.sh [MINUTES]     (default 30)
#
# Environment: RATE (requests/s, open loop, default 40), EVERY (seconds
# between generations, 120), SAMPLE (seconds between samples, 30), OUT (a
# folder for the samples and reports, default WORK/out, kept with KEEP=1).
source "$(dirname "$0")/chaos/lib.sh"
MINUTES=${1:-30}
RATE=${RATE:-40}
EVERY=${EVERY:-120}
SAMPLE=${SAMPLE:-30}
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT"
VEGETA=$ROOT/.tools/bin/vegeta
[[ -x $VEGETA ]] || GOBIN=$ROOT/.tools/bin go install github.com/tsenart/vegeta/v12@v12.13.0

build
start_redis
DATA=$WORK/data
say "soak: indexing the demo catalog"
CATALOG=$(demo_catalog "$DATA")
PPROF=127.0.0.1:$(free_port)
TOKEN=soak-token
serve lander --data "$DATA" --redis "127.0.0.1:$REDIS_PORT" --merch-token "$TOKEN" --pprof-addr "$PPROF" --log-level warn

# The targets: every kind of request in proportion, cycled by vegeta.
python3 - "$URL" "$WORK" "$TOKEN" <<'PY'
import json, random, sys, urllib.parse, urllib.request
base, work, token = sys.argv[1:]
get = lambda p: json.load(urllib.request.urlopen(base + p))
slugs = [c["slug"] for c in get("/api/v1/collections?limit=100")["collections"]]
keys = get("/api/v1/vocabulary")["keys"]
vals = lambda k: [v["value"] for v in keys.get(k, [])]
rng = random.Random(7)
queries = sorted({" ".join(w for w in (rng.choice(vals("color")), rng.choice(vals("category")),
                  rng.choice(["", "under 50", "for women", "for men"])) if w) for _ in range(400)})
out = []
def t(method, path, headers=(), body=None):
    out.append("\n".join([f"{method} {base}{path}", *headers] + ([f"@{body}"] if body else [])) + "\n")
for i in range(400):
    s, q = rng.choice(slugs), urllib.parse.quote_plus(queries[i % len(queries)])
    r = i % 20
    if r < 6:
        t("GET", f"/c/{s}")
    elif r < 8:
        t("GET", "/")
    elif r < 10:
        t("GET", f"/search?q={q}")
    elif r < 13:
        t("GET", f"/api/v1/collections/{s}?limit=24")
    elif r < 15:
        t("GET", f"/api/v1/search?q={q}")
    elif r < 16:
        t("GET", "/api/v1/collections?limit=50")
    elif r < 17:
        t("GET", f"/api/v1/products/{urllib.parse.quote(get('/api/v1/collections/' + s + '?limit=1')['products'][0]['id'], safe='')}")
    elif r < 18:
        t("GET", "/sitemap.xml")
    else:
        # An override write: pin the collection's third product, or clear.
        items = get(f"/api/v1/collections/{s}?limit=3")["products"]
        pins = [items[-1]["id"]] if i % 3 else []
        body = f"{work}/override-{i}.json"
        json.dump({"pins": pins, "excludes": []}, open(body, "w"))
        t("PUT", f"/api/v1/collections/{s}/overrides",
          [f"Authorization: Bearer {token}", "Content-Type: application/json"], body)
open(f"{work}/targets", "w").write("\n".join(out))
PY

# sample: seconds since start, goroutines, live heap (bytes), RSS (KiB).
sample() {
  local g h rss
  g=$(curl -s "http://$PPROF/debug/pprof/goroutine?debug=1" | awk '/^goroutine profile: total/ {print $4}') || true
  h=$(curl -s "http://$PPROF/debug/pprof/heap?debug=1&gc=1" | awk '/^# HeapAlloc = / {print $4}') || true
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/${PIDS[lander]}/status")
  printf '%d\t%s\t%s\t%s\t%s\n' "$((SECONDS - START))" "$g" "$h" "$rss" "$(current "$DATA")" >>"$OUT/samples.tsv"
}
printf 'seconds\tgoroutines\theap_alloc\trss_kib\tgeneration\n' >"$OUT/samples.tsv"

START=$SECONDS
END=$((START + MINUTES * 60))
say "soak: $MINUTES min at $RATE req/s, a new generation every ${EVERY}s; server $URL, pprof $PPROF"
"$VEGETA" attack -rate="$RATE/s" -duration="${MINUTES}m" -timeout=30s -targets="$WORK/targets" >"$OUT/attack.bin" &
PIDS[vegeta]=$!

# The reindexer: a new generation every EVERY seconds until the end.
(
  next=$((SECONDS + EVERY))
  while (( next < END )); do
    sleep $((next - SECONDS))
    t0=$SECONDS
    if nice -n 10 "$BIN" index --catalog "$CATALOG" --data "$DATA" --log-level warn >>"$OUT/index.log" 2>&1; then
      printf '%d\t%s\t%d\n' "$((SECONDS - START))" "$(current "$DATA")" "$((SECONDS - t0))" >>"$OUT/generations.tsv"
    else
      echo "index run failed at $((SECONDS - START))s" >>"$OUT/generations.tsv"
    fi
    next=$((next + EVERY))
  done
) &
PIDS[reindex]=$!

sample
while (( SECONDS < END )); do
  sleep "$SAMPLE"
  sample
done
wait "${PIDS[vegeta]}"; unset "PIDS[vegeta]"
wait "${PIDS[reindex]}" || true; unset "PIDS[reindex]"
sample

"$VEGETA" report -type=json "$OUT/attack.bin" >"$OUT/report.json"
"$VEGETA" report "$OUT/attack.bin" >"$OUT/report.txt"
python3 - "$OUT" <<'PY'
import json, statistics, sys
out = sys.argv[1]
r = json.load(open(f"{out}/report.json"))
rows = [l.split("\t") for l in open(f"{out}/samples.tsv").read().splitlines()[1:]]
gens = [l.split("\t") for l in open(f"{out}/generations.tsv").read().splitlines()] if __import__("os").path.exists(f"{out}/generations.tsv") else []
lat = r["latencies"]
ms = lambda ns: f"{ns / 1e6:.1f} ms"
print(f"requests {r['requests']}, success {r['success'] * 100:.3f}%, status codes {r['status_codes']}, errors {len(r.get('errors') or [])}")
print(f"latency p50 {ms(lat['50th'])}, p90 {ms(lat['90th'])}, p99 {ms(lat['99th'])}, max {ms(lat['max'])}")
ok = [g for g in gens if len(g) == 3]
print(f"generations committed during the soak: {len(ok)} of {len(gens)} runs; index seconds {[int(g[2]) for g in ok]}; last {ok[-1][1] if ok else '-'}")
g = [int(x[1]) for x in rows]; h = [int(x[2]) for x in rows]; rss = [int(x[3]) for x in rows]
third = max(1, len(rows) // 3)
def flat(name, xs, unit, tol):
    a, b = statistics.median(xs[1:1 + third] or xs), statistics.median(xs[-third:])
    print(f"{name}: first third median {a / unit:.1f}, last third median {b / unit:.1f}, ratio {b / a:.2f}, min {min(xs) / unit:.1f}, max {max(xs) / unit:.1f}")
    return b / a <= tol
flat_g = flat("goroutines", g, 1, 1.25)
flat_h = flat("live heap MiB", h, 2**20, 1.25)
flat("RSS MiB", rss, 1024, 99)
errs = r["success"] < 1 or len(ok) != len(gens)
if errs or not flat_g or not flat_h:
    print("SOAK FAILED"); sys.exit(1)
print("SOAK PASSED")
PY
