"""A person's own files: what loads, and the one clear message each broken file gets."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from torchloom.engine.data import load_dataset
from torchloom.engine.errors import DataError


def load(path: Path, task: str = "classification", **spec):
    return load_dataset({"path": str(path), **spec}, task=task)


def bad(path: Path, needle: str, where: str | None = None, **spec):
    with pytest.raises(DataError, match=needle) as info:
        load(path, **spec)
    assert str(path.name) in info.value.describe() or str(path) in info.value.describe()
    if where is not None:
        assert info.value.where == where
    assert "\n" not in info.value.describe()
    return info.value


# ---- NPZ -------------------------------------------------------------------------------


def test_npz_loads_with_default_and_custom_keys(tmp_path):
    x = np.random.rand(20, 1, 8, 8).astype(np.float32)
    y = np.arange(20) % 4
    np.savez(tmp_path / "a.npz", x=x, y=y)
    data = load(tmp_path / "a.npz")
    assert data.input_shape == (1, 8, 8) and data.classes == ["0", "1", "2", "3"]
    np.savez(tmp_path / "b.npz", images=x, labels=y + 10)
    data = load(tmp_path / "b.npz", x_key="images", y_key="labels")
    assert data.classes == ["10", "11", "12", "13"] and int(data.y.max()) == 3


def test_npz_text_labels_become_class_names(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 3)), y=np.array(["cat", "dog", "cat", "emu"]))
    data = load(tmp_path / "a.npz")
    assert data.classes == ["cat", "dog", "emu"] and data.y.tolist() == [0, 1, 0, 2]


def test_npz_missing_key(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 3)), labels=np.zeros(4))
    bad(tmp_path / "a.npz", "has no array 'y' \\(it holds: x, labels\\)", where="key 'y'")


def test_npz_length_mismatch(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((5, 3)), y=np.arange(4))
    bad(tmp_path / "a.npz", "'x' has 5 samples but 'y' has 4")


def test_npz_nan(tmp_path):
    x = np.zeros((5, 3))
    x[3, 1] = np.nan
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(5) % 2)
    bad(tmp_path / "a.npz", "sample 3 of 'x' holds NaN")


def test_npz_object_arrays_are_never_unpickled(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.arange(2))
    bad(tmp_path / "a.npz", "Python objects, which are never loaded")


def test_npz_labels_that_are_not_integers(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((3, 2)), y=np.array([0.0, 1.5, 1.0]))
    bad(tmp_path / "a.npz", "label 1.5 of sample 1 is not a whole number")
    data = load(tmp_path / "a.npz", task="regression")
    assert data.y.dtype == torch.float32 and not data.classes


def test_npz_not_a_zip(tmp_path):
    (tmp_path / "a.npz").write_text("hello")
    bad(tmp_path / "a.npz", "not a readable .npz")


# ---- CSV -------------------------------------------------------------------------------


def test_csv_loads_with_named_target_and_semicolons(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text("\ufeffa;b;species\n1;2;setosa\n3;4.5;virginica\n5;6;setosa\n")
    data = load(path, target="species")
    assert data.input_shape == (2,) and data.classes == ["setosa", "virginica"]
    assert data.x.tolist() == [[1, 2], [3, 4.5], [5, 6]]


def test_csv_missing_target_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,0\n")
    bad(path, "has no column 'target' \\(columns: a, b, label\\)", where="row 1")


def test_csv_non_numeric_cell(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,target\n1,2,0\n3,abc,1\n")
    bad(path, "column 'b' holds 'abc', which is not a number", where="row 3")


def test_csv_nan_cell(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,target\n1,NaN,0\n")
    bad(path, "column 'b' is empty or NaN", where="row 2")


def test_csv_ragged_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,target\n1,2,0\n1,2\n")
    bad(path, "has 2 cells but the header has 3", where="row 3")


@pytest.mark.parametrize("content,needle", [("", "is empty"), ("a,b,target\n", "no data rows")])
def test_csv_empty(tmp_path, content, needle):
    path = tmp_path / "t.csv"
    path.write_text(content)
    bad(path, needle)


def test_csv_float_labels_for_classification(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,target\n1,0.5\n2,1\n")
    bad(path, "is not a whole number")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file") as info:
        load(tmp_path / "nope.csv")
    assert "nope.csv" in info.value.describe()


# ---- IDX -------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> None:
    codes = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
    head = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim)
    head += b"".join(struct.pack(">I", d) for d in array.shape)
    raw = head + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def test_idx_images_and_labels(tmp_path):
    images = (np.random.rand(6, 28, 28) * 255).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(6, dtype=np.uint8) % 3)
    data = load(tmp_path / "train-images-idx3-ubyte.gz")
    assert data.input_shape == (1, 28, 28) and data.num_classes == 3
    assert torch.allclose(data.x[0, 0], torch.from_numpy(images[0] / 255.0).float())


def test_idx_uncompressed_with_named_labels(tmp_path):
    write_idx(tmp_path / "imgs.idx", np.zeros((4, 5, 5), np.uint8), gz=False)
    write_idx(tmp_path / "labs.idx", np.array([0, 1, 0, 1], np.uint8), gz=False)
    assert len(load(tmp_path / "imgs.idx", labels="labs.idx")) == 4


def test_idx_wrong_magic(tmp_path):
    (tmp_path / "x-images-idx3-ubyte").write_bytes(b"\x08\x03\x00\x00" + bytes(100))
    bad(tmp_path / "x-images-idx3-ubyte", "wrong magic number")


def test_idx_short_file(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((10, 28, 28), np.uint8), gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    bad(path, "cut short: 1,000 bytes where its header promises 7,856")


# ---- image folders ---------------------------------------------------------------------


def make_folder(root: Path, classes=("cat", "dog"), per_class=3, size=(10, 12)) -> Path:
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            colour = (k * 120, i * 40, 200)
            Image.new("RGB", size, colour).save(root / name / f"{i}.png")
    return root


def test_image_folder_resizes_and_names_classes(tmp_path):
    root = make_folder(tmp_path / "pets")
    (root / "cat" / "notes.txt").write_text("not an image")
    data = load(root, image_size=[16, 16])
    assert data.input_shape == (3, 16, 16) and data.classes == ["cat", "dog"]
    assert len(data) == 6 and data.info["ignored_files"] == 1 and data.info["skipped"] == 0
    gray = load(root, image_size=8, color="gray")
    assert gray.input_shape == (1, 8, 8)


def test_corrupt_images_are_skipped_and_counted(tmp_path):
    root = make_folder(tmp_path / "pets")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    (root / "dog" / "fake.png").write_text("I am text")
    (root / "cat" / "empty.jpg").write_bytes(b"")
    data = load(root)
    assert len(data) == 6 and data.info["skipped"] == 3
    assert "dog/broken.png" in data.info["skipped_files"]


def test_a_class_with_only_broken_images_is_an_error(tmp_path):
    root = make_folder(tmp_path / "pets")
    (root / "emu").mkdir()
    (root / "emu" / "x.png").write_text("text")
    bad(root, "class folder 'emu' has no readable image")


def test_single_class_folder(tmp_path):
    bad(make_folder(tmp_path / "pets", classes=("cat",)), "at least two")


def test_large_folder_is_read_on_demand(tmp_path):
    root = make_folder(tmp_path / "pets")
    data = load(root, image_size=[8, 8], max_in_memory_bytes=10)
    assert not data.in_memory and data.input_shape == (3, 8, 8)
    batch = data.read(torch.tensor([0, 5]))
    assert batch.shape == (2, 3, 8, 8)
