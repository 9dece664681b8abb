"""The colour net: the dual encoder's image trunk, fine-tuned with a colour
head on the labelled base colour of the training split.

Statistics of the pixels cannot tell the garment from the model's skin, hair
and other clothes; a convolutional net that has learned the garments' shapes
(the product tower's image trunk) can. For a product known by its image
alone, Go reads its probabilities directly as that product's colour
evidence (indexer/pixelcolor.NetTop), calibrated on the validation split.
A classifier stacked on the net's log-probabilities, the pixel features and
the image-only product vector, fitted on the training split, did worse: on
the net's own training images the net is right more often (0.753 against
0.689 on validation, colour-report.json), so the classifier trusted it too
much (validation recall at precision 0.87 through the arbitration: 0.473
stacked, 0.490 direct). Fitting it only on training products kept from the
net (3/8 of the training split) did worse still with a first, weaker net:
too few products to learn from.

The shipped net is an ensemble of such nets trained from different seeds
(--ensemble): the log of their mean probability, one ONNX graph.

    python -m dualenc.colour --data DIR --weights ../weights --out RUN --seed S
    python -m dualenc.colour --data DIR --weights ../weights --out DIR2 --ensemble RUN1,RUN2
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import read_trainset, split_of
from .towers import ProductTower, normalize_images

# Colours with less support than this in the net's training products are
# not classes.
MIN_SUPPORT = 20
# The shipped colour net's name, an ensemble of nets trained from
# different seeds: the calibration of its colours is tied to it. A net
# trained alone is named as its member, VERSION-s<seed>.
VERSION = "colour-v4"


def net_split(product_id: str) -> str:
    """train: the net learns from it; val: early stopping; other: not
    used (the test split)."""
    s = split_of(product_id)
    return s if s in ("train", "val") else "other"


class ColourNet(nn.Module):
    """image [N,3,64,48] normalised as the product tower's -> colour logits.

    A learned, attention-weighted colour histogram: each pixel's colour
    goes through a small per-pixel net (learned soft colour bins); the
    trunk's 8x6 feature map says where the garment is, as `heads` spatial
    attention maps, which pool the pixels' colour embeddings. Colours are
    read at half resolution (2x2 means, 4x cheaper than the full image, to
    which the maps are upsampled). The head reads the pooled colours and
    the trunk's pooled features."""

    def __init__(self, trunk: nn.Sequential, classes: int, heads: int = 4, emb: int = 64):
        super().__init__()
        layers = list(trunk)
        while isinstance(layers[-1], (nn.AdaptiveAvgPool2d, nn.Flatten)):
            layers.pop()
        self.trunk = nn.Sequential(*layers)
        ch = [m for m in layers if isinstance(m, nn.Conv2d)][-1].out_channels
        self.att = nn.Conv2d(ch, heads, 1)
        self.pix = nn.Sequential(nn.Conv2d(3, 48, 1), nn.ReLU(), nn.Conv2d(48, emb, 1), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(heads * emb + ch, 256), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(256, classes))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        f = self.trunk(image)
        small = F.avg_pool2d(image, 2)                         # [N,3,32,24]
        a = F.interpolate(self.att(f), size=small.shape[2:], mode="bilinear", align_corners=False)
        a = torch.softmax(a.flatten(2), dim=2)                 # [N,H,P]
        p = self.pix(small).flatten(2)                         # [N,E,P]
        pooled = torch.bmm(a, p.transpose(1, 2)).flatten(1)    # [N,H*E]
        return self.head(torch.cat([pooled, f.mean(dim=(2, 3))], dim=1))


class LogProbs(nn.Module):
    """The exported graph: log-probabilities, what Go's classifier reads."""

    def __init__(self, net: ColourNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.net(image), dim=1)


class Ensemble(nn.Module):
    """Colour nets trained from different seeds, read as one: the log of
    their mean probability. Their errors differ enough that the mean is
    better calibrated than any of them."""

    def __init__(self, nets: list[ColourNet]):
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        lp = torch.stack([torch.log_softmax(n(image), dim=1) for n in self.nets])
        return torch.logsumexp(lp, dim=0) - math.log(len(self.nets))


