"""The embed job without torch: readers and rejections (against the Go
reader's rules), preprocessing (against bytes Go produced), shard naming,
atomic writes and restart, compare. Runs in .tools/venv (numpy, pillow,
pyarrow)."""
import base64
import json
import os
import tempfile
import unittest
import zlib

try:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import PIL  # noqa: F401
except ImportError as e:  # pragma: no cover
    raise unittest.SkipTest(f"embed tests need numpy, pyarrow and pillow: {e}")

from dualenc import catalog as C
from dualenc import pipeline as P

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
EMBED = os.path.join(ROOT, "encoder", "testdata", "embed")
CATALOG = os.path.join(EMBED, "catalog.jsonl")
WEIGHTS = os.path.join(ROOT, "encoder", "weights")


def go_pixels():
    with open(os.path.join(EMBED, "pixels.json")) as f:
        d = json.load(f)
    return {k: zlib.decompress(base64.b64decode(v), -15) for k, v in d.items()}


class FakeEncoder(P.Encoder):
    """Deterministic vectors from the text and pixels; counts rows."""
    device, dtype = "fake", "float32"

    def __init__(self, fail_after=None):
        self.rows, self.calls, self.fail_after = 0, 0, fail_after

    def products(self, tokens, texts, text_embeddings, pixels, stats):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt("killed")
        n = len(texts)
        self.rows += n
        vec = np.zeros((n, P.TEXT_DIM), np.float32)
        pvec = np.zeros((n, P.DIM), np.float32)
        for i, t in enumerate(texts):
            vec[i, len(t) % P.TEXT_DIM] = 1
            pvec[i, int(pixels[i].astype(np.int64).sum()) % P.DIM] = 1
        return vec, pvec

    def attributes(self, phrases):
        return np.ones((len(phrases), P.DIM), np.float32) / np.sqrt(P.DIM)


def run(out, fail_after=None, **kw):
    with open(os.path.join(WEIGHTS, "model.json")) as f:
        info = json.load(f)
    enc = FakeEncoder(fail_after)
    opts = P.Options(catalog=kw.pop("catalog", CATALOG), out=out, weights=WEIGHTS, **kw)
    return P.run(opts, enc, info, log=lambda m: None), enc


