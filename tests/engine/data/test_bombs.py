"""Small files that decode to far more than their size (issue 20 §2): every one is refused
with a DataError naming the file, the limit and the setting, before the memory is taken.

Each bomb is made here, in tmp_path. The limits are lowered through their environment
variables so the bombs stay small; the last tests load bombs with the default limits in a
fresh interpreter and check its peak memory.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from torchloom.engine.data import load_dataset
from torchloom.engine.data.limits import DATA_BYTES_SETTING, IMAGE_PIXELS_SETTING
from torchloom.engine.errors import DataError

from .broken_corpus import bomb_png


def limit(monkeypatch: pytest.MonkeyPatch, data_bytes: str | None = None,
          pixels: str | None = None) -> None:
    if data_bytes is not None:
        monkeypatch.setenv(DATA_BYTES_SETTING, data_bytes)
    if pixels is not None:
        monkeypatch.setenv(IMAGE_PIXELS_SETTING, pixels)


def refused(spec: dict, folder: Path, setting: str = DATA_BYTES_SETTING,
            task: str = "classification") -> DataError:
    """The DataError loading `spec` raises; it must name the file and the setting."""
    with pytest.raises(DataError) as info:
        load_dataset(spec, folder, task)
    text = info.value.describe()
    assert Path(spec["path"]).name in text and setting in text, text
    return info.value


# ---- CSV -----------------------------------------------------------------------------------


def test_a_csv_gz_whose_rows_inflate_past_the_limit_is_refused_at_the_row(tmp_path, monkeypatch):
    limit(monkeypatch, data_bytes="100000")
    (tmp_path / "rows.csv.gz").write_bytes(gzip.compress(b"a,b,target\n" + b"1,2,0\n" * 200_000))
    assert (tmp_path / "rows.csv.gz").stat().st_size < 10_000  # 1.2 MB of text
    err = refused({"path": "rows.csv.gz"}, tmp_path)
    assert "97.7 KiB" in err.message and "rows × 3 columns" in err.message
    assert err.where is not None and err.where.startswith("row ")


def test_a_csv_gz_that_unpacks_past_the_limit_stops_unpacking(tmp_path, monkeypatch):
    """Blank lines hold no cells: the running count of unpacked bytes stops them."""
    limit(monkeypatch, data_bytes="100000")
    (tmp_path / "blank.csv.gz").write_bytes(gzip.compress(b"a,target\n" + b"\n" * 1_000_000))
    err = refused({"path": "blank.csv.gz"}, tmp_path)
    assert "unpacks to more than 97.7 KiB" in err.message


def test_one_endless_csv_line_is_refused_before_it_is_split(tmp_path, monkeypatch):
    limit(monkeypatch, data_bytes="1MiB")  # lines up to 64 KiB
    (tmp_path / "line.csv.gz").write_bytes(gzip.compress(b"a,target\n" + b"0," * 200_000))
    err = refused({"path": "line.csv.gz"}, tmp_path)
    assert "row 2 is longer than 65,536 characters" in err.message and err.where == "row 2"


def test_a_csv_within_the_limit_loads_as_before(tmp_path, monkeypatch):
    limit(monkeypatch, data_bytes="1MiB")
    rows = "".join(f"{i},{i * 0.5},{i % 2}\n" for i in range(5000))
    (tmp_path / "ok.csv.gz").write_bytes(gzip.compress(("a,b,target\n" + rows).encode()))
    data = load_dataset({"path": "ok.csv.gz"}, tmp_path)
    assert data.x.shape == (5000, 2) and data.x[4999].tolist() == [4999.0, 2499.5]
    assert data.y[:4].tolist() == [0, 1, 0, 1]


def test_a_text_csv_of_short_rows_is_refused_before_it_is_tokenized(tmp_path, monkeypatch):
    """Each row becomes max_len int64 ids: a 6 MB CSV of one-word rows took 5.6 GB. The
    size is counted from the rows and max_len, before fitting or encoding."""
    from torchloom.engine.text.tokenizers import Tokenizer

    def never(*_a, **_k):
        raise AssertionError("encoded before the size was checked")

    monkeypatch.setattr(Tokenizer, "encode_batch", never)
    limit(monkeypatch, data_bytes="1MiB")
    rows = "".join(f"{'ab'[i % 2]},{i % 2}\n" for i in range(5000))
    (tmp_path / "short.csv").write_text("review,label\n" + rows)
    spec = {"path": "short.csv", "text": "review", "target": "label",
            "tokenizer": {"kind": "word", "max_len": 50}}
    err = refused(spec, tmp_path)
    assert "5,000 rows of 50 token ids" in err.message and "max_len" in err.message
    assert "1 MiB, the limit" in err.message
    monkeypatch.undo()
    limit(monkeypatch, data_bytes="1MiB")
    data = load_dataset(dict(spec, tokenizer={"kind": "word", "max_len": 4}), tmp_path)
    assert tuple(data.x.shape) == (5000, 4)  # the same file with a small max_len: loaded


# ---- NPZ -----------------------------------------------------------------------------------


def test_an_npz_member_declaring_a_huge_array_is_refused_unread(tmp_path, monkeypatch):
    limit(monkeypatch, data_bytes="1MiB")
    np.savez_compressed(tmp_path / "zeros.npz", x=np.zeros((1000, 1000)), y=np.arange(1000) % 2)
    assert (tmp_path / "zeros.npz").stat().st_size < 50_000  # 8 MB of float64 deflated
    err = refused({"path": "zeros.npz"}, tmp_path)
    assert "array 'x' of shape [1000, 1000]" in err.message and "1 MiB" in err.message
    assert err.where == "key 'x'"


def _lying_npz(path: Path, method: int) -> None:
    """The .npy header and the zip's central directory both claim 64 MB; the member holds
    1 MB of zeros."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (16 * 2**20,)})
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(2**20))
        archive.writestr("y.npy", b"")
    raw = bytearray(path.read_bytes())
    central = raw.find(b"PK\x01\x02")  # the first central directory entry: x.npy
    raw[central + 24:central + 28] = struct.pack("<I", len(header.getvalue()) + 64 * 2**20)
    path.write_bytes(bytes(raw))


