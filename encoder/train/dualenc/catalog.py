"""Catalog readers and image preprocessing for the embed job, mirroring the Go
reader (catalog/*.go) and encoder.PreprocessImage (encoder/image.go).

No torch here: this module runs in the test venv (numpy, pillow, pyarrow).

Reading is split in two, as in Go: `raw_rows` parses rows in input order
(cheap, one process) into RawRow objects carrying either a parse-level
rejection or an image reference; `load_row` (run in worker processes) loads
and verifies the image and preprocesses it. Duplicate ids are rejected after
loading, in input order, exactly like catalog.Reader.consume.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Iterator, Optional

import numpy as np

# Rejection reasons (catalog/catalog.go).
BAD_ROW = "bad_row"
BAD_JSON = "bad_json"
MISSING_ID = "missing_id"
BAD_ID = "bad_id"
DUPLICATE_ID = "duplicate_id"
MISSING_IMAGE = "missing_image"
BAD_IMAGE = "bad_image"
BAD_PRICE = "bad_price"

MAX_ID_LEN = 256
MAX_IMAGE_BYTES = 32 << 20
MAX_IMAGE_PIXELS = 64 << 20
MAX_LINE_BYTES = 64 << 20

IMAGE_H, IMAGE_W, IMAGE_C = 64, 48, 3
IMAGE_SIZE = IMAGE_C * IMAGE_H * IMAGE_W

FORMAT_FASHION, FORMAT_JSONL, FORMAT_PARQUET, FORMAT_TRAINSET = "fashion", "jsonl", "parquet", "trainset"

_PLACEHOLDERS = {"na", "n/a", "null"}
# Go's unicode.IsSpace (what strings.TrimSpace trims).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"
_SURROGATE_RUN = re.compile("[\udc80-\udcff]+")


def go_trim(s: str) -> str:
    return s.strip(_GO_SPACE)


def decode_go(b: bytes) -> str:
    """Decode bytes as Go sees a string: invalid bytes kept as surrogates
    (so that checkID can refuse them), see clean_text."""
    return b.decode("utf-8", "surrogateescape")


def clean_text(s: str) -> str:
    """cleanText: TrimSpace, then each run of invalid UTF-8 becomes U+FFFD."""
    return _SURROGATE_RUN.sub("\ufffd", go_trim(s))


def valid_utf8(s: str) -> bool:
    return _SURROGATE_RUN.search(s) is None


def check_id(id_: str) -> tuple[str, str]:
    if id_ == "":
        return MISSING_ID, "id is empty"
    if len(id_.encode("utf-8", "surrogateescape")) > MAX_ID_LEN:
        return BAD_ID, "id longer than 256 bytes"
    if not valid_utf8(id_):
        return BAD_ID, "id is not valid UTF-8"
    for ch in id_:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            return BAD_ID, "id holds control characters"
    return "", ""


def valid_price(f: float) -> bool:
    return not math.isnan(f) and not math.isinf(f) and f >= 0


def parse_go_float(s: str) -> Optional[float]:
    """strconv.ParseFloat, roughly: Python float() also accepts '1_0' and
    surrounding spaces, which Go does not."""
    if "_" in s or s != s.strip():
        return None
    try:
        return float(s)
    except ValueError:
        return None


def text_of(title: str, description: str) -> str:
    """extract.Text: the product text the text encoder reads."""
    if title and description:
        return title + ". " + description
    return title or description


@dataclass
class RawRow:
    """One parsed row (catalog/reader.go rawRow)."""
    row: int
    id: str = ""
    title: str = ""
    description: str = ""
    reason: str = ""
    detail: str = ""
    image: Optional[bytes] = None
    image_path: str = ""
    image_url: str = ""
    # Trainset rows: preprocessed pixels and the text embedding.
    pixels: Optional[bytes] = None
    text_embedding: Optional[np.ndarray] = None

    @property
    def text(self) -> str:
        return text_of(self.title, self.description)

    def image_ref(self, uri: str, folder: str) -> None:
        uri = go_trim(uri)
        if uri == "":
            return
        low = uri.lower()
        if low.startswith("http://") or low.startswith("https://"):
            self.image_url = uri
        elif low.startswith("file://"):
            self.image_path = uri[len("file://"):]
        elif os.path.isabs(uri):
            self.image_path = uri
        else:
            self.image_path = os.path.normpath(os.path.join(folder, uri))


# ---------------------------------------------------------------- detection

def detect(path: str) -> str:
    """catalog.Open's layout detection, plus the trainset Parquet that
    `lander export trainset` writes."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"open catalog: {path} does not exist")
    ext = os.path.splitext(path)[1].lower()
    if os.path.isdir(path) or os.path.basename(path).lower() == "styles.csv":
        if os.path.isdir(path) and not os.path.exists(os.path.join(path, "styles.csv")):
            raise ValueError(f"open catalog {path}: directory has no styles.csv")
        return FORMAT_FASHION
    if ext == ".parquet":
        import pyarrow.parquet as pq
        sc = pq.read_schema(path)
        names = [n.lower().strip() for n in sc.names]
        if "id" not in names:
            raise ValueError(f"open catalog {path}: parquet file has no id column")
        md = sc.metadata or {}
        if b"lander.image_height" in md or ("text_embedding" in names and "text" in names):
            return FORMAT_TRAINSET
        return FORMAT_PARQUET
    if ext in (".jsonl", ".ndjson", ".json"):
        with open(path, "rb") as f:
            head = f.read(4096).lstrip(b" \t\r\n")
        if head.startswith(b"["):
            raise ValueError(f"open catalog {path}: file holds a JSON array; want JSON Lines")
        return FORMAT_JSONL
    raise ValueError(f"open catalog {path}: unknown format (want a directory with styles.csv, a .parquet, .jsonl or .json file)")


