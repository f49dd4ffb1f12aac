"""`import_module`: a person's nn.Module (a ``.py`` class or an exported ``.pt2``) in, an
editable, trainable Torchloom project out, with its weights and a report.

The import never fails on a layer it does not know: that layer becomes a Code node. It
fails (with `ModelImportError`) only when the source cannot be run at all: a missing file,
a syntax error, a constructor that raises, a model that rejects the input shape given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import torch

from ..compile import module_names
from ..data.catalog import BUILTINS
from ..errors import ModelImportError
from ..project import Project, save_project
from ..train.checkpoint import save_weights
from .build import (Built, available_tensors, build_from_trace, build_whole,
                    carry_weights, code_file_for, compare, place, remember_trust)
from .outputs import give_heads
from .plan import PlanError
from .result import ImportResult
from .quiet import captured_output
from .rollback import WriteGuard
from .source import LoadedModel, check_forward_arguments, first_line, load_model
from .trace import trace_module
from .units import unitize
from .values import example_inputs, record_values, token_limit

DTYPES = ("float32", "int64")


def import_module(source: str | os.PathLike[str], out: str | os.PathLike[str], *,
                  input_shapes: Sequence[Sequence[int]] | None = None,
                  input_dtypes: Sequence[str] | None = None,
                  kwargs: dict[str, Any] | None = None, trust_code: bool = True,
                  force: bool = False, keep_failed: bool = True) -> ImportResult:
    """Import `source` into a project written at `out` (plus ``<stem>.safetensors`` and,
    when some part is code, ``<stem>_code.py`` beside it).

    Args:
        source: ``path/to/file.py:ClassName`` (the file is executed) or a ``.pt2`` file.
        out: the project file to write.
        input_shapes: one per-sample shape (no batch) per forward argument; required for a
            ``.py`` source, read from the program for a ``.pt2``.
        input_dtypes: "float32" (default) or "int64" (token ids) per input.
        kwargs: keyword arguments for the class's constructor.
        trust_code: trust the written code file (it is the person's own code, which they
            just chose to run), so the project trains without a separate trust step.
        force: replace files of those names that already exist. Without it the import
            refuses, before it runs anything, rather than overwrite a project, weights or
            code the person may not have meant to lose.
        keep_failed: keep the files of an import that ran but whose graph has errors or
            does not reproduce the model (the app opens it and shows what is wrong on the
            nodes); False removes them (the command line, whose exit 1 says it failed).
            An import that raises never leaves a file behind, and files it was to replace
            are put back.

    Raises:
        ModelImportError: the source cannot be loaded, built or run on the input shape, or
            (without `force`) a file the import would write already exists.
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise ModelImportError("the folder to write the project into does not exist",
                               path=str(out))
    text = str(source)
    is_pt2 = text.lower().endswith(".pt2")
    if not force:
        refuse_existing(out, code=not is_pt2)
    guard = WriteGuard(written_files(out, code=not is_pt2))
    with guard:
        with captured_output() as printed:
            if is_pt2:
                from .pt2 import import_pt2

                result = import_pt2(Path(text), out)
                code_file = None
            else:
                result, code_file = _import_py(text, out, input_shapes, input_dtypes, kwargs,
                                               trust_code, guard)
        result.notes += printed.notes()
        if not (result.ok or keep_failed):
            result.notes.append("nothing was written: the import did not give a project that "
                                "reproduces the model")
            result.files = []
            return result
        guard.commit()
    result.files += [p for p in guard.paths if p.is_file() and p not in result.files]
    if trust_code and code_file is not None:
        remember_trust(code_file)
    return result


