"""The embed job with torch (skipped without it; run in the torch venv):
the towers against golden_dual.json (Go/ONNX outputs), MiniLM against
golden_embeddings.json, the job against golden.json, the fp16 copy."""
import base64
import json
import os
import tempfile
import unittest

try:
    import numpy as np
    import torch
    import tokenizers  # noqa: F401
    import onnx  # noqa: F401
    import safetensors  # noqa: F401
except ImportError as e:
    raise unittest.SkipTest(f"embed torch tests need torch, tokenizers, onnx and safetensors "
                            f"(requirements-embed.txt): {e}")

from dualenc import embed as E
from dualenc import pipeline as P
from dualenc.minilm import MiniLM, Tokenizer, pad, write_half
from dualenc.towers import ProductTower, normalize_images

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
TESTDATA = os.path.join(ROOT, "encoder", "testdata")
WEIGHTS = os.path.join(ROOT, "encoder", "weights")
MINILM = os.environ.get("LANDER_MINILM_SRC", os.path.join(ROOT, ".tools", "minilm-src"))
if not os.path.exists(os.path.join(MINILM, "model.safetensors")):
    raise unittest.SkipTest(f"{MINILM}/model.safetensors missing: run scripts/models.sh")

torch.set_num_threads(2)


def cos(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


class TestTorchParity(unittest.TestCase):
    def test_product_tower_vs_onnx_golden(self):
        with open(os.path.join(TESTDATA, "golden_dual.json")) as f:
            g = json.load(f)
        m = ProductTower(os.path.join(WEIGHTS, "product.onnx")).eval()
        px = torch.tensor(np.array(g["pixels"], np.uint8).reshape(-1, 3, 64, 48))
        with torch.no_grad():
            out = m(normalize_images(px, (0.5,) * 3, (0.5,) * 3), torch.tensor(g["text_embedding"]),
                    torch.tensor(g["text_present"]).view(-1, 1)).numpy()
        self.assertGreater(cos(out, g["embedding"]).min(), 0.99999)

    def test_minilm_vs_golden_embeddings(self):
        with open(os.path.join(TESTDATA, "golden_embeddings.json")) as f:
            g = json.load(f)
        tok, m = Tokenizer(MINILM), MiniLM.load(MINILM)
        ids, mask = pad(tok.encode([c["text"] for c in g["cases"]]))
        with torch.no_grad():
            v = m(ids, mask).numpy()
        self.assertGreater(cos(v, [c["embedding"] for c in g["cases"]]).min(), 0.99999)
        half = tempfile.mkdtemp()
        write_half(MINILM, half)
        self.assertLess(os.path.getsize(os.path.join(half, "model.safetensors")), 50 << 20)
        with torch.no_grad():
            vh = MiniLM.load(half)(ids, mask).numpy()
        self.assertGreater(cos(vh, v).min(), 0.999)

    def test_job_vs_golden(self):
        out = tempfile.mkdtemp()
        rc = E.main(["--catalog", os.path.join(TESTDATA, "embed", "catalog.jsonl"), "--out", out, "--device", "cpu",
                     "--workers", "0", "--batch", "5", "--shard-size", "6", "--minilm", MINILM, "--weights", WEIGHTS])
        self.assertEqual(rc, 0)
        with open(os.path.join(TESTDATA, "embed", "golden.json")) as f:
            g = json.load(f)
        for col in ("vector", "product_vector"):
            v = P.read_vectors(out, col)
            self.assertEqual(sorted(v), sorted(p["id"] for p in g["products"]))
            c = [cos(v[p["id"]], np.frombuffer(base64.b64decode(p[col]), "<f4")) for p in g["products"]]
            self.assertGreater(min(c), 0.9999, col)
        with open(os.path.join(out, "embed.json")) as f:
            rep = json.load(f)
        self.assertGreater(rep["attributes"]["cosine_vs_model_json"]["min"], 0.999)
        self.assertEqual(rep["model"], g["model"])


if __name__ == "__main__":
    unittest.main()