class TestReaders(unittest.TestCase):
    def test_jsonl_rejections_match_go(self):
        # encoder/embed_parity_test.go checks the same list against the Go
        # reader; here: the reasons the job must count.
        rep, _ = run(tempfile.mkdtemp(), batch=4, shard_size=8)
        self.assertEqual(rep["products"]["read"], 20)
        self.assertEqual(rep["products"]["accepted"], 14)
        self.assertEqual(rep["products"]["rejected"], {
            "bad_image": 1, "bad_json": 1, "bad_price": 1, "duplicate_id": 1, "missing_id": 1, "missing_image": 1})
        with open(os.path.join(EMBED, "golden.json")) as f:
            golden = json.load(f)
        self.assertEqual([(r["row"], r["id"], r["reason"]) for r in rep["rejected_rows"]],
                         [(r["row"], r["id"], r["reason"]) for r in golden["rejected"]])

    def test_styles_csv_commas_and_rules(self):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "images"))
        with open(os.path.join(EMBED, "images", "demo-0007.png"), "rb") as f:
            png = f.read()
        for i in ("1", "2", "4", "6"):
            with open(os.path.join(d, "images", i + ".jpg"), "wb") as f:
                f.write(png)  # a PNG named .jpg decodes, as in Go
        with open(os.path.join(d, "styles.csv"), "w") as f:
            f.write("\ufeffid,gender,productDisplayName\n"
                    "1,Men,Puma Men, Black Shoes\n"  # unquoted comma rejoined
                    "2,Women,\"Quoted, Title\"\n"
                    "\n"
                    "3,Men,No image\n"
                    ",Men,No id\n"
                    "a/b,Men,Bad id\n"
                    "4,Men\n"  # too few fields
                    "1,Men,Duplicate\n"
                    "6,Men,  Spaces  \r\n")
        rows = list(C.raw_rows(d))
        self.assertEqual(rows[0].title, "Puma Men, Black Shoes")
        self.assertEqual(rows[1].title, "Quoted, Title")
        self.assertEqual(rows[2].row, 5)  # blank lines count
        self.assertEqual([r.reason for r in rows], ["", "", "", C.MISSING_ID, C.BAD_ID, C.BAD_ROW, "", ""])
        rep, _ = run(tempfile.mkdtemp(), catalog=d, batch=2, shard_size=4)
        self.assertEqual(rep["products"]["accepted"], 3)
        self.assertEqual(rep["products"]["rejected"], {"bad_id": 1, "bad_row": 1, "duplicate_id": 1,
                                                       "missing_id": 1, "missing_image": 1})
        self.assertEqual(rows[-1].title, "Spaces")

    def test_parquet_catalog_and_trainset(self):
        d = tempfile.mkdtemp()
        with open(os.path.join(EMBED, "images", "demo-0001.jpg"), "rb") as f:
            jpg = f.read()
        os.makedirs(os.path.join(d, "img"))
        with open(os.path.join(d, "img", "a.jpg"), "wb") as f:
            f.write(jpg)
        t = pa.table({"id": pa.array([1, 2, 3, None], pa.int64()),
                      "title": ["A", None, "C", "D"],
                      "image": pa.array([jpg, None, b"junk", jpg], pa.binary()),
                      "image_uri": [None, "img/a.jpg", None, None],
                      "price": [1.0, 2.0, -1.0, 3.0]})
        path = os.path.join(d, "cat.parquet")
        pq.write_table(t, path)
        rows = [C.load_row(r) for r in C.raw_rows(path)]
        self.assertEqual([(r.id, r.reason) for r in rows],
                         [("1", ""), ("2", ""), ("3", C.BAD_PRICE), ("", C.MISSING_ID)])
        self.assertEqual(rows[1].text, "")
        # Trainset: pixels and text embedding as they are.
        px = go_pixels()["demo-0001"]
        emb = np.arange(384, dtype=np.float32)
        ts = pa.table({"id": ["x", "y"], "text": ["hello", ""], "image": [px, b"short"],
                       "text_embedding": pa.FixedSizeListArray.from_arrays(pa.array(np.tile(emb, 2)), 384),
                       "attributes": pa.array([["a:b"], []], pa.list_(pa.string()))})
        tpath = os.path.join(d, "train.parquet")
        pq.write_table(ts, tpath)
        self.assertEqual(C.detect(tpath), C.FORMAT_TRAINSET)
        rows = [C.load_row(r) for r in C.raw_rows(tpath)]
        self.assertEqual(rows[0].pixels, px)
        np.testing.assert_array_equal(rows[0].text_embedding, emb)
        self.assertEqual(rows[1].reason, C.BAD_IMAGE)

    def test_json_scalars(self):
        r = C.parse_json_line('{"ID": 15970, "Title": 12.50, "image_uri": "x.jpg"}', 1, "/d")
        self.assertEqual((r.id, r.title, r.image_path), ("15970", "12.50", "/d/x.jpg"))
        self.assertEqual(C.parse_json_line('[1]', 2, "/d").reason, C.BAD_JSON)
        self.assertEqual(C.parse_json_line('{"id": "a"} {}', 3, "/d").reason, C.BAD_JSON)
        self.assertEqual(C.parse_json_line('{"id": ["a"]}', 4, "/d").reason, C.BAD_ROW)
        self.assertEqual(C.parse_json_line('{"id": "a", "tags": 3}', 5, "/d").reason, C.BAD_ROW)
        self.assertEqual(C.parse_json_line('{"id": "a", "image": "!!"}', 6, "/d").reason, C.BAD_IMAGE)
        r = C.parse_json_line('{"id": "a", "image_uri": "https://x/y.jpg"}', 7, "/d")
        self.assertEqual(C.load_row(r).reason, C.MISSING_IMAGE)


