"""The PNG renderings: colour map, feature-map grid, attention heads, strips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from torchloom.engine.probe.render import (
    BACKGROUND,
    VIRIDIS,
    colorize,
    feature_grid,
    grid_shape,
    head_heatmaps,
    save_png,
    vector_strip,
)


def test_lut_runs_dark_to_bright_through_viridis():
    assert VIRIDIS.shape == (256, 3) and VIRIDIS.dtype == np.uint8
    assert tuple(VIRIDIS[0]) == (68, 1, 84) and tuple(VIRIDIS[-1]) == (253, 231, 37)
    luminance = VIRIDIS.astype(float) @ [0.299, 0.587, 0.114]
    assert np.all(np.diff(luminance) > -1.0)  # brighter all the way up (grey-safe)


def test_colorize_maps_values_into_the_lut():
    a = np.array([[0.0, 0.5], [1.0, 2.0]])
    rgb = colorize(a)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == tuple(VIRIDIS[0]) and tuple(rgb[1, 1]) == tuple(VIRIDIS[255])
    assert tuple(rgb[1, 0]) == tuple(VIRIDIS[128])
    fixed = colorize(a, lo=0.0, hi=1.0)  # a fixed scale clips what lies outside
    assert tuple(fixed[1, 0]) == tuple(fixed[1, 1]) == tuple(VIRIDIS[255])
    assert tuple(fixed[0, 1]) == tuple(VIRIDIS[128])


def test_constant_and_nan_maps_do_not_divide_by_zero():
    with np.errstate(all="raise"):
        flat = colorize(np.full((3, 3), 7.0))
        holes = colorize(np.array([[np.nan, 1.0], [np.inf, 3.0]]))
    assert (flat == VIRIDIS[0]).all()
    assert tuple(holes[0, 0]) == tuple(VIRIDIS[0]) and tuple(holes[1, 1]) == tuple(VIRIDIS[255])


@pytest.mark.parametrize("channels,rows,cols", [(1, 1, 1), (3, 2, 2), (16, 4, 4), (17, 4, 5),
                                                (32, 6, 6), (64, 8, 8)])
def test_grid_is_near_square(channels, rows, cols):
    assert grid_shape(channels) == (rows, cols)
    assert rows * cols >= channels > (rows - 1) * cols


def test_feature_grid_size_arithmetic_and_upscaling():
    act = torch.rand(6, 4, 5)  # 6 channels of 4x5 -> 2 rows x 3 cols, scale ceil(48/5)=10
    image = feature_grid(act, cell=48, gap=2)
    assert image.size == (3 * 50 + 4 * 2, 2 * 40 + 3 * 2)
    pixels = np.asarray(image)
    assert tuple(pixels[0, 0]) == BACKGROUND  # the border gap is background
    first = pixels[2:42, 2:52]  # channel 0, upscaled by 10 with nearest neighbour
    assert (first == first[::10, ::10].repeat(10, 0).repeat(10, 1)).all()
    assert tuple(pixels[-2, -2]) == BACKGROUND  # cells left over in the last row stay empty


def test_feature_grid_normalises_each_channel_on_its_own():
    act = np.stack([np.arange(4.0).reshape(2, 2), 1000 * np.arange(4.0).reshape(2, 2),
                    np.zeros((2, 2))])
    pixels = np.asarray(feature_grid(act, cell=2, gap=1))
    first, second = pixels[1:3, 1:3], pixels[1:3, 4:6]
    assert (first == second).all()  # same pattern, scale ignored
    assert tuple(first[1, 1]) == tuple(VIRIDIS[255])
    assert (pixels[4:6, 1:3] == VIRIDIS[0]).all()  # the dead (constant) channel is dark


def test_feature_grid_refuses_other_shapes():
    with pytest.raises(ValueError, match=r"\[C, H, W\]"):
        feature_grid(np.zeros((4, 4)))


def test_head_heatmaps_one_image_per_head_with_a_fixed_scale():
    w = torch.softmax(torch.randn(4, 9, 9), dim=-1)
    w[1] = 0.0
    w[1, :, 2] = 1.0  # head 1 looks only at key 2
    images = head_heatmaps(w)
    assert len(images) == 4 and len({im.size for im in images}) == 1
    width, height = images[0].size
    assert width >= 9 * 28 and height >= 9 * 28
    one = np.asarray(images[1])
    bright = np.all(one == VIRIDIS[255], axis=-1).sum()
    dark = np.all(one == VIRIDIS[0], axis=-1).sum()
    assert bright >= 9 * 28 * 28 and dark >= 9 * 8 * 28 * 28  # one full column lit


def test_head_heatmaps_labels_long_or_many_do_not_crash():
    w = torch.softmax(torch.randn(2, 3, 5), dim=-1)
    plain = head_heatmaps(w)[0]
    labelled = head_heatmaps(w, ["q"] * 3, ["a-very-long-token-label-" * 5] * 5)[0]
    assert labelled.height > plain.height  # the key labels take room above the map
    assert labelled.height < plain.height + 120  # ... but long ones are cut short
    many = head_heatmaps(torch.full((1, 300, 300), 1 / 300), list(range(300)), list(range(300)))
    assert max(many[0].size) <= 1200
    with pytest.raises(ValueError, match="labels"):
        head_heatmaps(w, ["q"] * 2)


@pytest.mark.parametrize("shape", [(), (10,), (9, 64), (2, 3, 4)])
def test_vector_strip_draws_any_activation(shape):
    image = vector_strip(torch.randn(shape))
    assert image.width >= 16 and image.height >= 16


def test_vector_strip_rows_and_width_limit():
    one = vector_strip(torch.arange(8.0))
    seq = vector_strip(torch.randn(9, 8))
    assert seq.width == one.width and seq.height > 8 * (one.height - 4)
    assert vector_strip(torch.randn(50_000)).width <= 1024 + 4


def test_save_png_round_trips(tmp_path):
    image = feature_grid(torch.rand(3, 8, 8))
    save_png(image, tmp_path / "a.png")
    back = Image.open(tmp_path / "a.png")
    assert back.format == "PNG" and (np.asarray(back) == np.asarray(image)).all()
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary left behind