def raw_rows(path: str, fmt: Optional[str] = None) -> Iterator[RawRow]:
    fmt = fmt or detect(path)
    if fmt == FORMAT_FASHION:
        yield from _styles_rows(path)
    elif fmt == FORMAT_JSONL:
        yield from _jsonl_rows(path)
    elif fmt == FORMAT_PARQUET:
        yield from _parquet_rows(path)
    elif fmt == FORMAT_TRAINSET:
        yield from _trainset_rows(path)
    else:
        raise ValueError(f"unknown catalog format {fmt}")


# ---------------------------------------------------------------- styles.csv

def split_csv_line(line: str) -> list[str]:
    """catalog.splitCSVLine."""
    fields = []
    while True:
        if line.startswith('"'):
            b = []
            i = 1
            while i < len(line):
                c = line[i]
                if c == '"':
                    if i + 1 < len(line) and line[i + 1] == '"':
                        b.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                b.append(c)
                i += 1
            rest = line[i:]
            j = rest.find(",")
            if j < 0:
                b.append(rest)
                fields.append("".join(b))
                return fields
            b.append(rest[:j])
            fields.append("".join(b))
            line = rest[j + 1:]
            continue
        j = line.find(",")
        if j < 0:
            fields.append(line)
            return fields
        fields.append(line[:j])
        line = line[j + 1:]


def _lines(f) -> Iterator[tuple[int, str]]:
    n = 0
    for b in f:
        n += 1
        if b.endswith(b"\n"):
            b = b[:-1]
        if b.endswith(b"\r"):
            b = b[:-1]
        yield n, decode_go(b)


def _styles_rows(path: str) -> Iterator[RawRow]:
    csv_path = os.path.join(path, "styles.csv") if os.path.isdir(path) else path
    img_dir = os.path.join(os.path.dirname(csv_path), "images")
    with open(csv_path, "rb") as f:
        lines = _lines(f)
        header = None
        for _, line in lines:
            if go_trim(line) != "":
                header = line.removeprefix("\ufeff")
                break
        if header is None:
            raise ValueError(f"open catalog {csv_path}: styles.csv has no header line")
        cols = [go_trim(c).lower() for c in split_csv_line(header)]
        id_idx = cols.index("id") if "id" in cols else -1
        title_idx = next((i for i, c in enumerate(cols) if c in ("productdisplayname", "title")), -1)
        if id_idx < 0:
            raise ValueError(f"styles.csv header has no id column (got {header!r})")
        n = len(cols)
        for lineno, line in lines:
            if go_trim(line) == "":
                continue
            raw = RawRow(row=lineno)
            fields = split_csv_line(line)
            if id_idx < len(fields):
                raw.id = clean_text(fields[id_idx])
            if len(fields) > n:
                if title_idx != n - 1:
                    raw.reason, raw.detail = BAD_ROW, f"row has {len(fields)} fields, want {n}"
                    yield raw
                    continue
                fields = fields[:n - 1] + [",".join(fields[n - 1:])]
            if len(fields) < n:
                raw.reason, raw.detail = BAD_ROW, f"row has {len(fields)} fields, want {n}"
                yield raw
                continue
            reason, detail = check_id(raw.id)
            if reason:
                raw.reason, raw.detail = reason, detail
                yield raw
                continue
            if "/" in raw.id or "\\" in raw.id or raw.id in (".", ".."):
                raw.reason, raw.detail = BAD_ID, "id cannot name an image file"
                yield raw
                continue
            bad = False
            for i, v in enumerate(fields):
                col = cols[i]
                if i == id_idx:
                    continue
                if i == title_idx:
                    raw.title = clean_text(v)
                elif col == "description":
                    raw.description = clean_text(v)
                elif col == "price":
                    v = go_trim(v)
                    if v == "" or v.lower() in _PLACEHOLDERS:
                        continue
                    fv = parse_go_float(v)
                    if fv is None or not valid_price(fv):
                        raw.reason, raw.detail = BAD_PRICE, f"price {v!r} is not a non-negative number"
                        bad = True
                        break
            if not bad:
                raw.image_path = os.path.join(img_dir, raw.id + ".jpg")
            yield raw


