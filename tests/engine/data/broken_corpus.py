"""A corpus of broken data files, written by code (no binaries in the repository).

Each `Case` writes its files into a folder of its own and returns the project's dataset
spec (paths relative to that folder, as a project file holds them). It also says what a
person must read in the error: the file the message names, a pattern in the message, and
the place (`DataError.where`: ``row 7``, ``key 'y'``, ``emu/x.png``) when there is one.

`write_corpus(root)` writes every case; the `broken_corpus` fixture does it once per test
session. Object arrays are saved with pickles on purpose: loading must refuse them.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PIL import Image

Spec = dict[str, Any]


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # npz, csv, images, idx
    make: Callable[[Path], Spec]
    needle: str  # a regular expression the message matches
    names: str  # the file or folder name the message must show
    where: str | None = None  # DataError.where, exactly
    task: str = "classification"


CASES: list[Case] = []


def case(kind: str, id: str, needle: str, names: str, where: str | None = None,
         task: str = "classification") -> Callable[[Callable[[Path], Spec]], None]:
    def register(make: Callable[[Path], Spec]) -> None:
        CASES.append(Case(f"{kind}-{id}", kind, make, needle, names, where, task))
    return register


# ---- NPZ -------------------------------------------------------------------------------

X4 = np.zeros((4, 3), np.float32)
Y4 = np.array([0, 1, 0, 1])


def npz_case(id: str, needle: str, where: str | None = None, task: str = "classification",
             spec: Spec | None = None, **arrays: Any) -> None:
    name = f"{id}.npz"

    def make(folder: Path) -> Spec:
        np.savez(folder / name, **arrays)  # object arrays are pickled: loading must refuse
        return {"path": name, **(spec or {})}
    case("npz", id, needle, name, where, task)(make)


def npz_bytes_case(id: str, needle: str, data: Callable[[], bytes]) -> None:
    name = f"{id}.npz"

    def make(folder: Path) -> Spec:
        (folder / name).write_bytes(data())
        return {"path": name}
    case("npz", id, needle, name)(make)


def good_npz_bytes(compressed: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, x=np.arange(60.0).reshape(20, 3),
                                                      y=np.arange(20) % 2)
    return buf.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def patch_central(data: bytes, offset: int, value: bytes) -> bytes:
    """Overwrite a field of every central-directory entry of a zip (the entry's flags at
    offset 8, its compression method at 10)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        out[at + offset: at + offset + len(value)] = value
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0xFF
    return bytes(out)


# missing keys
npz_case("only-x", r"has no array 'y' \(it holds: x\)", "key 'y'", x=X4)
npz_case("only-y", r"has no array 'x' \(it holds: y\)", "key 'x'", y=Y4)
npz_case("no-arrays", r"has no array 'x' \(it holds: nothing\)", "key 'x'")
npz_case("other-names", r"has no array 'x' \(it holds: images, labels\)", "key 'x'",
         images=X4, labels=Y4)
npz_case("custom-x-key-missing", r"has no array 'pixels'", "key 'pixels'",
         spec={"x_key": "pixels"}, x=X4, y=Y4)
npz_case("custom-y-key-missing", r"has no array 'target'", "key 'target'",
         spec={"y_key": "target"}, x=X4, y=Y4)
# wrong dtypes in x
for _id, _x in {
    "x-strings": np.array([["a", "b"], ["c", "d"]]),
    "x-bytes": np.array([[b"a", b"b"], [b"c", b"d"]]),
    "x-complex64": np.ones((2, 2), np.complex64),
    "x-complex128": np.ones((2, 2), np.complex128),
    "x-datetime": np.array([["2024-01-01"], ["2024-01-02"]], dtype="datetime64[D]"),
    "x-timedelta": np.ones((2, 2), "timedelta64[s]"),
    "x-structured": np.zeros((2, 2), dtype=[("a", "<i4"), ("b", "<f4")]),
    "x-void": np.zeros((2, 2), dtype="V8"),
}.items():
    npz_case(_id, r"array 'x' holds .*, not numbers", "key 'x'", x=_x, y=np.array([0, 1]))
