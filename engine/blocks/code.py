"""The Code block: a person's own `nn.Module`, for the layer the palette lacks.

The class lives in a ``.py`` file next to the project (never inline in the JSON), and the
block only names it. The file runs only after the person trusts it (`engine.codefiles`);
until then the node shows "not trusted" and the graph cannot compile. An import turns the
parts of a module it cannot map onto catalogue blocks into Code blocks.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any, Sequence

from ..params import JsonObject, Text
from .base import Block, BlockCheckError, Port, SampleShape, TensorSpec, register


@register
class CodeBlock(Block):
    type_name = "Code"
    category = "Code"
    doc = ("Your own nn.Module class from a Python file next to the project. Every wired "
           "tensor is passed to forward in wire order. The file runs only once you trust it.")
    inputs = (Port("in", layout="any tensors, in wire order", dtype="any", variadic=True),)
    params = {
        "file": Text("", "The Python file holding the class, relative to the project file."),
        "class_name": Text("", "The nn.Module class in that file."),
        "kwargs": JsonObject({}, "Keyword arguments for the class's constructor, as JSON."),
    }
    measure_fallback = "cpu"

    def resolve(self, params: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
        from ..codefiles import file_sha256, resolve_code_path
        from ..errors import ModelImportError

        path = resolve_code_path(params["file"], base_dir) if params["file"] else None
        try:
            digest = file_sha256(path) if path is not None else ""
        except ModelImportError:
            digest = ""  # `check` says what is wrong with the file
        # The content hash keeps measured shapes from outliving an edit of the file; the
        # project's folder decides whether --trust-code covers the file.
        return {**params, "file": str(path or ""), "sha256": digest,
                "project_dir": str(base_dir) if base_dir is not None else ""}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        from ..codefiles import is_trusted, load_code_class, outside_project, untrusted_message
        from ..errors import CodeTrustError, ModelImportError

        if not params["file"] or not params["class_name"]:
            raise BlockCheckError("choose the Python file and the class name of your module")
        from ..safe_read import NotAFileError, check_regular

        path = Path(params["file"])
        folder = params.get("project_dir") or None
        try:
            check_regular(path)
        except NotAFileError as exc:
            raise BlockCheckError(f"the code file {path} is {exc.kind}, not a Python file") \
                from None
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):  # a link loop, no permission
                raise BlockCheckError(f"the code file {path} cannot be read: "
                                      f"{exc.strerror}") from None
            if outside_project(path, folder):
                raise BlockCheckError(f"the code file {path} is missing (it lies outside the "
                                      "project's folder)") from None
            raise BlockCheckError(f"the code file {path.name} is missing: it belongs next to "
                                  "the project file") from None
        if not is_trusted(path, folder):
            raise BlockCheckError(untrusted_message(path, folder))
        try:
            load_code_class(path, params["class_name"], folder)
        except (CodeTrustError, ModelImportError) as exc:
            error = BlockCheckError(exc.describe())
            if isinstance(exc, ModelImportError):  # the shape pass makes it a CodeError
                error.path, error.line = exc.path, exc.line  # type: ignore[attr-defined]
            raise error from None

    def build(self, params: dict[str, Any], input_shapes: Sequence[SampleShape]) -> Any:
        from ..codefiles import load_code_class

        cls = load_code_class(Path(params["file"]), params["class_name"],
                              params.get("project_dir") or None)
        return cls(**params["kwargs"])
