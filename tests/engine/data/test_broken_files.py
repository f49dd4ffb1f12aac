"""Every broken data file in the corpus gets one typed, one-line DataError that names the
file (and the row, key or image), and leaves nothing behind: no half dataset, no open
file, no changed global state, no cached failure."""

from __future__ import annotations

import gzip
import io
import os
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from torchloom.engine.data import load_dataset
from torchloom.engine.errors import DataError

from .broken_corpus import CASES, Case, png_bytes
from .broken_corpus import broken_corpus_fixture  # noqa: F401 - the fixture broken_corpus


def load_case(c: Case, corpus: dict) -> DataError:
    spec = dict(corpus[c.id])
    base = spec.pop("_base")
    with pytest.raises(DataError) as info:
        load_dataset(spec, base, task=c.task)
    return info.value


def test_the_corpus_has_at_least_100_files_of_every_kind():
    kinds = Counter(c.kind for c in CASES)
    assert sum(kinds.values()) >= 100
    assert kinds["npz"] >= 40 and kinds["csv"] >= 40 and kinds["images"] >= 10
    assert kinds["idx"] >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_a_broken_file_is_one_clear_data_error(c, broken_corpus):
    error = load_case(c, broken_corpus)
    text = error.describe()
    assert re.search(c.needle, error.message), text
    assert c.names in text, f"the message does not name {c.names}: {text}"
    if c.where is not None:
        assert error.where == c.where, text
    assert "\n" not in text and len(text) < 600
    again = load_case(c, broken_corpus)  # nothing cached: the same answer the second time
    assert again.describe() == text


def good_files(folder: Path) -> list[dict]:
    np.savez(folder / "good.npz", x=np.arange(24.0).reshape(8, 3), y=np.arange(8) % 2)
    (folder / "good.csv").write_text("a,b,target\n" + "".join(
        f"{i},{i * 2},{i % 3}\n" for i in range(9)))
    for name in ("cat", "dog"):
        (folder / "pets" / name).mkdir(parents=True)
        for i in range(2):
            (folder / "pets" / name / f"{i}.png").write_bytes(png_bytes(colour=(i * 90, 0, 9)))
    return [{"path": "good.npz"}, {"path": "good.csv"}, {"path": "pets", "image_size": 8}]


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files on Linux")
def test_broken_files_leave_nothing_behind(tmp_path, broken_corpus):
    specs = good_files(tmp_path)
    before = [load_dataset(s, tmp_path) for s in specs]
    state = (np.geterr(), torch.get_default_dtype(), list(warnings.filters), open_files())
    for c in CASES:
        load_case(c, broken_corpus)
    assert (np.geterr(), torch.get_default_dtype(), list(warnings.filters),
            open_files()) == state
    after = [load_dataset(s, tmp_path) for s in specs]
    for old, new in zip(before, after):
        assert torch.equal(old.x, new.x) and torch.equal(old.y, new.y)
        assert old.classes == new.classes


# ---- the documented rule for one broken image among good ones ----------------------------


