"""Export: product.onnx, attribute.onnx and model.json into the weights
directory OUT (encoder/weights), and golden inputs/outputs for the Go parity
test into OUT/../testdata/golden_dual.json (encoder/testdata)."""
from __future__ import annotations

import json
import os
import warnings

import numpy as np
import torch

from . import model as Mdl
from .data import EXCLUSIVE_KEYS, Vocabulary
from .metrics import log_prior



class _Product(torch.nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.tower = tower

    def forward(self, image, text_embedding, text_present):
        return self.tower(image, text_embedding, text_present)


def export_onnx(model: Mdl.DualEncoder, out: str, height: int, width: int) -> None:
    model = model.cpu().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Product(model.product).eval(),
            (torch.zeros(2, 3, height, width), torch.zeros(2, Mdl.TEXT_DIM), torch.ones(2, 1)),
            os.path.join(out, "product.onnx"), dynamo=False, opset_version=17,
            input_names=["image", "text_embedding", "text_present"], output_names=["embedding"],
            dynamic_axes={n: {0: "batch"} for n in ("image", "text_embedding", "text_present", "embedding")})
        torch.onnx.export(
            model.attribute, (torch.zeros(2, Mdl.TEXT_DIM),), os.path.join(out, "attribute.onnx"),
            dynamo=False, opset_version=17, input_names=["text_embedding"], output_names=["embedding"],
            dynamic_axes={"text_embedding": {0: "batch"}, "embedding": {0: "batch"}})


def golden(model: Mdl.DualEncoder, height: int, width: int, n: int = 6, seed: int = 7) -> dict:
    """Seeded pixel bytes and text embeddings with PyTorch's product
    vectors; half the rows have no text."""
    rng = np.random.default_rng(seed)
    # Smooth random images: low-frequency noise upsampled, so that the CNN
    # sees something image-like, not only white noise.
    low = rng.integers(0, 256, size=(n, 3, height // 8, width // 8)).astype(np.float32)
    pix = torch.nn.functional.interpolate(torch.from_numpy(low), size=(height, width), mode="bilinear",
                                          align_corners=False).round().clamp(0, 255).to(torch.uint8)
    text = rng.standard_normal((n, Mdl.TEXT_DIM)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    present = np.array([[1.0 if i % 2 == 0 else 0.0] for i in range(n)], dtype=np.float32)
    text = text * present
    model.eval()
    with torch.no_grad():
        vec = model.product(Mdl.normalize_images(pix), torch.from_numpy(text), torch.from_numpy(present))
    return {"height": height, "width": width,
            "pixels": [p.flatten().tolist() for p in pix.numpy()],
            "text_embedding": text.tolist(), "text_present": present[:, 0].tolist(),
            "embedding": vec.numpy().tolist()}


def export(model: Mdl.DualEncoder, vocab: Vocabulary, meta: dict, scale: float, gamma: float,
           th_text: np.ndarray, th_image: np.ndarray, test, out: str, version: str) -> None:
    os.makedirs(out, exist_ok=True)
    h, w = meta["height"], meta["width"]
    export_onnx(model, out, h, w)
    model.eval()  # the exporter restores the training flag it found
    with torch.no_grad():
        vecs = model.attribute(torch.from_numpy(vocab.embeddings)).numpy()
    lp = log_prior(vocab)
    doc = {
        "version": version,
        "text_model": meta["text_model"],
        "embedding_dim": int(vecs.shape[1]),
        "text_embedding_dim": Mdl.TEXT_DIM,
        "image": {"channels": meta["channels"], "height": h, "width": w, "layout": "CHW RGB",
                  "resize": "area average, fit inside keeping aspect, centred on white",
                  "mean": list(Mdl.MEAN), "std": list(Mdl.STD)},
        "product_model": "product.onnx",
        "attribute_model": "attribute.onnx",
        "attribute_phrase": "key: value",
        "logit_scale": scale,
        "assignment": {
            "rule": "per exclusive key, best value by scale*cos - gamma*log(prior); assigned when its "
                    "softmax over the key's values reaches the value's threshold (title+image or image-only), "
                    "calibrated on the validation split for the target precision",
            "gamma": gamma, "exclusive_keys": list(EXCLUSIVE_KEYS)},
        "vocabulary": [
            {"key": k, "value": v, "phrase": p, "count": int(c), "log_prior": float(l),
             "threshold": float(t1), "threshold_image": float(t2),
             "vector": [round(float(x), 7) for x in vec]}
            for k, v, p, c, l, t1, t2, vec in zip(vocab.keys, vocab.values, vocab.phrases, vocab.counts, lp,
                                                th_text, th_image, vecs)],
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    golden_dir = os.path.join(out, "..", "testdata")
    os.makedirs(golden_dir, exist_ok=True)
    with open(os.path.join(golden_dir, "golden_dual.json"), "w") as f:
        json.dump(golden(model, h, w), f, separators=(",", ":"))
