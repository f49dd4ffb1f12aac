"""What every binary export shares: a quiet exporter, atomic files, the self-check, and
naming the block an exporter choked on.

An export that cannot prove it reproduces the model is worse than none: a person ships it
and finds out in production. So each format reloads what it wrote, runs it on a batch of a
*different* size than the one it was traced with (which proves the batch dimension stayed
dynamic), and compares with the compiled model. Files are written beside the target and
renamed into place only after that check, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from ..errors import ExportError, ExportPathError
from ..fileio import umask
from ..sampling import CHECK_SEED, run_seeded, sampled_outputs
from .model import ExportModel

#: Largest absolute difference from the compiled model an export may show.
TOLERANCE = 1e-4
#: The batch the exporters trace with, and the batches the self-check runs (all different).
EXPORT_BATCH = 2
CHECK_BATCHES = (1, 5)
#: The mode of a written file before the umask, as `open()` would create it.
FILE_MODE = 0o666
#: Loggers that print progress and "torchvision is not installed" lines during an export.
_NOISY_LOGGERS = ("torch.onnx", "torch.export", "torch._export", "torch.fx.experimental",
                  "torch._dynamo", "onnxscript")


#: `quiet` changes process-wide state (stderr, warning filters, logger levels): two threads
#: interleaving it would leave them changed for good, so one export is quiet at a time.
_QUIET = threading.RLock()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the exporters' warnings and log lines: the person asked for a file, and a
    screen of internal notices hides the one line that matters (the check)."""
    with _QUIET:
        with _quiet():
            yield


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    levels = {}
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.ERROR)
    try:
        # torch.export also prints a failed trace's partial graph straight to stderr
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def batch_dims(args: Sequence[Any]) -> tuple[dict[int, Any] | None, ...]:
    """A dynamic batch dimension for every tensor argument, one shared `Dim` so inputs that
    meet (Add, Concat) are known to agree."""
    batch = torch.export.Dim("batch", min=1)
    return tuple({0: batch} if isinstance(a, torch.Tensor) and a.dim() > 0 else None
                 for a in args)


def reference(model: ExportModel, inputs: Sequence[torch.Tensor]) -> Any:
    """The compiled model's output: a tensor, or a tuple of them (one per head)."""
    out = run_seeded(model.module, inputs)  # seeded as the runtime's run (pt2) is
    return tuple(_tensor(v) for v in out) if isinstance(out, (tuple, list)) else _tensor(out)


def _tensor(value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value)
    return value.detach().to("cpu")


def _outputs(value: Any) -> list[torch.Tensor]:
    """Every output tensor: one, or each of a tuple (a model with several heads)."""
    if isinstance(value, (tuple, list)):
        return [_tensor(v) for v in value]
    return [_tensor(value)]


def max_abs_diff(expected: Any, got: Any) -> float:
    """The largest absolute difference over every output; infinite when the shapes (or the
    number of outputs) differ, NaN-safe."""
    want, have = _outputs(expected), _outputs(got)
    if len(want) != len(have):
        return float("inf")
    worst = 0.0
    for a, b in zip(want, have):
        a, b = a.double(), b.double()
        if a.shape != b.shape:
            return float("inf")
        if a.numel() == 0:
            continue
        diff = (a - b).abs()
        if torch.isnan(diff).any():
            return float("nan")
        worst = max(worst, float(diff.max()))
    return worst


def check_close(diffs: dict[int, float], fmt: str, against: str) -> float:
    """The worst difference over the checked batches, or an ExportError above TOLERANCE.

    `diffs` maps batch size -> max difference; NaN (or a shape mismatch, inf) also fails.
    """
    ranked = {b: (float("inf") if math.isnan(d) else d) for b, d in diffs.items()}
    batch = max(ranked, key=lambda b: ranked[b])
    worst = diffs[batch]
    if not worst <= TOLERANCE:  # NaN compares false too
        if worst == float("inf"):
            what = f"{against} gives another output shape than PyTorch"
        elif math.isnan(worst):
            what = f"{against} and PyTorch disagree (NaN)"
        else:
            what = f"{against} differs from PyTorch by {worst:.3g} (allowed: {TOLERANCE:g})"
        raise ExportError(f"the export does not reproduce the model: {what} on a batch of "
                          f"{batch}", fmt=fmt)
    return worst