for _id, _x in {
    "x-object-dicts": np.array([{"a": 1}, None], dtype=object),
    "x-object-ragged": np.array([np.zeros(2), np.zeros(3)], dtype=object),
    "x-object-numbers": np.array([[1, 2], [3, 4]], dtype=object),
    "x-object-field": np.zeros(2, dtype=[("a", "<f4"), ("b", "O")]),
}.items():
    npz_case(_id, r"array 'x' holds Python objects, which are never loaded", "key 'x'",
             x=_x, y=np.array([0, 1]))
# wrong dtypes and shapes in y
npz_case("y-object", r"array 'y' holds Python objects", "key 'y'",
         x=X4, y=np.array([0, "1", 0.5, None], dtype=object))
npz_case("y-complex", r"labels must be whole numbers or class names, got complex", "key 'y'",
         x=X4, y=np.array([0, 1, 0, 1], np.complex64))
npz_case("y-complex-regression", r"labels must be numbers for loss mse, got complex",
         "key 'y'", task="regression", x=X4, y=np.ones(4, np.complex128))
npz_case("y-datetime", r"labels must be whole numbers or class names, got datetime64",
         "key 'y'", x=X4, y=np.array(["2024-01-01"] * 4, dtype="datetime64[D]"))
npz_case("y-structured", r"labels must be whole numbers or class names", "key 'y'",
         x=X4, y=np.zeros(4, dtype=[("a", "<i4")]))
npz_case("y-one-hot", r"labels must be one class per sample \(shape \[n\]\), got shape \[4, 2\]",
         "key 'y'", x=X4, y=np.eye(2)[Y4])
npz_case("y-single-class", r"every sample has the same label \(3\)", "key 'y'",
         x=X4, y=np.full(4, 3))
npz_case("y-text-regression", r"labels must be numbers for loss mse, got text such as 'cat'",
         "key 'y'", task="regression", x=X4, y=np.array(["cat", "dog", "cat", "dog"]))
for _at in (0, 2):
    _y = np.array([0.0, 1.0, 0.0, 1.0])
    _y[_at] = 0.5
    npz_case(f"y-float-{_at}", rf"label 0.5 of sample {_at} is not a whole number", "key 'y'",
             x=X4, y=_y)
npz_case("y-huge-whole", r"label 1e\+20 of sample 1 is too large", "key 'y'",
         x=X4, y=np.array([0.0, 1e20, 0.0, 1.0]))
# NaN and infinity in x and y
for _value, _word in ((np.nan, "nan"), (np.inf, "inf"), (-np.inf, "neginf")):
    for _at in (0, 2, 4):
        _x = np.zeros((5, 2, 3))
        _x[_at, 1, 2] = _value
        npz_case(f"x-{_word}-{_at}", rf"sample {_at} of 'x' holds NaN or infinity", "key 'x'",
                 x=_x, y=np.arange(5) % 2)
npz_case("x-nan-float16", r"sample 1 of 'x' holds NaN or infinity", "key 'x'",
         x=np.array([[0, 1], [np.nan, 2]], np.float16), y=np.array([0, 1]))
npz_case("x-too-large-for-float32", r"sample 2 of 'x' holds .*too large for float32",
         "key 'x'", x=np.array([[0.0], [1.0], [1e300], [2.0]]), y=Y4)
for _value, _word in ((np.nan, "nan"), (np.inf, "inf")):
    npz_case(f"y-{_word}", r"label of sample 2 is NaN or infinite", "key 'y'",
             x=X4, y=np.array([0.0, 1.0, _value, 1.0]))
    npz_case(f"y-{_word}-regression", r"label of sample 1 is NaN or infinite", "key 'y'",
             task="regression", x=X4, y=np.array([0.5, _value, 0.0, 1.0]))
# lengths and empty or shapeless arrays
for _nx, _ny in ((5, 4), (4, 5), (1, 10), (10, 0)):
    npz_case(f"length-{_nx}-{_ny}", rf"'x' has {_nx} samples but 'y' has {_ny}",
             x=np.zeros((_nx, 3)), y=np.arange(_ny) % 2)
