#!/usr/bin/env bash
# The serving benchmark: the whole served system on a real index of
# fashion-small, in one run, set against a bare gin handler answering the
# same bytes.
#
#   scripts/bench-serve.sh [DATA]
#
# DATA is a data directory holding a fashion-small index (default
# .tools/bench-data; built there with lander index when it has none, which
# takes minutes). Environment: DURATION (wrk seconds per scenario, 10),
# CONNS (wrk connections, 64), RATE (open-loop search rate, 100/s),
# SEARCH_SECONDS (30), SERVE_BIN (the lander that serves, default
# bin/lander, built here; the bare handler is always bin/lander's), LIGHTHOUSE=1 to add Lighthouse's SEO score of the
# landing page (npm lighthouse@12.2.3 with Debian chromium).
#
# Scenarios: bare (gin answering the landing page's bytes), one landing page
# (cached), 200 landing pages in rotation (cached), the search page and the
# JSON API (cached), and uncached search at a fixed rate, open loop, with
# unique queries (vegeta). It prints requests/s, p50 and p99, and each
# page's ratio to the bare handler.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${1:-.tools/bench-data}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
RATE=${RATE:-100}
SEARCH_SECONDS=${SEARCH_SECONDS:-30}
CATALOG=${CATALOG:-../shared/data/fashion-small}
SEARCH_LOG=${SEARCH_LOG:-../shared/data/queries/search_log.tsv}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || {
  echo "bench-serve: installing wrk from Debian" >&2
  SUDO=""; [[ "$(id -u)" != 0 ]] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
}
VEGETA=.tools/bin/vegeta
[[ -x $VEGETA ]] || {
  echo "bench-serve: installing vegeta from the Go module proxy" >&2
  GOBIN=$PWD/.tools/bin go install github.com/tsenart/vegeta/v12@v12.13.0
}
make -s build >/dev/null
SERVE_BIN=${SERVE_BIN:-bin/lander}

if [[ ! -f $DATA/CURRENT ]]; then
  echo "bench-serve: no index in $DATA; indexing $CATALOG (minutes)" >&2
  bin/lander index --data "$DATA" --catalog "$CATALOG" --search-log "$SEARCH_LOG" >"$WORK/index.log" 2>&1
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 1 300); do
    curl -sf "$1" >/dev/null && return 0
    sleep 0.2
  done
  echo "bench-serve: $1 never answered" >&2
  return 1
}

LP=$(free_port)
LANDER=http://127.0.0.1:$LP
"$SERVE_BIN" serve --data "$DATA" --addr "127.0.0.1:$LP" --log-level error >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
wait_ready "$LANDER/readyz"

# The landing page: /c/watches when the index has it, else the first
# published collection; 200 published collections for the rotation.
python3 - "$LANDER" "$WORK" <<'EOF'
import json, sys, urllib.request
base, work = sys.argv[1], sys.argv[2]
slugs = []
while len(slugs) < 200:
    with urllib.request.urlopen(f"{base}/api/v1/collections?limit=100&offset={len(slugs)}") as r:
        page = json.load(r)["collections"]
    if not page:
        break
    slugs += [c["slug"] for c in page]
slugs = slugs[:200]
one = "watches" if "watches" in slugs else slugs[0]
open(f"{work}/one", "w").write(one)
with open(f"{work}/paths.lua", "w") as f:
    f.write("paths = {" + ",".join('"/c/%s"' % s for s in slugs) + "}\n")
    f.write("i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n")
with open(f"{work}/pages", "w") as f:
    f.write("\n".join("/c/" + s for s in slugs) + "\n")
EOF
ONE=/c/$(cat "$WORK/one")
N_PAGES=$(wc -l <"$WORK/pages")

BP=$(free_port)
BARE=http://127.0.0.1:$BP
bin/lander bench bare --addr "127.0.0.1:$BP" --url "$LANDER$ONE" >"$WORK/bare.log" 2>&1 &
PIDS+=($!)
wait_ready "$BARE/"

# Warm every cached page once.
while read -r p; do curl -sf -o /dev/null "$LANDER$p"; done <"$WORK/pages"
curl -sf -o /dev/null "$LANDER/search?q=red+dress"
curl -sf -o /dev/null "$LANDER/api/v1/collections/$(cat "$WORK/one")"

