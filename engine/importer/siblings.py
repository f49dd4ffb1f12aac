"""The ``.py`` files beside the imported model that its code file imports.

A Code node's file holds a copy of the person's source, imports and all, so a copy that
says ``from layers import Base`` needs ``layers.py`` beside the project too. When the
project is written into another folder, those files are copied there (and trusted with the
code file, as the person just ran them). What cannot be carried is refused in words, before
the import reports success for a project that could not load: a package folder, or a
different file of the same name already beside the project.
"""

from __future__ import annotations

from pathlib import Path

from ..codefiles import imported_names, read_code
from ..errors import ModelImportError
from ..fileio import atomic_write_bytes
from .rollback import created


def carry_siblings(code_file: Path, source_folder: Path) -> list[Path]:
    """Copy the files from `source_folder` that `code_file` imports (directly or through
    each other) beside it; returns the files written.

    Raises:
        ModelImportError: it imports a package folder from `source_folder`, or a file of
            the same name but other content is already beside the project.
    """
    source_folder = source_folder.resolve()
    target_folder = code_file.parent.resolve()
    written: list[Path] = []
    todo, seen = [code_file], {code_file.resolve()}
    while todo:
        current = todo.pop(0)
        for name in imported_names(read_code(current)):
            if (source_folder / name / "__init__.py").is_file() or (
                    (source_folder / name).is_dir() and any((source_folder / name).glob("*.py"))):
                raise ModelImportError(
                    f"{current.name} imports the package folder '{name}' beside the model; a "
                    "Code node can carry single .py files only: import the model from a file "
                    "that imports no package folder, or make that layer a block",
                    path=str(source_folder / name))
            sibling = source_folder / f"{name}.py"
            if not sibling.is_file() or sibling.resolve() in seen:
                continue
            seen.add(sibling.resolve())
            todo.append(sibling)
            if source_folder == target_folder:
                continue  # already beside the project
            target = target_folder / sibling.name
            data = read_code(sibling)
            if target.exists():
                if target.is_file() and read_code(target) == data:
                    continue
                raise ModelImportError(
                    f"the code file needs {sibling.name} beside the project, and a different "
                    f"{target.name} is there already: write the project into another folder",
                    path=str(target))
            created(target)
            try:
                atomic_write_bytes(target, data)
            except OSError as exc:
                raise ModelImportError(f"cannot be written: {exc.strerror or exc}",
                                       path=str(target)) from None
            written.append(target)
    return written
