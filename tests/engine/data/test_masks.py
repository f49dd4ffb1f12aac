"""Segmentation folders: images and same-named PNG masks of class indices."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from torchloom.engine.data import load_dataset
from torchloom.engine.errors import DataError


def folder(tmp_path, n=4, mask_mode="L"):
    (tmp_path / "img").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(n):
        pixels = np.zeros((16, 16), np.uint8)
        pixels[4:12, 4:12] = 1 + i % 2
        Image.fromarray(np.stack([pixels * 100] * 3, -1)).save(tmp_path / "img" / f"s{i}.jpg")
        Image.fromarray(pixels).convert(mask_mode).save(tmp_path / "masks" / f"s{i}.png")
    return {"path": "img", "masks": "masks", "image_size": [8, 8]}


def test_images_and_masks_load_at_one_size_without_blending_classes(tmp_path):
    data = load_dataset(folder(tmp_path), tmp_path, task="segmentation")
    assert data.x.shape == (4, 3, 8, 8) and data.y.shape == (4, 8, 8)
    assert set(data.y.unique().tolist()) == {0, 1, 2} and data.classes == ["0", "1", "2"]
    assert data.class_counts()[1] == data.class_counts()[2]  # resized by nearest neighbour


def test_an_image_without_a_mask_is_named(tmp_path):
    spec = folder(tmp_path)
    (tmp_path / "masks" / "s2.png").unlink()
    with pytest.raises(DataError, match="has no mask for s2.jpg: put s2.png in"):
        load_dataset(spec, tmp_path, task="segmentation")


def test_a_colour_mask_is_not_a_mask(tmp_path):
    with pytest.raises(DataError, match="is a RGB image; a mask is one channel"):
        load_dataset(folder(tmp_path, mask_mode="RGB"), tmp_path, task="segmentation")


def test_a_class_folder_is_for_classification_only(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(DataError, match="is for the classify task, not regress; a "
                                        "segmentation folder names its masks"):
        load_dataset({"path": "."}, tmp_path, task="regression")