# ---------------------------------------------------------------- JSON Lines

class _Num(str):
    """A JSON number kept as its literal text (Go's json.Number)."""


def _no_constant(s):
    raise ValueError(f"invalid JSON literal {s}")


def _json_scalar(v) -> tuple[str, bool]:
    if v is None:
        return "", True
    if isinstance(v, bool):
        return ("true" if v else "false"), True
    if isinstance(v, str):  # includes _Num
        return str(v), True
    return "", False


def _check_tags(v) -> str:
    """jsonTags' errors (tags do not matter for embedding, their errors do)."""
    if v is None:
        return ""
    if isinstance(v, (_Num, bool)):
        return "tags must be an object, a list or a string"
    if isinstance(v, dict):
        for k in sorted(v):
            e = v[k]
            if _json_scalar(e)[1]:
                continue
            if not isinstance(e, list):
                return f"tags: value of {k!r} must be a string or a list of strings"
        return ""
    if isinstance(v, list):
        for e in v:
            if _json_scalar(e)[1]:
                continue
            if not isinstance(e, dict) or not isinstance(e.get("key"), str) or e.get("key") == "":
                return 'tags: list elements must be strings or {"key","value"} objects'
        return ""
    if isinstance(v, str):
        return ""
    return "tags must be an object, a list or a string"


