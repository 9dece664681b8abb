"""Training loop: `python -m dualenc.train --data DIR --out encoder/weights`.

DIR holds trainset.parquet and attributes.jsonl from `lander export
trainset`. Uses a GPU when one is present, else the CPU with --threads
threads. Fixed seeds; split by id hash (data.split_of); a checkpoint after
every epoch that improves the validation criterion (the mean of Recall@10
with title+image and with the image alone); early stopping after
--patience epochs without improvement or when --max-minutes run out.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

import numpy as np
import torch

from . import data as D
from . import metrics as M
from .loss import dual_loss
from .model import DualEncoder, normalize_images


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def embed_products(model: DualEncoder, p: D.Products, text: bool, device, batch: int = 512) -> np.ndarray:
    model.eval()
    out = []
    for s in range(0, len(p), batch):
        img = normalize_images(torch.from_numpy(p.images[s:s + batch])).to(device)
        emb = torch.from_numpy(p.text_emb[s:s + batch]).to(device)
        flag = torch.full((len(emb), 1), 1.0 if text else 0.0, device=device)
        if not text:
            emb = torch.zeros_like(emb)
        out.append(model.product(img, emb, flag).cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def embed_attributes(model: DualEncoder, vocab: D.Vocabulary, device) -> np.ndarray:
    model.eval()
    return model.attribute(torch.from_numpy(vocab.embeddings).to(device)).cpu().numpy()


def evaluate(model, p, vocab, device) -> dict:
    a = embed_attributes(model, vocab, device)
    r = {}
    for mode, text in (("title_image", True), ("image", False)):
        sims = embed_products(model, p, text, device) @ a.T
        r[mode] = M.recall_at_k(sims, p.labels, vocab)
    r["criterion"] = (r["title_image"] + r["image"]) / 2
    return r


def lr_at(base: float, step: int, total: int, elapsed: float, budget: float, warmup: float = 0.05) -> float:
    """Linear warm-up, then cosine decay to zero over the training
    progress: the larger of the share of steps done and the share of the
    time budget spent. On a machine fast enough to finish the steps in time
    the schedule depends on steps only (reproducible); on a slower one it
    still anneals to zero by the deadline."""
    import math
    p = min(1.0, max(step / max(total, 1), elapsed / max(budget, 1e-9)))
    if p < warmup:
        return base * max(p / warmup, 0.01)
    return base * 0.5 * (1 + math.cos(math.pi * (p - warmup) / (1 - warmup)))


def train(args) -> None:
    seed_all(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    t0 = time.time()
    meta, vocab, splits = D.load(args.data)
    tr, va = splits["train"], splits["val"]
    print(f"loaded in {time.time() - t0:.0f}s: {len(tr)} train, {len(va)} val, "
          f"{len(splits['test'])} test, {len(vocab)} attributes, device {device}", flush=True)
    model = DualEncoder().to(device)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=device)["model"])
        print(f"initialised from {args.init}", flush=True)
    fams = [torch.tensor(i, device=device) for i in vocab.families().values()]
    attr_in = torch.from_numpy(vocab.embeddings).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = len(tr) // args.batch
    total_steps = args.epochs * steps_per_epoch
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.work, exist_ok=True)
    ckpt = os.path.join(args.work, "checkpoint.pt")
    best, stale, history = -1.0, 0, []
    deadline = t0 + args.max_minutes * 60
    t_train = time.time()
    budget = deadline - t_train - 60 * args.reserve_minutes
    step_no = 0
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(tr))
        te, losses = time.time(), []
        for step in range(steps_per_epoch):
            idx = np.sort(order[step * args.batch:(step + 1) * args.batch])
            img = normalize_images(torch.from_numpy(tr.images[idx]))
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            img[flip] = img[flip].flip(-1)
            emb = torch.from_numpy(tr.text_emb[idx])
            present = torch.from_numpy((rng.random(len(idx)) >= args.text_dropout).astype(np.float32))[:, None]
            emb = emb * present
            y = torch.from_numpy(tr.labels[idx])
            img, emb, present, y = img.to(device), emb.to(device), present.to(device), y.to(device)
            prod = model.product(img, emb, present)
            attr = model.attribute(attr_in)
            loss, parts = dual_loss(prod, attr, y, model.scale(), fams)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step_no += 1
            for g in opt.param_groups:
                g["lr"] = lr_at(args.lr, step_no, total_steps, time.time() - t_train, budget)
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"epoch {epoch} step {step}/{steps_per_epoch} loss {np.mean(losses[-20:]):.3f} "
                      f"{parts} scale {model.scale().item():.1f} {time.time() - te:.0f}s", flush=True)
            if time.time() - t_train > budget:
                break
        ev = evaluate(model, va, vocab, device)
        ev.update(epoch=epoch, loss=float(np.mean(losses)), seconds=time.time() - te)
        history.append(ev)
        print("validation", json.dumps(ev), flush=True)
        if ev["criterion"] > best:
            best, stale = ev["criterion"], 0
            torch.save({"model": model.state_dict(), "epoch": epoch, "validation": ev}, ckpt)
        else:
            stale += 1
        if stale >= args.patience or time.time() - t_train > budget:
            break
    state = torch.load(ckpt, map_location=device)
    model.load_state_dict(state["model"])
    train_seconds = time.time() - t0
    result = finish(model, vocab, splits, meta, device, args)
    cpu = time.process_time()
    result.update(train_seconds=train_seconds, process_cpu_seconds=cpu, history=history, best_epoch=state["epoch"],
                  device=str(device), threads=args.threads)
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=1))


def finish(model, vocab, splits, meta, device, args) -> dict:
    """Calibrates on validation, reports on the held-out test split and
    exports."""
    from .export import export
    a = embed_attributes(model, vocab, device)
    scale = model.scale().item()
    va, te = splits["val"], splits["test"]
    cal = {}
    for mode, text, target in (("title_image", True, args.target_text), ("image", False, args.target_image)):
        logits = scale * embed_products(model, va, text, device) @ a.T
        gamma = M.choose_gamma(logits, va.labels, vocab) if mode == "title_image" else cal["title_image"][0]
        cal[mode] = (gamma, M.calibrate(logits, va.labels, vocab, gamma, target))
    gamma = cal["title_image"][0]
    report = {"gamma": gamma, "test_products": len(te), "vocabulary": len(vocab)}
    for mode, text in (("title_image", True), ("image", False)):
        sims = embed_products(model, te, text, device) @ a.T
        assigned = M.assign(scale * sims, vocab, gamma, cal[mode][1])
        report[mode] = {"recall_at_10": M.recall_at_k(sims, te.labels, vocab),
                        "families": M.family_report(assigned, te.labels, vocab),
                        "assigned_per_product": float(assigned.sum(1).mean()),
                        "distinct_assigned": int(assigned.any(0).sum())}
    report["raw"] = {"labels_per_product_in_vocab": float(te.labels.sum(1).mean()),
                     "distinct_in_vocab": int(te.labels.any(0).sum())}
    export(model, vocab, meta, scale, gamma, cal["title_image"][1], cal["image"][1], splits["test"], args.out,
           version=args.version)
    return report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, help="dir with trainset.parquet and attributes.jsonl")
    ap.add_argument("--out", required=True, help="dir for the exported model (encoder/weights)")
    ap.add_argument("--work", default=None, help="dir for checkpoints (default DATA/work)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--text-dropout", type=float, default=0.4)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=40,
                    help="wall-clock budget for loading and training; evaluation and export come after")
    ap.add_argument("--reserve-minutes", type=float, default=1.5,
                    help="part of the budget kept for the last validation pass")
    ap.add_argument("--target-text", type=float, default=0.96)
    ap.add_argument("--target-image", type=float, default=0.90)
    ap.add_argument("--version", default="dual-v1")
    ap.add_argument("--init", default=None, help="checkpoint to continue from (a second, shorter schedule)")
    args = ap.parse_args(argv)
    args.work = args.work or os.path.join(args.data, "work")
    os.makedirs(args.out, exist_ok=True)
    train(args)


if __name__ == "__main__":
    main()
