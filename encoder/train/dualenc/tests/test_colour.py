"""Tiny-tensor tests of the colour net: shapes, split, augmentation,
the recall metric and the ONNX export."""
import os
import tempfile
import unittest

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError:  # the export venv has no torch: these run in the train venv
    raise unittest.SkipTest("torch not installed")

from dualenc import colour as C
from dualenc.data import split_of


def tiny_trunk():
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


class TestColourNet(unittest.TestCase):
    def test_shapes_and_log_probs(self):
        torch.manual_seed(0)
        net = C.ColourNet(tiny_trunk(), classes=5).eval()
        out = C.LogProbs(net)(torch.randn(3, 3, 64, 48))
        self.assertEqual(tuple(out.shape), (3, 5))
        self.assertTrue(torch.allclose(out.exp().sum(1), torch.ones(3), atol=1e-5))

    def test_attention_pools_colours(self):
        # A uniform image of one colour pools to the same colour embedding
        # whatever the attention: it sums to one over the pixels.
        torch.manual_seed(0)
        net = C.ColourNet(tiny_trunk(), classes=5, heads=2, emb=4).eval()
        img = torch.full((1, 3, 64, 48), 0.3)
        f = net.trunk(img)
        small = torch.nn.functional.avg_pool2d(img, 2)
        p = net.pix(small).flatten(2)[0, :, 0]
        with torch.no_grad():
            nn.init.normal_(net.att.weight)
            logits = net(img)
            pooled = torch.cat([p, p])
            want = net.head(torch.cat([pooled, f.mean(dim=(2, 3))[0]]).unsqueeze(0))
        self.assertTrue(torch.allclose(logits, want, atol=1e-5))

    def test_ensemble_is_the_mean_probability(self):
        torch.manual_seed(0)
        a = C.ColourNet(tiny_trunk(), classes=4).eval()
        b = C.ColourNet(tiny_trunk(), classes=4).eval()
        x = torch.randn(3, 3, 64, 48)
        with torch.no_grad():
            one = C.Ensemble([a])(x)
            two = C.Ensemble([a, b])(x)
            pa, pb = C.LogProbs(a)(x).exp(), C.LogProbs(b)(x).exp()
        self.assertTrue(torch.allclose(one, C.LogProbs(a)(x), atol=1e-6))
        self.assertTrue(torch.allclose(two.exp(), (pa + pb) / 2, atol=1e-6))
        self.assertFalse(torch.allclose(two, one, atol=1e-3))

    def test_split_keeps_test_out(self):
        for i in (str(n) for n in range(2000)):
            s = split_of(i)
            self.assertEqual(C.net_split(i), s if s in ("train", "val") else "other")
            if s == "test":
                self.assertEqual(C.net_split(i), "other")

    def test_augment_shape_and_flip(self):
        g = torch.Generator().manual_seed(1)
        x = torch.randn(8, 3, 64, 48)
        y = C.augment(x, g)
        self.assertEqual(y.shape, x.shape)
        self.assertFalse(torch.equal(x, y))

    def test_recall_at_precision(self):
        # Confidences 0.9 (right), 0.8 (right), 0.7 (wrong), 0.6 (right):
        # precision 1, 1, 2/3, 3/4; at 0.85 the two first: recall 2/4.
        prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
        y = np.array([0, 1, 1, 1])
        r, thr = C.recall_at_precision(prob, y, 0.85)
        self.assertAlmostEqual(r, 0.5)
        self.assertAlmostEqual(thr, 0.8)
        r, _ = C.recall_at_precision(prob, y, 0.7)
        self.assertAlmostEqual(r, 0.75)

    def test_export(self):
        try:
            import onnx
        except ImportError:
            self.skipTest("onnx not installed")
        torch.manual_seed(0)
        net = C.ColourNet(tiny_trunk(), classes=3)
        info = {"version": "dual-test", "image": {"channels": 3, "height": 64, "width": 48}}
        with tempfile.TemporaryDirectory() as d:
            C.export(net, info, ["red", "green", "blue"], "test", d)
            m = onnx.load(os.path.join(d, "colour.onnx"))
            onnx.checker.check_model(m)
            self.assertEqual([i.name for i in m.graph.input], ["image"])
            self.assertEqual([o.name for o in m.graph.output], ["log_probs"])
            import json
            with open(os.path.join(d, "colour.json")) as f:
                meta = json.load(f)
            self.assertEqual(meta["trunk"], "dual-test")
            self.assertEqual(meta["classes"], ["red", "green", "blue"])

    def test_export_ensemble(self):
        try:
            from onnx.reference import ReferenceEvaluator
        except ImportError:
            self.skipTest("onnx not installed")
        torch.manual_seed(0)
        ens = C.Ensemble([C.ColourNet(tiny_trunk(), classes=3), C.ColourNet(tiny_trunk(), classes=3)]).eval()
        info = {"version": "dual-test", "image": {"channels": 3, "height": 64, "width": 48}}
        x = torch.randn(2, 3, 64, 48)
        with tempfile.TemporaryDirectory() as d:
            C.export(ens, info, ["red", "green", "blue"], "test", d)
            got = ReferenceEvaluator(os.path.join(d, "colour.onnx")).run(["log_probs"], {"image": x.numpy()})[0]
        with torch.no_grad():
            want = ens(x).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