# run NAME URL [lua]: wrk's requests/s, p50 and p99 (ms).
declare -A RPS P50 P99
run() {
  local name=$1 url=$2 script=${3:-}
  local args=(-t2 "-c$CONNS" "-d${DURATION}s" --latency)
  [[ -n $script ]] && args+=(-s "$script")
  wrk "${args[@]}" "$url" >"$WORK/$name.wrk"
  RPS[$name]=$(awk '/^Requests\/sec/ {print $2}' "$WORK/$name.wrk")
  P50[$name]=$(awk '$1=="50%" {print $2}' "$WORK/$name.wrk")
  P99[$name]=$(awk '$1=="99%" {print $2}' "$WORK/$name.wrk")
  if grep -q "Non-2xx" "$WORK/$name.wrk"; then
    echo "bench-serve: $name: $(grep Non-2xx "$WORK/$name.wrk")" >&2
  fi
}
run bare "$BARE$ONE"
run landing "$LANDER$ONE"
run rotation "$LANDER/" "$WORK/paths.lua"
run search_page "$LANDER/search?q=red+dress"
run api "$LANDER/api/v1/collections/$(cat "$WORK/one")"

# Uncached search: unique queries at a fixed rate, open loop.
python3 - "$LANDER" "$WORK" "$((RATE * SEARCH_SECONDS))" <<'EOF'
import json, random, sys, urllib.parse, urllib.request
base, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with urllib.request.urlopen(base + "/api/v1/vocabulary") as r:
    keys = json.load(r)["keys"]
vals = lambda k: [v["value"] for v in keys.get(k, [])]
colors, cats = vals("color"), vals("category")
extra = [""] + ["for " + g for g in vals("gender")] + ["for " + o for o in vals("occasion")] + vals("season")
rng = random.Random(1)
seen, out = set(), []
while len(out) < n and len(seen) < len(colors) * len(cats) * len(extra):
    q = " ".join(w for w in (rng.choice(colors), rng.choice(cats), rng.choice(extra)) if w)
    if q in seen:
        continue
    seen.add(q)
    out.append(f"GET {base}/api/v1/search?q={urllib.parse.quote_plus(q)}")
open(f"{work}/targets", "w").write("\n".join(out) + "\n")
EOF
$VEGETA attack -rate="$RATE/s" -duration="${SEARCH_SECONDS}s" -targets="$WORK/targets" >"$WORK/search.bin"
$VEGETA report -type=json "$WORK/search.bin" >"$WORK/search.json"

SEO=""
if [[ ${LIGHTHOUSE:-0} == 1 ]]; then
  CHROME=$(command -v chromium || command -v chromium-browser || true)
  LH=.tools/lh/node_modules/.bin/lighthouse
  [[ -x $LH ]] || npm install --silent --prefix .tools/lh lighthouse@12.2.3 >/dev/null
  CHROME_PATH=$CHROME $LH "$LANDER$ONE" --only-categories=seo --quiet \
    --chrome-flags="--headless=new --no-sandbox" --output=json --output-path="$WORK/lh.json" >/dev/null 2>&1 &&
    SEO=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["categories"]["seo"]["score"]*100))' "$WORK/lh.json")
fi

python3 - "$WORK" "$ONE" "$N_PAGES" "$CONNS" "$DURATION" "$RATE" "$SEARCH_SECONDS" "$SEO" \
  "${RPS[bare]}" "${P50[bare]}" "${P99[bare]}" \
  "${RPS[landing]}" "${P50[landing]}" "${P99[landing]}" \
  "${RPS[rotation]}" "${P50[rotation]}" "${P99[rotation]}" \
  "${RPS[search_page]}" "${P50[search_page]}" "${P99[search_page]}" \
  "${RPS[api]}" "${P50[api]}" "${P99[api]}" <<'EOF'
import json, sys
a = sys.argv[1:]
work, one, npages, conns, dur, rate, secs, seo = a[:8]
rows = [a[8 + 3 * i: 11 + 3 * i] for i in range(5)]
names = ["bare gin handler, same bytes", f"landing page {one}", f"{npages} landing pages in rotation",
         "search page /search?q=red+dress", f"JSON API /api/v1/collections/{one[3:]}"]
bare = float(rows[0][0])
print(f"wrk -t2 -c{conns} -d{dur}s, cached pages (one run):")
print(f"{'scenario':44} {'req/s':>10} {'ratio':>7} {'p50':>9} {'p99':>9}")
for n, (rps, p50, p99) in zip(names, rows):
    print(f"{n:44} {float(rps):>10.0f} {float(rps) / bare:>6.2f}x {p50:>9} {p99:>9}")
r = json.load(open(f"{work}/search.json"))
lat = r["latencies"]
ms = lambda ns: f"{ns / 1e6:.1f} ms"
errors = r["status_codes"]
print(f"\nuncached search, unique queries, {rate}/s open loop for {secs}s (vegeta):")
print(f"  requests {r['requests']}, success {r['success'] * 100:.2f}%, status codes {errors}")
print(f"  p50 {ms(lat['50th'])}, p90 {ms(lat['90th'])}, p99 {ms(lat['99th'])}, max {ms(lat['max'])}")
if seo:
    print(f"\nLighthouse SEO score of {one}: {seo}")
EOF
