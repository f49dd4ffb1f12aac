"""Deciding, while tracing, the Python-level questions a forward asks about its input.

torch.fx refuses any ``if``, ``assert``, ``len()`` or ``int()`` on a traced value, so a
model whose forward checks ``input.is_cuda and self.ngpu > 1`` (the DCGAN of the PyTorch
examples), asserts ``x.dim() == 4`` or loops over ``x.shape`` would otherwise be kept whole
as one Code node, hiding a body that is plain layers. The answers to those questions do not
depend on the data: only on the device, the dtype and the per-sample shape, which an
imported model fixes (its Input node has one shape). So the tracer asks this module, which
runs the few traced lines the question needs on the real sample batches and answers.

A question is answered only when that is safe: its value must come from the tensors'
metadata (device, dtype, shape, dims), never their values (``if x.mean() > 0`` stays
untraceable), and it must be the same for the two batch sizes the import checks with (a
``len(x)`` that is the batch size stays untraceable rather than be frozen to one size).
"""

from __future__ import annotations

import contextlib
import inspect
import linecache
import operator
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import fx, nn
from torch.fx.proxy import Proxy, TraceError

#: Tensor attributes and methods that read metadata, not values: a question built only on
#: these (and Python arithmetic on them) has one answer for every batch of that shape.
METADATA_ATTRS = frozenset({"is_cuda", "device", "dtype", "shape", "ndim", "is_sparse",
                            "is_quantized", "is_meta", "layout", "is_mps"})
METADATA_METHODS = frozenset({"size", "dim", "ndimension", "numel", "nelement",
                              "is_floating_point", "is_complex", "get_device",
                              "element_size", "is_contiguous"})

#: torch.nn's own call and attribute lookup: fx replaces both while it traces, and a module
#: run on real tensors here must not be traced.
_MODULE_CALL = nn.Module.__call__
_MODULE_GETATTR = nn.Module.__getattr__

_TORCH_DIR = str(Path(torch.__file__).resolve().parent)
_IMPORTER_DIR = str(Path(__file__).resolve().parent)


class Specialiser:
    """Answers a tracer's questions about its proxies from the example batches."""

    def __init__(self, root: nn.Module, examples: Sequence[Sequence[torch.Tensor]],
                 defaults: dict[str, Any]) -> None:
        self.root = root
        self.examples = [tuple(x.clone() for x in batch) for batch in examples]
        self.defaults = defaults
        self.notes: list[str] = []
        self._memo: list[dict[fx.Node, Any]] = [{} for _ in self.examples]

    # ---- what the tracer calls ---------------------------------------------------------

    def to_bool(self, proxy: Proxy) -> bool:
        answer = self._static(proxy.node, "a condition", bool)
        self._note(f"taken as {answer}")
        return answer

    def length(self, proxy: Proxy) -> int:
        return self._static(proxy.node, "len()", len, metadata=True)

    def index(self, proxy: Proxy) -> int:
        return self._static(proxy.node, "a Python int", operator.index)

    def iterate(self, proxy: Proxy) -> Iterator[Any]:
        """``for size in x.shape``: one traced item per element (the length is static)."""
        count = self._static(proxy.node, "a loop", len, metadata=True)
        return iter([proxy[i] for i in range(count)])

    # ---- the answer --------------------------------------------------------------------

    def _static(self, node: fx.Node, what: str, answer: Callable[[Any], Any],
                metadata: bool = False) -> Any:
        """`answer` of `node`'s value, which must be the same on every example batch.
        `metadata`: the answer reads only the value's length (a tensor's first size), so
        the value itself may come from the data."""
        reads = None if metadata else _reads_values(node)
        if reads is not None:
            raise TraceError(f"{what} depends on the values of {reads}, not only its shape")
        if not self.examples:
            raise TraceError(f"{what} on a traced value (no sample batch to decide it)")
        with _untraced_modules():
            try:
                answers = [answer(self._value(node, k)) for k in range(len(self.examples))]
            except TraceError:
                raise
            except Exception as exc:  # noqa: BLE001 - their values may refuse the question
                raise TraceError(f"{what}: {exc}") from None
        if any(not _same(answers[0], other) for other in answers[1:]):
            raise TraceError(f"{what} depends on the batch size")
        return answers[0]

    def _value(self, node: fx.Node, k: int) -> Any:
        memo = self._memo[k]
        if node in memo:
            return memo[node]
        args = fx.node.map_arg(node.args, lambda n: self._value(n, k))
        kwargs = fx.node.map_arg(node.kwargs, lambda n: self._value(n, k))
        try:
            with torch.no_grad():
                value = self._run(node, args, kwargs, k)
        except TraceError:
            raise
        except Exception as exc:  # noqa: BLE001 - their code may raise anything
            raise TraceError(f"running {node.name} on the sample batch failed: {exc}") from None
        memo[node] = value
        return value

    def _run(self, node: fx.Node, args: Any, kwargs: Any, k: int) -> Any:
        if node.op == "placeholder":
            names = [n.target for n in node.graph.nodes if n.op == "placeholder"]
            position = names.index(node.target)
            if node.target in self.defaults:
                return self.defaults[node.target]
            return self.examples[k][position]
        if node.op == "get_attr":
            value: Any = self.root
            for part in str(node.target).split("."):
                value = getattr(value, part)
            return value
        if node.op == "call_module":
            return self.root.get_submodule(str(node.target))(*args, **kwargs)
        if node.op == "call_method":
            return getattr(args[0], str(node.target))(*args[1:], **kwargs)
        if node.op == "call_function":
            return node.target(*args, **kwargs)  # type: ignore[operator]
        raise TraceError(f"cannot evaluate {node.op} {node.name}")

    def _note(self, answer: str) -> None:
        where = _user_line()
        if where is not None:
            note = f"{where}: decided once from the input's device, dtype and shape: {answer}"
            if note not in self.notes:
                self.notes.append(note)


