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