def compare(model: ExportModel, run: Callable[[tuple[torch.Tensor, ...]], Any], fmt: str,
            against: str) -> dict[str, Any]:
    """Run the export (`run`) and the compiled model on the check batches; the checks dict.

    Raises ExportError when they differ by more than TOLERANCE.
    """
    diffs = {}
    sampled: list[int] = []
    for i, batch in enumerate(CHECK_BATCHES):
        inputs = model.example_inputs(batch, seed=100 + i)
        try:
            expected = reference(model, inputs)
        except Exception as exc:  # noqa: BLE001 - the model's own code may raise anything
            raise ExportError(f"the model itself fails on a batch of {batch} "
                              f"({first_line(exc)}): it depends on the batch size, which "
                              "an export keeps free", fmt=fmt) from None
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(CHECK_SEED)
                got = run(inputs)
        except ExportError:
            raise
        except Exception as exc:  # noqa: BLE001 - a runtime raises many types
            raise ExportError(f"{against} cannot run the exported model on a batch of "
                              f"{batch}: {first_line(exc)}", fmt=fmt) from None
        diffs[batch] = max_abs_diff(expected, got)
        if not diffs[batch] <= TOLERANCE:  # a model that samples? (runs it twice more)
            found = sampled_outputs(model.module, inputs)
            sampled = sorted(set(sampled) | set(found))
            diffs[batch] = max_abs_diff(*_unsampled(expected, got, found))
    worst = check_close(diffs, fmt, against)
    checks = {"max_abs_diff": worst, "batch_sizes": list(CHECK_BATCHES),
              "tolerance": TOLERANCE, "compared_with": against}
    if sampled:  # their noise is the runtime's own: compared by shape and dtype
        checks["sampled_outputs"] = sampled
    return checks


def _unsampled(expected: Any, got: Any, sampled: list[int]) -> tuple[Any, Any]:
    """The outputs with each sampled one (noise the runtime draws its own way) zeroed on
    both sides where shape and dtype agree, so only the others are compared by value."""
    if not sampled:
        return expected, got
    want, have = _outputs(expected), _outputs(got)
    for k in sampled:
        if k < len(have) and have[k].shape == want[k].shape and have[k].dtype == want[k].dtype:
            want[k] = have[k] = torch.zeros_like(want[k])
    return want, have


# ---- files -----------------------------------------------------------------------------


def prepare_target(out: Path, fmt: str) -> Path:
    """The target file, its folder created.

    Raises:
        ExportPathError: `out` is a folder, or its folder cannot be created (a bad ``-o``,
            which the command line reports as exit 2, not as a failed export).
    """
    out = Path(out)
    if out.is_dir():
        raise ExportPathError("is a folder: give the file to write", fmt=fmt, path=str(out))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportPathError(f"cannot create the folder ({exc.strerror or exc})", fmt=fmt,
                              path=str(out.parent)) from None
    return out


def cannot_write(exc: OSError, fmt: str, out: Path) -> ExportPathError:
    """A write that failed for the place (a full disk, a read-only folder, a quota): exit
    code 2 like every path that cannot be used, never 1, which means the model."""
    return ExportPathError(f"cannot write there ({exc.strerror or exc})", fmt=fmt,
                           path=str(out))


