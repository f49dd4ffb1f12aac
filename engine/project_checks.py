"""Problems of a project outside its graphs: the dataset it names and the training settings,
checked before anything loads, so that `check` does not call a project "ok" that cannot
train (issue 20: `{"name": true}` as the dataset, `val_split` 0 for a task that validates).

They are reported with the graph's problems (the Problems panel, `check`, `summary`), each
naming its key.
"""

from __future__ import annotations

from typing import Any

from .errors import GraphError


class SettingProblem(GraphError):
    """A problem with a key of the project file (``dataset.name``, ``training.val_split``),
    not with a node."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key

    def describe(self) -> str:
        return f"{self.key}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "key": self.key}


def project_problems(project: Any, validates: bool) -> list[SettingProblem]:
    """`validates`: whether the project's task reports validation metrics every epoch."""
    found = _dataset_problems(project.dataset)
    split = project.training.get("val_split") if isinstance(project.training, dict) else None
    if validates and isinstance(split, (int, float)) and not isinstance(split, bool) \
            and split <= 0:
        found.append(SettingProblem(
            f"is {split}: the {project.task} task reports validation metrics every epoch and "
            "needs a validation split; 0.1 to 0.3 is usual", "training.val_split"))
    return found


def _dataset_problems(spec: Any) -> list[SettingProblem]:
    from .data.augment import spec_problems

    found = [SettingProblem(p.message, p.where or "dataset.augment")
             for p in spec_problems(spec)]
    return found + _source_problems(spec)


def _source_problems(spec: Any) -> list[SettingProblem]:
    if spec is None or spec == {}:
        return []  # no dataset chosen yet: training says so when it is asked to start
    if not isinstance(spec, dict):
        return [SettingProblem('must be an object such as {"name": "mnist5k"} or '
                               '{"path": "data.npz"}', "dataset")]
    if "name" in spec:
        from .data.catalog import builtin_problem

        problem = builtin_problem(spec["name"], {k: v for k, v in spec.items() if k != "name"})
        return [] if problem is None else [SettingProblem(problem.message,
                                                          problem.where or "dataset.name")]
    if "path" in spec and (not isinstance(spec["path"], str) or not spec["path"].strip()):
        return [SettingProblem("must be the name of a file or folder, relative to the "
                               "project file", "dataset.path")]
    return []
