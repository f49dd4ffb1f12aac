"""Typed block parameters: default, range and one-line doc, declared once per block.

The inspector form, the project-file validation and the block reference in the docs are all
read off these declarations, so a range written here is the range the person sees, the
range the loader enforces, and the range the docs print.
"""

from __future__ import annotations

import difflib
import math
import reprlib
from dataclasses import dataclass, field
from typing import Any


class ParamValueError(ValueError):
    """A value does not fit its declaration; the message completes "<name> must be ..."."""


def is_int(value: Any) -> bool:
    """An int that is not a bool (JSON's true is not a size)."""
    return isinstance(value, int) and not isinstance(value, bool)


_is_int = is_int


def is_number(value: Any) -> bool:
    """A finite int or float. An int too large for a float (10**400 in a file) is not one:
    torch would fail on it later with an OverflowError that names nothing."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


class _ShortRepr(reprlib.Repr):
    """`repr` that stays short and safe whatever the value: a 10 MB string, a list nested a
    thousand deep (plain `repr` would hit the recursion limit) or an int too long for `str`."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxlong, self.maxother = 3, 40, 40, 40

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"an integer of {int(math.log10(abs(x))) + 1} digits"
        return super().repr_int(x, level)


_SHORT_REPR = _ShortRepr()


def _short(value: Any) -> str:
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Param:
    """Base declaration. Subclasses implement `check` and say what they accept in `expects`."""

    default: Any
    doc: str
    optional: bool = False
    kind: str = field(default="", init=False)

    def validate(self, value: Any) -> Any:
        """Return the value to use (lists become tuples where torch wants them) or raise."""
        if value is None:
            if self.optional:
                return None
            raise ParamValueError(f"is required: {self.expects()}")
        return self.check(value)

    def check(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def expects(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def fail(self, value: Any) -> ParamValueError:
        extra = " or null" if self.optional else ""
        return ParamValueError(f"must be {self.expects()}{extra}, got {_short(value)}")

    def to_json(self, value: Any) -> Any:
        """The JSON form of a validated value, as it is saved in a project file."""
        return list(value) if isinstance(value, tuple) else value

    def schema(self) -> dict[str, Any]:
        """What a form builder or a doc generator needs to know about this parameter."""
        out = {"kind": self.kind, "default": self.to_json(self.default), "doc": self.doc,
               "optional": self.optional, "expects": self.expects()}
        out.update(self._schema_extra())
        return out

    def _schema_extra(self) -> dict[str, Any]:
        return {}


def _range_text(lo: float | None, hi: float | None, lo_open: bool = False,
                hi_open: bool = False) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi}")
    return " and ".join(parts)


#: The value of a size that is the tokenizer's vocabulary size (`Int(vocab=True)`), kept as
#: it is in the project file and resolved when the data is known (`engine.text.vocab`).
VOCAB = "vocab"


@dataclass(frozen=True)
class Int(Param):
    min: int | None = None
    max: int | None = None
    #: Also accepts `VOCAB`: an Embedding's table or a Linear's outputs, one per token.
    vocab: bool = False
    kind: str = field(default="int", init=False)

    def check(self, value: Any) -> int | str:
        if self.vocab and value == VOCAB:
            return VOCAB
        if not _is_int(value):
            raise self.fail(value)
        too_low = self.min is not None and value < self.min
        if too_low or (self.max is not None and value > self.max):
            raise self.fail(value)
        return int(value)

    def expects(self) -> str:
        rng = _range_text(self.min, self.max)
        text = f"an integer {rng}" if rng else "an integer"
        return text + ' or "vocab" (the vocabulary size of the text data)' if self.vocab else text

    def _schema_extra(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min": self.min, "max": self.max}
        if self.vocab:
            out["vocab"] = True
        return out


@dataclass(frozen=True)
class Float(Param):
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    kind: str = field(default="float", init=False)

    def check(self, value: Any) -> float:
        if not is_number(value):  # also refuses ints beyond float range
            raise self.fail(value)
        lo_bad = self.min is not None and (value <= self.min if self.min_open else value < self.min)
        hi_bad = self.max is not None and (value >= self.max if self.max_open else value > self.max)
        if lo_bad or hi_bad:
            raise self.fail(value)
        return float(value)

    def expects(self) -> str:
        rng = _range_text(self.min, self.max, self.min_open, self.max_open)
        return f"a number {rng}" if rng else "a number"

    def _schema_extra(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True)
class Bool(Param):
    kind: str = field(default="bool", init=False)

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(value)
        return value

    def expects(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Choice(Param):
    choices: tuple[str, ...] = ()
    kind: str = field(default="choice", init=False)

    def check(self, value: Any) -> str:
        if value not in self.choices or not isinstance(value, str):
            raise self.fail(value)
        return value

    def expects(self) -> str:
        return "one of " + ", ".join(f"'{c}'" for c in self.choices)

    def _schema_extra(self) -> dict[str, Any]:
        return {"choices": list(self.choices)}


@dataclass(frozen=True)
class Ints(Param):
    """An int, or a list of `n` ints, as torch takes `kernel_size` or `stride`.

    `words` may add named values torch accepts too (``padding="same"``).
    """

    n: int = 2
    min: int = 1
    words: tuple[str, ...] = ()
    max: int | None = None
    kind: str = field(default="ints", init=False)

    def check(self, value: Any) -> int | tuple[int, ...] | str:
        if isinstance(value, str) and value in self.words:
            return value
        if self._fits(value):
            return int(value)
        if isinstance(value, (list, tuple)) and len(value) == self.n and all(
                self._fits(v) for v in value):
            return tuple(int(v) for v in value)
        raise self.fail(value)

    def _fits(self, value: Any) -> bool:
        return _is_int(value) and value >= self.min and (self.max is None or value <= self.max)

    def expects(self) -> str:
        text = f"an integer >= {self.min}"
        if self.max is not None:
            text += f" and <= {self.max}"
        if self.n > 1:
            text += f" or a list of {self.n} such integers"
        if self.words:
            text += " or " + " or ".join(f"'{w}'" for w in self.words)
        return text

    def _schema_extra(self) -> dict[str, Any]:
        return {"n": self.n, "min": self.min, "max": self.max, "words": list(self.words)}


@dataclass(frozen=True)
class Shape(Param):
    """A tensor shape without the batch dimension: a list of positive ints."""

    max_dims: int = 5
    max_size: int = 1 << 24
    kind: str = field(default="shape", init=False)

    def check(self, value: Any) -> tuple[int, ...]:
        if (isinstance(value, (list, tuple)) and 1 <= len(value) <= self.max_dims
                and all(_is_int(v) and 1 <= v <= self.max_size for v in value)):
            return tuple(int(v) for v in value)
        raise self.fail(value)

    def expects(self) -> str:
        return (f"a list of 1 to {self.max_dims} integers between 1 and {self.max_size}, "
                "without the batch dimension")

    def _schema_extra(self) -> dict[str, Any]:
        return {"max_dims": self.max_dims}


@dataclass(frozen=True)
class Text(Param):
    """A short piece of text: a file name, a class name."""

    max_length: int = 500
    kind: str = field(default="text", init=False)

    def check(self, value: Any) -> str:
        if (isinstance(value, str) and len(value) <= self.max_length
                and value.isprintable()):  # no line breaks or control characters
            return value
        raise self.fail(value)

    def expects(self) -> str:
        return f"one line of text of at most {self.max_length} characters"


@dataclass(frozen=True)
class JsonObject(Param):
    """Keyword arguments as a JSON object: names to numbers, text, true/false, lists."""

    max_items: int = 64
    kind: str = field(default="json", init=False)

    def check(self, value: Any) -> dict[str, Any]:
        if (isinstance(value, dict) and len(value) <= self.max_items
                and all(isinstance(k, str) and k.isidentifier() for k in value)
                and all(_plain_json(v, 0) for v in value.values())):
            return dict(value)
        raise self.fail(value)

    def expects(self) -> str:
        return ("a JSON object of keyword arguments, e.g. {\"hidden\": 64}, whose names are "
                "Python identifiers and whose values are numbers, text, true/false, null or "
                "lists of them")

    def to_json(self, value: Any) -> Any:
        return dict(value)


def _plain_json(value: Any, depth: int) -> bool:
    if depth > 4:
        return False
    if value is None or isinstance(value, (bool, str)) or is_number(value):
        return not isinstance(value, str) or len(value) <= 10_000
    if isinstance(value, (list, tuple)):
        return len(value) <= 1000 and all(_plain_json(v, depth + 1) for v in value)
    return False


def validate_params(declared: dict[str, Param], given: dict[str, Any]
                    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Fill defaults and check every value.

    Returns the resolved parameters and a list of ``(param, message)`` problems. Unknown
    names are problems too: a typo such as ``kernal_size`` must not silently fall back to the
    default.
    """
    resolved: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, decl in declared.items():
        try:
            resolved[name] = decl.validate(given[name]) if name in given else decl.default
        except ParamValueError as exc:
            problems.append((name, f"{name} {exc}"))
            resolved[name] = decl.default
    for name in given:
        if name not in declared:
            problems.append((str(name), unknown_param_message(str(name), list(declared))))
    return resolved, problems


def unknown_param_message(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f": did you mean '{close[0]}'?" if close else ""
    listing = ", ".join(known) if known else "none"
    return f"has no parameter '{name[:40]}'{hint} (its parameters: {listing})"


def params_to_json(declared: dict[str, Param], resolved: dict[str, Any]) -> dict[str, Any]:
    """The full parameter dict as saved; every parameter is written, defaults included, so a
    file means the same model even if a later version changes a default."""
    return {name: declared[name].to_json(resolved[name]) for name in declared}


# Parameters that name sizes and dimensions of a sample live in `params_sizes`, so this module
# stays small; they are re-exported here, where blocks import every parameter type from.
from .params_sizes import MAX_PIECES, Dims, Pieces, ReshapeShape  # noqa: E402

__all__ = ["MAX_PIECES", "Bool", "Choice", "Dims", "Float", "Int", "Ints", "JsonObject",
           "Param", "ParamValueError", "Pieces", "ReshapeShape", "Shape", "Text", "is_int",
           "is_number", "params_to_json", "unknown_param_message", "validate_params"]