def test_an_npz_header_declaring_more_than_its_deflate_can_hold_is_refused_unread(
        tmp_path, monkeypatch):
    limit(monkeypatch, data_bytes="1GiB")
    _lying_npz(tmp_path / "liar.npz", zipfile.ZIP_DEFLATED)
    with pytest.raises(DataError, match=r"array 'x' declares shape \[16777216\] .* packed can "
                                        "hold at most") as info:
        load_dataset({"path": "liar.npz"}, tmp_path)
    assert "liar.npz" in info.value.describe()


def test_an_npz_header_lying_about_its_data_costs_only_what_it_holds(tmp_path, monkeypatch):
    """bzip2 has no useful bound on what it unpacks to: the array fills as it unpacks, and
    the short member is an error."""
    limit(monkeypatch, data_bytes="1GiB")
    _lying_npz(tmp_path / "liar.npz", zipfile.ZIP_BZIP2)
    with pytest.raises(DataError, match="array 'x' is cut short") as info:
        load_dataset({"path": "liar.npz"}, tmp_path)
    assert "liar.npz" in info.value.describe()


# ---- images --------------------------------------------------------------------------------


def _class_folders(root: Path) -> None:
    from PIL import Image

    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        Image.new("L", (8, 8), 100).save(root / label / "0.png")


def test_a_png_declaring_more_pixels_than_the_limit_is_refused_from_its_header(
        tmp_path, monkeypatch):
    from PIL import Image

    limit(monkeypatch, pixels="1000000")
    _class_folders(tmp_path / "imgs")
    Image.new("L", (2000, 1000)).save(tmp_path / "imgs" / "b" / "wide.png")
    err = refused({"path": "imgs", "image_size": [8, 8]}, tmp_path, IMAGE_PIXELS_SETTING)
    assert err.path.endswith("wide.png") and err.where == "b/wide.png"
    assert "2000 × 1000 = 2.0 megapixels, more than 1.0 megapixels" in err.message