def _import_py(text: str, out: Path, input_shapes: Sequence[Sequence[int]] | None,
               input_dtypes: Sequence[str] | None, kwargs: dict[str, Any] | None,
               trust_code: bool, guard: WriteGuard) -> tuple[ImportResult, Path | None]:
    specs = _specs(input_shapes, input_dtypes)
    loaded = load_model(text, kwargs)
    check_forward_arguments(loaded, len(specs))
    built, source, inputs = _build(loaded, specs, out, trust_code)
    project = Project(graph=built.graph, name=loaded.class_name, path=out)
    if len(built.outputs) > 1:
        give_heads(project, built.outputs, built.notes)
    result = finish(project, built, loaded.module, available_tensors(source), inputs, out)
    return result, built.code_file


def import_to_project(source: str | os.PathLike[str], out: str | os.PathLike[str], *,
                      input_shape: Sequence[int] | None = None, input_dtype: str = "float32",
                      kwargs: dict[str, Any] | None = None, force: bool = False
                      ) -> ImportResult:
    """`import_module` for one input: the form the app's File → Import dialog fills in."""
    return import_module(source, out, input_shapes=[input_shape] if input_shape else None,
                         input_dtypes=[input_dtype], kwargs=kwargs, force=force)


def written_files(out: Path, code: bool = True) -> list[Path]:
    """Every file an import into `out` may write: the project, its weights and (for a
    ``.py`` source, when some part stays code) its code file."""
    files = [out, out.with_suffix(".safetensors")]
    return files + [code_file_for(out)] if code else files


def refuse_existing(out: Path, code: bool = True) -> None:
    """Raise when a file the import may write exists already.

    Checked before the source runs, so whether a code file or weights will be needed is not
    known yet: any existing one counts. Better to ask for --force once too often than to
    replace someone's weights or code without a word.
    """
    taken = [f for f in written_files(out, code) if f.exists()]
    if not taken:
        return
    names = [str(f) for f in taken]
    shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb, them = ("exists", "it") if len(names) == 1 else ("exist", "them")
    raise ModelImportError(f"{shown} already {verb}: pass --force to replace {them}, or "
                           "choose another -o name")


def _specs(shapes: Sequence[Sequence[int]] | None, dtypes: Sequence[str] | None
           ) -> list[tuple[list[int], str]]:
    if not shapes:
        raise ModelImportError("give the input shape of one sample, without the batch "
                               "(--input-shape 1,28,28)")
    dtypes = list(dtypes or [])
    if len(dtypes) == 1 and len(shapes) > 1:
        dtypes = dtypes * len(shapes)
    dtypes += ["float32"] * (len(shapes) - len(dtypes))
    if len(dtypes) != len(shapes):
        raise ModelImportError(f"{len(dtypes)} input dtypes for {len(shapes)} input shapes")
    out = []
    for shape, dtype in zip(shapes, dtypes):
        shape = [int(s) for s in shape]
        if not shape or any(s < 1 for s in shape) or len(shape) > 5:
            raise ModelImportError(f"input shape {shape} must be 1 to 5 sizes of at least 1, "
                                   "without the batch")
        if dtype not in DTYPES:
            raise ModelImportError(f"input dtype {dtype!r} must be float32 or int64")
        out.append((shape, dtype))
    return out


