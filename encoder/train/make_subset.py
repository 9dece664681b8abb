"""Writes a small JSON Lines catalog of Fashion Product Images products, with
their JPEGs copied beside it, for the GPU bench (encoder/train/gpu_bench.sh):

  python3 encoder/train/make_subset.py --src ../shared/data/fashion-small --n 2000 --out .gpu/subset

The first n rows of styles.csv that parse and have an image file (same reader as
the Go one: titles with unquoted commas rejoined) are kept: id, title and
image_uri images/<id>.jpg. Needs numpy (e.g. .tools/venv/bin/python)."""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dualenc import catalog as C  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    n = size = 0
    with open(os.path.join(a.out, "catalog.jsonl"), "w") as f:
        for raw in C.raw_rows(a.src, C.FORMAT_FASHION):
            if n >= a.n:
                break
            if raw.reason or not os.path.isfile(raw.image_path):
                continue
            dst = os.path.join(a.out, "images", raw.id + ".jpg")
            shutil.copyfile(raw.image_path, dst)
            size += os.path.getsize(dst)
            f.write(json.dumps({"id": raw.id, "title": raw.title, "image_uri": "images/" + raw.id + ".jpg"},
                               ensure_ascii=False) + "\n")
            n += 1
    print(f"wrote {n} products to {a.out} ({size / 2**20:.1f} MiB of images)")


if __name__ == "__main__":
    main()
