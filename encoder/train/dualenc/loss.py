"""Multi-positive bidirectional InfoNCE."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _multi_positive_nce(logits: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Mean over rows with a positive of the mean over positives p of
    -log(exp(l_p) / (exp(l_p) + sum over negatives exp(l_n))): the other
    positives of a row are left out of its denominator."""
    pos = pos.bool()
    neg_inf = torch.finfo(logits.dtype).min
    neg_lse = torch.logsumexp(logits.masked_fill(pos, neg_inf), dim=1, keepdim=True)
    # log(exp(l_p) + exp(neg_lse)) - l_p, per positive.
    per = torch.logaddexp(logits, neg_lse.expand_as(logits)) - logits
    n = pos.sum(dim=1)
    rows = n > 0
    row_loss = (per * pos).sum(dim=1)[rows] / n[rows]
    return row_loss.mean() if rows.any() else logits.sum() * 0


def family_ce(logits: torch.Tensor, pos: torch.Tensor, families: list[torch.Tensor]) -> torch.Tensor:
    """Cross-entropy within each exclusive family, for products that carry a
    value of that family."""
    total, terms = logits.new_zeros(()), 0
    for idx in families:
        sub_pos = pos[:, idx]
        has = sub_pos.any(dim=1)
        if not has.any():
            continue
        target = sub_pos[has].float().argmax(dim=1)
        total = total + F.cross_entropy(logits[has][:, idx], target)
        terms += 1
    return total / max(terms, 1)


def dual_loss(prod: torch.Tensor, attr: torch.Tensor, labels: torch.Tensor, scale: torch.Tensor,
              families: list[torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """prod [B,D] and attr [A,D] are L2-normalised; labels [B,A] bool.
    Product->attribute runs over the whole vocabulary; attribute->product
    over the batch, for the attributes present in it; plus the per-family
    cross-entropy that assignment relies on."""
    logits = scale * prod @ attr.t()
    p2a = _multi_positive_nce(logits, labels)
    present = labels.any(dim=0)
    a2p = _multi_positive_nce(logits.t()[present], labels.t()[present])
    fam = family_ce(logits, labels, families)
    loss = 0.5 * (p2a + a2p) + fam
    return loss, {"p2a": p2a.item(), "a2p": a2p.item(), "family": fam.item()}