def test_the_pixel_limit_holds_for_images_read_on_demand_and_masks(tmp_path, monkeypatch):
    from PIL import Image

    limit(monkeypatch, pixels="1000000")
    _class_folders(tmp_path / "imgs")
    Image.new("L", (1001, 1000)).save(tmp_path / "imgs" / "a" / "big.png")
    refused({"path": "imgs", "image_size": [8, 8], "max_in_memory_bytes": 1}, tmp_path,
            IMAGE_PIXELS_SETTING)
    (tmp_path / "seg" / "masks").mkdir(parents=True)
    Image.new("L", (8, 8)).save(tmp_path / "seg" / "one.png")
    Image.new("L", (1001, 1000)).save(tmp_path / "seg" / "masks" / "one.png")
    err = refused({"path": "seg", "masks": "seg/masks", "image_size": [8, 8]}, tmp_path,
                  IMAGE_PIXELS_SETTING, task="segmentation")
    assert err.path.endswith("masks/one.png")


def test_raising_the_pixel_limit_lets_a_genuine_large_image_load(tmp_path, monkeypatch):
    from PIL import Image

    limit(monkeypatch, pixels="3000000")
    _class_folders(tmp_path / "imgs")
    Image.new("L", (2000, 1000), 255).save(tmp_path / "imgs" / "b" / "wide.png")
    data = load_dataset({"path": "imgs", "image_size": [8, 8]}, tmp_path)
    assert len(data) == 3


# ---- IDX -----------------------------------------------------------------------------------


def _idx_gz(dims: tuple[int, ...], body: bytes) -> bytes:
    head = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d)
                                                                  for d in dims)
    return gzip.compress(head + body)


def test_a_gzipped_idx_declaring_huge_dims_is_refused_from_its_header(tmp_path, monkeypatch):
    limit(monkeypatch, data_bytes="1MiB")
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(_idx_gz((1000, 28, 28), bytes(100)))
    err = refused({"path": "train-images-idx3-ubyte.gz"}, tmp_path)
    assert "declares 1000 × 28 × 28 values" in err.message and "1 MiB" in err.message


def test_a_gzipped_idx_declaring_more_than_its_gzip_can_unpack_to_is_refused_unread(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(_idx_gz((100, 1000, 1000), bytes(10)))
    with pytest.raises(DataError, match="more than its .* of gzip can unpack to"):
        load_dataset({"path": "train-images-idx3-ubyte.gz"}, tmp_path)


def test_a_gzipped_idx_inflating_to_less_than_it_declares_is_cut_short(tmp_path, monkeypatch):
    limit(monkeypatch, data_bytes="64MiB")
    noise = np.random.default_rng(0).bytes(5_000_000)  # gzip of it could hold the 10 MB
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(_idx_gz((1000, 100, 100), noise))
    with pytest.raises(DataError, match="is cut short: 5,000,016 bytes where its header "
                                        "promises 10,000,016"):
        load_dataset({"path": "train-images-idx3-ubyte.gz"}, tmp_path)


# ---- text ----------------------------------------------------------------------------------


def test_a_gzipped_corpus_whose_tokens_would_pass_the_limit_stops_unpacking(
        tmp_path, monkeypatch):
    """190 KB of text is within 1 MiB, but as text and int64 ids and windows it could take
    25 times that: the read stops at 1/25 of the limit."""
    limit(monkeypatch, data_bytes="1MiB")
    (tmp_path / "story.txt.gz").write_bytes(gzip.compress(b"to be or not to be\n" * 10_000))
    err = refused({"path": "story.txt.gz"}, tmp_path, task="tokens")
    assert "unpacks to more than 41 KiB (a corpus takes up to 25 bytes" in err.message
    (tmp_path / "short.txt.gz").write_bytes(gzip.compress(b"to be or not to be\n" * 1000))
    assert load_dataset({"path": "short.txt.gz", "context": 8}, tmp_path, "tokens").x.shape[1] == 8


# ---- the setting -----------------------------------------------------------------------------


def test_a_bad_limit_setting_is_a_data_error_naming_it(tmp_path, monkeypatch):
    limit(monkeypatch, data_bytes="lots")
    (tmp_path / "t.csv").write_text("a,target\n1,0\n2,1\n")
    with pytest.raises(DataError, match="TORCHLOOM_MAX_DATA_BYTES is 'lots'"):
        load_dataset({"path": "t.csv"}, tmp_path)


def test_a_slow_read_reports_its_progress(tmp_path, monkeypatch):
    from torchloom.engine.data import stream
    from torchloom.engine.data.progress import reading_progress

    monkeypatch.setattr(stream, "REPORT_EVERY", 100_000)
    rows = "".join(f"{i},{i % 2}\n" for i in range(100_000))
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(("a,target\n" + rows).encode()))
    seen: list[tuple[str, int, bool]] = []
    with reading_progress(lambda *report: seen.append(report)):
        load_dataset({"path": "t.csv.gz"}, tmp_path)
    assert len(seen) >= 5 and seen[-1][2] and seen[-1][1] == len("a,target\n" + rows)
    assert all(name.endswith("t.csv.gz") for name, _, _ in seen)
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)