npz_case("empty", r"holds no samples", x=np.zeros((0, 3)), y=np.zeros(0, np.int64))
npz_case("x-empty-1d", r"array 'x' has shape \[0\]", "key 'x'",
         x=np.zeros(0), y=np.zeros(0, np.int64))
npz_case("x-empty-samples", r"samples of 'x' hold nothing \(shape \[5, 0\]\)", "key 'x'",
         x=np.zeros((5, 0)), y=np.arange(5) % 2)
npz_case("x-0d", r"array 'x' has shape \[\]", "key 'x'", x=np.array(1.0), y=Y4)
npz_case("y-0d", r"array 'y' is a single value", "key 'y'", x=X4, y=np.array(3))
npz_case("both-0d", r"array 'x' has shape \[\]", "key 'x'", x=np.array(1.0), y=np.array(3))
npz_case("x-1d", r"array 'x' has shape \[4\]", "key 'x'", x=np.arange(4.0), y=Y4)
# damaged archives
for _cut in (10, 200, -23, -1):
    npz_bytes_case(f"truncated-{_cut}", r"is not a readable \.npz archive",
                   lambda c=_cut: good_npz_bytes()[:c])
npz_bytes_case("truncated-compressed", r"is not a readable \.npz archive",
               lambda: good_npz_bytes(True)[:-30])
npz_bytes_case("bad-crc", r"is not a readable \.npz archive", lambda: flip(good_npz_bytes(), 200))
npz_bytes_case("bad-deflate", r"is not a readable \.npz archive",
               lambda: flip(good_npz_bytes(True), 120))
npz_bytes_case("zip-of-text", r"has no array 'x' \(it holds: readme\.txt\)",
               lambda: zip_of({"readme.txt": b"hello"}))
npz_bytes_case("member-not-npy", r"array 'x' is not a NumPy array",
               lambda: zip_of({"x.npy": b"not an array at all", "y.npy": npy(Y4)}))
npz_bytes_case("member-bad-header", r"array 'x' is not a NumPy array",
               lambda: zip_of({"x.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8, 'sh",
                               "y.npy": npy(Y4)}))
npz_bytes_case("encrypted", r"array 'x' is encrypted",
               lambda: patch_central(good_npz_bytes(), 8, b"\x01\x00"))
npz_bytes_case("unknown-compression", r"array 'x' is packed with zip method 99",
               lambda: patch_central(good_npz_bytes(), 10, b"\x63\x00"))