def test_a_broken_image_among_good_ones_is_skipped_and_named(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for i in range(2):
            (tmp_path / name / f"{i}.png").write_bytes(png_bytes())
    broken = {"cat/zero.png": b"", "dog/cut.png": png_bytes()[:30], "dog/text.png": b"hello"}
    for rel, data in broken.items():
        (tmp_path / rel).write_bytes(data)
    data = load_dataset({"path": str(tmp_path)})
    assert len(data) == 4 and data.info["skipped"] == 3
    assert sorted(data.info["skipped_files"]) == sorted(broken)


# ---- odd files that are not broken keep loading --------------------------------------------


def test_odd_but_valid_tables_load(tmp_path):
    rows = "a,b,target\n1,2,0\n3,4,1\n"
    cases = {
        "leading-blank.csv": "\n\n" + rows,
        "trailing-commas.csv": rows + ",,\n,,\n",
        "crlf-quoted.csv": rows.replace("\n", "\r\n").replace("1,2", '"1","2"'),
        "pandas-index.csv": ",a,target\n0,1.5,0\n1,2.5,1\n",
        "tabs.tsv": rows.replace(",", "\t"),
        "bom.csv": "\ufeff" + rows,
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, newline="")
        data = load_dataset({"path": name}, tmp_path)
        assert len(data) == 2 and data.classes == ["0", "1"], name
    (tmp_path / "packed.csv.gz").write_bytes(gzip.compress(rows.encode()))
    assert load_dataset({"path": "packed.csv.gz"}, tmp_path).x.tolist() == [[1, 2], [3, 4]]


def test_images_of_different_sizes_and_modes_load(tmp_path):
    modes = {"rgb.png": ("RGB", (20, 9)), "gray.png": ("L", (5, 5)), "rgba.png": ("RGBA", (7, 3)),
             "palette.png": ("P", (8, 8)), "bits.png": ("1", (9, 9)), "i16.png": ("I;16", (6, 6)),
             "cmyk.jpg": ("CMYK", (10, 10))}
    for k, (name, (mode, size)) in enumerate(modes.items()):
        folder = tmp_path / ("a" if k % 2 else "b")
        folder.mkdir(exist_ok=True)
        buf = io.BytesIO()
        Image.new(mode, size).save(buf, "JPEG" if name.endswith(".jpg") else "PNG")
        (folder / name).write_bytes(buf.getvalue())
    data = load_dataset({"path": str(tmp_path), "image_size": [8, 8]})
    assert len(data) == len(modes) and data.info["skipped"] == 0
    assert data.input_shape == (3, 8, 8)


# ---- where the spec points, and the memory bounds ----------------------------------------


@pytest.mark.parametrize("raw,needle", [
    ("a\x00b.csv", "dataset.path must be a file or folder name"),
    ("x" * 5000 + ".csv", "cannot be read"),
    ("~no-such-user-here/data.csv", "cannot find the home folder"),
    ("", "dataset.path must be a file or folder name"),
])
def test_a_path_the_system_refuses_is_a_data_error(tmp_path, raw, needle):
    with pytest.raises(DataError, match=needle):
        load_dataset({"path": raw}, tmp_path)


def test_a_pipe_named_like_data_is_refused_unread(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(tmp_path / "stream.csv")  # reading it would block for ever
    with pytest.raises(DataError, match=r"is a named pipe \(FIFO\), not a data file"):
        load_dataset({"path": "stream.csv"}, tmp_path)


def test_what_a_gzip_unpacks_to_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHLOOM_MAX_DATA_BYTES", "10000")
    (tmp_path / "bomb.csv.gz").write_bytes(gzip.compress(b"a,target\n" + b"1,0\n" * 5000))
    with pytest.raises(DataError, match="TORCHLOOM_MAX_DATA_BYTES") as info:
        load_dataset({"path": "bomb.csv.gz"}, tmp_path)
    assert "bomb.csv.gz" in info.value.describe()


def test_an_npz_array_too_large_for_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHLOOM_MAX_DATA_BYTES", "1000")
    np.savez_compressed(tmp_path / "big.npz", x=np.zeros((200, 3)), y=np.arange(200) % 2)
    with pytest.raises(DataError, match=r"array 'x' of shape \[200, 3\] takes") as info:
        load_dataset({"path": "big.npz"}, tmp_path)
    assert info.value.where == "key 'x'"


def test_npz_big_endian_and_fortran_arrays_load(tmp_path):
    x = np.asfortranarray(np.arange(12.0).reshape(4, 3)).astype(">f8")
    np.savez(tmp_path / "odd.npz", x=x, y=np.array([0, 1, 0, 1], ">i4"))
    data = load_dataset({"path": "odd.npz"}, tmp_path)
    assert data.x.tolist() == np.arange(12.0).reshape(4, 3).tolist()
    assert data.y.tolist() == [0, 1, 0, 1]