def log_probs(net: nn.Module) -> nn.Module:
    """The exported module of a net or an ensemble."""
    return net if isinstance(net, Ensemble) else LogProbs(net)


def export(net: nn.Module, info: dict, classes: list[str], trained: str, out: str, version: str = VERSION) -> None:
    """Writes out/colour.onnx (image [N,3,H,W] -> log_probs [N,C]) and
    out/colour.json, which Go's encoder.Colour reads. net is a ColourNet
    or an Ensemble."""
    net.eval()
    img = info["image"]
    x = torch.zeros(2, img["channels"], img["height"], img["width"])
    torch.onnx.export(log_probs(net), (x,), os.path.join(out, "colour.onnx"), dynamo=False, opset_version=17,
                      input_names=["image"], output_names=["log_probs"],
                      dynamic_axes={"image": {0: "n"}, "log_probs": {0: "n"}})
    with open(os.path.join(out, "colour.json"), "w") as f:
        json.dump({"version": version, "model": "colour.onnx", "trunk": info["version"],
                   "classes": classes, "trained": trained}, f, indent=1)
        f.write("\n")


def golden(net: nn.Module, info: dict, dual_golden: str, out: str) -> None:
    """Writes out: PyTorch's log-probabilities for the pixels of the dual
    encoder's golden file, which Go's encoder.Colour must reproduce."""
    with open(dual_golden) as f:
        g = json.load(f)
    img = info["image"]
    x = torch.tensor(g["pixels"], dtype=torch.uint8).view(-1, img["channels"], img["height"], img["width"])
    net.eval()
    with torch.no_grad():
        lp = log_probs(net)(normalize_images(x, img["mean"], img["std"]))
    with open(out, "w") as f:
        json.dump({"log_probs": [[round(float(v), 6) for v in row] for row in lp]}, f)
        f.write("\n")


def colour_of(attrs: list[str]) -> str | None:
    for a in attrs:
        if a.startswith("color:"):
            return a[len("color:"):]
    return None


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a shift of up to 3 pixels, padding with
    the normalised white of the studio background."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    pad = 3
    xp = F.pad(x, (pad, pad, pad, pad), value=1.0)
    dy, dx = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
    return xp[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]


def recall_at_precision(prob: np.ndarray, y: np.ndarray, target: float = 0.85) -> tuple[float, float]:
    """The recall of the most confident predictions whose precision is at
    least target, and the threshold it needs."""
    conf = prob.max(1)
    hit = prob.argmax(1) == y
    order = np.argsort(-conf, kind="stable")
    cum = np.cumsum(hit[order])
    prec = cum / np.arange(1, len(order) + 1)
    ok = np.nonzero(prec >= target)[0]
    if len(ok) == 0:
        return 0.0, 1.0
    k = ok[-1]
    return float(cum[k] / len(y)), float(conf[order[k]])


def probabilities(net: nn.Module, images: torch.Tensor, mean, std) -> np.ndarray:
    """The colour probabilities of a ColourNet or an Ensemble for uint8
    images [N,3,H,W]."""
    net.eval()
    m = log_probs(net)
    out = []
    with torch.no_grad():
        for s in range(0, len(images), 512):
            out.append(m(normalize_images(images[s:s + 512], mean, std)).exp().numpy())
    return np.concatenate(out)


def scores(prob: np.ndarray, y: np.ndarray) -> dict:
    """Log-loss, accuracy and recall at precision 0.85 and 0.87 of
    probabilities against the classes y."""
    return {"log_loss": float(-np.log(np.maximum(prob[np.arange(len(y)), y], 1e-9)).mean()),
            "accuracy": float((prob.argmax(1) == y).mean()),
            "recall_at_p85": recall_at_precision(prob, y, 0.85)[0],
            "recall_at_p87": recall_at_precision(prob, y, 0.87)[0]}