@contextlib.contextmanager
def staged(out: Path, fmt: str) -> Iterator[Path]:
    """A temporary path beside `out`, renamed onto `out` when the block finishes, removed
    when it raises: a failed or unverified export never leaves a half file."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise ExportPathError(f"cannot write there ({exc.strerror or exc})", fmt=fmt,
                              path=str(out)) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _file_mode(out))
        os.replace(tmp, out)
    except OSError as exc:
        raise cannot_write(exc, fmt, out) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _file_mode(out: Path) -> int:
    """The mode the written file gets: the old file's when it replaces one, else what
    `open()` would create under the umask (mkstemp's own 0o600 would hide it from others)."""
    try:
        return out.stat().st_mode & 0o777
    except OSError:
        return FILE_MODE & ~umask()


# ---- failures --------------------------------------------------------------------------


def first_line(exc: BaseException) -> str:
    """The root cause's type and first line: exporters wrap the real reason in layers of
    "step 1/3 failed" text."""
    root = exc
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    lines = [line.strip() for line in _ANSI.sub("", str(root)).splitlines() if line.strip()]
    text = lines[0] if lines else "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(root).__name__}: {text}"


def locate_failure(model: ExportModel, attempt: Callable[[nn.Module, tuple[Any, ...]], Any]
                   ) -> str | None:
    """The node id of the first block that `attempt` (an export of one submodule) fails on,
    trying the blocks that are not stock PyTorch (Code blocks) first.

    Run only after the whole model failed, so its cost (one small export per block) is paid
    only when there is something to explain. None when every block exports on its own.
    """
    captured: dict[str, tuple[Any, ...]] = {}
    children = dict(model.module.named_children())
    hooks = [sub.register_forward_pre_hook(
        lambda m, args, name=name: captured.setdefault(name, args) and None)
        for name, sub in children.items()]
    try:
        with torch.no_grad():
            model.module(*model.example_inputs(EXPORT_BATCH))
    except Exception:  # noqa: BLE001 - then the model itself fails; nothing to narrow down
        return None
    finally:
        for hook in hooks:
            hook.remove()
    order = [str(n.target) for n in model.module.graph.nodes
             if n.op == "call_module" and str(n.target) in captured]
    order.sort(key=lambda name: _is_stock(children[name]))  # stable: own code first
    with quiet():
        for name in order:
            try:
                attempt(children[name], captured[name])
            except Exception:  # noqa: BLE001 - any failure points at this block
                return model.node_ids.get(name, name)
    return None


def _is_stock(module: nn.Module) -> bool:
    where = type(module).__module__
    return where.startswith("torch.") or where.endswith("engine.layers")


def block_failure(model: ExportModel, exc: BaseException, fmt: str, what: str,
                  attempt: Callable[[nn.Module, tuple[Any, ...]], Any]) -> ExportError:
    """An ExportError for an exporter's exception, naming the block when one can be found:
    from the fx node torch names in its message, else by exporting block by block."""
    text = _all_text(exc)
    node_id = _node_in_message(model, text) or locate_failure(model, attempt)
    reason = first_line(exc) + _code_location(text)
    if "Constraints violated (batch)" in text:
        reason = reason.rstrip(".") + "; it fixes the batch size, which an export keeps free"
    if node_id is None:
        return ExportError(f"{what} cannot express this model: {reason}", fmt=fmt)
    node = model.project.graph.node(node_id)
    return ExportError(f"the {node.type} block cannot be expressed in {what}: {reason}",
                       fmt=fmt, node=node_id)


def _all_text(exc: BaseException) -> str:
    parts, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return _ANSI.sub("", "\n".join(parts))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXECUTING = re.compile(r"call_module\[target=([^\]]+)\]")
_CALL = re.compile(r'File "([^"]+)", line (\d+), in \w+\n\s*(.+)')


def _node_in_message(model: ExportModel, text: str) -> str | None:
    """torch.export says "While executing %x : call_module[target=NAME]" for the submodule
    it was inside; NAME's first part is a block's module name."""
    for match in _EXECUTING.finditer(text):
        name = match.group(1).split(".")[0]
        if name in model.node_ids:
            return model.node_ids[name]
    return None


def _code_location(text: str) -> str:
    """The line of the person's code torch blames, as ' (at file.py:7: the code)'."""
    for match in _CALL.finditer(text):
        path, line, code = match.groups()
        if "site-packages" in path or "/torch/" in path.replace("\\", "/"):
            continue
        code = code.strip()
        if len(code) > 120:
            code = code[:117] + "..."
        return f" (at {Path(path).name}:{line}: {code})"
    return ""
