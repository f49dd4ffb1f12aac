"""Hostile data files for the fuzz soak (issue 20 §2): small files that decode to far more
than their size, at the sizes of the attack that found them.

    write_bombs(folder) -> [(name, dataset spec, task)]
    load_and_measure(spec, folder, task) -> {"outcome", "peak_mb", "seconds"}

Each file is written by streaming (this process never holds what it decodes to). The soak
loads each in a fresh interpreter with the default limits and reports its peak resident
memory (`ru_maxrss`), so one bomb's memory never hides in another's.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

MIB = 2**20


def _idx_gz(path: Path, dims: tuple[int, ...], zeros: int) -> None:
    with gzip.open(path, "wb", 9) as out:
        out.write(struct.pack(">BBBB", 0, 0, 0x08, len(dims))
                  + b"".join(struct.pack(">I", d) for d in dims))
        block = bytes(16 * MIB)
        for _ in range(zeros // len(block)):
            out.write(block)


def _npz(path: Path, shape: tuple[int, ...], zeros: int, zip_claims: int | None = None) -> None:
    """x.npy declaring `shape` (float32) and holding `zeros` bytes of zeros; `zip_claims`:
    the uncompressed size the zip's central directory states instead of the true one."""
    header = io.BytesIO()
    import numpy as np

    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            block = bytes(16 * MIB)
            for _ in range(zeros // len(block)):
                member.write(block)
        archive.writestr("y.npy", b"")
    if zip_claims is not None:  # the central directory's 4-byte uncompressed size
        raw = bytearray(path.read_bytes())
        central = raw.find(b"PK\x01\x02")
        raw[central + 24:central + 28] = struct.pack("<I", zip_claims)
        path.write_bytes(bytes(raw))


def _png_header_bomb(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR declares `width` x `height`."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def write_bombs(folder: Path) -> list[tuple[str, dict[str, Any], str]]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, dict[str, Any], str]] = []
    # CSV: rows of zeros unpacking to ~100 MB (they fit: loaded, as float32), one endless
    # line of 2.5 GB, and rows unpacking past the limit
    cols = 100
    with gzip.open(folder / "rows.csv.gz", "wb", 9) as out:
        out.write((",".join(f"c{i}" for i in range(cols)) + ",target\n").encode())
        block = (("0," * cols + "0\n") + ("0," * cols + "1\n")).encode() * 2500
        for _ in range(100):
            out.write(block)
    cases.append(("csv.gz, 100 MB of rows", {"path": "rows.csv.gz"}, "classification"))
    with gzip.open(folder / "line.csv.gz", "wb", 6) as out:
        out.write(b"a,target\n")
        block = b"0," * (8 * MIB)
        for _ in range(150):
            out.write(block)
    cases.append(("csv.gz, one 2.5 GB line", {"path": "line.csv.gz"}, "classification"))
    # NPZ: declares 4 TB; declares 1.6 GB and the zip agrees but holds 1.4 GB; the same with
    # the zip claiming the 1.6 GB too (so only the data itself says it is short)
    _npz(folder / "declares.npz", (10**12,), 16 * MIB)
    cases.append(("npz declaring 4 TB", {"path": "declares.npz"}, "classification"))
    _npz(folder / "liar.npz", (400_000_000,), 1400 * MIB, zip_claims=1_600_000_128)
    cases.append(("npz declaring 1.6 GB, holding 1.4 GB", {"path": "liar.npz"},
                  "classification"))
    # images: a real 144 MP PNG (~140 KB) and a header bomb of 900 MP, among good images
    for label in ("a", "b"):
        (folder / "imgs" / label).mkdir(parents=True, exist_ok=True)
        Image.new("L", (8, 8), 50).save(folder / "imgs" / label / "0.png")
    Image.new("L", (12_000, 12_000)).save(folder / "imgs" / "a" / "big.png")
    cases.append(("image folder with a 144 MP png", {"path": "imgs"}, "classification"))
    (folder / "imgs2" / "a").mkdir(parents=True, exist_ok=True)
    (folder / "imgs2" / "b").mkdir(parents=True, exist_ok=True)
    (folder / "imgs2" / "a" / "0.png").write_bytes(_png_header_bomb(30_000, 30_000))
    (folder / "imgs2" / "b" / "0.png").write_bytes(_png_header_bomb(1, 1))
    cases.append(("image folder with a 900 MP header", {"path": "imgs2"}, "classification"))
    # IDX: declares 3 TB; declares 600 MB (3 GB as float32) of real zeros
    _idx_gz(folder / "huge-images-idx3-ubyte.gz", (60_000, 10_000, 10_000), 16 * MIB)
    cases.append(("idx.gz declaring 6e12 values", {"path": "huge-images-idx3-ubyte.gz",
                                                  "labels": "l-labels-idx1-ubyte.gz"},
                  "classification"))
    _idx_gz(folder / "zeros-images-idx3-ubyte.gz", (60_000, 100, 100), 600 * MIB)
    cases.append(("idx.gz of 600 MB of zeros", {"path": "zeros-images-idx3-ubyte.gz",
                                               "labels": "l-labels-idx1-ubyte.gz"},
                  "classification"))
    with gzip.open(folder / "l-labels-idx1-ubyte.gz", "wb") as out:
        out.write(struct.pack(">BBBBI", 0, 0, 0x08, 1, 60_000) + bytes([0, 1]) * 30_000)
    # text: a corpus of 2.5 GB of one letter
    with gzip.open(folder / "corpus.txt.gz", "wb", 6) as out:
        block = b"a" * (16 * MIB)
        for _ in range(150):
            out.write(block)
    cases.append(("txt.gz corpus of 2.5 GB", {"path": "corpus.txt.gz"}, "tokens"))
    # a 6 MB CSV of one-word texts: each row becomes max_len (200) int64 ids (took 5.6 GB)
    with open(folder / "short_texts.csv", "w") as out:
        out.write("review,label\n" + "a,0\nb,1\n" * 750_000)
    cases.append(("csv of 1.5 M one-word texts (6 MB)",
                  {"path": "short_texts.csv", "text": "review", "target": "label"},
                  "classification"))
    return cases


_MEASURE = r"""
import json, sys, time
from torchloom.engine.data import load_dataset
from torchloom.engine.procstatus import peak_rss_kib
from torchloom.engine.errors import TorchloomError
start = time.perf_counter()
try:
    data = load_dataset(json.loads(sys.argv[1]), sys.argv[2], sys.argv[3])
    outcome = f"loaded {len(data)} samples"
except TorchloomError as exc:
    outcome = "refused: " + exc.describe()
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - start,
                  "peak_mb": peak_rss_kib() / 1024}))
"""


def load_and_measure(spec: dict[str, Any], folder: Path, task: str,
                     timeout: float = 1800.0) -> dict[str, Any]:
    """Load in a fresh interpreter; a crash or an untyped exception is its outcome."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHLOOM_MAX_")}
    env["OMP_NUM_THREADS"] = "1"
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(spec), str(folder),
                               task], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"outcome": f"crash: no answer within {timeout:.0f} s", "peak_mb": float("nan"),
                "seconds": time.perf_counter() - start}
    if done.returncode != 0 or not done.stdout.strip():
        return {"outcome": f"crash: exit {done.returncode}: {done.stderr.strip()[-300:]}",
                "peak_mb": float("nan"), "seconds": time.perf_counter() - start}
    return json.loads(done.stdout.splitlines()[-1])
