"""Tiny-tensor tests of the dual encoder: shapes, loss, metrics, split."""
import unittest

try:
    import numpy as np
    import torch
except ImportError:  # the export venv has no torch: these run in the train venv
    raise unittest.SkipTest("torch not installed")

from dualenc import data as D
from dualenc import metrics as M
from dualenc.loss import _multi_positive_nce, dual_loss
from dualenc.model import DIM, DualEncoder, normalize_images


def tiny_vocab():
    keys = ["color", "color", "color", "gender", "gender"]
    values = ["red", "blue", "black", "men", "women"]
    return D.Vocabulary(keys=keys, values=values, phrases=[f"{k}: {v}" for k, v in zip(keys, values)],
                        counts=np.array([10, 20, 70, 50, 50]),
                        embeddings=np.random.default_rng(0).standard_normal((5, 384)).astype(np.float32))


class TestModel(unittest.TestCase):
    def test_shapes_and_norm(self):
        torch.manual_seed(0)
        m = DualEncoder().eval()
        img = normalize_images(torch.randint(0, 256, (3, 3, 64, 48), dtype=torch.uint8))
        p = m.product(img, torch.randn(3, 384), torch.tensor([[1.0], [0.0], [1.0]]))
        a = m.attribute(torch.randn(5, 384))
        self.assertEqual(tuple(p.shape), (3, DIM))
        self.assertEqual(tuple(a.shape), (5, DIM))
        torch.testing.assert_close(p.norm(dim=1), torch.ones(3))

    def test_text_absent_ignores_text(self):
        torch.manual_seed(0)
        m = DualEncoder().eval()
        img = torch.randn(1, 3, 64, 48)
        absent = torch.zeros(1, 1)
        torch.testing.assert_close(m.product(img, torch.randn(1, 384), absent),
                                   m.product(img, torch.randn(1, 384), absent))


class TestLoss(unittest.TestCase):
    def test_multi_positive_perfect_is_small(self):
        pos = torch.tensor([[1, 1, 0, 0], [0, 0, 1, 0]], dtype=torch.bool)
        good = torch.where(pos, 20.0, -20.0)
        bad = -good
        self.assertLess(_multi_positive_nce(good, pos).item(), 1e-6)
        self.assertGreater(_multi_positive_nce(bad, pos).item(), 10)

    def test_other_positives_not_negatives(self):
        # Two equal positives: each only competes with the negative.
        logits = torch.tensor([[5.0, 5.0, 0.0]])
        pos = torch.tensor([[True, True, False]])
        want = -torch.log(torch.exp(torch.tensor(5.0)) / (torch.exp(torch.tensor(5.0)) + 1))
        torch.testing.assert_close(_multi_positive_nce(logits, pos), want)

    def test_dual_loss_backward(self):
        torch.manual_seed(0)
        prod = torch.nn.functional.normalize(torch.randn(4, 8, requires_grad=True), dim=1)
        attr = torch.nn.functional.normalize(torch.randn(5, 8), dim=1)
        y = torch.tensor([[1, 0, 0, 1, 0], [0, 1, 0, 0, 1], [0, 0, 1, 1, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
        loss, parts = dual_loss(prod, attr, y, torch.tensor(10.0), [torch.tensor([0, 1, 2]), torch.tensor([3, 4])])
        loss.backward()
        self.assertTrue(torch.isfinite(loss))
        self.assertEqual(set(parts), {"p2a", "a2p", "family"})


class TestMetrics(unittest.TestCase):
    def test_recall_at_k(self):
        v = tiny_vocab()
        sims = np.array([[0.9, 0.1, 0.0, 0.8, 0.2]])
        y = np.array([[True, False, False, True, False]])
        self.assertEqual(M.recall_at_k(sims, y, v, k=2), 1.0)
        y2 = np.array([[False, True, False, True, False]])
        self.assertEqual(M.recall_at_k(sims, y2, v, k=2), 0.5)

    def test_assign_and_calibrate(self):
        v = tiny_vocab()
        rng = np.random.default_rng(1)
        y = np.zeros((200, 5), dtype=bool)
        y[np.arange(200), rng.integers(0, 3, 200)] = True
        y[np.arange(200), 3 + rng.integers(0, 2, 200)] = True
        logits = np.where(y, 5.0, 0.0) + rng.normal(0, 1.5, y.shape)
        th = M.calibrate(logits, y, v, 0.0, 0.95)
        a = M.assign(logits, v, 0.0, th)
        rep = M.family_report(a, y, v)
        self.assertGreaterEqual(rep["color"]["precision"], 0.9)
        self.assertTrue(((a[:, :3].sum(1)) <= 1).all())


class TestSchedule(unittest.TestCase):
    def test_lr_at(self):
        from dualenc.train import lr_at
        self.assertAlmostEqual(lr_at(1.0, 100, 100, 0, 10), 0.0)
        self.assertAlmostEqual(lr_at(1.0, 5, 100, 0, 10), 1.0)       # end of warm-up
        self.assertAlmostEqual(lr_at(1.0, 5, 100, 10, 10), 0.0)      # out of time
        self.assertLess(lr_at(1.0, 1, 100, 0, 10), 0.5)              # warming up


class TestData(unittest.TestCase):
    def test_fnv_matches_go(self):
        # catalog.InShard's FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c.
        self.assertEqual(D.fnv1a64("a"), 0xAF63DC4C8601EC8C)
        self.assertIn(D.split_of("15970"), {"train", "val", "test"})

    def test_vocabulary_support(self):
        rows = [{"key": "color", "value": "red", "phrase": "color: red", "embedding": [0.0] * 4},
                {"key": "color", "value": "teal", "phrase": "color: teal", "embedding": [0.0] * 4},
                {"key": "brand", "value": "puma", "phrase": "brand: puma", "embedding": [0.0] * 4}]
        attrs = [["color:red", "brand:puma"]] * 5 + [["color:teal"]]
        v = D.build_vocabulary(rows, attrs)
        self.assertEqual(v.values, ["red"])
        y = D.label_matrix([["color:red"], ["color:teal"]], v)
        self.assertEqual(y.tolist(), [[True], [False]])


if __name__ == "__main__":
    unittest.main()