class TestPreprocess(unittest.TestCase):
    def test_matches_go(self):
        want = go_pixels()
        worst = {}
        for raw in C.raw_rows(CATALOG):
            if raw.id not in want or raw.reason:
                continue
            got = C.load_row(raw)
            if got.id in worst:  # the duplicate row
                continue
            self.assertEqual(got.reason, "", got.detail)
            a = np.frombuffer(got.pixels, np.uint8).astype(int)
            b = np.frombuffer(want[got.id], np.uint8).astype(int)
            worst[got.id] = (got.fmt, int(np.abs(a - b).max()), float(np.abs(a - b).mean()))
        self.assertEqual(len(worst), len(want))
        for id_, (fmt, mx, mean) in worst.items():
            if fmt == "png":  # lossless: byte-exact, alpha and gray included
                self.assertEqual(mx, 0, id_)
            elif C._simplejpeg is not None:  # libjpeg-turbo, box upsampling like Go
                self.assertLessEqual(mx, 3, id_)
                self.assertLessEqual(mean, 0.2, id_)
            else:  # PIL: its chroma upsampling differs from Go's
                self.assertLessEqual(mean, 2.0, id_)

    def test_box_filter_shapes(self):
        for w, h in ((60, 80), (1800, 2400), (1, 1), (500, 40), (7, 3000)):
            src = np.full((h, w, 3), 10.0)
            px = np.frombuffer(C.preprocess_rgb(src), np.uint8).reshape(3, 64, 48)
            self.assertEqual(int(px.min()), 10)
            self.assertIn(int(px.max()), (10, 255))


class TestShards(unittest.TestCase):
    def test_names_layout_and_restart(self):
        out = tempfile.mkdtemp()
        with self.assertRaises(KeyboardInterrupt):  # killed while encoding shard 1
            run(out, fail_after=1, batch=4, shard_size=4)
        self.assertEqual(sorted(os.listdir(out)), ["attributes.parquet", "products-00000.parquet"])
        open(os.path.join(out, ".products-00001.parquet.tmp"), "w").write("partial")
        rep, enc = run(out, batch=4, shard_size=4)
        self.assertEqual(rep["shards"]["skipped"], [0])
        self.assertEqual(rep["shards"]["written"], [1, 2, 3])
        self.assertEqual(enc.rows, 10)  # shard 0's rows are not encoded again
        self.assertEqual(rep["products"]["skipped_existing"], 4)
        self.assertNotIn(".products-00001.parquet.tmp", os.listdir(out))
        fresh_dir = tempfile.mkdtemp()
        fresh, _ = run(fresh_dir, batch=3, shard_size=5)
        t = pq.read_table(os.path.join(out, "products-00003.parquet"))
        self.assertEqual(t.schema.field("vector").type, pa.list_(pa.float32(), 384))
        self.assertEqual(t.schema.field("product_vector").type, pa.list_(pa.float32(), 128))
        self.assertEqual(t.num_rows, 2)
        self.assertEqual(set(t.column("model").to_pylist()), {rep["model"]})
        self.assertRegex(rep["model"], r"^all-MiniLM-L6-v2\+dual-v1@[0-9a-f]{16}$")
        # A second restart skips everything; compare finds identical vectors.
        rep2, enc2 = run(out, batch=4, shard_size=4)
        self.assertEqual((rep2["shards"]["written"], enc2.rows), ([], 0))
        res = P.compare(out, fresh_dir)
        self.assertEqual(res["vector"]["common"], 14)
        self.assertAlmostEqual(res["vector"]["min"], 1.0)
        self.assertAlmostEqual(res["product_vector"]["min"], 1.0)
        ids = pq.read_table(os.path.join(out, "products-00000.parquet")).column("id").to_pylist()
        self.assertEqual(ids, ["demo-0001", "demo-0002", "demo-0003", "demo-0004"])
        a = pq.read_table(os.path.join(out, "attributes.parquet"))
        self.assertEqual(a.column_names, ["key", "value", "vector", "model"])
        self.assertEqual(a.num_rows, 225)
        del fresh

    def test_restart_refuses_another_model_and_drops_stale_shards(self):
        out = tempfile.mkdtemp()
        run(out, batch=4, shard_size=4)  # 14 rows: shards 0-3
        # Another model's shard in the folder: resuming would mix models.
        t = pq.read_table(os.path.join(out, "products-00001.parquet"))
        t = t.set_column(t.schema.get_field_index("model"), "model", pa.array(["other"] * t.num_rows))
        pq.write_table(t, os.path.join(out, "products-00001.parquet"))
        with self.assertRaisesRegex(RuntimeError, "written by model 'other'"):
            run(out, batch=4, shard_size=4)
        # A shorter input (--limit) leaves shards past its end: they go.
        limit = next(n for n in range(1, 40)  # a prefix that fills whole shards 0 and 1
                     if run(tempfile.mkdtemp(), batch=4, shard_size=4, limit=n)[0]["products"]["accepted"] == 8)
        out2 = tempfile.mkdtemp()
        run(out2, batch=4, shard_size=4)
        rep, _ = run(out2, batch=4, shard_size=4, limit=limit)
        self.assertEqual(rep["shards"]["skipped"], [0, 1])
        self.assertEqual(rep["shards"]["stale_removed"], ["products-00002.parquet", "products-00003.parquet"])
        self.assertNotIn("products-00003.parquet", os.listdir(out2))

    def test_repeat_limit_and_compare(self):
        a, b = tempfile.mkdtemp(), tempfile.mkdtemp()
        rep, _ = run(a, batch=5, shard_size=100, limit=3, repeat=3)
        self.assertEqual(rep["products"]["accepted"], 9)
        ids = pq.read_table(os.path.join(a, "products-00000.parquet")).column("id").to_pylist()
        self.assertEqual(ids[:4], ["demo-0001", "demo-0002", "demo-0003", "demo-0001#1"])
        run(b, batch=2, shard_size=2, workers=1)  # worker processes, other shard size
        res = P.compare(a, b)
        self.assertEqual(res["vector"]["common"], 3)
        self.assertEqual(res["vector"]["only_a"], 6)
        self.assertEqual(res["vector"]["only_b"], 11)
        self.assertAlmostEqual(res["product_vector"]["min"], 1.0)
        with self.assertRaises(RuntimeError):  # other input into the same out
            run(a, batch=5, shard_size=100, limit=4)


