"""Where a dataset spec points, and loading it: a built-in name or a file or folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import DataError
from ..safe_read import NotAFileError, check_regular
from .augment import without_augment
from .builtin import load_builtin
from .dataset import Dataset
from .files import exists, printable
from .idx import load_idx
from .images import load_image_folder
from .masks import load_mask_folder
from .npz import load_npz
from .table import load_csv

if TYPE_CHECKING:
    from ..text.fitting import TextFit

FORMATS = ("npz", "csv", "images", "idx", "text")


def guess_format(path: Path) -> str | None:
    name = path.name.lower()
    if path.is_dir():
        return "images"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "csv"
    if "idx" in name or name.endswith(("-ubyte", "-ubyte.gz")):
        return "idx"
    if name.endswith((".txt", ".txt.gz")):
        return "text"
    return None


#: The targets the tasks ask the loaders for (see `Dataset` for what each is).
#: "tokens": a text corpus's next tokens (`engine.text.corpus`).
TARGETS = ("classification", "regression", "multilabel", "segmentation", "tokens", "none")
#: How a message names the task that takes each kind of targets.
TASK_OF = {"classification": "classify", "regression": "regress", "multilabel": "multilabel",
           "segmentation": "segment", "tokens": "language_model"}


def load_dataset(spec: Any, base_dir: str | Path | None = None,
                 task: str = "classification", fit: "TextFit | None" = None,
                 inputs: Sequence[str] = ()) -> Dataset:
    """Load the dataset a project names, with the targets `task` asks for (one of
    `TARGETS`; "none" ignores whatever targets the data has).

    Text data (a CSV with a ``text`` column, a ``.txt`` corpus, the text built-ins) fits its
    tokenizer on the training split that `fit` describes (the training settings' val_split
    and seed), or encodes with `fit.tokenizer`, a run's saved one.

    `inputs`: the model's Input node ids in placeholder order (`compile.input_order`); with
    two or more, an NPZ feeds each from the array named after it. The other formats hold
    one input per sample (`fit_to_graph` says so)."""
    from ..text.fitting import TextFit

    fit = fit or TextFit()
    spec = without_augment(spec)  # applied to training batches, not when loading
    if not isinstance(spec, dict) or not ("name" in spec or "path" in spec):
        raise DataError('no dataset chosen: set "dataset" to {"name": "mnist5k"} or '
                        '{"path": "your-data.npz"}', where="dataset")
    if "name" in spec:
        from .catalog import BUILTINS

        entry = BUILTINS.get(str(spec["name"]))
        if entry is not None and task not in (entry.targets, "none"):
            raise DataError(f"the built-in dataset {spec['name']!r} holds {entry.targets} "
                            f"targets: it is for the {TASK_OF[entry.targets]} task",
                            where="dataset.name")
        options = {k: v for k, v in spec.items() if k != "name"}
        return load_builtin(spec["name"], options, fit)
    path = _resolve(spec["path"], base_dir)
    if not exists(path):
        raise DataError("no such file or folder", path=str(path))
    fmt = spec.get("format") or guess_format(path)
    if fmt not in FORMATS:
        raise DataError("cannot tell the data format from the name: set dataset.format to one of "
                        + ", ".join(FORMATS), path=str(path))
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if fmt == "images":
        if not path.is_dir():
            raise DataError("an image dataset is a folder with one sub-folder per class",
                            path=str(path))
        if task == "segmentation" or "masks" in spec:
            if task not in ("segmentation", "none"):
                raise DataError(f"a folder with masks is labelled per pixel: it is for the "
                                f"segment task, not {TASK_OF.get(task, task)}", path=str(path))
            return load_mask_folder(path, spec, base)
        if task not in ("classification", "none"):
            raise DataError(f"an image folder is labelled by class (one sub-folder each): it "
                            f"is for the classify task, not {TASK_OF.get(task, task)}; a "
                            "segmentation folder names its masks with dataset.masks",
                            path=str(path))
        return load_image_folder(path, spec)
    if path.is_dir():
        raise DataError(f"is a folder, but the format {fmt} needs a file", path=str(path))
    try:
        check_regular(path)  # a pipe or a device would block or never end
    except NotAFileError as exc:
        raise DataError(f"is {exc.kind}, not a data file", path=str(path)) from None
    if fmt == "npz":
        return load_npz(path, spec, task, inputs)
    if fmt == "text":
        if task not in ("tokens", "none"):
            raise DataError(f"a plain text corpus holds no labels, only text: it is for the "
                            f"language_model task, not {TASK_OF.get(task, task)} (a CSV with "
                            "a text column and a label column is for classify)",
                            path=str(path))
        from ..text.corpus import load_corpus

        return load_corpus(path, spec, fit)
    if fmt == "csv" and "text" in spec:
        from ..text.table_text import load_text_csv

        return load_text_csv(path, spec, task, fit)
    if fmt == "csv":
        return load_csv(path, spec, task)
    return load_idx(path, spec, task, base)


def _resolve(raw: Any, base_dir: str | Path | None) -> Path:
    """`dataset.path`, relative to the project's folder."""
    if not isinstance(raw, str) or not raw or "\x00" in raw:
        raise DataError("dataset.path must be a file or folder name", where="dataset.path")
    try:
        path = Path(raw).expanduser()
    except RuntimeError:  # "~someone/..." where there is no such user
        raise DataError(f"cannot find the home folder in '{printable(raw, 80)}'",
                        where="dataset.path") from None
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return path if path.is_absolute() else base / path


#: The file or folder a ``dataset.path`` reads, resolved as `load_dataset` resolves it (the
#: GUI shows it before reading). Raises `DataError` for a path that cannot be one.
dataset_path = _resolve
