"""Training data: the Parquet file that `lander export trainset` writes and
the attribute list beside it."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

# Keys whose values exclude each other (one per product): assignment takes the
# best value of the family.
EXCLUSIVE_KEYS = ("category", "color", "gender", "season", "occasion",
                  "mastercategory", "subcategory")
# Attributes with less support than this in the training split are dropped.
MIN_SUPPORT = 5
# The keys Recall@10 is judged on (contract: category, color, gender).
RECALL_KEYS = ("category", "color", "gender")


def fnv1a64(s: str) -> int:
    """FNV-1a 64 of s, as catalog.InShard computes it in Go."""
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def split_of(product_id: str) -> str:
    """Split by id hash: 10% validation, 10% held-out test, 80% train."""
    r = fnv1a64(product_id) % 10
    return "val" if r == 0 else "test" if r == 1 else "train"


@dataclass
class Vocabulary:
    """The attributes the model is trained on, in a fixed order."""
    keys: list[str]            # key of each attribute
    values: list[str]          # value of each attribute
    phrases: list[str]         # "key: value"
    counts: np.ndarray         # training-split support
    embeddings: np.ndarray     # [A, 384] MiniLM embedding of the phrase

    def __len__(self) -> int:
        return len(self.keys)

    def index(self) -> dict[str, int]:
        return {f"{k}:{v}": i for i, (k, v) in enumerate(zip(self.keys, self.values))}

    def families(self) -> dict[str, list[int]]:
        fam: dict[str, list[int]] = {}
        for i, k in enumerate(self.keys):
            fam.setdefault(k, []).append(i)
        return fam


@dataclass
class Products:
    """Products of one split, all in memory."""
    ids: list[str]
    texts: list[str]
    images: np.ndarray   # [N, C, H, W] uint8
    text_emb: np.ndarray  # [N, D] float32
    labels: np.ndarray   # [N, A] bool, over the vocabulary

    def __len__(self) -> int:
        return len(self.ids)


def read_attributes(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_trainset(path: str):
    """Returns (meta, ids, texts, images uint8 [N,C,H,W], text_emb, attrs)."""
    import pyarrow.parquet as pq
    t = pq.read_table(path)
    md = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    c, h, w = (int(md["lander.image_channels"]), int(md["lander.image_height"]),
               int(md["lander.image_width"]))
    d = int(md["lander.embedding_dim"])
    ids = t.column("id").to_pylist()
    texts = t.column("text").to_pylist()
    img = t.column("image").combine_chunks()
    buf = np.frombuffer(img.buffers()[2], dtype=np.uint8)
    offs = np.frombuffer(img.buffers()[1], dtype=np.int32)[img.offset:img.offset + len(img) + 1]
    images = np.stack([buf[offs[i]:offs[i + 1]] for i in range(len(img))]).reshape(-1, c, h, w)
    emb = t.column("text_embedding").combine_chunks()
    text_emb = np.asarray(emb.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, d)
    attrs = t.column("attributes").to_pylist()
    meta = {"channels": c, "height": h, "width": w, "embedding_dim": d,
            "text_model": md.get("lander.text_model", "")}
    return meta, ids, texts, images, text_emb, [a or [] for a in attrs]


def build_vocabulary(attr_rows: list[dict], train_attrs: list[list[str]],
                     min_support: int = MIN_SUPPORT) -> Vocabulary:
    """Keeps attributes of the exclusive keys with support >= min_support in
    the training split, sorted by key then value."""
    count: dict[str, int] = {}
    for attrs in train_attrs:
        for a in attrs:
            count[a] = count.get(a, 0) + 1
    rows = [r for r in attr_rows
            if r["key"] in EXCLUSIVE_KEYS and count.get(f'{r["key"]}:{r["value"]}', 0) >= min_support]
    rows.sort(key=lambda r: (r["key"], r["value"]))
    return Vocabulary(
        keys=[r["key"] for r in rows], values=[r["value"] for r in rows],
        phrases=[r["phrase"] for r in rows],
        counts=np.array([count[f'{r["key"]}:{r["value"]}'] for r in rows], dtype=np.int64),
        embeddings=np.array([r["embedding"] for r in rows], dtype=np.float32))


def label_matrix(attrs: list[list[str]], vocab: Vocabulary) -> np.ndarray:
    idx = vocab.index()
    y = np.zeros((len(attrs), len(vocab)), dtype=bool)
    for i, a in enumerate(attrs):
        for s in a:
            j = idx.get(s)
            if j is not None:
                y[i, j] = True
    return y


def load(data_dir: str):
    """Reads DIR/trainset.parquet and DIR/attributes.jsonl; returns (meta,
    vocabulary, {"train","val","test": Products})."""
    meta, ids, texts, images, text_emb, attrs = read_trainset(f"{data_dir}/trainset.parquet")
    split = np.array([split_of(i) for i in ids])
    train_attrs = [a for a, s in zip(attrs, split) if s == "train"]
    vocab = build_vocabulary(read_attributes(f"{data_dir}/attributes.jsonl"), train_attrs)
    y = label_matrix(attrs, vocab)
    out = {}
    for name in ("train", "val", "test"):
        m = split == name
        sel = np.nonzero(m)[0]
        out[name] = Products(ids=[ids[i] for i in sel], texts=[texts[i] for i in sel],
                             images=images[m], text_emb=text_emb[m], labels=y[m])
    return meta, vocab, out