def test_the_train_command_prints_how_far_a_slow_load_has_come(monkeypatch):
    from torchloom.engine.cli import load_progress

    monkeypatch.setattr(load_progress, "QUIET_SECONDS", 0.0)
    out = io.StringIO()
    show = load_progress.LoadProgress(out)
    show("/data/big.csv.gz", 50_000_000, False)
    show("/data/big.csv.gz", 80_000_000, True)
    assert out.getvalue().splitlines() == [
        "reading big.csv.gz: 50 MB so far", "read big.csv.gz: 80 MB in 0 s"]


# ---- peak memory with the default limits -----------------------------------------------------

PEAK = r"""
import json, sys
from torchloom.engine.data import load_dataset
from torchloom.engine.procstatus import peak_rss_kib
from torchloom.engine.errors import DataError
outcomes = []
for spec in json.loads(sys.argv[1]):  # one after another: the peak is the worst of them
    try:
        load_dataset(spec, sys.argv[2], sys.argv[3])
        outcomes.append("loaded")
    except DataError as exc:
        outcomes.append(exc.describe())
print(json.dumps({"kib": peak_rss_kib(), "outcomes": outcomes}))
"""


def _peak(specs: list[dict], folder: Path, task: str = "classification"
          ) -> tuple[int, list[str]]:
    """The peak resident memory of one fresh interpreter loading `specs` in turn (one
    interpreter for all: its start-up is most of the cost), and what each load said."""
    env = {k: v for k, v in os.environ.items()
           if k not in (DATA_BYTES_SETTING, IMAGE_PIXELS_SETTING)}
    done = subprocess.run([sys.executable, "-c", PEAK, json.dumps(specs), str(folder), task],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    return result["kib"] * 1024, result["outcomes"]


def test_bombs_stay_far_below_a_gigabyte_with_the_default_limits(tmp_path):
    """The peak resident memory of a fresh interpreter loading each bomb: imports take
    ~0.25 GB; a bomb that decoded would take 2.4 to 7 GB."""
    (tmp_path / "line.csv.gz").write_bytes(gzip.compress(b"a,target\n" + b"0," * 40_000_000))
    np.savez_compressed(tmp_path / "x.npz", x=np.zeros((1, 1)), y=np.zeros(1))
    with zipfile.ZipFile(tmp_path / "huge.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (2**20, 2**20)})
        archive.writestr("x.npy", header.getvalue() + bytes(2**20))
        archive.writestr("y.npy", b"")
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    (tmp_path / "imgs" / "b").mkdir()
    for label in ("a", "b"):
        (tmp_path / "imgs" / label / "bomb.png").write_bytes(bomb_png())
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(
        _idx_gz((60000, 1000, 1000), bytes(2**20)))
    cases = [({"path": "line.csv.gz"}, "longer than 16,777,216 characters"),
             ({"path": "huge.npz"}, "holds only"),
             ({"path": "imgs"}, "900.0 megapixels"),
             ({"path": "train-images-idx3-ubyte.gz"}, "declares 60000 × 1000 × 1000 values")]
    peak, outcomes = _peak([spec for spec, _ in cases], tmp_path)
    for (spec, expected), outcome in zip(cases, outcomes):
        assert expected in outcome, (spec, outcome)
    assert peak < 2**30, (peak, outcomes)