def _reads_values(node: fx.Node) -> str | None:
    """The first tensor whose values (not metadata) `node` depends on, or None."""
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if _is_metadata(n):
            continue  # its tensor argument's values do not matter
        if n.op == "placeholder":
            return n.name
        if n.op == "get_attr":
            return str(n.target)
        stack.extend(n.all_input_nodes)
    return None


def _is_metadata(n: fx.Node) -> bool:
    if n.op == "call_method":
        return n.target in METADATA_METHODS
    if n.op == "call_function" and n.target is getattr and len(n.args) > 1:
        return n.args[1] in METADATA_ATTRS
    return False


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - a comparison that itself raises: not the same
        return False


def _user_line() -> str | None:
    """``Generator.forward line 31 (if input.is_cuda and self.ngpu > 1:)``: the person's
    line that asked, the first frame outside torch."""
    frame = inspect.currentframe()
    while frame is not None:
        file = frame.f_code.co_filename
        if not str(Path(file).resolve()).startswith((_TORCH_DIR, _IMPORTER_DIR)):
            text = linecache.getline(file, frame.f_lineno).strip()
            owner = frame.f_locals.get("self")
            scope = (f"{type(owner).__name__}.{frame.f_code.co_name}" if owner is not None
                     else frame.f_code.co_name)
            shown = text if len(text) <= 80 else text[:77] + "..."
            return f"{scope} line {frame.f_lineno} ({shown})"
        frame = frame.f_back
    return None


@contextlib.contextmanager
def _untraced_modules() -> Iterator[None]:
    """Modules called for real while fx's patches are in place."""
    patched = nn.Module.__call__, nn.Module.__getattr__
    nn.Module.__call__ = _MODULE_CALL  # type: ignore[method-assign]
    nn.Module.__getattr__ = _MODULE_GETATTR  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.__call__, nn.Module.__getattr__ = patched  # type: ignore[method-assign]


@contextlib.contextmanager
def proxies_ask_their_tracer() -> Iterator[None]:
    """While tracing, ``len()`` and ``int()``/``range()`` on a proxy ask its tracer (when it
    can answer) instead of failing outright; other tracers see fx's own behaviour."""
    saved = {name: Proxy.__dict__.get(name) for name in ("__len__", "__index__", "__int__")}

    def ask(name: str, method: str) -> Callable[[Proxy], int]:
        original = saved[name]

        def call(self: Proxy) -> int:
            answer = getattr(self.tracer, method, None)
            if answer is not None:
                return answer(self)
            if original is not None:
                return original(self)
            raise TypeError(f"a traced value does not support {name}")

        return call

    Proxy.__len__ = ask("__len__", "length_of")  # type: ignore[method-assign]
    Proxy.__index__ = ask("__index__", "index_of")  # type: ignore[attr-defined]
    Proxy.__int__ = ask("__int__", "index_of")  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(Proxy, name)
            else:
                setattr(Proxy, name, value)
