"""The embed job: stream a catalog through CPU workers (load, verify,
preprocess, tokenise) and the GPU (MiniLM, then the product tower), writing
the contract's layout: OUT/products-NNNNN.parquet (id, vector[384],
product_vector[128], model), OUT/attributes.parquet and OUT/embed.json.

  python -m dualenc.embed --catalog PATH --out DIR [--weights ../weights]
      [--minilm DIR] [--batch 1024] [--workers N] [--shard-size 16384]
      [--device auto|cpu|cuda] [--limit N] [--repeat K]
  python -m dualenc.embed half --minilm SRC --out DST
  python -m dualenc.embed compare DIR_A DIR_B
  python -m dualenc.embed golden --out DIR --json FILE   (the Go parity test's golden file)

Vectors match the Go indexer: `vector` is MiniLM of extract.Text (an empty
text is embedded too), `product_vector` the product tower on the Go
preprocessing with that vector and text_present=1, or zeros and 0 when the
text is empty. Weights come from the committed ONNX files.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from . import pipeline as P

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WEIGHTS = os.path.normpath(os.path.join(HERE, "..", "..", "weights"))
DEFAULT_MINILM = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".tools", "minilm-src"))


class TorchEncoder(P.Encoder):
    def __init__(self, weights: str, minilm: str, info: dict, device: str = "auto", threads: int = 0,
                 fp16: bool | None = None):
        import torch
        from .minilm import MiniLM, Tokenizer
        from .towers import AttributeTower, ProductTower
        if threads > 0:
            torch.set_num_threads(threads)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.torch = torch
        self.dev = torch.device(device)
        self.device = device if device == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})"
        self.fp16 = (device == "cuda") if fp16 is None else fp16
        self.dtype = "float16 (autocast)" if self.fp16 else "float32"
        self.minilm = MiniLM.load(minilm).to(self.dev)
        self.product = ProductTower(os.path.join(weights, info.get("product_model", "product.onnx"))).eval().to(self.dev)
        self.attribute = AttributeTower(os.path.join(weights, info.get("attribute_model", "attribute.onnx"))).eval().to(self.dev)
        self.tok = Tokenizer(minilm)
        self.mean, self.std = info["image"]["mean"], info["image"]["std"]

    def _ctx(self):
        torch = self.torch
        if self.fp16:
            return torch.autocast(device_type=self.dev.type, dtype=torch.float16)
        import contextlib
        return contextlib.nullcontext()

    def _sync(self):
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize()

    def text(self, tokens: list, sub: int = 0) -> np.ndarray:
        """MiniLM on token ids, longest first in sub-batches of `sub` rows
        (0: on a GPU the whole batch in one call, whose Python overhead
        costs more than the padding; on a CPU 512, where padding costs
        compute); rows come back in input order."""
        torch = self.torch
        from .minilm import pad
        out = np.zeros((len(tokens), P.TEXT_DIM), dtype=np.float32)
        order = sorted(range(len(tokens)), key=lambda i: -len(tokens[i]))
        if sub <= 0:
            sub = max(1, len(tokens)) if self.dev.type == "cuda" else 512
        with torch.inference_mode(), self._ctx():
            for s in range(0, len(order), sub):
                idx = order[s:s + sub]
                ids, mask = pad([tokens[i] for i in idx])
                v = self.minilm(ids.to(self.dev, non_blocking=True), mask.to(self.dev, non_blocking=True))
                out[idx] = v.float().cpu().numpy()
        return out

    def products(self, tokens, texts, text_embeddings, pixels, stats):
        torch = self.torch
        from .towers import normalize_images
        n = len(texts)
        t0 = time.perf_counter()
        vec = np.zeros((n, P.TEXT_DIM), dtype=np.float32)
        need = [i for i in range(n) if text_embeddings[i] is None]
        for i in range(n):
            if text_embeddings[i] is not None:
                vec[i] = text_embeddings[i]
        if need:
            toks = [tokens[i] for i in need] if tokens is not None else self.tok.encode([texts[i] for i in need])
            vec[need] = self.text(toks)
        self._sync()
        t1 = time.perf_counter()
        present = np.array([[1.0 if t else 0.0] for t in texts], dtype=np.float32)
        txt = vec * present  # zeros when the text is empty, as Go passes them
        with torch.inference_mode(), self._ctx():
            img = normalize_images(torch.from_numpy(pixels).to(self.dev, non_blocking=True), self.mean, self.std)
            pv = self.product(img, torch.from_numpy(txt).to(self.dev), torch.from_numpy(present).to(self.dev))
            pvec = pv.float().cpu().numpy()
        t2 = time.perf_counter()
        stats["text_model"] += t1 - t0
        stats["product_tower"] += t2 - t1
        return vec, pvec

    def attributes(self, phrases):
        torch = self.torch
        if not phrases:
            return np.zeros((0, P.DIM), dtype=np.float32)
        t = self.text(self.tok.encode(phrases))
        with torch.inference_mode(), self._ctx():
            return self.attribute(torch.from_numpy(t).to(self.dev)).float().cpu().numpy()


def load_info(weights: str) -> dict:
    with open(os.path.join(weights, "model.json")) as f:
        return json.load(f)


def cmd_run(argv) -> int:
    ap = argparse.ArgumentParser(prog="python -m dualenc.embed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS)
    ap.add_argument("--minilm", default=DEFAULT_MINILM, help="MiniLM dir: config.json, vocab.txt, model.safetensors (fp32 or fp16)")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=max(0, (os.cpu_count() or 1) - 1))
    ap.add_argument("--chunk", type=int, default=256, help="rows per worker task")
    ap.add_argument("--shard-size", type=int, default=16384)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0, help="torch threads in the main process (0: torch's default)")
    ap.add_argument("--fp32", action="store_true", help="no fp16 autocast on CUDA")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args(argv)
    if a.batch < 1 or a.shard_size < 1 or a.chunk < 1:
        ap.error("--batch, --shard-size and --chunk must be positive")
    info = load_info(a.weights)
    enc = TorchEncoder(a.weights, a.minilm, info, a.device, a.threads, fp16=False if a.fp32 else None)
    opts = P.Options(catalog=a.catalog, out=a.out, weights=a.weights, batch=a.batch, workers=a.workers,
                     chunk=a.chunk, shard_size=a.shard_size, limit=a.limit, repeat=a.repeat, tokenizer_dir=a.minilm)
    # The GPU thread needs the GIL back quickly between kernel launches while
    # the main thread dispatches rows: a shorter switch interval than the
    # default 5 ms keeps the GPU fed.
    sys.setswitchinterval(0.0005)
    rep = P.run(opts, enc, info, log=lambda m: print(m, file=sys.stderr), gpu=enc.dev.type == "cuda")
    rep = dict(rep)
    rows = rep.pop("rejected_rows")
    print(json.dumps(rep, indent=1))
    if rows:
        print(f"embed: {len(rows)} rejected rows listed in {os.path.join(a.out, 'embed.json')}", file=sys.stderr)
    return 0


def cmd_half(argv) -> int:
    ap = argparse.ArgumentParser(prog="python -m dualenc.embed half")
    ap.add_argument("--minilm", default=DEFAULT_MINILM)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    from .minilm import write_half
    write_half(a.minilm, a.out)
    print(f"wrote {a.out}")
    return 0


def cmd_compare(argv) -> int:
    ap = argparse.ArgumentParser(prog="python -m dualenc.embed compare")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = P.compare(a.a, a.b)
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    for col, r in res.items():
        line = f"{col}: common {r['common']}, only in A {r['only_a']}, only in B {r['only_b']}"
        if r["common"]:
            line += f"; cosine min {r['min']:.6f} p1 {r['p1']:.6f} median {r['median']:.6f} (worst {r['worst_id']})"
        print(line)
    return 0


def cmd_golden(argv) -> int:
    """Writes the golden file of encoder/embed_parity_test.go from an embed
    output: per product its vectors (float32, base64) and the rejections,
    plus every 5th attribute."""
    import base64
    import pyarrow.parquet as pq
    ap = argparse.ArgumentParser(prog="python -m dualenc.embed golden")
    ap.add_argument("--out", required=True, help="an embed job's output dir")
    ap.add_argument("--json", required=True)
    a = ap.parse_args(argv)

    def b64(v):
        return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode()
    vec, pvec = P.read_vectors(a.out, "vector"), P.read_vectors(a.out, "product_vector")
    with open(os.path.join(a.out, "embed.json")) as f:
        rep = json.load(f)
    at = pq.read_table(os.path.join(a.out, "attributes.parquet")).to_pylist()
    g = {"model": rep["model"], "device": rep["device"], "dtype": rep["dtype"],
         "products": [{"id": i, "vector": b64(vec[i]), "product_vector": b64(pvec[i])} for i in vec],
         "rejected": [{"row": r["row"], "id": r["id"], "reason": r["reason"]} for r in rep["rejected_rows"]],
         "attributes": [{"key": r["key"], "value": r["value"], "vector": b64(r["vector"])} for r in at[::5]]}
    with open(a.json, "w") as f:
        json.dump(g, f, indent=1)
        f.write("\n")
    print(f"wrote {a.json}: {len(g['products'])} products, {len(g['attributes'])} attributes")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cmds = {"half": cmd_half, "compare": cmd_compare, "golden": cmd_golden, "run": cmd_run}
    if argv and argv[0] in cmds:
        return cmds[argv[0]](argv[1:])
    return cmd_run(argv)


if __name__ == "__main__":
    sys.exit(main())