def decode_base64_image(s: str) -> Optional[bytes]:
    """decodeBase64Image; raises ValueError when not base64."""
    s = go_trim(s)
    if s.startswith("data:"):
        i = s.find(";base64,")
        if i < 0:
            raise ValueError("image data URL is not base64")
        s = s[i + len(";base64,"):]
    if s == "":
        return None
    for alt, pad in ((None, True), (None, False), (b"-_", True), (b"-_", False)):
        t = s
        if not pad:
            if "=" in t or len(t) % 4 == 1:
                continue
            t += "=" * (-len(t) % 4)
        try:
            return base64.b64decode(t, altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise ValueError("image is not valid base64")


def _fix_surrogates(v):
    if isinstance(v, _Num):
        return v
    if isinstance(v, str):
        return _SURROGATE_RUN.sub(lambda m: "\ufffd" * len(m.group()), v)
    if isinstance(v, list):
        return [_fix_surrogates(e) for e in v]
    if isinstance(v, dict):
        return {_fix_surrogates(k): _fix_surrogates(e) for k, e in v.items()}
    return v


def parse_json_line(line: str, lineno: int, folder: str) -> RawRow:
    raw = RawRow(row=lineno)
    try:
        obj = json.loads(line, parse_int=_Num, parse_float=_Num, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raw.reason, raw.detail = BAD_JSON, f"line {lineno}: {e}"
        return raw
    if not isinstance(obj, dict):
        raw.reason, raw.detail = BAD_JSON, f"line {lineno}: not one JSON object"
        return raw
    obj = _fix_surrogates(obj)
    fields = {}
    for k, v in obj.items():
        fields[go_trim(k).lower()] = v
    if "id" in fields:
        s, ok = _json_scalar(fields["id"])
        if not ok:
            raw.reason, raw.detail = BAD_ROW, "id must be a string or a number"
            return raw
        raw.id = go_trim(s)
    reason, detail = check_id(raw.id)
    if reason:
        raw.reason, raw.detail = reason, detail
        return raw
    for k in sorted(fields):
        v = fields[k]
        if k in ("title", "description", "brand"):
            s, ok = _json_scalar(v)
            if not ok:
                raw.reason, raw.detail = BAD_ROW, k + " must be a string"
                return raw
            if k == "title":
                raw.title = clean_text(s)
            elif k == "description":
                raw.description = clean_text(s)
        elif k == "price":
            s, ok = _json_scalar(v)
            if not ok:
                raw.reason, raw.detail = BAD_PRICE, "price must be a number"
                return raw
            s = go_trim(s)
            if s == "" or s.lower() in _PLACEHOLDERS:
                continue
            fv = parse_go_float(s)
            if fv is None or not valid_price(fv):
                raw.reason, raw.detail = BAD_PRICE, f"price {s!r} is not a non-negative number"
                return raw
        elif k == "tags":
            err = _check_tags(v)
            if err:
                raw.reason, raw.detail = BAD_ROW, err
                return raw
        elif k == "image":
            s, ok = _json_scalar(v)
            if not ok:
                raw.reason, raw.detail = BAD_IMAGE, "image must be a base64 string"
                return raw
            try:
                b = decode_base64_image(s)
            except ValueError as e:
                raw.reason, raw.detail = BAD_IMAGE, str(e)
                return raw
            if b:
                raw.image = b
        elif k == "image_uri":
            s, ok = _json_scalar(v)
            if not ok:
                raw.reason, raw.detail = BAD_ROW, "image_uri must be a string"
                return raw
            if raw.image is None:
                raw.image_ref(s, folder)
    if raw.image is not None:
        raw.image_path = raw.image_url = ""
    return raw


@dataclass
class LazyRow:
    """A JSON Lines row not parsed yet: the pipeline's workers parse it
    (parse_json_line), which keeps the parsing off the process that feeds
    the GPU. suffix is appended to the parsed id (--repeat)."""
    row: int
    line: str
    folder: str
    suffix: str = ""

    def parse(self) -> RawRow:
        raw = parse_json_line(self.line, self.row, self.folder)
        if self.suffix and raw.id:
            raw.id += self.suffix
        return raw


def _jsonl_lines(path: str) -> Iterator:
    """The JSON Lines file's rows as LazyRow, or a RawRow for a line the
    reader refuses before parsing."""
    folder = os.path.dirname(path)
    with open(path, "rb") as f:
        for lineno, line in _lines(f):
            if len(line) > MAX_LINE_BYTES:
                yield RawRow(row=lineno, reason=BAD_ROW, detail=f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            if go_trim(line) == "":
                continue
            yield LazyRow(row=lineno, line=line, folder=folder)


def _jsonl_rows(path: str) -> Iterator[RawRow]:
    for r in _jsonl_lines(path):
        yield r.parse() if isinstance(r, LazyRow) else r


# ---------------------------------------------------------------- Parquet

def _arrow_scalar(t, v) -> tuple[str, bool]:
    """arrowScalar on one Python value of arrow type t."""
    import pyarrow as pa
    if v is None:
        return "", True
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_nested(t):
        return "", False
    if isinstance(v, bool):
        return ("true" if v else "false"), True
    if isinstance(v, bytes):
        return decode_go(v), True
    if isinstance(v, float):
        if pa.types.is_float32(t):
            return _go_float_str(np.float32(v)), True
        return _go_float_str(v), True
    return str(v), True


def _go_float_str(f) -> str:
    """strconv.FormatFloat(f, 'g', -1, bits), for the common cases."""
    if isinstance(f, np.float32):
        r = np.format_float_positional(f, unique=True, trim="-") if 1e-4 <= abs(float(f)) < 1e21 or f == 0 \
            else np.format_float_scientific(f, unique=True, trim="-")
    else:
        r = repr(float(f))
        if r.endswith(".0"):
            r = r[:-2]
    if "e" in r:
        m, e = r.split("e")
        sign = "-" if e.startswith("-") else "+"
        e = e.lstrip("+-").lstrip("0") or "0"
        r = f"{m}e{sign}{int(e):02d}"
    return {"inf": "+Inf", "-inf": "-Inf", "nan": "NaN"}.get(r, r)


def _parquet_rows(path: str, batch_size: int = 1024) -> Iterator[RawRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    folder = os.path.dirname(path)
    pf = pq.ParquetFile(path)
    names = [n.lower().strip() for n in pf.schema_arrow.names]
    types = list(pf.schema_arrow.types)
    rowno = 0
    for rb in pf.iter_batches(batch_size=batch_size):
        cols = [rb.column(i).to_pylist() for i in range(rb.num_columns)]
        for i in range(rb.num_rows):
            rowno += 1
            raw = RawRow(row=rowno)
            bad = False
            for c, name in enumerate(names):
                if name == "id":
                    s, ok = _arrow_scalar(types[c], cols[c][i])
                    if ok:
                        raw.id = go_trim(s)
                    elif cols[c][i] is not None:
                        raw.reason, raw.detail = BAD_ROW, "id must be a string or an integer"
                        bad = True
            if bad:
                yield raw
                continue
            reason, detail = check_id(raw.id)
            if reason:
                raw.reason, raw.detail = reason, detail
                yield raw
                continue
            uri = ""
            for c, name in enumerate(names):
                t, v = types[c], cols[c][i]
                if v is None or name == "id":
                    continue
                if name in ("title", "description", "brand"):
                    s, ok = _arrow_scalar(t, v)
                    if not ok:
                        raw.reason, raw.detail = BAD_ROW, name + " must be a string"
                        bad = True
                        break
                    if name == "title":
                        raw.title = clean_text(s)
                    elif name == "description":
                        raw.description = clean_text(s)
                elif name == "price":
                    s, ok = _arrow_scalar(t, v)
                    s = go_trim(s)
                    if not ok:
                        raw.reason, raw.detail = BAD_PRICE, "price must be a number"
                        bad = True
                        break
                    if s == "" or s.lower() in _PLACEHOLDERS:
                        continue
                    fv = parse_go_float(s)
                    if fv is None or not valid_price(fv):
                        raw.reason, raw.detail = BAD_PRICE, f"price {s!r} is not a non-negative number"
                        bad = True
                        break
                elif name == "tags":
                    err = ""
                    if pa.types.is_map(t):
                        kt, it = t.key_type, t.item_type
                        if pa.types.is_nested(kt) or pa.types.is_nested(it):
                            err = "tags map must hold strings" if v else ""
                    elif pa.types.is_list(t) or pa.types.is_large_list(t):
                        if pa.types.is_nested(t.value_type) and v:
                            err = "tags list must hold strings"
                    elif pa.types.is_nested(t):
                        err = "tags must be a list<string>, a map<string,string> or a string"
                    if err:
                        raw.reason, raw.detail = BAD_ROW, err
                        bad = True
                        break
                elif name == "image":
                    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
                        if len(v) > 0:
                            raw.image = bytes(v)
                    elif pa.types.is_struct(t):
                        b = v.get("bytes")
                        p = v.get("path")
                        if isinstance(b, (bytes, bytearray)) and len(b) > 0:
                            raw.image = bytes(b)
                        elif isinstance(p, str) and p != "" and uri == "":
                            uri = p
                    else:
                        raw.reason, raw.detail = BAD_IMAGE, "image column must be binary"
                        bad = True
                        break
                elif name == "image_uri":
                    s, ok = _arrow_scalar(t, v)
                    if not ok:
                        raw.reason, raw.detail = BAD_ROW, "image_uri must be a string"
                        bad = True
                        break
                    if go_trim(s) != "":
                        uri = s
            if not bad and raw.image is None and uri != "":
                raw.image_ref(uri, folder)
            yield raw


def _trainset_rows(path: str, batch_size: int = 1024) -> Iterator[RawRow]:
    """The trainset Parquet (catalog/trainset.go): preprocessed pixels and the
    text embedding are taken as they are; nothing is decoded or tokenised."""
    import pyarrow.parquet as pq
    pf = pq.ParquetFile(path)
    names = [n.lower() for n in pf.schema_arrow.names]
    want = [n for n in ("id", "text", "image", "text_embedding") if n in names]
    rowno = 0
    for rb in pf.iter_batches(batch_size=batch_size, columns=[pf.schema_arrow.names[names.index(n)] for n in want]):
        d = {n: rb.column(i) for i, n in enumerate(want)}
        ids = d["id"].to_pylist()
        texts = d["text"].to_pylist() if "text" in d else [""] * len(ids)
        imgs = d["image"].to_pylist() if "image" in d else [None] * len(ids)
        emb = None
        if "text_embedding" in d:
            col = d["text_embedding"]
            emb = col.values.to_numpy(zero_copy_only=False).reshape(len(ids), -1) if col.null_count == 0 else None
            embl = None if emb is not None else col.to_pylist()
        for i, id_ in enumerate(ids):
            rowno += 1
            raw = RawRow(row=rowno, id=go_trim(str(id_)) if id_ is not None else "", title=texts[i] or "")
            reason, detail = check_id(raw.id)
            if reason:
                raw.reason, raw.detail = reason, detail
            elif imgs[i] is None or len(imgs[i]) != IMAGE_SIZE:
                raw.reason, raw.detail = BAD_IMAGE, f"preprocessed image of {0 if imgs[i] is None else len(imgs[i])} bytes, want {IMAGE_SIZE}"
            else:
                raw.pixels = bytes(imgs[i])
                if emb is not None:
                    raw.text_embedding = emb[i]
                elif "text_embedding" in d and embl[i] is not None:
                    raw.text_embedding = np.asarray(embl[i], dtype=np.float32)
            yield raw


# ---------------------------------------------------------------- images

def read_image_file(path: str) -> tuple[Optional[bytes], str, str]:
    """readImageFile: (bytes, reason, detail)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, MISSING_IMAGE, f"image file {path} does not exist"
    except OSError as e:
        return None, MISSING_IMAGE, f"open image: {e}"
    import stat as _stat
    if not _stat.S_ISREG(st.st_mode):
        return None, MISSING_IMAGE, f"image path {path} is not a regular file"
    if st.st_size > MAX_IMAGE_BYTES:
        return None, BAD_IMAGE, f"image file {path} is {st.st_size} bytes, more than {MAX_IMAGE_BYTES}"
    try:
        with open(path, "rb") as f:
            return f.read(MAX_IMAGE_BYTES + 1), "", ""
    except OSError as e:
        return None, MISSING_IMAGE, f"read image: {e}"


_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}


def decode_image(b: bytes):
    """Decode and verify like catalog.verifyImage + DecodeImage; returns
    (rgb float64 HxWx3 array composited over white, format) or raises
    ValueError. JPEG colour conversion follows Go's color.YCbCrToRGB (the
    decoders' chroma upsampling still differs by about one level)."""
    a, mode, fmt = decode_image_array(b)
    return stack_to_rgb(a[None], mode)[0].transpose(1, 2, 0), fmt


def to_rgb(im) -> np.ndarray:
    """toRGB for the modes stack_to_rgb does not take (16-bit grey, CMYK,
    palettes, alpha): HxWx3 float64 in [0, 255], composited over white as
    Go does with premultiplied 16-bit colours."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I"):
        a = np.asarray(im).astype(np.int64)
        a = (a >> 8) if a.max() > 255 else a
        return np.repeat(a[..., None].astype(np.float64), 3, axis=2)
    if mode == "CMYK":
        # Go: color.CMYK.RGBA: w = 0xffff - k*0x101; r = (0xffff - c*0x101) * w / 0xffff.
        a = np.asarray(im).astype(np.int64)
        w = 0xFFFF - a[..., 3] * 0x101
        rgb = (0xFFFF - a[..., :3] * 0x101) * w[..., None] // 0xFFFF
        return rgb.astype(np.float64) / 257
    a = np.asarray(im.convert("RGBA")).astype(np.int64)
    a16 = a[..., 3:4] * 0x101
    pre = a[..., :3] * 0x101 * a16 // 0xFFFF  # color.NRGBA.RGBA
    return (pre + (0xFFFF - a16)).astype(np.float64) / 257


def _box_taps(m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """boxWeights as padded (index, weight) arrays of shape [n, K]; padding
    taps have weight 0 and add exactly nothing."""
    out = []
    step = m / n
    for o in range(n):
        lo, hi = o * step, (o + 1) * step
        taps = []
        i = int(math.floor(lo))
        while i < m and i < hi:
            w = min(hi, i + 1) - max(lo, i)
            if w > 1e-12:
                taps.append((i, w / step))
            i += 1
        out.append(taps)
    k = max(len(t) for t in out)
    idx = np.zeros((n, k), dtype=np.int64)
    wts = np.zeros((n, k), dtype=np.float64)
    for o, taps in enumerate(out):
        for j, (i, w) in enumerate(taps):
            idx[o, j], wts[o, j] = i, w
    return idx, wts


_TAPS: dict = {}


def _taps(m: int, n: int):
    key = (m, n)
    t = _TAPS.get(key)
    if t is None:
        if len(_TAPS) > 256:
            _TAPS.clear()
        t = _TAPS[key] = _box_taps(m, n)
    return t


def _go_round(v: float) -> float:
    return math.floor(v + 0.5) if v >= 0 else math.ceil(v - 0.5)


try:
    import simplejpeg as _simplejpeg
except ImportError:  # PIL decodes instead
    _simplejpeg = None


def _decode_jpeg_fast(b: bytes):
    """A colour JPEG through libjpeg-turbo (simplejpeg) with box chroma
    upsampling, which is what Go's decoder does: an RGB uint8 array, or
    None for what it does not handle (grey, CMYK, damaged or oversized
    files go through PIL, which reports the error)."""
    try:
        h, w, cs, _ = _simplejpeg.decode_jpeg_header(b)
        if cs not in ("YCbCr", "RGB") or w <= 0 or h <= 0 or w * h > MAX_IMAGE_PIXELS:
            return None
        return _simplejpeg.decode_jpeg(b, colorspace="RGB", fastupsample=True)
    except ValueError:
        return None


def decode_image_array(b: bytes):
    """decode_image without the colour conversion: (array, mode, format),
    mode "YCbCr", "L" or "RGB" for a uint8 array, or "rgb" for an image
    already converted by to_rgb (rare modes)."""
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = None
    if len(b) == 0:
        raise ValueError("image is empty")
    if len(b) > MAX_IMAGE_BYTES:
        raise ValueError(f"image is {len(b)} bytes, more than {MAX_IMAGE_BYTES}")
    if b[:3] == b"\xff\xd8\xff" and _simplejpeg is not None:
        a = _decode_jpeg_fast(b)
        if a is not None:
            return a, "RGB", "jpeg"
    try:
        # A JPEG signature skips probing the other formats' plugins.
        im = Image.open(io.BytesIO(b), formats=("JPEG",) if b[:3] == b"\xff\xd8\xff" else None)
        fmt = _FORMATS.get(im.format or "")
        if fmt is None:
            raise ValueError(f"decode image header: image: unknown format {im.format}")
        w, h = im.size
        if w <= 0 or h <= 0:
            raise ValueError(f"image has size {w}x{h}")
        if w * h > MAX_IMAGE_PIXELS:
            raise ValueError(f"image of {w}x{h} pixels is too large")
        if fmt == "jpeg" and im.mode == "RGB":
            im.draft("YCbCr", im.size)
        im.load()
        if im.mode in ("YCbCr", "L", "RGB"):
            return np.asarray(im), im.mode, fmt
        return to_rgb(im), "rgb", fmt
    except ValueError:
        raise
    except Exception as e:  # PIL raises many types for broken data
        raise ValueError(f"decode image: {e}") from None


def stack_to_rgb(a: np.ndarray, mode: str) -> np.ndarray:
    """to_rgb on a stack [N,H,W(,C)] of one mode: float64 [N,3,H,W]. YCbCr
    follows color.YCbCrToRGB exactly, in int32 (the products stay below
    2^31), in place to spare temporaries."""
    if mode == "YCbCr":
        y = a[..., 0].astype(np.int32)
        y *= 0x10101
        cb = a[..., 1].astype(np.int32)
        cb -= 128
        cr = a[..., 2].astype(np.int32)
        cr -= 128
        out = np.empty((a.shape[0], 3) + a.shape[1:3], dtype=np.int32)
        r, g, b = out[:, 0], out[:, 1], out[:, 2]
        np.multiply(cr, 91881, out=r)
        r += y
        np.multiply(cb, -22554, out=g)
        g += y
        cr *= 46802
        g -= cr
        np.multiply(cb, 116130, out=b)
        b += y
        np.clip(out, 0, 0xFFFFFF, out=out)
        out >>= 16
        return out.astype(np.float64)
    if mode == "L":
        return np.repeat(a[:, None].astype(np.float64), 3, axis=1)
    if mode == "RGB":  # transpose the bytes, then widen: one float64 copy
        return np.ascontiguousarray(a.transpose(0, 3, 1, 2)).astype(np.float64)
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))  # "rgb": converted by to_rgb already


_DENSE: dict = {}


def _dense(m: int, n: int) -> np.ndarray:
    """boxWeights as an n x m matrix."""
    key = (m, n)
    w = _DENSE.get(key)
    if w is None:
        if len(_DENSE) > 256:
            _DENSE.clear()
        idx, wts = _taps(m, n)
        w = np.zeros((n, m))
        for o in range(n):
            for j in range(idx.shape[1]):
                w[o, idx[o, j]] += wts[o, j]
        _DENSE[key] = w
    return w


_BLOCKS: dict = {}


def _block(m: int, n: int):
    """(p, B) when boxWeights(m, n) is block diagonal with g equal p x q
    blocks (B: p x q, q = n/g), exactly equal; None otherwise."""
    key = (m, n)
    if key not in _BLOCKS:
        w = _dense(m, n)  # [n, m]
        g = math.gcd(m, n)
        p, q = m // g, n // g
        blk = None
        if g > 1 and np.array_equal(w, np.kron(np.eye(g), w[:q, :p])):
            blk = (p, np.ascontiguousarray(w[:q, :p].T))
        if len(_BLOCKS) > 256:
            _BLOCKS.clear()
        _BLOCKS[key] = blk
    return _BLOCKS[key]


def _scale_last(a: np.ndarray, m: int, n: int) -> np.ndarray:
    """The box filter along a's last axis, m -> n values, float64.

    When no output covers more than two source values (any reduction down
    to 2:1, the catalogue's 80 -> 64 and 60 -> 48 included), it runs as one
    matrix product, over one repeating block when the weights repeat: a sum
    of two products and exact zeros, which gave Go's bytes on every image
    compared (2,000 fashion-small images, 18.4M bytes). Larger reductions
    sum tap by tap in Go's order instead, because BLAS's order would round
    some exact halves the other way."""
    lead = a.shape[:-1]
    idx, wts = _taps(m, n)
    if idx.shape[1] <= 2:
        blk = _block(m, n)
        if blk is not None:
            p, b = blk
            return (a.reshape(-1, p) @ b).reshape(*lead, n)
        return (a.reshape(-1, m) @ _dense(m, n).T).reshape(*lead, n)
    out = np.zeros(lead + (n,), dtype=np.float64)
    for j in range(idx.shape[1]):  # Go's order: tap by tap from zero
        out += wts[:, j] * a[..., idx[:, j]]
    return out


def preprocess_stack(rgb: np.ndarray) -> np.ndarray:
    """preprocess_rgb on a stack [N,3,H,W] of same-size images, as two
    matrix products: uint8 [N,3,IMAGE_H,IMAGE_W]. The sums run in BLAS
    order rather than Go's tap order; on 2,000 fashion-small images that
    changed no byte (18.4M compared), and a unit test holds it to
    preprocess_rgb."""
    n, _, sh, sw = rgb.shape
    if sw <= 0 or sh <= 0:
        raise ValueError(f"preprocess image: empty image {sw}x{sh}")
    scale = min(IMAGE_W / sw, IMAGE_H / sh)
    dw = max(1, min(IMAGE_W, int(_go_round(sw * scale))))
    dh = max(1, min(IMAGE_H, int(_go_round(sh * scale))))
    ox, oy = (IMAGE_W - dw) // 2, (IMAGE_H - dh) // 2
    # Each pass is one large matrix product over all rows of the stack,
    # which BLAS runs far faster than many small per-image products; when
    # the weights repeat in blocks (80 -> 64 is 5 -> 4 sixteen times) the
    # product runs over one block.
    tmp = _scale_last(np.ascontiguousarray(rgb), sw, dw)                    # [N,3,sh,dw]
    tmp = np.ascontiguousarray(tmp.transpose(0, 1, 3, 2))                   # [N,3,dw,sh]
    acc = _scale_last(tmp, sh, dh).transpose(0, 1, 3, 2)                    # [N,3,dh,dw]
    frame = np.full((n, 3, IMAGE_H, IMAGE_W), 255, dtype=np.uint8)
    frame[:, :, oy:oy + dh, ox:ox + dw] = np.floor(np.clip(acc, 0, 255) + 0.5).astype(np.uint8)
    return frame


def preprocess_rgb(src: np.ndarray) -> bytes:
    """encoder.PreprocessImage on an HxWx3 float64 image: the same weights
    summed in the same order, so the bytes match Go's."""
    sh, sw = src.shape[:2]
    if sw <= 0 or sh <= 0:
        raise ValueError(f"preprocess image: empty image {sw}x{sh}")
    scale = min(IMAGE_W / sw, IMAGE_H / sh)
    dw = max(1, min(IMAGE_W, int(_go_round(sw * scale))))
    dh = max(1, min(IMAGE_H, int(_go_round(sh * scale))))
    ox, oy = (IMAGE_W - dw) // 2, (IMAGE_H - dh) // 2
    ix, wx = _taps(sw, dw)
    iy, wy = _taps(sh, dh)
    tmp = np.zeros((sh, dw, 3), dtype=np.float64)
    for j in range(ix.shape[1]):  # horizontal pass, tap by tap
        tmp += wx[None, :, j, None] * src[:, ix[:, j], :]
    acc = np.zeros((dh, dw, 3), dtype=np.float64)
    for j in range(iy.shape[1]):  # vertical pass
        acc += wy[:, j, None, None] * tmp[iy[:, j], :, :]
    # math.Round: half away from zero (values are >= 0 here).
    v = np.floor(np.clip(acc, 0, 255) + 0.5)
    frame = np.full((IMAGE_H, IMAGE_W, 3), 255, dtype=np.uint8)
    frame[oy:oy + dh, ox:ox + dw] = v.astype(np.uint8)
    return np.ascontiguousarray(frame.transpose(2, 0, 1)).tobytes()


@dataclass
class Loaded:
    """A row after its image was loaded: pixels on success, else a reason."""
    row: int
    id: str
    text: str
    pixels: Optional[bytes] = None
    text_embedding: Optional[np.ndarray] = None
    reason: str = ""
    detail: str = ""
    fmt: str = ""


def _image_bytes(raw: RawRow, known: frozenset) -> tuple[Loaded, Optional[bytes]]:
    """The first half of load_row: the row's outcome so far and the image
    bytes still to decode (None when the row is settled)."""
    out = Loaded(row=raw.row, id=raw.id, text=raw.text)
    if raw.reason:
        out.reason, out.detail = raw.reason, raw.detail
        return out, None
    if raw.pixels is not None:
        out.pixels, out.text_embedding = raw.pixels, raw.text_embedding
        return out, None
    if raw.id in known:
        out.pixels = b""
        return out, None
    b = raw.image
    if b is None:
        if raw.image_path:
            b, reason, detail = read_image_file(raw.image_path)
            if b is None:
                out.reason, out.detail = reason, detail
                return out, None
        elif raw.image_url:
            out.reason, out.detail = MISSING_IMAGE, f"remote image {raw.image_url} not fetched (remote fetching is off)"
            return out, None
        else:
            out.reason, out.detail = MISSING_IMAGE, "row has no image or image_uri"
            return out, None
    return out, b


def load_row(raw: RawRow, known: frozenset = frozenset()) -> Loaded:
    """Reader.loadImage + PreprocessImage for one parsed row. Ids in known
    (rows of shards already written) skip decoding."""
    out, b = _image_bytes(raw, known)
    if b is None:
        return out
    try:
        rgb, out.fmt = decode_image(b)
        out.pixels = preprocess_rgb(rgb)
    except ValueError as e:
        out.reason, out.detail = BAD_IMAGE, str(e)
    return out


def load_rows(raws: list, known: frozenset = frozenset()) -> list:
    """load_row over a chunk, with the pixel work batched: images of one
    size and colour model are converted and scaled as one array (see
    preprocess_stack), at a fraction of numpy's per-image call cost."""
    outs, groups = [], {}
    for raw in raws:
        out, b = _image_bytes(raw, known)
        outs.append(out)
        if b is None:
            continue
        try:
            arr, mode, out.fmt = decode_image_array(b)
        except ValueError as e:
            out.reason, out.detail = BAD_IMAGE, str(e)
            continue
        groups.setdefault((arr.shape, mode), []).append((len(outs) - 1, arr))
    for (shape, mode), items in groups.items():
        stack = np.stack([a for _, a in items])
        try:
            frames = preprocess_stack(stack_to_rgb(stack, mode))
        except ValueError as e:
            for i, _ in items:
                outs[i].reason, outs[i].detail = BAD_IMAGE, str(e)
            continue
        for (i, _), f in zip(items, frames):
            outs[i].pixels = f.tobytes()
    return outs
