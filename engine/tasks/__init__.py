"""The task registry: the kinds of model a project can be, each a plug-in over the run loop.

A project's top-level ``"task"`` names one (``"classify"`` when absent). The names are the
file format's (`project.TASKS`); each has a module of the same name here whose `TASK` is
its class. Importing a task does not import torch, so the window reads the declarations
(settings, charts, views) while torch is still loading.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import ProjectFileError
from ..project import TASKS, Project

if TYPE_CHECKING:
    from .base import Task

__all__ = ["get_task", "task_class", "task_class_of", "task_for", "task_names"]


def task_names() -> tuple[str, ...]:
    """Every task a project may name, in the order the choosers list them."""
    return tuple(TASKS)


def task_class(name: str) -> "type[Task]":
    """The class of the task `name`; a name Torchloom does not know is a file error naming
    the key and the known names."""
    if name not in TASKS:
        raise ProjectFileError(f"unknown task '{name[:40]}': use one of "
                               + ", ".join(f'"{k}"' for k in TASKS), where="task")
    return importlib.import_module(f"{__name__}.{name}").TASK


def get_task(name: str) -> "Task":
    """A fresh instance of the task `name` (one serves one run)."""
    return task_class(name)()


def task_class_of(project: Project) -> "type[Task]":
    """The class of the project's task: the one it names, or, for a model with several
    outputs (its ``"heads"``), the composite of the heads' tasks (`tasks.heads`)."""
    if project.heads:
        from .heads import Heads

        return Heads.declared(tuple(project.heads.items()))
    return task_class(project.task)


def task_for(project: Project) -> "Task":
    """A fresh instance of the project's task (`task_class_of`)."""
    return task_class_of(project)()