def _build(loaded: LoadedModel, specs: list[tuple[list[int], str]], out: Path, trust: bool
           ) -> tuple[Built, torch.nn.Module, tuple[torch.Tensor, ...]]:
    root = loaded.module
    limit = token_limit(root)
    shapes = [tuple(s) for s, _ in specs]
    dtypes = [d for _, d in specs]
    probe = example_inputs(shapes, dtypes, batch=2, token_limit=limit, seed=0)
    check = example_inputs(shapes, dtypes, batch=3, token_limit=limit, seed=1)
    for inputs in (probe, check):  # two batch sizes: the import compares both
        try:
            with torch.no_grad():
                root(*inputs)
        except Exception as exc:  # noqa: BLE001 - their model may raise anything
            shown = ", ".join(f"{list(s)} {d}" for s, d in specs)
            raise ModelImportError(
                f"{loaded.class_name} fails on a batch of {len(inputs[0])} samples of {shown}: "
                f"{first_line(exc)}: check --input-shape and --input-dtype",
                path=str(loaded.path)) from None
    traced = trace_module(root, len(specs), examples=(probe, check))
    notes = [f"{leaf}: its forward cannot be traced ({why}), so it is one Code node"
             for leaf, why in traced.reasons.items() if leaf] + traced.notes
    if traced.gm is not None:
        placeholders = [n for n in traced.gm.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != len(specs):
            raise ModelImportError(f"{loaded.class_name}.forward takes {len(placeholders)} "
                                   f"input(s) but {len(specs)} input shape(s) were given",
                                   path=str(loaded.path))
        try:
            values = record_values(traced.gm, probe, check)
            built = build_from_trace(loaded, traced.gm, values, specs, out, trust)
        except PlanError as exc:
            why = str(exc)
        except Exception as exc:  # noqa: BLE001 - never fail outright: keep the model whole
            if os.environ.get("TORCHLOOM_DEBUG"):
                raise
            why = f"mapping it failed ({type(exc).__name__}: {first_line(exc)})"
        else:
            built.notes[:0] = notes
            return built, traced.gm, check
        return build_whole(loaded, specs, out, trust, why), root, check
    why = f"its forward cannot be traced ({traced.reasons.get('', 'unknown reason')})"
    return build_whole(loaded, specs, out, trust, why), root, check


def finish(project: Project, built: Built, original: torch.nn.Module,
           available: dict[str, torch.Tensor], inputs: tuple[torch.Tensor, ...], out: Path
           ) -> ImportResult:
    """Carry the weights, check the outputs, choose a dataset and write the files."""
    files = [out]
    if built.code_file is not None:
        files.append(built.code_file)
    errors = [e.describe() for e in built.analysis.errors]
    identical, diff, mismatch, fresh = None, None, None, []
    params = built.analysis.total_params
    if not errors:
        compiled, _carried, fresh = carry_weights(built, available)
        identical, diff, mismatch = compare(original, compiled, inputs)
        grouped = unitize(project, built, original, compiled, inputs)
        if grouped is not None:  # repeated child modules became units (same outputs)
            compiled = grouped[0]
            built.notes += grouped[1]
            place(project.graph)
        if compiled.state_dict():
            weights = out.with_suffix(".safetensors")
            names = module_names(n.id for n in project.graph.nodes)
            save_weights(compiled, weights, {name: node for node, name in names.items()})
            project.weights = weights.name
            files.append(weights)
    project.dataset = pick_dataset(project, built.analysis)
    save_project(project, out)
    mapped = sum(1 for n in project.graph.nodes if n.type not in ("Input", "Code"))
    return ImportResult(project, files, mapped, built.code_nodes, fresh,
                        sum(p.numel() for p in original.parameters()), params,
                        identical, diff, built.reasons, built.notes, errors, mismatch)


def pick_dataset(project: Project, analysis: Any = None) -> dict[str, Any] | None:
    """The built-in dataset whose samples have the model's input shape and dtype, if one,
    for a model that gives class scores ([N, classes]): a DCGAN discriminator's [N] output
    or a generator's image is no classifier, and a classification dataset would make the
    project fail its check."""
    inputs = [project.graph.node(i) for i in project.graph.input_ids()]
    if len(inputs) != 1 or project.heads:  # which data trains each head is not known
        return None
    out = getattr(analysis, "output_spec", None)
    if out is not None and (len(out.shape) != 1 or out.shape[0] < 2):
        return None
    shape = list(inputs[0].params.get("shape", []))
    dtype = inputs[0].params.get("dtype", "float32")
    found = [d.name for d in BUILTINS.values()  # an import is a classifier until told
             if list(d.input_shape) == shape and d.dtype == dtype
             and d.targets == "classification" and not d.tokenized
             and not d.named_targets]  # a set made for several heads is not one classifier's
    return {"name": found[0]} if len(found) == 1 else None
