"""What a block declaration is, and the one registry every part of Torchloom reads.

A block is declared once: its type name (the `torch.nn` class name), category, ports, typed
parameters and `build`. The palette, the inspector, shape inference, the compiler, the
project loader and the block reference are all derived from this declaration.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

from ..params import Param, is_number

if TYPE_CHECKING:  # torch is imported only when a block is built, never to read the catalogue
    from pathlib import Path

    from torch import nn

#: Shapes handed to blocks never include the batch dimension: ``(32, 13, 13)``.
SampleShape = tuple[int, ...]

INT_DTYPES = ("int64",)


@dataclass(frozen=True)
class TensorSpec:
    """What flows along an edge: the per-sample shape (batch left out) and the dtype name."""

    shape: SampleShape
    dtype: str = "float32"

    @property
    def is_int(self) -> bool:
        return self.dtype in INT_DTYPES

    def show(self) -> str:
        """The shape as messages print it: ``[N, 32, 13, 13]``."""
        return "[" + ", ".join(["N", *map(str, self.shape)]) + "]"


@dataclass(frozen=True)
class Port:
    """An input port.

    Args:
        name: the name an edge's ``to_port`` uses.
        ranks: the tensor ranks accepted, *counting* the batch dimension; None for any.
        layout: how the expected input reads in messages, e.g. ``[N, C, H, W]``.
        dtype: ``"float"``, ``"int"`` (token ids) or ``"any"``.
        variadic: takes any number of edges, in edge order (Add, Concat).
        optional: may stay unwired (the key and value of attention).
    """

    name: str
    ranks: tuple[int, ...] | None = None
    layout: str = ""
    dtype: str = "float"
    variadic: bool = False
    optional: bool = False
    doc: str = ""


@dataclass(frozen=True)
class OutputPort:
    """An output port: the name an edge's ``from_port`` uses, and what it carries."""

    name: str
    doc: str = ""


#: The one output of most blocks. An edge from it leaves ``from_port`` out (None).
SINGLE_OUTPUT = "out"


def is_single(ports: Sequence[OutputPort]) -> bool:
    """Whether `ports` is the usual one output: the module returns one tensor. Any other
    list means the module returns a tuple, one tensor per port in this order."""
    return len(ports) == 1 and ports[0].name == SINGLE_OUTPUT


