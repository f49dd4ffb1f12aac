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
import itertools
import math
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch

from ..errors import DataError
from .dataset import Dataset
from .files import FLOAT32_MAX, printable, targets
from .stream import open_data
from .table_stream import FeatureRows, csv_lines

MISSING = {"", "nan", "na", "n/a", "null", "none"}
DELIMITERS = (",", ";", "\t")


def load_csv(path: Path, spec: dict[str, Any], task: str) -> Dataset:
    shown = str(path)
    with open_data(path) as stream:
        return _load_rows(path, csv_lines(stream, shown), spec, task)


def _load_rows(path: Path, lines: Iterator[str], spec: dict[str, Any], task: str) -> Dataset:
    """The table from its lines, read as they unpack (the file is never held whole)."""
    shown = str(path)
    target = spec.get("target", "target")
    before: list[str] = []  # blank lines, then the header's line
    for line in lines:
        before.append(line)
        if line.strip():
            break
    if not before or not before[-1].strip():
        raise DataError("is empty: a CSV needs a header row and data rows", path=shown)
    delimiter = max(DELIMITERS, key=before[-1].count)  # a tie keeps the comma
    records = _records(itertools.chain(before, lines), delimiter, shown)
    first = next(records, None)
    if first is None:
        raise DataError("is empty: a CSV needs a header row and data rows", path=shown)
    head_row, header = first[0], [h.strip() for h in first[1]]
    if not any(header):
        raise DataError("the header names no columns: the first line must name them, e.g. "
                        "a,b,target", path=shown, where=f"row {head_row}")
    t_cols = _target_columns(spec, header, target, task, shown, head_row)
    features = FeatureRows([h for col, h in enumerate(header) if col not in t_cols], shown,
                           _number)
    drop = sorted(t_cols, reverse=True)
    labels: list[list[str]] = []
    rows: list[int] = []
    for line_no, row in records:
        if not any(cell.strip() for cell in row):
            continue  # a line of only commas, as spreadsheets write under a table
        if len(row) != len(header):
            features.flush()  # a bad cell in an earlier row is named first
            raise DataError(f"has {len(row)} cells but the header has {len(header)}", path=shown,
                            where=f"row {line_no}")
        label = [row[col].strip() for col in t_cols]
        for col in drop:
            del row[col]  # what is left are the features
        features.add(row, label, line_no)
        labels.append(label)
        rows.append(line_no)
    features.flush()
    if not rows:
        raise DataError("has a header but no data rows", path=shown)
    if len(header) - len(t_cols) < 1:
        raise DataError("has no feature columns besides the label", path=shown)
    columns = [[label[j] for label in labels] for j in range(len(t_cols))]
    raw = [_labels(column, rows, header[col], shown) for column, col in zip(columns, t_cols)]
    if not raw:  # nothing to predict: the features are all there is (an autoencoder)
        table = np.zeros((len(rows), 0))
    elif "targets" in spec:  # several columns: one target row per sample
        table = np.stack([np.asarray(r, dtype=np.float64) if r.dtype.kind == "f" else r
                          for r in raw], axis=1)
    else:
        table = raw[0]
    y, classes = targets(table, task, shown, row=lambda i: f"row {rows[i]}")
    if "targets" in spec and task == "multilabel":
        classes = [header[col] for col in t_cols]
    x = torch.from_numpy(features.array())
    info: dict[str, Any] = {"format": "csv",
                            "columns": [h for i, h in enumerate(header) if i not in t_cols]}
    if "targets" in spec:
        info["targets"] = [header[col] for col in t_cols]
    return Dataset(x, y, path.name, classes, info)


def _target_columns(spec: dict[str, Any], header: list[str], target: Any, task: str,
                    path: str, head_row: int) -> list[int]:
    """The columns that hold the targets: ``dataset.targets`` (a list, for several tags
    or numbers per row), else ``dataset.target``; none for data without targets."""
    names = spec.get("targets")
    if names is not None:
        if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
            raise DataError("dataset.targets must be a list of column names",
                            where="dataset.targets")
        missing = [n for n in names if n not in header]
        if missing:
            raise DataError(f"has no column '{printable(missing[0])}' (columns: "
                            f"{printable(', '.join(header), 200)}): dataset.targets names the "
                            "target columns", path=path, where=f"row {head_row}")
        return [header.index(n) for n in names]
    if task == "none":
        return [header.index(target)] if "target" in spec and target in header else []
    if target not in header:
        raise DataError(f"has no column '{printable(str(target))}' (columns: "
                        f"{printable(', '.join(header), 200)}): name the label column in the "
                        "project's dataset.target", path=path, where=f"row {head_row}")
    return [header.index(target)]


def _records(text: str | Iterable[str], delimiter: str, path: str
             ) -> Iterator[tuple[int, list[str]]]:
    """(row where the record starts, its cells), skipping blank lines; a structural
    problem the csv module finds (a quote that never closes) is a DataError at its row.
    `text` is the whole text or its lines as they are read."""
    lines = io.StringIO(text, newline="") if isinstance(text, str) else text
    reader = csv.reader(lines, delimiter=delimiter)
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
