"""CSV (and TSV, gzipped or not): a header row, numeric feature columns, and the label
column named by ``dataset.target``.

Rows are counted as a person counts them in an editor: the header is row 1 when it is the
first line, blank lines count, and a quoted cell that spans lines makes its record start
where it starts. Cells, NaN and infinity are checked as they are read, so the first bad one
is named by row and column.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from ..errors import DataError
from .dataset import Dataset
from .files import FLOAT32_MAX, printable, read_data, targets

MISSING = {"", "nan", "na", "n/a", "null", "none"}
DELIMITERS = (",", ";", "\t")


def load_csv(path: Path, spec: dict[str, Any], task: str) -> Dataset:
    shown = str(path)
    target = spec.get("target", "target")
    try:
        text = read_data(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text", path=shown) from None
    if not text.strip():
        raise DataError("is empty: a CSV needs a header row and data rows", path=shown)
    header_line = next(line for line in text.splitlines() if line.strip())
    delimiter = max(DELIMITERS, key=header_line.count)  # a tie keeps the comma
    records = _records(text, delimiter, shown)
    first = next(records, None)
    if first is None:
        raise DataError("is empty: a CSV needs a header row and data rows", path=shown)
    head_row, header = first[0], [h.strip() for h in first[1]]
    if not any(header):
        raise DataError("the header names no columns: the first line must name them, e.g. "
                        "a,b,target", path=shown, where=f"row {head_row}")
    if target not in header:
        raise DataError(f"has no column '{printable(str(target))}' (columns: "
                        f"{printable(', '.join(header), 200)}): name the label column in the "
                        "project's dataset.target", path=shown, where=f"row {head_row}")
    t_col = header.index(target)
    features: list[list[float]] = []
    labels: list[str] = []
    rows: list[int] = []
    for line_no, row in records:
        if not any(cell.strip() for cell in row):
            continue  # a line of only commas, as spreadsheets write under a table
        if len(row) != len(header):
            raise DataError(f"has {len(row)} cells but the header has {len(header)}", path=shown,
                            where=f"row {line_no}")
        features.append([_number(cell, shown, line_no, header[col])
                         for col, cell in enumerate(row) if col != t_col])
        labels.append(row[t_col].strip())
        rows.append(line_no)
    if not features:
        raise DataError("has a header but no data rows", path=shown)
    if len(header) < 2:
        raise DataError("has no feature columns besides the label", path=shown)
    y, classes = targets(_labels(labels, rows, target, shown), task, shown,
                         row=lambda i: f"row {rows[i]}")
    x = torch.tensor(features, dtype=torch.float32)
    return Dataset(x, y, path.name, classes,
                   {"format": "csv", "columns": [h for i, h in enumerate(header) if i != t_col]})


def _records(text: str, delimiter: str, path: str) -> Iterator[tuple[int, list[str]]]:
    """(row where the record starts, its cells), skipping blank lines; a structural
    problem the csv module finds (a quote that never closes) is a DataError at its row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"is not a readable CSV from here on ({printable(str(exc), 80)}): "
                            "look for a quote that never closes", path=path,
                            where=f"row {start}") from None
        if len(row) > 1 or (row and row[0].strip()):
            yield start, row


def _labels(labels: list[str], rows: list[int], target: str, path: str) -> np.ndarray:
    """Numbers when every label is one, else text. An empty label is always an error; NaN
    and its spellings are only missing values among numbers (among names, "none" can be a
    class)."""
    for i, label in enumerate(labels):
        if not label:
            raise DataError(f"column '{target}' is empty: every row needs a label", path=path,
                            where=f"row {rows[i]}")
    try:
        numeric = np.array([float(v) for v in labels], dtype=np.float64)
    except ValueError:
        return np.array(labels)
    for i, label in enumerate(labels):
        if label.lower() in MISSING:
            raise DataError(f"column '{target}' is empty or NaN", path=path,
                            where=f"row {rows[i]}")
    return numeric


def _number(cell: str, path: str, line_no: int, column: str) -> float:
    text = cell.strip()
    if text.lower() in MISSING:
        raise DataError(f"column '{column}' is empty or NaN: fill in or drop the row", path=path,
                        where=f"row {line_no}")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"column '{column}' holds '{printable(text)}', which is not a number",
                        path=path, where=f"row {line_no}") from None
    if not math.isfinite(value):
        raise DataError(f"column '{column}' holds an infinite value", path=path,
                        where=f"row {line_no}")
    if abs(value) > FLOAT32_MAX:
        raise DataError(f"column '{column}' holds {value:g}, too large for float32", path=path,
                        where=f"row {line_no}")
    return value