class BlockCheckError(Exception):
    """Raised by `Block.check`; the shape pass attaches it to the node with its fix."""

    def __init__(self, message: str, fix: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class NoBlockSetting(Exception):
    """Raised by `Block.read_module`: the module uses a setting the block cannot hold. The
    importer keeps such a module as code and shows the message as the reason."""


#: What `getattr` gives for a setting the module does not keep.
_MISSING = object()


def collapse(value: Any) -> Any:
    """(3, 3) -> 3, as a project writes it; unequal sizes stay a list."""
    if not isinstance(value, (tuple, list)) or not value:
        return list(value) if isinstance(value, (tuple, list)) else value
    first = int(value[0])
    if all(v == first for v in value[1:]):
        return first
    return [int(v) for v in value]


def read_value(decl: Param, name: str, value: Any) -> Any:
    """A module attribute as the parameter `decl` holds it: torch keeps sizes as tuples
    (``(3, 3)``), a bias as a tensor or None, a scale as a tuple per dimension."""
    kind = decl.kind
    if kind == "bool":
        # a learned bias is kept as its tensor, or None when there is none
        return value if isinstance(value, bool) else value is not None
    if value is None or value.__class__ in (int, float, str):  # most settings: as they are
        return float(value) if kind == "float" and value.__class__ is int else value
    if kind == "ints":
        if isinstance(value, (tuple, list)) and not all(v.__class__ is int for v in value):
            raise NoBlockSetting(f"{name}={value!r} has no block setting")
        return collapse(value)
    if kind in ("int", "float") and isinstance(value, (tuple, list)):
        if len(set(value)) != 1:  # one value per dimension
            raise NoBlockSetting(f"{name}={value!r} (one per dimension) has no block setting")
        value = value[0]
    if kind == "float" and is_number(value):
        return float(value)
    if kind == "shape" and isinstance(value, (tuple, list)):
        return [int(v) for v in value]
    return value


class Block:
    """Base class of a block declaration. Subclasses set the class attributes.

    The module is `module` (a dotted path, imported on first build) called with the sizes
    `inferred` from the input, the `fixed` arguments and the parameters; blocks that need
    more override `build`. `check` may raise `BlockCheckError` for mistakes that deserve a
    better sentence than torch's own error (a head count that does not divide the
    embedding, say). Everything else is measured: the module is run on meta tensors.
    """

    type_name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    doc: ClassVar[str] = ""
    inputs: ClassVar[tuple[Port, ...]] = (Port("in"),)
    params: ClassVar[dict[str, Param]] = {}
    #: The torch module class, e.g. ``"torch.nn.Conv2d"``. An import reads an instance of it
    #: as this block (`read_module`); for one of Torchloom's own layers (engine/layers.py)
    #: also the torch.nn class it subclasses (nn.LSTM for LSTMSequence) and a copy of it
    #: that a python export carries.
    module: ClassVar[str] = ""
    #: Constructor arguments Torchloom always sets, e.g. ``batch_first=True``.
    fixed: ClassVar[dict[str, Any]] = {}
    #: ``"meta"`` normally. A block whose meta kernels are slow (an LSTM's meta pass costs
    #: ~1.6 ms per time step) measures on a small real CPU tensor instead.
    measure_on: ClassVar[str] = "meta"
    #: True for blocks that are graph inputs (placeholders), not modules.
    is_input: ClassVar[bool] = False
    #: Where to measure again when the meta run fails (a person's own code may call
    #: ``.item()`` or build tensors on the CPU), or "" to report the failure.
    measure_fallback: ClassVar[str] = ""
    #: True where torch's module `view`s its input, so one that is not contiguous (after a
    #: Transpose or Permute) fails only when the model runs: the compiled graph then calls
    #: ``.contiguous()`` on the input first (free when it already is).
    contiguous_input: ClassVar[bool] = False

    def resolve(self, params: dict[str, Any], base_dir: "Path | None") -> dict[str, Any]:
        """Validated parameters as `check` and `build` need them; a block that names a file
        makes its path absolute here (against the project's folder). Default: unchanged."""
        return params

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        """Constructor arguments that follow from the input (``in_channels``...). The
        inspector shows them read-only."""
        return {}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        """Raise `BlockCheckError` for a mistake torch would word badly. Default: none."""

    def output_ports(self, params: dict[str, Any],
                     inputs: Sequence[TensorSpec] | None = None) -> list[OutputPort]:
        """The outputs a node of this block has with these (validated) parameters, and the
        input specs when they are known. Default: one port, ``"out"``, and the module
        returns a tensor. A block with several outputs returns one port per tensor of the
        tuple its module returns, in order; shape inference checks the two agree."""
        return [OutputPort(SINGLE_OUTPUT)]

    #: How the docs describe a block's outputs when it has several (their names follow
    #: from its parameters); "" for the one output ``out``.
    outputs_doc: ClassVar[str] = ""

    def module_class(self) -> type["nn.Module"]:
        path, _, name = self.module.rpartition(".")
        return getattr(importlib.import_module(path), name)

    def build(self, params: dict[str, Any], input_shapes: Sequence[SampleShape]) -> "nn.Module":
        return self.module_class()(**self.inferred(input_shapes), **self.fixed, **params)

    def read_module(self, module: "nn.Module") -> dict[str, Any]:
        """The settings of an existing `module` (a person's model being imported), so the
        importer needs no copy of each block's parameter list.

        Default: every parameter and `fixed` argument the module keeps as an attribute of
        the same name (torch's own modules do), as a project writes it; one it does not keep
        is left out. Override where torch keeps a value another way (a pooling stride equal
        to the window), and raise `NoBlockSetting` for a setting the block cannot hold.
        Never imports torch: `module` is only read.
        """
        out: dict[str, Any] = {}
        for name in (*self.params, *self.fixed):
            value = getattr(module, name, _MISSING)
            if value is not _MISSING:
                decl = self.params.get(name)
                out[name] = read_value(decl, name, value) if decl is not None else value
        return out

    # ---- derived -----------------------------------------------------------------------

    @property
    def port_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.inputs)

    def port(self, name: str) -> Port | None:
        for port in self.inputs:
            if port.name == name:
                return port
        return None

    def schema(self) -> dict[str, Any]:
        """The declaration as plain data, for the palette, the inspector and the docs."""
        return {
            "type": self.type_name,
            "category": self.category,
            "doc": self.doc,
            "inputs": [{"name": p.name, "layout": p.layout, "dtype": p.dtype,
                        "variadic": p.variadic, "optional": p.optional} for p in self.inputs],
            "params": {name: decl.schema() for name, decl in self.params.items()},
            "outputs": self.outputs_doc or SINGLE_OUTPUT,
        }


_REGISTRY: dict[str, Block] = {}


def register(cls: type[Block]) -> type[Block]:
    """Class decorator: add a block declaration to the catalogue."""
    if not cls.type_name or not cls.category:
        raise TypeError(f"{cls.__name__} must set type_name and category")
    if cls.type_name in _REGISTRY:
        raise TypeError(f"block type {cls.type_name} is declared twice")
    _REGISTRY[cls.type_name] = cls()
    return cls


def registry() -> dict[str, Block]:
    return _REGISTRY
