"""MiniLM's WordPiece tokenizer without torch (for the worker processes)."""
from __future__ import annotations

import os

MAX_LENGTH = 256  # encoder.DefaultMaxLength, [CLS] and [SEP] included


def load_tokenizer(model_dir: str, max_length: int = MAX_LENGTH):
    """A function texts -> token ids ([CLS] ... [SEP], truncated to
    max_length), the HF BERT tokenizer on vocab.txt, lowercasing, as
    encoder/wordpiece.go."""
    from tokenizers import BertWordPieceTokenizer
    tok = BertWordPieceTokenizer(os.path.join(model_dir, "vocab.txt"), lowercase=True,
                                 clean_text=True, handle_chinese_chars=True, strip_accents=None)
    tok.enable_truncation(max_length)

    def encode(texts):
        return [e.ids for e in tok.encode_batch(list(texts))]
    return encode
