"""Recall@10, assignment, threshold calibration and the per-family report.

Assignment rule (the Go package indexer/assign implements the same):
  1. s[i,a] = scale * cos(product i, attribute a).
  2. Frequency weighting against long-tail smoothing: z[i,a] = s[i,a] -
     gamma * log(prior[a]), prior[a] = a's share of its family in training;
     gamma is chosen on the validation split (macro-F1 of the family argmax).
  3. Per exclusive family, the best value v by z; its confidence is the
     softmax of z over the family at v.
  4. v is assigned when confidence >= threshold[v]: the smallest threshold
     on a grid at which v's validation precision reaches the target
     (title+image and image-only have their own thresholds and targets); an
     attribute with fewer than MIN_CAL validation predictions takes its
     family's pooled threshold.
"""
from __future__ import annotations

import numpy as np

from .data import RECALL_KEYS, Vocabulary

GRID = np.round(np.arange(0.0, 1.0001, 0.01), 2)
MIN_CAL = 8
GAMMAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def recall_at_k(sims: np.ndarray, labels: np.ndarray, vocab: Vocabulary, k: int = 10,
                keys=RECALL_KEYS) -> float:
    """Share of the products' true attributes of `keys` found among the k
    vocabulary attributes nearest each product (micro average)."""
    topk = np.argpartition(-sims, kth=min(k, sims.shape[1] - 1), axis=1)[:, :k]
    hit = np.zeros_like(labels)
    np.put_along_axis(hit, topk, True, axis=1)
    mask = np.isin(np.array(vocab.keys), keys)
    true = labels[:, mask]
    return float((true & hit[:, mask]).sum() / max(true.sum(), 1))


def log_prior(vocab: Vocabulary) -> np.ndarray:
    lp = np.zeros(len(vocab))
    for _, idx in vocab.families().items():
        c = vocab.counts[idx].astype(float)
        lp[idx] = np.log(c / c.sum())
    return lp


def family_predictions(logits: np.ndarray, vocab: Vocabulary, gamma: float):
    """Returns {key: (best attribute index [N], confidence [N])}."""
    z = logits - gamma * log_prior(vocab)
    out = {}
    for key, idx in vocab.families().items():
        sub = z[:, idx]
        sub = sub - sub.max(axis=1, keepdims=True)
        p = np.exp(sub)
        p /= p.sum(axis=1, keepdims=True)
        best = p.argmax(axis=1)
        out[key] = (np.array(idx)[best], p.max(axis=1))
    return out


def choose_gamma(logits: np.ndarray, labels: np.ndarray, vocab: Vocabulary) -> float:
    best, best_f1 = 0.0, -1.0
    for g in GAMMAS:
        preds = family_predictions(logits, vocab, g)
        f1s = []
        for key, (arg, _) in preds.items():
            idx = vocab.families()[key]
            has = labels[:, idx].any(axis=1)
            for a in idx:
                tp = ((arg == a) & labels[:, a] & has).sum()
                fp = ((arg == a) & ~labels[:, a] & has).sum()
                fn = (labels[:, a] & (arg != a)).sum()
                if tp + fn > 0:
                    f1s.append(2 * tp / max(2 * tp + fp + fn, 1))
        f1 = float(np.mean(f1s))
        if f1 > best_f1:
            best, best_f1 = g, f1
    return best


def _threshold(conf: np.ndarray, correct: np.ndarray, target: float) -> float:
    for t in GRID:
        m = conf >= t
        if m.sum() == 0:
            return 1.0
        if correct[m].mean() >= target:
            return float(t)
    return 1.0


def calibrate(logits: np.ndarray, labels: np.ndarray, vocab: Vocabulary, gamma: float,
              target: float) -> np.ndarray:
    """Per-attribute confidence thresholds (see the module doc). Products
    without any value of a family do not count for it."""
    th = np.ones(len(vocab))
    for key, (arg, conf) in family_predictions(logits, vocab, gamma).items():
        idx = vocab.families()[key]
        has = labels[:, idx].any(axis=1)
        correct = labels[np.arange(len(arg)), arg]
        pooled = _threshold(conf[has], correct[has], target)
        for a in idx:
            m = has & (arg == a)
            th[a] = _threshold(conf[m], correct[m], target) if m.sum() >= MIN_CAL else pooled
    return th


def assign(logits: np.ndarray, vocab: Vocabulary, gamma: float, th: np.ndarray) -> np.ndarray:
    """[N, A] bool assignment."""
    out = np.zeros(logits.shape, dtype=bool)
    rows = np.arange(logits.shape[0])
    for _, (arg, conf) in family_predictions(logits, vocab, gamma).items():
        ok = conf >= th[arg]
        out[rows[ok], arg[ok]] = True
    return out


def family_report(assigned: np.ndarray, labels: np.ndarray, vocab: Vocabulary) -> dict:
    """Per key: precision (assigned values that are the label, over products
    that carry the key) and recall (labelled products that got their value)."""
    rep = {}
    for key, idx in vocab.families().items():
        has = labels[:, idx].any(axis=1)
        a = assigned[:, idx][has]
        y = labels[:, idx][has]
        tp = (a & y).sum()
        rep[key] = {"precision": float(tp / max(a.sum(), 1)), "recall": float(tp / max(y.sum(), 1)),
                    "products": int(has.sum())}
    return rep
