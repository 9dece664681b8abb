"""The embed job's pipeline without torch: input rows (with --limit and
--repeat), a pool of worker processes that load, verify, preprocess and
tokenise, in-order acceptance (duplicate ids), shards written atomically and
skipped on restart, embed.json, and `compare`. The encoder is passed in (see
embed.TorchEncoder), so the tests can drive all of this with a fake one."""
from __future__ import annotations

import collections
import glob
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import numpy as np

from . import catalog as C

SHARD_RE = re.compile(r"^products-(\d{5,})\.parquet$")
TEXT_DIM, DIM = 384, 128


def shard_name(k: int) -> str:
    return f"products-{k:05d}.parquet"


def model_string(weights: str, info: dict) -> str:
    """<text_model>+<version>@<first 16 hex of sha256(product.onnx bytes ||
    attribute.onnx bytes)>."""
    h = hashlib.sha256()
    for f in (info.get("product_model", "product.onnx"), info.get("attribute_model", "attribute.onnx")):
        with open(os.path.join(weights, f), "rb") as fh:
            h.update(fh.read())
    return f"{info['text_model']}+{info['version']}@{h.hexdigest()[:16]}"


def attribute_phrase(key: str, value: str) -> str:
    """encoder.AttributePhrase."""
    return key + ": " + value


# ---------------------------------------------------------------- input

def input_rows(path: str, limit: int = 0, repeat: int = 1) -> Iterator[C.RawRow]:
    """The catalog's parsed rows, the first `limit` (0: all) of them,
    `repeat` times; repetition r >= 1 suffixes ids with "#r" (its rows keep
    their row numbers)."""
    fmt = C.detect(path)
    for r in range(max(1, repeat)):
        # JSON Lines rows travel unparsed (C.LazyRow): the workers parse them.
        rows = C._jsonl_lines(path) if fmt == C.FORMAT_JSONL else C.raw_rows(path, fmt)
        for i, raw in enumerate(rows):
            if limit and i >= limit:
                break
            if r > 0:
                if isinstance(raw, C.LazyRow):
                    raw.suffix = f"#{r}"
                elif raw.id:
                    raw.id = f"{raw.id}#{r}"
            yield raw


# ---------------------------------------------------------------- workers

_W: dict = {}


def _worker_init(tokenizer_dir: Optional[str], known: frozenset, threads: int = 1) -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _W["known"] = known
    _W["tok"] = None
    if tokenizer_dir:
        from .minilm_tok import load_tokenizer
        _W["tok"] = load_tokenizer(tokenizer_dir)


@dataclass
class Chunk:
    """What a worker returns for a slice of rows."""
    # One tuple per row, (row, id, text, reason, detail, has_pixels,
    # text_embedding): tuples pickle several times faster than objects,
    # and the process feeding the GPU unpickles every one.
    rows: list
    pixels: bytes  # accepted rows' preprocessed images, concatenated
    tokens: Optional[list]  # token ids per accepted row (None without tokenizer)
    seconds: dict


def work(raws: list) -> Chunk:
    t0 = time.perf_counter()
    known = _W.get("known", frozenset())
    raws = [r.parse() if isinstance(r, C.LazyRow) else r for r in raws]
    rows = C.load_rows(raws, known)
    t1 = time.perf_counter()
    pixels = b"".join(r.pixels for r in rows if not r.reason and r.pixels)
    tokens = None
    tok = _W.get("tok")
    if tok is not None:
        texts = [r.text for r in rows if not r.reason and r.text_embedding is None and r.id not in known]
        tokens = tok(texts) if texts else []
    out = [(r.row, r.id, r.text, r.reason, r.detail, bool(not r.reason and r.pixels), r.text_embedding) for r in rows]
    t2 = time.perf_counter()
    return Chunk(rows=out, pixels=pixels, tokens=tokens, seconds={"load_preprocess": t1 - t0, "tokenize": t2 - t1})


def worker_results(rows: Iterator[C.RawRow], workers: int, chunk: int, tokenizer_dir: Optional[str],
                   known: frozenset, stats: dict) -> Iterator[Chunk]:
    """Chunks in input order; at most 4 x workers chunks in flight."""
    def chunks():
        buf = []
        for r in rows:
            buf.append(r)
            if len(buf) == chunk:
                yield buf
                buf = []
        if buf:
            yield buf

    if workers <= 0:
        _worker_init(tokenizer_dir, known)
        for c in chunks():
            yield work(c)
        return
    import multiprocessing as mp
    ctx = mp.get_context("spawn")  # no forked torch/CUDA state in the workers
    # One BLAS thread per worker: the workers already fill the cores, and
    # N workers x N BLAS threads thrash (spawned workers read this at
    # import; the parent's own pools are set up already).
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = "1"
    with ctx.Pool(workers, initializer=_worker_init, initargs=(tokenizer_dir, known)) as pool:
        pending = collections.deque()
        it = chunks()
        done = False
        while True:
            t = time.perf_counter()
            while not done and len(pending) < 4 * workers:
                try:
                    c = next(it)
                except StopIteration:
                    done = True
                    break
                pending.append(pool.apply_async(work, (c,)))
            stats["parse"] += time.perf_counter() - t
            if not pending:
                break
            t = time.perf_counter()
            res = pending.popleft().get()
            stats["wait_workers"] += time.perf_counter() - t
            yield res