class BatchedLoading(unittest.TestCase):
    def test_load_rows_equals_load_row(self):
        """The workers' batched path gives load_row's bytes and outcomes on
        every row of the golden catalog (JPEG, PNG with alpha, grey,
        rejections), also when the chunk mixes them."""
        raws = list(C.raw_rows(CATALOG))
        want = [C.load_row(r) for r in raws]
        got = C.load_rows(list(C.raw_rows(CATALOG)))
        self.assertEqual(len(got), len(want))
        for w, g in zip(want, got):
            self.assertEqual((g.id, g.reason, g.fmt), (w.id, w.reason, w.fmt))
            self.assertEqual(g.pixels, w.pixels, w.id)
        # And Go's own bytes where the decoders agree (everything but JPEG).
        gp = go_pixels()
        checked = 0
        for g in got:
            if g.fmt and g.fmt != "jpeg" and g.id in gp:
                self.assertEqual(g.pixels, gp[g.id], g.id)
                checked += 1
        self.assertGreater(checked, 0)

    def test_stack_equals_per_image_on_large_images(self):
        """Reductions beyond 2:1 sum in Go's tap order (BLAS order rounds
        some exact halves the other way: 35 bytes of a 1440x1080 image
        did before)."""
        rng = np.random.default_rng(3)
        for h, w in [(1440, 1080), (1800, 2400), (80, 60), (333, 250)]:
            img = rng.integers(0, 256, (h, w, 3)).astype(np.float64)
            want = np.frombuffer(C.preprocess_rgb(img), np.uint8)
            got = C.preprocess_stack(np.ascontiguousarray(img.transpose(2, 0, 1))[None])[0].reshape(-1)
            self.assertEqual(int((want != got).sum()), 0, f"{h}x{w}")



if __name__ == "__main__":
    unittest.main()