def labelled(data: str, classes: list[str] | None = None):
    """The trainset's images, their class (-1: none of classes), split and
    the classes: with classes None, the colours with MIN_SUPPORT training
    products."""
    _, ids, _, images, _, attrs = read_trainset(os.path.join(data, "trainset.parquet"))
    colours = [colour_of(a) for a in attrs]
    part = np.array([net_split(i) for i in ids])
    if classes is None:
        count: dict[str, int] = {}
        for c, p in zip(colours, part):
            if c and p == "train":
                count[c] = count.get(c, 0) + 1
        classes = sorted(c for c, n in count.items() if n >= MIN_SUPPORT)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index.get(c, -1) if c else -1 for c in colours])
    return torch.from_numpy(images), y, part, classes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="dir of trainset.parquet")
    ap.add_argument("--weights", required=True, help="dir of the dual encoder (model.json, product.onnx)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--trunk-lr", type=float, default=3e-4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--golden", default="", help="write PyTorch's log-probabilities for the pixels of this golden_dual.json beside colour.onnx")
    ap.add_argument("--export-only", action="store_true", help="export OUT/colour.pt again, no training")
    ap.add_argument("--heads", type=int, default=4, help="attention maps")
    ap.add_argument("--limit", type=int, default=0, help="at most this many training products (0: all)")
    ap.add_argument("--ensemble", default="", help="comma-separated dirs of trained nets (colour.pt, colour-report.json): "
                    "export their ensemble into --out, no training")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()

    with open(os.path.join(args.weights, "model.json")) as f:
        info = json.load(f)
    if args.ensemble:
        export_ensemble(args.ensemble.split(","), info, args)
        return
    if args.export_only:
        net, report = load_trained(args.out, info, args.weights)
        finish(net, info, report, args)
        return
    x_all, y, part, classes = labelled(args.data)
    tr = np.nonzero((part == "train") & (y >= 0))[0]
    va = np.nonzero((part == "val") & (y >= 0))[0]
    if args.limit:
        tr = tr[:args.limit]
    print(f"{len(classes)} classes; {len(tr)} training and {len(va)} validation images", flush=True)

    mean, std = info["image"]["mean"], info["image"]["std"]
    y_all = torch.from_numpy(y)
    tower = ProductTower(os.path.join(args.weights, info["product_model"]))
    trunk = tower.image
    net = ColourNet(trunk, len(classes), heads=args.heads)
    new = [p for n, p in net.named_parameters() if not n.startswith("trunk.")]
    opt = torch.optim.AdamW([
        {"params": net.trunk.parameters(), "lr": args.trunk_lr},
        {"params": new, "lr": args.lr},
    ], weight_decay=1e-4)
    steps = args.epochs * ((len(tr) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[args.trunk_lr, args.lr], total_steps=steps, pct_start=0.15)

    def predict(idx: np.ndarray) -> np.ndarray:
        return probabilities(net, x_all[idx], mean, std)

    best, history = None, []
    for ep in range(args.epochs):
        net.train()
        perm = tr[torch.randperm(len(tr), generator=gen).numpy()]
        tot, n = 0.0, 0
        for s in range(0, len(perm), args.batch):
            b = perm[s:s + args.batch]
            x = augment(normalize_images(x_all[b], mean, std), gen)
            loss = F.cross_entropy(net(x), y_all[b], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(b)
            n += len(b)
        pv = predict(va)
        yv = y[va]
        vloss = float(-np.log(np.maximum(pv[np.arange(len(va)), yv], 1e-9)).mean())
        acc = float((pv.argmax(1) == yv).mean())
        rec, thr = recall_at_precision(pv, yv)
        history.append({"epoch": ep + 1, "train_loss": tot / n, "val_loss": vloss, "val_accuracy": acc,
                        "val_recall_at_p85": rec, "seconds": time.time() - t0})
        print(json.dumps(history[-1]), flush=True)
        if best is None or vloss < best[0]:
            best = (vloss, ep + 1, {k: v.clone() for k, v in net.state_dict().items()})
    net.load_state_dict(best[2])
    net.eval()
    os.makedirs(args.out, exist_ok=True)
    torch.save(net.state_dict(), os.path.join(args.out, "colour.pt"))
    sub = tr[:len(va)]
    ptr = predict(sub)
    report = {"classes": classes, "best_epoch": best[1], "history": history,
              "train_accuracy_sample": float((ptr.argmax(1) == y[sub]).mean()),
              "train_products": int(len(tr)), "val_products": int(len(va)),
              "seconds": time.time() - t0, "threads": args.threads, "heads": args.heads, "seed": args.seed}
    with open(os.path.join(args.out, "colour-report.json"), "w") as f:
        json.dump(report, f, indent=1)
    finish(net, info, report, args)


def load_trained(run: str, info: dict, weights: str) -> tuple[ColourNet, dict]:
    """The net that a training run wrote into the dir run, and its report."""
    with open(os.path.join(run, "colour-report.json")) as f:
        report = json.load(f)
    net = ColourNet(ProductTower(os.path.join(weights, info["product_model"])).image, len(report["classes"]),
                    heads=report.get("heads", 4))
    net.load_state_dict(torch.load(os.path.join(run, "colour.pt")))
    return net.eval(), report


def export_ensemble(runs: list[str], info: dict, args) -> None:
    """Exports the ensemble of the nets trained into runs into args.out,
    and their validation figures alone and together in
    colour-ensemble.json."""
    nets, reports = [], []
    for run in runs:
        net, report = load_trained(run, info, args.weights)
        if reports and report["classes"] != reports[0]["classes"]:
            raise SystemExit(f"{run}: other colour classes than {runs[0]}")
        nets.append(net)
        reports.append(report)
    members = []
    for run, r in zip(runs, reports):
        h = r["history"][r["best_epoch"] - 1]
        members.append(f"{os.path.basename(os.path.normpath(run))} (seed {r.get('seed', '?')}, best epoch "
                       f"{r['best_epoch']} of {len(r['history'])}, validation log-loss {h['val_loss']:.4f}, "
                       f"accuracy {h['val_accuracy']:.4f})")
    trained = (f"ensemble (mean probability) of {len(nets)} nets trained on {reports[0]['train_products']} "
               f"training-split images from the image trunk of {info['version']}: " + "; ".join(members))
    os.makedirs(args.out, exist_ok=True)
    # The members and the ensemble on the validation split, side by side.
    x, y, part, _ = labelled(args.data, reports[0]["classes"])
    va = np.nonzero((part == "val") & (y >= 0))[0]
    mean, std = info["image"]["mean"], info["image"]["std"]
    val = {"products": int(len(va)), "members": [], "ensemble": None}
    for run, net in zip(runs, nets):
        val["members"].append({"run": os.path.basename(os.path.normpath(run)),
                               **scores(probabilities(net, x[va], mean, std), y[va])})
    val["ensemble"] = scores(probabilities(Ensemble(nets), x[va], mean, std), y[va])
    print(json.dumps(val), flush=True)
    with open(os.path.join(args.out, "colour-report.json"), "w") as f:
        json.dump({"classes": reports[0]["classes"], "validation": val, "members": reports}, f, indent=1)
    export(Ensemble(nets), info, reports[0]["classes"], trained, args.out)
    if args.golden:
        golden(Ensemble(nets), info, args.golden, os.path.join(args.out, "golden_colour.json"))


def finish(net: ColourNet, info: dict, report: dict, args) -> None:
    """Exports the trained net (and the golden file) into args.out."""
    h = report["history"][report["best_epoch"] - 1]
    trained = (f"{report['train_products']} training-split and {report['val_products']} validation-split images, "
               f"from the image trunk of {info['version']}; AdamW lr {args.lr} (trunk {args.trunk_lr}), one-cycle, "
               f"batch {args.batch}, seed {args.seed}; best epoch {report['best_epoch']} of {len(report['history'])}, "
               f"validation log-loss {h['val_loss']:.4f}, accuracy {h['val_accuracy']:.4f}")
    export(net, info, report["classes"], trained, args.out, version=f"{VERSION}-s{args.seed}")
    if args.golden:
        golden(net, info, args.golden, os.path.join(args.out, "golden_colour.json"))


if __name__ == "__main__":
    main()
