#!/usr/bin/env bash
# GPU throughput and parity of the embed job (encoder/train/dualenc/embed.py).
# Run from the repository root on a CUDA machine holding
#   .gpu/minilm-fp16/  python -m dualenc.embed half --minilm .tools/minilm-src --out .gpu/minilm-fp16
#   .gpu/subset/       python encoder/train/make_subset.py --src ../shared/data/fashion-small --n 2000 --out .gpu/subset
# with python3 + torch, tokenizers, safetensors, onnx, pyarrow, pillow, numpy.
# Writes embed-*.json and compare-*.txt to $OUT (default ./gpu-bench-out);
# the big Parquet outputs stay in a temporary folder. About 2-3 minutes.
# Env: REPEAT (default 100: 200k products), WORKERS (default nproc-2), BATCH (2048).
set -uo pipefail
ROOT="$(pwd)"
OUT="${OUT:-$ROOT/gpu-bench-out}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
MINILM="$ROOT/.gpu/minilm-fp16"
SUBSET="${SUBSET:-$ROOT/.gpu/subset/catalog.jsonl}"
REPEAT="${REPEAT:-100}"
WORKERS="${WORKERS:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}"
BATCH="${BATCH:-2048}"
DEVICE="${DEVICE:-cuda}"  # DEVICE=cpu REPEAT=1 for a local dry run
PY="${PYTHON:-python3}"
# Wheels the machine lacks (simplejpeg), carried in .whl/ when needed.
SITE=""
if compgen -G "$ROOT/.whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$ROOT"/.whl/*.whl && SITE=":/tmp/site"
fi
cd "$ROOT/encoder/train"
export PYTHONPATH=".$SITE" TOKENIZERS_PARALLELISM=false
embed() { "$PY" -m dualenc.embed "$@"; }
step() { echo; echo "== $* ($(date +%T))"; }

step "environment"
"$PY" - <<'PY' 2>&1 | tee "$OUT/env.txt"
import os, torch, sys
try:
    import simplejpeg
    print("simplejpeg", simplejpeg.__version__)
except ImportError:
    print("simplejpeg missing: JPEGs decode through PIL")
print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda,
      "available", torch.cuda.is_available(), "cpus", os.cpu_count())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", p.name, f"{p.total_memory / 2**30:.1f} GiB", "capability", f"{p.major}.{p.minor}")
PY
nvidia-smi --query-gpu=name,driver_version,utilization.gpu,memory.used --format=csv 2>&1 | tee -a "$OUT/env.txt"

step "GPU fp16: $REPEAT x 2000 products, $WORKERS workers, batch $BATCH"
timeout 240 "$PY" -m dualenc.embed --catalog "$SUBSET" --out "$WORK/gpu" --minilm "$MINILM" --device "$DEVICE" \
  --workers "$WORKERS" --batch "$BATCH" --repeat "$REPEAT" > "$OUT/embed-gpu.txt" 2> "$OUT/embed-gpu.log"
echo "rc $?"; cp "$WORK/gpu/embed.json" "$OUT/embed-gpu.json" 2>/dev/null
grep -E '"(read|embedded|products_per_s|wall|text_model|product_tower|wait_workers|mean|median)"' "$OUT/embed-gpu.txt"

step "encoder alone on the GPU (no decoding): synthetic tokens and pixels, batch $BATCH"
timeout 120 "$PY" - "$MINILM" <<'PY' 2>&1 | tee "$OUT/encoder-only.txt"
import collections, json, sys, time
import numpy as np, torch
from dualenc import embed as E, pipeline as P
from dualenc.minilm import pad
info = E.load_info("../weights")
enc = E.TorchEncoder("../weights", sys.argv[1], info, device="cuda")
rng = np.random.default_rng(1)
n, b = 65536, 2048
toks = [[101] + list(rng.integers(1000, 29000, rng.integers(8, 30))) + [102] for _ in range(n)]
texts = ["x"] * n
pix = rng.integers(0, 256, (b, 3, 64, 48), dtype=np.uint8)
stats = collections.defaultdict(float)
enc.products(toks[:b], texts[:b], [None] * b, pix, stats)  # warm-up
torch.cuda.synchronize()
stats.clear()
t = time.perf_counter()
for s in range(0, n, b):
    enc.products(toks[s:s + b], texts[s:s + b], [None] * b, pix, stats)
torch.cuda.synchronize()
dt = time.perf_counter() - t
# Where a MiniLM sub-batch of 512 spends its time.
sub = toks[:512]
t0 = time.perf_counter(); ids, mask = pad(sub); t1 = time.perf_counter()
ids, mask = ids.cuda(), mask.cuda(); torch.cuda.synchronize(); t2 = time.perf_counter()
with torch.inference_mode(), enc._ctx():
    for _ in range(10):
        v = enc.minilm(ids, mask)
torch.cuda.synchronize(); t3 = time.perf_counter()
print(json.dumps({"products": n, "seconds": round(dt, 3), "products_per_s": round(n / dt, 1),
                  "stages": {k: round(v, 3) for k, v in stats.items()},
                  "sub_batch_512_ms": {"pad": round((t1 - t0) * 1e3, 2), "h2d": round((t2 - t1) * 1e3, 2),
                                       "minilm_forward": round((t3 - t2) * 100, 2)}}))
PY

step "CPU fp32, 2 threads, first 256 products"
timeout 90 "$PY" -m dualenc.embed --catalog "$SUBSET" --out "$WORK/cpu" --minilm "$MINILM" --device cpu \
  --threads 2 --workers 1 --batch 256 --limit 256 > "$OUT/embed-cpu.txt" 2> "$OUT/embed-cpu.log"
echo "rc $?"; cp "$WORK/cpu/embed.json" "$OUT/embed-cpu.json" 2>/dev/null
grep -E '"(embedded|products_per_s|wall|text_model|product_tower)"' "$OUT/embed-cpu.txt"

step "GPU fp32 (no autocast), first 2000 products"
timeout 60 "$PY" -m dualenc.embed --catalog "$SUBSET" --out "$WORK/gpu32" --minilm "$MINILM" --device "$DEVICE" --fp32 \
  --workers "$WORKERS" --batch "$BATCH" > "$OUT/embed-gpu32.txt" 2> "$OUT/embed-gpu32.log"
echo "rc $?"; cp "$WORK/gpu32/embed.json" "$OUT/embed-gpu32.json" 2>/dev/null

step "golden catalog (encoder/testdata/embed) on GPU fp16 and CPU fp32"
timeout 60 "$PY" -m dualenc.embed --catalog ../testdata/embed/catalog.jsonl --out "$WORK/golden-gpu" --minilm "$MINILM" \
  --device "$DEVICE" --workers 0 > /dev/null 2> "$OUT/golden-gpu.log"
timeout 60 "$PY" -m dualenc.embed --catalog ../testdata/embed/catalog.jsonl --out "$WORK/golden-cpu" --minilm "$MINILM" \
  --device cpu --threads 2 --workers 0 > /dev/null 2> "$OUT/golden-cpu.log"
"$PY" - "$WORK/golden-gpu" ../testdata/embed/golden.json <<'PY' | tee "$OUT/compare-golden.txt"
import base64, json, sys
import numpy as np
from dualenc import pipeline as P
g = json.load(open(sys.argv[2]))
for col in ("vector", "product_vector"):
    v = P.read_vectors(sys.argv[1], col)
    cos = [float(np.dot(v[p["id"]], np.frombuffer(base64.b64decode(p[col]), "<f4"))) for p in g["products"]]
    print(f"GPU fp16 vs golden.json (torch fp32 CPU, Go-checked) {col}: n {len(cos)} min {min(cos):.6f} median {np.median(cos):.6f}")
PY

step "compare"
for pair in "gpu cpu" "gpu gpu32" "gpu32 cpu" "golden-gpu golden-cpu"; do
  set -- $pair
  echo "-- $1 vs $2" | tee -a "$OUT/compare.txt"
  embed compare "$WORK/$1" "$WORK/$2" 2>&1 | tee -a "$OUT/compare.txt"
done
echo; echo "done; results in $OUT"