# ---------------------------------------------------------------- shards

def existing_shards(out: str, model: Optional[str] = None) -> dict:
    """Complete shards already in out: {k: [ids]}. Temporary files of a
    killed run are removed. A shard written by another model than `model`
    is an error: resuming would mix two models' vectors in one folder."""
    import pyarrow.parquet as pq
    have = {}
    for p in glob.glob(os.path.join(out, ".products-*.tmp")):
        os.remove(p)
    for name in os.listdir(out) if os.path.isdir(out) else []:
        m = SHARD_RE.match(name)
        if not m:
            continue
        try:
            t = pq.read_table(os.path.join(out, name), columns=["id", "model"])
        except Exception:  # unreadable: rewrite it
            os.remove(os.path.join(out, name))
            continue
        if model is not None and t.num_rows and set(t.column("model").to_pylist()) != {model}:
            raise RuntimeError(f"{name} in {out} was written by model {t.column('model')[0].as_py()!r}, "
                               f"this job embeds with {model!r}: use an empty --out")
        have[int(m.group(1))] = t.column("id").to_pylist()
    return have


def _fsl(a: np.ndarray, dim: int):
    import pyarrow as pa
    a = np.ascontiguousarray(a, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(a, type=pa.float32()), dim)


def write_parquet_atomic(path: str, table) -> None:
    import pyarrow.parquet as pq
    d, b = os.path.split(path)
    tmp = os.path.join(d, "." + b + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def products_table(ids, vec, pvec, model: str):
    import pyarrow as pa
    return pa.table({
        "id": pa.array(ids, type=pa.string()),
        "vector": _fsl(vec, TEXT_DIM),
        "product_vector": _fsl(pvec, DIM),
        "model": pa.array([model] * len(ids), type=pa.string()),
    })


def attributes_table(keys, values, vec, model: str):
    import pyarrow as pa
    return pa.table({
        "key": pa.array(keys, type=pa.string()),
        "value": pa.array(values, type=pa.string()),
        "vector": _fsl(vec, DIM),
        "model": pa.array([model] * len(keys), type=pa.string()),
    })


# ---------------------------------------------------------------- GPU sampling

class GPUSampler:
    """Samples GPU utilisation every `period` seconds (pynvml, else
    nvidia-smi) on a thread."""

    def __init__(self, period: float = 0.2):
        self.period, self.samples = period, []
        self._stop = threading.Event()
        self._t = None
        self.source = None

    def _read(self):
        if self.source == "pynvml":
            import pynvml
            return float(pynvml.nvmlDeviceGetUtilizationRates(self._h).gpu)
        out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5).stdout
        return float(out.split()[0])

    def start(self):
        try:
            import pynvml
            pynvml.nvmlInit()
            self._h = pynvml.nvmlDeviceGetHandleByIndex(0)
            self.source = "pynvml"
        except Exception:
            if shutil.which("nvidia-smi") is None:
                return self
            self.source = "nvidia-smi"

        def loop():
            while not self._stop.is_set():
                try:
                    self.samples.append(self._read())
                except Exception:
                    pass
                self._stop.wait(self.period)
        self._t = threading.Thread(target=loop, daemon=True)
        self._t.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        if self._t:
            self._t.join(timeout=6)
        if not self.samples:
            return {"source": self.source, "samples": 0}
        return {"source": self.source, "samples": len(self.samples), "period_s": self.period,
                "mean": round(statistics.fmean(self.samples), 1), "median": statistics.median(self.samples)}


# ---------------------------------------------------------------- the job

@dataclass
class Options:
    catalog: str
    out: str
    weights: str
    batch: int = 1024
    workers: int = 0
    chunk: int = 256
    shard_size: int = 16384
    limit: int = 0
    repeat: int = 1
    tokenizer_dir: Optional[str] = None
    max_rejected_listed: int = 100000