npz_bytes_case("zero-bytes", r"is not a readable \.npz archive|is empty", lambda: b"")
npz_bytes_case("text", r"is not a readable \.npz archive", lambda: b"x,y\n1,2\n")
npz_bytes_case("single-npy", r"holds one array \(an \.npy file\)", lambda: npy(X4))
npz_bytes_case("pickle", r"is not a readable \.npz archive",
               lambda: b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e.")
for _id, _shape in {"huge-2d": (10**6, 10**6), "huge-overflow": (2**62, 2**62),
                    "huge-50k": (50_000, 50_000)}.items():
    npz_bytes_case(_id, r"array 'x' declares shape .* but holds only",
                   lambda s=_shape: zip_of({"x.npy": npy_header(s) + bytes(64),
                                            "y.npy": npy(Y4)}))
npz_bytes_case("header-lies-y", r"array 'y' declares shape \[4000000\]",
               lambda: zip_of({"x.npy": npy(X4), "y.npy": npy_header((4_000_000,), "<i8")}))


# ---- CSV -------------------------------------------------------------------------------


def csv_case(id: str, content: str | bytes, needle: str, where: str | None = None,
             task: str = "classification", spec: Spec | None = None,
             suffix: str = ".csv") -> None:
    name = f"{id}{suffix}"

    def make(folder: Path) -> Spec:
        data = content.encode() if isinstance(content, str) else content
        (folder / name).write_bytes(data)
        return {"path": name, **(spec or {})}
    case("csv", id, needle, name, where, task)(make)


GOOD_ROWS = "".join(f"{i},{i * 0.5},{i % 2}\n" for i in range(12))
HEAD = "a,b,target\n"


def rows_with(line_no: int, row: str) -> str:
    """The good table with the line at `line_no` (1 = the header) replaced by `row`."""
    lines = (HEAD + GOOD_ROWS).splitlines(keepends=True)
    lines[line_no - 1] = row + "\n"
    return "".join(lines)


for _line, _row, _n in ((2, "1,2", 2), (6, "1", 1), (3, "1,2,0,4", 4), (13, "1,2,1,,", 5)):
    csv_case(f"ragged-row-{_line}-{_n}", rows_with(_line, _row),
             rf"has {_n} cells but the header has 3", f"row {_line}")
for _line, _row, _col, _text in ((2, "abc,1,0", "a", "abc"), (7, "1,x2,1", "b", "x2"),
                                 (13, "1,0x10,1", "b", "0x10"), (4, "1,2.3.4,0", "b", "2.3.4")):
    csv_case(f"text-row-{_line}", rows_with(_line, _row),
             rf"column '{_col}' holds '{_text}', which is not a number", f"row {_line}")
for _id, _cell in {"nan": "nan", "NaN": "NaN", "empty": "", "NA": "NA", "null": "null"}.items():
    csv_case(f"missing-{_id}", rows_with(5, f"1,{_cell},0"), r"column 'b' is empty or NaN",
             "row 5")
for _id, _cell in {"inf": "inf", "neg-inf": "-inf", "Infinity": "Infinity",
                   "overflow": "1e999"}.items():
    csv_case(f"infinite-{_id}", rows_with(8, f"{_cell},1,1"),
             r"column 'a' holds an infinite value", "row 8")
csv_case("too-large-for-float32", rows_with(9, "1e39,1,0"),
         r"column 'a' holds 1e\+39, too large for float32", "row 9")
for _content, _id in (("", "empty"), ("   \n\n \t\n", "blank"), ("\ufeff", "bom-only"),
                      ("\r\n\r\n", "crlf-only")):
    csv_case(_id, _content, r"is empty: a CSV needs a header row and data rows")
csv_case("header-only", HEAD, r"has a header but no data rows")
csv_case("header-then-blank", HEAD + "\n\n   \n", r"has a header but no data rows")
csv_case("header-then-commas", HEAD + ",,\n , ,\n", r"has a header but no data rows")
csv_case("only-commas", ",,,\n,,,\n", r"the header names no columns", "row 1")
csv_case("bom-header-only", "\ufeff" + HEAD, r"has a header but no data rows")
csv_case("bom-no-target", "\ufeffa,b,label\n1,2,0\n",
         r"has no column 'target' \(columns: a, b, label\)", "row 1")
csv_case("bom-ragged", "\ufeff" + rows_with(4, "1"), r"has 1 cells but the header has 3",
         "row 4")
csv_case("semicolons-decimal-comma", "a;b;target\n1;2;0\n1,5;2;1\n",
         r"column 'a' holds '1,5', which is not a number", "row 3")
csv_case("semicolons-comma-row", "a;b;target\n1;2;0\n3,4,1\n",
         r"has 1 cells but the header has 3", "row 3")
csv_case("semicolons-no-target", "a;b;label\n1;2;0\n", r"has no column 'target'", "row 1")
csv_case("no-target", "a,b,label\n1,2,0\n3,4,1\n",
         r"has no column 'target' \(columns: a, b, label\)", "row 1")
csv_case("named-target-missing", HEAD + GOOD_ROWS, r"has no column 'species'", "row 1",
         spec={"target": "species"})
csv_case("only-target", "target\n0\n1\n", r"has no feature columns besides the label")
for _id, _label, _needle in (("nan", "nan", "column 'target' is empty or NaN"),
                             ("empty", "", "column 'target' is empty: every row needs a label"),
                             ("inf", "inf", "^label is NaN or infinite"),
                             ("float", "0.5", "^label 0.5 is not a whole number"),
                             ("huge", "1e300", "^label 1e\\+300 is too large")):
    csv_case(f"label-{_id}", rows_with(6, f"1,2,{_label}"), _needle, "row 6")
csv_case("label-empty-among-names", "a,target\n1,cat\n2,dog\n3,\n4,cat\n",
         r"column 'target' is empty", "row 4")
csv_case("label-text-regression", "a,target\n1,0.5\n2,1.5\n3,big\n",
         r"labels must be numbers for loss mse, got text such as 'big'", "row 4",
         task="regression")
csv_case("label-single-class", "a,target\n1,7\n2,7\n3,7\n", r"every sample has the same label")
csv_case("crlf-quoted-text", '"a","b","target"\r\n"1","2","0"\r\n"3","x y","1"\r\n',
         r"column 'b' holds 'x y', which is not a number", "row 3")
csv_case("crlf-quoted-ragged", '"a","b","target"\r\n"1","2","0"\r\n"3","1"\r\n',
         r"has 2 cells but the header has 3", "row 3")
csv_case("quoted-newline-then-text", 'a,b,target\n1,"2\n3",0\n4,zz,1\n',
         r"column 'b' holds '2\\n3', which is not a number", "row 2")
csv_case("unclosed-quote-huge", 'a,b,target\n1,2,0\n"3,4,1\n' + "5,6,1\n" * 30_000,
         r"a quoted cell never ends|is not a readable CSV", "row 3")
csv_case("nul-bytes", b"a,b,target\n1,\x002,0\n", r"column 'b' holds '\\x002'", "row 2")
csv_case("binary", bytes(range(256)) * 4, r"is not UTF-8 text")
csv_case("utf16", "a,b,target\n1,2,0\n".encode("utf-16"), r"is not UTF-8 text")
csv_case("latin1", "a,b,target\n1,2,caf\u00e9\n".encode("latin-1"), r"is not UTF-8 text")
csv_case("png-named-csv", b"\x89PNG\r\n\x1a\n" + bytes(40), r"is not UTF-8 text")
csv_case("gzip-truncated", gzip.compress((HEAD + GOOD_ROWS).encode())[:-12],
         r"is not a readable gzip file", suffix=".csv.gz")
csv_case("gzip-bad-deflate", flip(gzip.compress((HEAD + GOOD_ROWS).encode() * 20), 30),
         r"is not a readable gzip file", suffix=".csv.gz")
csv_case("gzip-of-text-error", gzip.compress(rows_with(5, "1,oops,0").encode()),
         r"column 'b' holds 'oops'", "row 5", suffix=".csv.gz")
csv_case("gzip-named-but-plain", rows_with(3, "q,1,0"), r"column 'a' holds 'q'", "row 3",
         suffix=".csv.gz")
csv_case("tsv-text", "a\tb\ttarget\n1\t2\t0\n3\tzz\t1\n", r"column 'b' holds 'zz'", "row 3",
         suffix=".tsv")


# ---- image folders ---------------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (12, 10), colour: tuple[int, int, int] = (200, 30, 60),
              mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour if mode == "RGB" else 128).save(buf, "PNG")
    return buf.getvalue()


