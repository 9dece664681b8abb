"""all-MiniLM-L6-v2 (a 6-layer BERT) in plain torch, loaded from
safetensors (fp32 or fp16), with mean pooling and L2 normalisation, plus its
WordPiece tokenizer (the `tokenizers` library on vocab.txt, lowercasing, as
the HF BERT tokenizer and encoder/wordpiece.go do)."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MAX_LENGTH = 256  # encoder.DefaultMaxLength, [CLS] and [SEP] included


class Tokenizer:
    def __init__(self, model_dir: str, max_length: int = MAX_LENGTH):
        from .minilm_tok import load_tokenizer
        self._enc = load_tokenizer(model_dir, max_length)

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self._enc(texts)


def pad(ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(ids)
    seq = max((len(x) for x in ids), default=2)
    a = np.zeros((n, seq), dtype=np.int64)
    m = np.zeros((n, seq), dtype=np.int64)
    for i, x in enumerate(ids):
        a[i, :len(x)] = x
        m[i, :len(x)] = 1
    return torch.from_numpy(a), torch.from_numpy(m)


class _Layer(nn.Module):
    def __init__(self, h: int, inter: int, heads: int, eps: float):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.o = nn.Linear(h, h)
        self.ln1 = nn.LayerNorm(h, eps=eps)
        self.i = nn.Linear(h, inter)
        self.out = nn.Linear(inter, h)
        self.ln2 = nn.LayerNorm(h, eps=eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        n, s, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(n, s, self.heads, d).transpose(1, 2)
        a = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=bias)
        a = a.transpose(1, 2).reshape(n, s, h)
        x = self.ln1(x + self.o(a))
        return self.ln2(x + self.out(F.gelu(self.i(x))))


class MiniLM(nn.Module):
    """BertModel + sentence-transformers mean pooling + Normalize."""

    def __init__(self, cfg: dict):
        super().__init__()
        h, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-12)
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], h)
        self.ttype = nn.Embedding(cfg["type_vocab_size"], h)
        self.ln = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(_Layer(h, cfg["intermediate_size"], cfg["num_attention_heads"], eps)
                                    for _ in range(cfg["num_hidden_layers"]))
        self.dim = h

    @classmethod
    def load(cls, model_dir: str) -> "MiniLM":
        from safetensors.torch import load_file
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        m = cls(cfg)
        sd = load_file(os.path.join(model_dir, "model.safetensors"))
        sd = {k.removeprefix("bert."): v.float() for k, v in sd.items()}
        own = {
            "word.weight": "embeddings.word_embeddings.weight",
            "pos.weight": "embeddings.position_embeddings.weight",
            "ttype.weight": "embeddings.token_type_embeddings.weight",
            "ln.weight": "embeddings.LayerNorm.weight", "ln.bias": "embeddings.LayerNorm.bias",
        }
        parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                 "o": "attention.output.dense", "ln1": "attention.output.LayerNorm",
                 "i": "intermediate.dense", "out": "output.dense", "ln2": "output.LayerNorm"}
        for li in range(cfg["num_hidden_layers"]):
            for p, src in parts.items():
                for wb in ("weight", "bias"):
                    own[f"layers.{li}.{p}.{wb}"] = f"encoder.layer.{li}.{src}.{wb}"
        m.load_state_dict({k: sd[v] for k, v in own.items()}, strict=True)
        return m.eval()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, s = ids.shape
        pos = torch.arange(s, device=ids.device)
        x = self.word(ids) + self.pos(pos)[None] + self.ttype.weight[0][None, None]
        x = self.ln(x)
        # Boolean mask over keys (True: attend); padded queries are discarded
        # by the pooling.
        bias = (mask != 0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        m = mask.to(torch.float32).unsqueeze(-1)
        x = x.float()
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


def write_half(src: str, dst: str) -> None:
    """An fp16 copy of a MiniLM directory: config.json, vocab.txt and
    model.safetensors in float16 (position ids dropped)."""
    import shutil
    from safetensors.torch import load_file, save_file
    os.makedirs(dst, exist_ok=True)
    for f in ("config.json", "vocab.txt"):
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    sd = load_file(os.path.join(src, "model.safetensors"))
    out = {k: v.half().contiguous() for k, v in sd.items() if v.is_floating_point()}
    save_file(out, os.path.join(dst, "model.safetensors"))
