"""A model summary: per-node output shape, parameters and FLOPs, plus every problem.

The same report feeds `torchloom summary` (table or JSON) and, later, the GUI status bar.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from .block_training import node_training_json
from .blocks import TensorSpec, get_block
from .gcpause import gc_paused
from .graph import Graph
from .shapes import Analysis, infer, params_from_key, params_key, sample_tensor


def node_flops(graph: Graph, analysis: Analysis) -> dict[str, int]:
    """FLOPs of each node for a batch of one, counted by `FlopCounterMode`.

    Like torch's counter, only matrix products, convolutions and attention are counted;
    element-wise work (activations, norms, pooling) is cheap next to them and counts zero.
    Counting runs on meta tensors even for recurrent blocks: on the CPU an LSTM is one fused
    kernel the counter cannot see into, while its meta version is made of countable steps.

    A count is cached on (block, parameters, input shapes), as measurements are: counting
    costs about a millisecond a node, and a deep model repeats the same few blocks, so a
    10,000-block graph counts its distinct blocks once. A unit node is the sum of its copies'
    blocks, counted the same way (`units.expand.unit_flops`).
    """
    flops: dict[str, int] = {}
    for node_id in analysis.order:
        node = graph.node(node_id)
        info = analysis.nodes[node_id]
        block = node.block
        if block is None or block.is_input or info.spec is None:
            continue
        params = node.build_params(graph.base_dir)
        if getattr(block, "is_unit", False):
            from .units.expand import unit_flops

            counted = unit_flops(block.units, block.defn, params,  # type: ignore[attr-defined]
                                 info.input_specs)
        else:
            counted = _block_flops(node.type, params_key(params), info.input_specs)
        if counted is not None:
            flops[node_id] = counted
    return flops


@functools.lru_cache(maxsize=8192)
def _block_flops(type_name: str, key: tuple, specs: tuple[TensorSpec, ...]
                 ) -> int | None:
    """FLOPs of one catalogue block for a batch of one; None where a Code block does not
    run on meta (unknown, not an error)."""
    block = get_block(type_name)
    assert block is not None
    params = params_from_key(key)
    counter = FlopCounterMode(display=False)
    try:
        with torch.device("meta"):
            module = block.build(params, [s.shape for s in specs])
        module.eval()
        args = [sample_tensor(s, 1, "meta") for s in specs]
        with torch.no_grad(), counter:
            module(*args)
    except Exception:  # noqa: BLE001 - a Code block may not run on meta; FLOPs unknown
        if not block.measure_fallback:
            raise
        return None
    return int(counter.get_total_flops())


def flops_cache_clear() -> None:
    _block_flops.cache_clear()


@dataclass
class Summary:
    name: str
    analysis: Analysis
    flops: dict[str, int]
    rows: list[dict[str, Any]]

    @property
    def total_flops(self) -> int:
        return sum(self.flops.values())

    def to_json(self) -> dict[str, Any]:
        """The `--json` shape; a public contract (see docs/cli.md)."""
        a = self.analysis
        out_spec = a.output_spec
        return {
            "name": self.name,
            "total_params": a.total_params,
            "trainable_params": a.trainable_params,
            "frozen_params": a.frozen_params,
            "flops": self.total_flops,
            "output_shape": shape_json(out_spec.shape) if out_spec else None,
            "nodes": self.rows,
            "errors": [e.to_dict() for e in a.errors],
            "warnings": [w.to_dict() for w in a.warnings],
        }


def shape_json(shape: tuple[int, ...] | None) -> list[Any] | None:
    return None if shape is None else ["N", *shape]


def summarize(graph: Graph, name: str = "", analysis: Analysis | None = None) -> Summary:
    with gc_paused():  # many objects, no garbage (engine/gcpause.py)
        return _summarize(graph, name, analysis)


def _summarize(graph: Graph, name: str, analysis: Analysis | None) -> Summary:
    analysis = analysis or infer(graph)
    flops = node_flops(graph, analysis)
    rows = []
    for node in graph.nodes:
        info = analysis.nodes[node.id]
        row = {"id": node.id, "type": node.type,
               "output_shape": shape_json(info.shape), "dtype": info.spec.dtype
               if info.spec else None, "params": info.num_params,
               "flops": flops.get(node.id, 0)}
        row.update(node_training_json(node))  # "trainable": false, "lr_scale": only if set
        if info.multi_output:  # Split, Chunk: the shape of each output port as well
            row["outputs"] = {port: shape_json(spec.shape) for port, spec in info.outputs.items()}
        rows.append(row)
    return Summary(name, analysis, flops, rows)


def human(n: int) -> str:
    """12345678 -> '12.3M'."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def format_table(summary: Summary) -> str:
    return "\n".join(table_lines(summary))


def table_lines(summary: Summary) -> list[str]:
    """The summary table, one string per printed line (so a command escapes each line on
    its own and an id's line break cannot fake a row)."""
    header: tuple[str, ...] = ("node", "type", "output shape", "params", "FLOPs")
    body = [(r["id"], r["type"], _outputs_text(r), f"{r['params']:,}",
             human(r["flops"])) for r in summary.rows]
    if any("trainable" in r or "lr_scale" in r for r in summary.rows):
        header += ("trains",)  # only when a block is frozen or has its own rate
        body = [(*row, _trains_text(r)) for row, r in zip(body, summary.rows)]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    right = {3, 4}

    def line(row: tuple[str, ...]) -> str:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    a = summary.analysis
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in body]
    out.append("")
    frozen = f", frozen {a.frozen_params:,}" if a.frozen_params else ""
    out.append(f"total params {a.total_params:,} (trainable {a.trainable_params:,}{frozen}), "
               f"FLOPs {human(summary.total_flops)} per sample")
    return out


def _trains_text(row: dict[str, Any]) -> str:
    """``frozen``, ``lr x0.1`` or nothing: how a block takes part in training."""
    if not row.get("trainable", True):
        return "frozen"
    return f"lr x{row['lr_scale']:g}" if "lr_scale" in row else ""


def _shape_text(shape: list[Any] | None) -> str:
    return "?" if shape is None else "[" + ", ".join(map(str, shape)) + "]"


def _outputs_text(row: dict[str, Any]) -> str:
    if "outputs" in row:
        return " · ".join(f"{port} {_shape_text(shape)}" for port, shape in row["outputs"].items())
    return _shape_text(row["output_shape"])
