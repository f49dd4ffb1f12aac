"""How much memory a person's data file may take once decoded: the one place the limits are
declared, and the one wording every refusal uses.

A size cap on the bytes read is not a cap on the memory used: a 285 KB ``.csv.gz`` unpacks
to hundreds of megabytes of text whose cells, as Python floats, took 5.9 GB; a 410 KB PNG
declared 144 megapixels. So the loaders count what they *decode* (bytes unpacked, array
sizes from headers, cells of a table, pixels of an image) against these limits before and
while they allocate, and a refusal names the file, the limit and the setting that raises it
(for data that is genuinely that large).

The settings are environment variables, read at each load (a test or a shell can change
them between loads):

- ``TORCHLOOM_MAX_DATA_BYTES``: the decoded data of one file held in memory (unpacked
  bytes, arrays as read plus their copy converted for training). Default 2 GiB.
- ``TORCHLOOM_MAX_IMAGE_PIXELS``: the pixels of one image (width × height), checked from
  its header before it is decoded. Default 100 megapixels.

A value is a whole number, optionally with a unit: ``4GiB``, ``500MB``, ``200M``.
"""

from __future__ import annotations

import os
import re

from ..errors import DataError
from ..safe_read import size_text

DATA_BYTES_SETTING = "TORCHLOOM_MAX_DATA_BYTES"
DEFAULT_MAX_DATA_BYTES = 2 * 2**30
IMAGE_PIXELS_SETTING = "TORCHLOOM_MAX_IMAGE_PIXELS"
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
#: One line of a CSV may hold at most this share of the data limit: its cells exist as
#: Python strings (about 60 bytes each) before they become float32s (16 MiB at 2 GiB).
CSV_LINE_SHARE = 128

#: The most deflate (gzip, zip) unpacks one byte to: 1032 in theory; a margin on top. A
#: header that declares more than its packed bytes can unpack to is refused unread.
DEFLATE_MAX_RATIO = 1100

_UNITS = {"": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_VALUE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    match = _VALUE.fullmatch(raw)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS or float(match.group(1)) * _UNITS[unit] < 1:
        raise DataError(f"the environment variable {name} is {raw!r}: set it to a whole "
                        "number, optionally with a unit (e.g. 4GiB, 500MB, 200M), or unset it "
                        "for the default")
    return int(float(match.group(1)) * _UNITS[unit])


def max_data_bytes() -> int:
    """The decoded bytes one data file may take in memory (``TORCHLOOM_MAX_DATA_BYTES``)."""
    return _setting(DATA_BYTES_SETTING, DEFAULT_MAX_DATA_BYTES)


def max_image_pixels() -> int:
    """The pixels one image may declare (``TORCHLOOM_MAX_IMAGE_PIXELS``)."""
    return _setting(IMAGE_PIXELS_SETTING, DEFAULT_MAX_IMAGE_PIXELS)


def how_to_raise(setting: str = DATA_BYTES_SETTING) -> str:
    """The tail of every refusal: which setting raises the limit."""
    return f"if the data is genuine, raise it with the environment variable {setting}"


def too_much_data(what: str, path: str, share: int = 1, why: str = "",
                  where: str | None = None) -> DataError:
    """`what` (e.g. "unpacks to more than") followed by the limit and how to raise it. A
    reader whose data takes `share` times its bytes in memory reads 1/`share` of the limit,
    and says `why`."""
    limit = max_data_bytes()
    if share == 1:
        return DataError(f"{what} {size_text(limit)}, the limit on data held in memory; "
                         f"{how_to_raise()}", path=path, where=where)
    return DataError(f"{what} {size_text(limit // share)} ({why}: 1/{share} of the "
                     f"{size_text(limit)} limit on data held in memory); {how_to_raise()}",
                     path=path, where=where)


def check_data_bytes(need: int, what: str, path: str, where: str | None = None) -> None:
    """Refuse, before allocating, `need` bytes of decoded data above the limit; `what`
    says what takes them (``array 'x' of shape [10, 3] takes 1.2 GiB``)."""
    limit = max_data_bytes()
    if need > limit:
        raise DataError(f"{what}, more than {size_text(limit)}, the limit on data held in "
                        f"memory; {how_to_raise()}", path=path, where=where)


def check_image_pixels(width: int, height: int, path: str, where: str | None = None) -> None:
    """Refuse an image whose header declares more pixels than the limit, before decoding."""
    limit = max_image_pixels()
    if width * height > limit:
        raise DataError(f"declares {width} × {height} = {width * height / 1e6:,.1f} "
                        f"megapixels, more than {limit / 1e6:,.1f} megapixels, the limit per "
                        f"image; {how_to_raise(IMAGE_PIXELS_SETTING)}", path=path, where=where)
