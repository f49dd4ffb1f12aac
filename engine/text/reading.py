"""Reading a text file: bounded, gzipped or not, and refused with the byte offset when it is
not text in its encoding (``dataset.encoding``, UTF-8 unless the project says otherwise)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..data.files import read_data

#: A NUL byte among the first bytes: a binary file (an image, a zip), not text. No text
#: encoding a person names here (UTF-8, Latin-1, cp1252) writes NUL for a character.
SNIFF_BYTES = 8192


def encoding_of(spec: dict[str, Any]) -> str:
    raw = spec.get("encoding", "utf-8")
    try:
        if not isinstance(raw, str):
            raise LookupError
        name = codecs.lookup(raw).name
    except LookupError:
        raise DataError(f"is not a text encoding Python knows: {raw!r} (e.g. utf-8, latin-1, "
                        "cp1252)", where="dataset.encoding") from None
    if name.startswith(("utf-16", "utf-32")):
        raise DataError(f"{raw} is not supported: save the file as UTF-8",
                        where="dataset.encoding")
    return name


def decode_text(raw: bytes, encoding: str, path: str) -> str:
    """`raw` as text; `DataError` naming the first byte that is not (binary files, bad
    UTF-8). A UTF-8 byte-order mark is dropped."""
    nul = raw.find(b"\x00", 0, SNIFF_BYTES)
    if nul >= 0:
        raise DataError(f"is a binary file, not text (a NUL byte at offset {nul})", path=path)
    try:
        text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        bom = 3 if encoding == "utf-8" and raw.startswith(codecs.BOM_UTF8) else 0
        offset = exc.start + bom
        raise DataError(f"is not valid {encoding} text: byte 0x{raw[offset]:02x} at byte "
                        f"offset {offset} (set dataset.encoding if the file is in another "
                        "encoding, e.g. \"latin-1\")", path=path) from None
    return text


def read_text(path: Path, spec: dict[str, Any], share: int = 1, why: str = "") -> str:
    """The file as text; `share`/`why` as for `files.read_data` (a corpus's tokens take
    many times its bytes)."""
    return decode_text(read_data(path, share, why), encoding_of(spec), str(path))