class Encoder:
    """What the pipeline needs from an encoder (see embed.TorchEncoder)."""
    device = "none"
    dtype = "none"

    def products(self, tokens: Optional[list], texts: list, text_embeddings: list, pixels: np.ndarray,
                 stats: dict) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def attributes(self, phrases: list) -> np.ndarray:
        raise NotImplementedError


def run(opts: Options, enc: Encoder, info: dict, log=print, gpu: bool = False) -> dict:
    t_start = time.perf_counter()
    os.makedirs(opts.out, exist_ok=True)
    model = model_string(opts.weights, info)
    stats = collections.defaultdict(float)
    have = existing_shards(opts.out, model)
    # Rows of finished shards are still read and checked (the same rows
    # must land in the same shards), only not encoded again.
    known = frozenset()
    sampler = GPUSampler().start() if gpu else None

    # Attributes: the shipped vocabulary through the attribute tower.
    t = time.perf_counter()
    apath = os.path.join(opts.out, "attributes.parquet")
    voc = info.get("vocabulary", [])
    avec = enc.attributes([attribute_phrase(v["key"], v["value"]) for v in voc])
    write_parquet_atomic(apath, attributes_table([v["key"] for v in voc], [v["value"] for v in voc], avec, model))
    ref = np.asarray([v["vector"] for v in voc], dtype=np.float64)
    attr_cos = (avec.astype(np.float64) * ref).sum(1) / np.maximum(
        np.linalg.norm(avec, axis=1) * np.linalg.norm(ref, axis=1), 1e-12) if len(voc) else np.zeros(0)
    stats["attributes"] += time.perf_counter() - t

    read = embedded = skipped_rows = 0
    rejected_by = collections.Counter()
    rejected = []
    seen = set()
    shard_ids = []
    written, skipped = [], []
    pend = []  # (id, text, text_embedding, pixel row index in pend_pix)
    pend_tokens, pend_pix = [], []

    # The GPU and the shard writer run on their own threads (torch and
    # pyarrow release the GIL), so encoding overlaps the dispatch of rows
    # to the workers and the writing of finished shards.
    from concurrent.futures import ThreadPoolExecutor
    gpu_pool = ThreadPoolExecutor(1, thread_name_prefix="gpu")
    write_pool = ThreadPoolExecutor(1, thread_name_prefix="write")
    inflight = collections.deque()  # encoder batches not known to be done
    writes = collections.deque()    # shard writes not known to be done
    shard_futs = []

    def flush_batch():
        nonlocal embedded
        if not pend:
            return
        pix = np.frombuffer(bytearray(b"".join(pend_pix)), dtype=np.uint8).reshape(len(pend), C.IMAGE_C, C.IMAGE_H, C.IMAGE_W)
        fut = gpu_pool.submit(enc.products, list(pend_tokens) if opts.tokenizer_dir else None,
                              [p[1] for p in pend], [p[2] for p in pend], pix, stats)
        shard_futs.append(fut)
        inflight.append(fut)
        t = time.perf_counter()
        while len(inflight) > 3 or (inflight and inflight[0].done()):
            inflight.popleft().result()  # raises the encoder's error here
        stats["wait_encoder"] += time.perf_counter() - t
        embedded += len(pend)
        pend.clear()
        pend_tokens.clear()
        pend_pix.clear()

    def write_shard(k: int, ids: list, futs: list):
        res = [f.result() for f in futs]
        t = time.perf_counter()
        write_parquet_atomic(os.path.join(opts.out, shard_name(k)),
                             products_table(ids, np.concatenate([r[0] for r in res]),
                                            np.concatenate([r[1] for r in res]), model))
        stats["write"] += time.perf_counter() - t
        written.append(k)
        log(f"embed: wrote {shard_name(k)} ({len(ids)} products, {time.perf_counter() - t_start:.1f}s)")

    def close_shard(k: int):
        nonlocal skipped_rows
        flush_batch()
        if k in have:
            if have[k] != shard_ids:
                raise RuntimeError(f"{shard_name(k)} in {opts.out} holds other products than this input's shard {k} "
                                   f"(different catalog, --limit or --repeat?): use an empty --out")
            skipped.append(k)
            skipped_rows += len(shard_ids)
        else:
            writes.append(write_pool.submit(write_shard, k, list(shard_ids), list(shard_futs)))
            t = time.perf_counter()
            while len(writes) > 2 or (writes and writes[0].done()):
                writes.popleft().result()
            stats["wait_writer"] += time.perf_counter() - t
        shard_ids.clear()
        shard_futs.clear()

    accepted = 0
    try:
        rows = input_rows(opts.catalog, opts.limit, opts.repeat)
        for ch in worker_results(rows, opts.workers, opts.chunk, opts.tokenizer_dir, known, stats):
            for s, v in ch.seconds.items():
                stats["workers_cpu_" + s] += v
            off = 0
            ti = 0
            for row, rid, text, reason, detail, has_pix, temb in ch.rows:
                read += 1
                pix = None
                if has_pix:
                    pix = ch.pixels[off:off + C.IMAGE_SIZE]
                    off += C.IMAGE_SIZE
                tok = None
                if not reason and ch.tokens is not None and temb is None and rid not in known:
                    tok = ch.tokens[ti]
                    ti += 1
                if not reason and rid in seen:
                    reason, detail = C.DUPLICATE_ID, f"id {rid} already read"
                if reason:
                    rejected_by[reason] += 1
                    if len(rejected) < opts.max_rejected_listed:
                        rejected.append({"row": row, "id": rid, "reason": reason, "detail": detail})
                    continue
                seen.add(rid)
                k = accepted // opts.shard_size
                accepted += 1
                shard_ids.append(rid)
                if k not in have:
                    pend.append((rid, text, temb))
                    pend_pix.append(pix)
                    pend_tokens.append(tok)
                    if len(pend) >= opts.batch:
                        flush_batch()
                if len(shard_ids) == opts.shard_size:
                    close_shard(k)
        if shard_ids:
            close_shard((accepted - 1) // opts.shard_size)
        while writes:
            writes.popleft().result()
    finally:
        gpu_pool.shutdown(wait=True, cancel_futures=True)
        write_pool.shutdown(wait=True, cancel_futures=True)
    written.sort()
    n_shards = (accepted + opts.shard_size - 1) // opts.shard_size
    # Shards past the end came from a longer input: they would be read as
    # part of this one, so they go.
    stale = sorted(k for k in have if k >= n_shards)
    for k in stale:
        os.remove(os.path.join(opts.out, shard_name(k)))
    wall = time.perf_counter() - t_start
    report = {
        "catalog": opts.catalog,
        "format": C.detect(opts.catalog),
        "model": model,
        "products": {"read": read, "accepted": accepted, "embedded": embedded, "skipped_existing": skipped_rows,
                     "rejected": dict(sorted(rejected_by.items())), "rejected_total": sum(rejected_by.values())},
        "rejected_rows": rejected,
        "shards": {"count": n_shards, "size": opts.shard_size, "written": written, "skipped": skipped,
                   "stale_removed": [shard_name(k) for k in stale]},
        "attributes": {"count": len(voc), "cosine_vs_model_json": {
            "min": float(attr_cos.min()) if len(voc) else None,
            "median": float(np.median(attr_cos)) if len(voc) else None}},
        "device": enc.device, "dtype": enc.dtype,
        "batch": opts.batch, "workers": opts.workers, "chunk": opts.chunk, "limit": opts.limit, "repeat": opts.repeat,
        "seconds": {k: round(v, 3) for k, v in sorted(stats.items())} | {"wall": round(wall, 3)},
        "products_per_s": round(embedded / wall, 1) if wall > 0 else None,
    }
    if sampler is not None:
        report["gpu_utilization"] = sampler.stop()
    write_json_atomic(os.path.join(opts.out, "embed.json"), report)
    return report


def write_json_atomic(path: str, obj) -> None:
    d, b = os.path.split(path)
    tmp = os.path.join(d, "." + b + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------- compare

def read_vectors(d: str, column: str) -> dict:
    """{id: vector} of one column over DIR/products-*.parquet (or one
    Parquet file)."""
    import pyarrow.parquet as pq
    files = [d] if os.path.isfile(d) else sorted(glob.glob(os.path.join(d, "products-*.parquet")))
    out = {}
    for f in files:
        names = pq.read_schema(f).names
        if column not in names:
            continue
        t = pq.read_table(f, columns=["id", column])
        ids = t.column("id").to_pylist()
        col = t.column(column).combine_chunks()
        vals = np.asarray(col.values.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(len(ids), -1)
        for i, v in zip(ids, vals):
            out[i] = v
    return out


def compare(a: str, b: str, columns=("vector", "product_vector")) -> dict:
    res = {}
    for col in columns:
        va, vb = read_vectors(a, col), read_vectors(b, col)
        if not va and not vb:
            continue
        common = sorted(set(va) & set(vb))
        r = {"common": len(common), "only_a": len(set(va) - set(vb)), "only_b": len(set(vb) - set(va))}
        if common:
            x = np.stack([va[i] for i in common])
            y = np.stack([vb[i] for i in common])
            cos = (x * y).sum(1) / np.maximum(np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1), 1e-12)
            r.update({"min": float(cos.min()), "p1": float(np.percentile(cos, 1)), "median": float(np.median(cos)),
                      "worst_id": common[int(cos.argmin())]})
        res[col] = r
    return res
