"""Which catalogue block stands for a module instance, and its parameters, read off it.

Nothing here names a block type: a block declared with a `module` is importable as soon as
it is in the catalogue. The block's own `read_module` reads its settings (by default the
attribute of each parameter's name, as torch's modules keep them), and one generic rule
keeps the import honest: a constructor argument the block has no setting for, whose value
on the instance is not the constructor's default, keeps the module as code
("padding_mode='reflect' has no block setting") instead of silently dropping it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Sequence

from torch import nn

from .. import layers
from ..blocks.base import Block, NoBlockSetting, SampleShape, collapse, registry

#: Constructor arguments no block needs to hold: an in-place call is made explicit while
#: tracing, and the weights (with their device and dtype) are carried over and checked.
IGNORED = frozenset({"inplace", "device", "dtype"})

_REQUIRED = inspect.Parameter.empty
_MISSING = object()


class Unmapped(Exception):
    """This node has no block; the message says why, for the import report."""


@dataclass(frozen=True)
class Found:
    """The block for a module instance."""

    block: Block
    #: The module is the torch.nn class one of Torchloom's layers subclasses (nn.LSTM for
    #: LSTMSequence): it returns what torch returns (a tuple), not what the layer returns.
    wrapped: bool = False


@dataclass
class _Catalogue:
    size: int
    by_class: dict[type, Found] = field(default_factory=dict)
    #: Torchloom's layers by class name, for the copies a python export carries
    by_name: dict[str, tuple[type, Block]] = field(default_factory=dict)
    copies: dict[type, Found | None] = field(default_factory=dict)


_catalogue: _Catalogue | None = None
_constructors: dict[type, dict[str, Any]] = {}
_unheld_cache: dict[tuple[str, type], list[tuple[str, Any]]] = {}


def _torch_base(cls: type) -> type | None:
    """The torch.nn layer a Torchloom layer subclasses (nn.LSTM), if any."""
    for base in cls.__mro__[1:]:
        if base.__module__.startswith("torch.nn") and base is not nn.Module:
            return base
    return None


def _build_catalogue() -> _Catalogue:
    blocks = registry()
    out = _Catalogue(len(blocks))
    wrapped: dict[type, Found] = {}
    for block in blocks.values():
        if not block.module or block.is_input:
            continue
        try:
            cls = block.module_class()
        except (ImportError, AttributeError):  # a torch without that class
            continue
        out.by_class.setdefault(cls, Found(block))
        if cls.__module__ == layers.__name__:
            out.by_name.setdefault(cls.__name__, (cls, block))
            base = _torch_base(cls)
            if base is not None:
                wrapped.setdefault(base, Found(block, wrapped=True))
    for cls, found in wrapped.items():  # a block declaring the torch class itself wins
        out.by_class.setdefault(cls, found)
    return out


def _current() -> _Catalogue:
    global _catalogue
    if _catalogue is None or _catalogue.size != len(registry()):
        _catalogue = _build_catalogue()
    return _catalogue


def _source(cls: type) -> str | None:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return None


def _copy_of(cls: type, real: type) -> bool:
    """Whether `cls` is Torchloom's layer `real` as an export copies it: the same source
    text, and the same torch.nn classes underneath. A person's own class that happens to be
    called ``Add`` is not the Add block."""
    ours = [c for c in real.__mro__ if c.__module__ == layers.__name__]
    theirs = cls.__mro__[:len(ours)]
    if cls.__mro__[len(ours):] != real.__mro__[len(ours):]:
        return False
    return all(a.__name__ == b.__name__ and _source(a) is not None and _source(a) == _source(b)
               for a, b in zip(theirs, ours))


def find_block(module: nn.Module) -> Found | None:
    """The block for `module`, from its class alone: this runs while tracing, where reading
    a module's tensors would record graph nodes."""
    cls = type(module)
    catalogue = _current()
    found = catalogue.by_class.get(cls)
    if found is None and cls.__name__ in catalogue.by_name:
        if cls not in catalogue.copies:
            real, block = catalogue.by_name[cls.__name__]
            catalogue.copies[cls] = Found(block) if _copy_of(cls, real) else None
        found = catalogue.copies[cls]
    return found


