"""Problems of a project outside its graphs: the dataset it names and the training settings,
checked before anything loads, so that `check` does not call a project "ok" that cannot
train (issue 20: `{"name": true}` as the dataset, `val_split` 0 for a task that validates,
an early-stopping metric the task never reports, a device that is no device's name). A key
this version does not know (`"epoch"` for `"epochs"`) is kept, as the format promises, and
warned about, since it does nothing.

They are reported with the graph's problems (the Problems panel, `check`, `summary`), each
naming its key.
"""

from __future__ import annotations

from typing import Any, Sequence

from .errors import GraphError, TrainingError


class SettingProblem(GraphError):
    """A problem with a key of the project file (``dataset.name``, ``training.val_split``),
    not with a node."""

    def __init__(self, message: str, key: str, severity: str = "error") -> None:
        super().__init__(message)
        self.key = key
        self.severity = severity

    def describe(self) -> str:
        return f"{self.key}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "key": self.key}


def project_problems(project: Any, validates: bool,
                     metrics: Sequence[str] = ()) -> list[SettingProblem]:
    """`validates`: whether the project's task reports validation metrics every epoch;
    `metrics`: the columns it reports (what early stopping may watch)."""
    found = _dataset_problems(project.dataset)
    training = project.training if isinstance(project.training, dict) else {}
    split = training.get("val_split")
    if validates and isinstance(split, (int, float)) and not isinstance(split, bool) \
            and split <= 0:
        found.append(SettingProblem(
            f"is {split}: the {project.task} task reports validation metrics every epoch and "
            "needs a validation split; 0.1 to 0.3 is usual", "training.val_split"))
    return found + _training_problems(training, metrics)


def _training_problems(training: dict[str, Any], metrics: Sequence[str]
                       ) -> list[SettingProblem]:
    from .train.config import SETTING_NAMES, closest_setting, device_name_problem
    from .train.early_stop import EarlyStopping

    found = []
    stopping = training.get("early_stopping")
    if metrics and isinstance(stopping, dict) and stopping:
        try:
            EarlyStopping.from_setting(stopping, metrics)
        except TrainingError as exc:  # the words training would fail with, said now
            found.append(SettingProblem(exc.message.removeprefix(
                "training setting early_stopping: "),
                                        "training.early_stopping"))
    device = training.get("device")
    if isinstance(device, str) and device_name_problem(device):
        found.append(SettingProblem(str(device_name_problem(device)), "training.device"))
    for key in training:
        if key not in SETTING_NAMES:  # kept (a newer Torchloom may read it), and said
            close = closest_setting(key)
            hint = f" (did you mean {close}?)" if close else ""
            found.append(SettingProblem(f"is not a training setting{hint}; it is kept in the "
                                        "file but does nothing", f"training.{key}", "warning"))
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
        if problem is not None:
            return [SettingProblem(problem.message, problem.where or "dataset.name")]
        if "path" in spec:  # the built-in wins; the file named beside it is never read
            return [SettingProblem(f"is ignored: the built-in dataset {spec['name']!r} is used; "
                                   "remove name or path", "dataset.path", "warning")]
        return []
    if "path" in spec and (not isinstance(spec["path"], str) or not spec["path"].strip()):
        return [SettingProblem("must be the name of a file or folder, relative to the "
                               "project file", "dataset.path")]
    return []