def image_case(id: str, files: dict[str, bytes | None], needle: str, names: str,
               where: str | None = None, spec: Spec | None = None) -> None:
    """`files`: paths under the folder `id` (None: an empty sub-folder)."""

    def make(folder: Path) -> Spec:
        root = folder / id
        root.mkdir()
        for rel, data in files.items():
            target = root / rel
            if data is None:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return {"path": id, **(spec or {})}
    case("images", id, needle, names, where)(make)


def noise_png() -> bytes:
    """A PNG whose pixel data is long enough to cut in the middle."""
    buf = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


GOOD_CATS = {f"cat/{i}.png": png_bytes(colour=(i * 40, 10, 10)) for i in range(3)}
NOISE = noise_png()
for _id, _data in {"zero-byte": b"", "truncated-8": NOISE[:8], "truncated-33": NOISE[:33],
                   "truncated-half": NOISE[:len(NOISE) // 2],
                   "text": b"I am not a picture", "html": b"<html>404 Not Found</html>",
                   "jpeg-header-only": b"\xff\xd8\xff\xe0" + bytes(12)}.items():
    image_case(f"only-image-{_id}", {**GOOD_CATS, "emu/x.png": _data},
               r"class folder 'emu' has no readable image: emu/x\.png cannot be decoded",
               "x.png", "emu/x.png")
image_case("class-of-broken-images", {**GOOD_CATS, "dog/a.png": b"", "dog/b.jpg": b"zz",
                                      "dog/c.gif": png_bytes()[:20]},
           r"class folder 'dog' has no readable image: dog/a\.png cannot be decoded \(.+\) and 2 "
           "more", "a.png", "dog/a.png")
image_case("single-class", GOOD_CATS, r"at least two, each with images; found 1 \(cat\)",
           "single-class")
image_case("single-class-nested", {"cat/in/deep.png": png_bytes()},
           r"at least two.*found 1 \(cat\)", "single-class-nested")
image_case("empty-folder", {}, r"is empty: an image dataset needs one sub-folder per class",
           "empty-folder")
image_case("empty-class-folders", {"cat": None, "dog": None}, r"found 0 \(none\)",
           "empty-class-folders")
image_case("no-images", {"cat/a.txt": b"x", "dog/b.csv": b"1,2"},
           r"found 0 \(none\); 2 files without an image extension were ignored", "no-images")
image_case("one-class-empty", {**GOOD_CATS, "dog": None}, r"found 1 \(cat\)",
           "one-class-empty")
image_case("images-not-in-class-folders", {"a.png": png_bytes(), "b.png": png_bytes()},
           r"found 0 \(none\); the 2 images directly in it belong in class sub-folders",
           "images-not-in-class-folders")
image_case("hidden-folders-only", {".cat/a.png": png_bytes(), ".dog/b.png": png_bytes()},
           r"found 0 \(none\)", "hidden-folders-only")


def bomb_png() -> bytes:
    """A valid PNG header declaring 30000 x 30000 pixels: Pillow refuses it unread."""
    data = bytearray(png_bytes((1, 1)))
    data[16:24] = struct.pack(">II", 30_000, 30_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # the IHDR chunk's CRC
    return bytes(data)


image_case("only-image-bomb", {**GOOD_CATS, "emu/big.png": bomb_png()},
           r"declares 900\.0 megapixels, more than 100\.0 megapixels, the limit per image; .*"
           "TORCHLOOM_MAX_IMAGE_PIXELS",
           "big.png", "emu/big.png")


# ---- IDX -------------------------------------------------------------------------------

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    head = struct.pack(">BBBB", 0, 0, IDX_CODES[array.dtype], array.ndim)
    head += b"".join(struct.pack(">I", d) for d in array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


IMAGES = (np.arange(10 * 6 * 6) % 251).astype(np.uint8).reshape(10, 6, 6)
LABELS = (np.arange(10) % 3).astype(np.uint8)
IMG_NAME, LAB_NAME = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


def idx_case(id: str, needle: str, images: bytes | None = None, labels: bytes | None = None,
             bad: str = "images", spec: Spec | None = None, gz: bool = False) -> None:
    """`bad`: which file the message names: "images", "labels", or a file name."""
    suffix = ".gz" if gz else ""
    img_name, lab_name = f"{id}-images-idx3-ubyte{suffix}", f"{id}-labels-idx1-ubyte{suffix}"

    def make(folder: Path) -> Spec:
        for name, data in ((img_name, images), (lab_name, labels)):
            raw = idx_bytes(IMAGES if name == img_name else LABELS) if data is None else data
            if gz and data is None:
                raw = gzip.compress(raw)
            (folder / name).write_bytes(raw)
        return {"path": img_name, **(spec or {})}
    names = {"images": img_name, "labels": lab_name}.get(bad, bad)
    case("idx", id, needle, names)(make)


for _id, _head in {"magic-first-byte": b"\x08\x00\x08\x03",
                   "magic-second-byte": b"\x00\x01\x08\x03",
                   "type-0x07": b"\x00\x00\x07\x03", "type-0xff": b"\x00\x00\xff\x03",
                   "type-0x0a": b"\x00\x00\x0a\x03", "ndim-0": b"\x00\x00\x08\x00",
                   "png": b"\x89PNG"}.items():
    idx_case(_id, r"is not an IDX file \(wrong magic number\)", _head + bytes(200))
idx_case("wrong-magic-labels", r"is not an IDX file", labels=b"\x01\x02\x03\x04" + bytes(20),
         bad="labels")
idx_case("zero-bytes", r"is not an IDX file|is empty", b"")
idx_case("three-bytes", r"is not an IDX file", b"\x00\x00\x08")
idx_case("short-header", r"is too short to hold its own header", b"\x00\x00\x08\x03" + bytes(6))
for _cut in (17, 100, 300):
    idx_case(f"cut-at-{_cut}", rf"is cut short: {_cut} bytes where its header promises 376",
             idx_bytes(IMAGES)[:_cut])
idx_case("labels-cut", r"is cut short", labels=idx_bytes(LABELS)[:12], bad="labels")
idx_case("huge-dims", r"is cut short: 216 bytes where its header promises",
         struct.pack(">BBBBIII", 0, 0, 8, 3, 2**31, 2**31, 2**31) + bytes(200))
idx_case("more-labels", r"has 10 images but .* has 11 labels",
         labels=idx_bytes(np.arange(11, dtype=np.uint8) % 3))
idx_case("fewer-labels", r"has 10 images but .* has 4 labels",
         labels=idx_bytes(np.arange(4, dtype=np.uint8) % 3))
idx_case("labels-missing", r"no such file", spec={"labels": "nope-labels-idx1-ubyte"},
         bad="nope-labels-idx1-ubyte")


@case("idx", "no-labels-named", r"name the labels file in dataset\.labels", "pixels.idx")
def _no_labels_named(folder: Path) -> Spec:
    (folder / "pixels.idx").write_bytes(idx_bytes(IMAGES))
    return {"path": "pixels.idx"}



idx_case("labels-2d", r"labels must be one class per sample", labels=idx_bytes(IMAGES),
         bad="labels")
idx_case("labels-single-class", r"every sample has the same label",
         labels=idx_bytes(np.zeros(10, np.uint8)), bad="labels")
idx_case("labels-float-nan", r"label of sample 3 is NaN or infinite",
         labels=idx_bytes(np.array([0, 1, 2, np.nan, 0, 1, 2, 0, 1, 2], np.float32)),
         bad="labels")
for _id, _value in {"nan": np.nan, "inf": np.inf}.items():
    _imgs = np.zeros((10, 4, 4), np.float32)
    _imgs[6, 2, 1] = _value
    idx_case(f"images-{_id}", r"image 6 holds NaN or infinity", idx_bytes(_imgs))
idx_case("no-images", r"holds no images", idx_bytes(np.zeros((0, 6, 6), np.uint8)),
         idx_bytes(np.zeros(0, np.uint8)))
idx_case("empty-images", r"images of shape \[6, 0\] hold nothing",
         idx_bytes(np.zeros((10, 6, 0), np.uint8)))
idx_case("labels-as-images", r"holds labels, not images", idx_bytes(LABELS))
idx_case("gzip-truncated", r"is not a readable gzip file", gzip.compress(idx_bytes(IMAGES))[:-9],
         gz=True)
idx_case("gzip-bad-deflate", r"is not a readable gzip file",
         flip(gzip.compress(idx_bytes(IMAGES)), 40), gz=True)
idx_case("gzip-of-garbage", r"is not an IDX file", gzip.compress(b"hello world" * 20), gz=True)


# ---- writing -----------------------------------------------------------------------------


def write_corpus(root: Path) -> dict[str, Spec]:
    """Every case in a folder of its own under `root`; returns id -> (spec with an absolute
    base folder under ``"_base"``)."""
    out: dict[str, Spec] = {}
    for c in CASES:
        folder = root / c.id
        folder.mkdir(parents=True)
        spec = c.make(folder)
        out[c.id] = {**spec, "_base": str(folder)}
    return out


@pytest.fixture(scope="session", name="broken_corpus")
def broken_corpus_fixture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Spec]:
    """The whole corpus, written once per session (import this to use it)."""
    return write_corpus(tmp_path_factory.mktemp("broken-corpus"))