def constructor_arguments(cls: type) -> dict[str, Any]:
    """Each constructor argument of `cls` and its default (`inspect.Parameter.empty` for
    none), following ``*args, **kwargs`` to the base class (nn.LSTM passes everything to
    nn.RNNBase). Cached per class: signatures are slow to read."""
    cached = _constructors.get(cls)
    if cached is not None:
        return cached
    out: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]  # not self
        except (TypeError, ValueError):
            break
        passes_on = False
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                passes_on = True
            else:
                out.setdefault(p.name, p.default)
        if not passes_on or klass is nn.Module:
            break
    _constructors[cls] = out
    return out


def _unheld(block: Block, cls: type) -> list[tuple[str, Any]]:
    """The constructor arguments of `cls` with a default that `block` has no parameter or
    fixed value for; per pair, as an import checks hundreds of modules of a few classes."""
    key = (block.type_name, cls)
    cached = _unheld_cache.get(key)
    if cached is None:
        known = set(block.params) | set(block.fixed) | IGNORED
        cached = [(name, default) for name, default in constructor_arguments(cls).items()
                  if name not in known and default is not _REQUIRED]
        _unheld_cache[key] = cached
    return cached


def _check_tensor_slot(module: nn.Module, name: str, default: bool) -> None:
    """A switch torch keeps as a learned tensor or None (BatchNorm's ``bias``). Without it
    the module may learn nothing at all, and then the switch follows from another setting
    (``affine=False``); with other weights there, it was switched off on its own."""
    present = module._parameters[name] is not None
    learns = any(t is not None for t in module._parameters.values())
    if present != default and (present or learns):
        raise Unmapped(f"{name}={present} has no block setting")


def _plain(value: Any) -> bool:
    """A value that compares by equality: no tensors, modules or functions."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, (tuple, list)) and all(_plain(v) for v in value)


def _as_written(value: Any) -> Any:
    try:
        return collapse(value)
    except (TypeError, ValueError):
        return value


def read_settings(block: Block, module: nn.Module) -> dict[str, Any]:
    """The block's parameters for `module`, from the block's `read_module`.

    Raises:
        Unmapped: the module uses a setting the block cannot hold (its message says which).
    """
    try:
        values = block.read_module(module)
    except NoBlockSetting as exc:
        raise Unmapped(str(exc)) from None
    for name, want in block.fixed.items():
        if name in values and values[name] != want:
            raise Unmapped(f"{name}={values[name]!r} has no block setting (the "
                           f"{block.type_name} block always uses {name}={want!r})")
    arguments = constructor_arguments(type(module))
    params: dict[str, Any] = {}
    for name, decl in block.params.items():
        if name in values:
            if values[name] is None and not decl.optional:
                raise Unmapped(f"{name}=None has no block setting")
            params[name] = values[name]
        elif name in arguments:
            raise Unmapped(f"its {name} is not kept on the module, so the {block.type_name} "
                           "block cannot read it")
        else:  # a setting only the block has (LSTMSequence's output): the module's behaviour
            params[name] = decl.default
    return params


def check_unheld(block: Block, module: nn.Module, shapes: Sequence[SampleShape]) -> None:
    """Refuse a module whose constructor got what the block has no setting for.

    Every constructor argument that is not a parameter, not `fixed` and not inferred from
    the input (whose per-sample shapes are `shapes`) must still hold its default; an
    inferred one must equal what the block reads off the input (a LayerNorm over the last
    two dimensions is not the LayerNorm block).

    Raises:
        Unmapped: "padding_mode='reflect' has no block setting".
    """
    try:
        inferred = block.inferred(shapes)
    except Exception:  # noqa: BLE001 - an input the block cannot take: the port check says so
        inferred = {}
    for name, want in inferred.items():
        have = getattr(module, name, _MISSING)
        if _plain(have) and _plain(want) and _as_written(have) != _as_written(want):
            raise Unmapped(f"{name}={have!r} does not follow from its input (the "
                           f"{block.type_name} block would use {want!r})")
    for name, default in _unheld(block, type(module)):
        if name in inferred:
            continue
        if name in module._parameters and isinstance(default, bool):
            _check_tensor_slot(module, name, default)
            continue
        value = getattr(module, name, _MISSING)
        if value is _MISSING or not (_plain(value) and _plain(default)):
            continue
        # an Optional[bool] left at None means False (align_corners, recompute_scale_factor)
        if value != default and not (default is None and value is False):
            raise Unmapped(f"{name}={value!r} has no block setting")


__all__ = ["IGNORED", "Found", "Unmapped", "check_unheld", "constructor_arguments",
           "find_block", "read_settings"]
