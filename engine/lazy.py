"""Package attributes that import their module on first use (PEP 562).

The GUI reads the catalogues (blocks, datasets, run files) before torch has loaded; packages
whose modules import torch export their names through this, so `from ..data import X`
imports only what X needs.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` serving `name` from ``package.<where[name]>``."""

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


class LazyModule:
    """A module imported on its first attribute access. Task declarations are read by the
    window before torch has loaded (the settings panel, the New project dialog); their
    steps use torch through one of these, so importing a task does not import torch."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


def lazy_module(name: str) -> Any:
    """`LazyModule(name)`, typed as Any so call sites read like the real module."""
    return LazyModule(name)
