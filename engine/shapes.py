"""Shape inference: every node's output shape, measured by running its module on meta tensors.

No output-size formulas are written by hand: each block is built with the same `build` that
training uses and run on ``device="meta"`` (or, for blocks whose meta kernels are slow, on
a batch of two small real tensors), so the canvas can never disagree with what trains.

Measurements are cached on (block type, parameters, input shapes), so after one edit only
the nodes whose inputs actually changed are measured again.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from .blocks import Block, Port, TensorSpec, get_block, is_single
from .blocks.base import SINGLE_OUTPUT, BlockCheckError
from .errors import CodeError, GraphError, PortError, ShapeError
from .gcpause import gc_paused
from .graph import Edge, Graph, Node
from .ports import rewire_fix, source_spec
from .shape_messages import check_node, output_warning, unknown_vocab

#: Blocks that measure on the CPU (see `Block.measure_on`) fall back to meta above this
#: many bytes of weights and activations, so a huge hidden size cannot exhaust memory.
REAL_MEASURE_BYTES = 256 * 2**20

#: Batch size of the measuring run. Dimension 0 of every output must equal it; it is shown
#: as ``N``.
BATCH = 2


@dataclass
class NodeInfo:
    """What the canvas shows on a node: its output, its size and its problems.

    `outputs` holds the spec of each output port, in port order (``{"out": spec}`` for the
    one output of most blocks); `spec` is the first of them, the node's output.
    """

    spec: TensorSpec | None = None
    num_params: int = 0
    trainable_params: int = 0
    errors: list[GraphError] = field(default_factory=list)
    input_specs: tuple[TensorSpec, ...] = ()
    outputs: dict[str, TensorSpec] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self.spec.shape if self.spec else None

    @property
    def multi_output(self) -> bool:
        """Whether the module returns a tuple, one tensor per output port."""
        return bool(self.outputs) and list(self.outputs) != [SINGLE_OUTPUT]

    def show(self) -> str:
        if self.multi_output:
            return " · ".join(f"{name} {spec.show()}" for name, spec in self.outputs.items())
        return self.spec.show() if self.spec else "?"


@dataclass
class Analysis:
    """Result of one inference pass over a graph."""

    nodes: dict[str, NodeInfo]
    problems: list[GraphError]
    order: list[str]
    inputs: list[str]
    output: str | None
    #: Every output the model returns, in order: the heads' nodes of a model with several
    #: outputs (`engine.heads`), else (`output`,) or ().
    outputs: tuple[str, ...] = ()
    #: The nodes whose NodeInfo is not the one the previous analysis of the same
    #: `ShapeTracker` held (a view redraws only those); None: every node may have changed.
    changed: frozenset[str] | None = None

    @property
    def errors(self) -> list[GraphError]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[GraphError]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(info.num_params for info in self.nodes.values())

    @property
    def trainable_params(self) -> int:
        return sum(info.trainable_params for info in self.nodes.values())

    @property
    def frozen_params(self) -> int:
        """Parameters that do not train: those of frozen blocks (`Node.trainable`)."""
        return self.total_params - self.trainable_params

    @property
    def output_spec(self) -> TensorSpec | None:
        return self.nodes[self.output].spec if self.output in self.nodes else None


#: A shape pass: `infer`, or a `ShapeTracker`'s (graph, vector_output) -> Analysis.
Infer = Callable[[Graph, bool], Analysis]


@dataclass(frozen=True)
class _Measured:
    #: the output's spec; the first one's when the module returns a tuple (`specs`)
    spec: TensorSpec | None
    params: int = 0
    trainable: int = 0
    error: str | None = None
    #: (file, line) in a Code block's own file where its forward raised.
    where: tuple[str, int] | None = None
    #: one spec per tensor when the module returns a tuple (Split, Chunk); else None
    specs: tuple[TensorSpec, ...] | None = None


class _FrozenDict(tuple):
    """A dict parameter (a Code block's kwargs) as a hashable cache key."""


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return _FrozenDict(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def params_key(params: dict[str, Any]) -> tuple:
    """Validated parameters as a hashable key, for caches of per-block work."""
    return tuple(_freeze(params))


def params_from_key(key: tuple) -> dict[str, Any]:
    """The parameters a `params_key` was made from."""
    return _thaw(_FrozenDict(key))


def _thaw(value: Any) -> Any:
    if isinstance(value, _FrozenDict):
        return {k: _thaw(v) for k, v in value}
    if isinstance(value, tuple):
        return tuple(_thaw(v) for v in value)
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 240 else line[:237] + "..."


@functools.lru_cache(maxsize=8192)
def _measure(type_name: str, key: tuple, specs: tuple[TensorSpec, ...]) -> _Measured:
    block = get_block(type_name)
    assert block is not None
    params = params_from_key(key)
    try:
        module, out = _run(block, params, specs, block.measure_on)
    except Exception as exc:  # noqa: BLE001 - torch raises many types; all become words
        try:
            if not block.measure_fallback:
                raise
            module, out = _run(block, params, specs, block.measure_fallback)
        except Exception as again:  # noqa: BLE001 - report the first failure, it is the meaningful one
            shown = ", ".join(s.show() for s in specs)
            where = _code_line(params, again) or _code_line(params, exc)
            if where is not None:  # the person's own forward raised: say where
                return _Measured(None, error=f"{Path(where[0]).name}:{where[1]}: forward raised "
                                 f"{type(again).__name__}: {_first_line(again)}", where=where)
            return _Measured(None, error=f"does not fit its input {shown}: {_first_line(exc)}")
    several = isinstance(out, tuple) and len(out) > 0
    outs = out if several else (out,)
    for one in outs:
        if not isinstance(one, torch.Tensor):
            what = f"a tuple holding {type(one).__name__}" if several else type(out).__name__
            return _Measured(None, error=f"returned {what}, not a tensor")
        if one.dim() == 0 or one.shape[0] != BATCH:
            return _Measured(None, error=f"changes the batch dimension (got {list(one.shape)}): "
                                         "blocks must keep dimension 0 as the batch")
    specs = tuple(TensorSpec(tuple(o.shape[1:]), str(o.dtype).removeprefix("torch."))
                  for o in outs)
    n_params = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return _Measured(specs[0], n_params, trainable, specs=specs if several else None)


def _code_line(params: dict[str, Any], exc: BaseException) -> tuple[str, int] | None:
    """The last line of a Code block's own file in `exc`'s traceback, if it went through it."""
    file = params.get("file")
    if not isinstance(file, str) or not file:
        return None
    from .codefiles import _error_line

    line = _error_line(exc, file)
    return (file, line) if line is not None else None


def _run(block: Block, params: dict[str, Any], specs: tuple[TensorSpec, ...], device: str
         ) -> tuple[torch.nn.Module, Any]:
    with torch.device("meta"):
        module = block.build(params, [s.shape for s in specs])
    if device != "meta" and _real_bytes(module, specs) > REAL_MEASURE_BYTES:
        device = "meta"  # too big to measure for real: slow but safe
    elif device != "meta":
        with torch.device(device):
            module = block.build(params, [s.shape for s in specs])
    module.eval()
    args = [sample_tensor(s, BATCH, device) for s in specs]
    with torch.no_grad():
        return module, module(*args)


def _real_bytes(module: torch.nn.Module, specs: tuple[TensorSpec, ...]) -> int:
    weights = sum(p.numel() for p in module.parameters())
    inputs = sum(math.prod(s.shape) for s in specs) * BATCH
    return 4 * (weights + 8 * inputs)  # activations: a generous multiple of the input


def sample_tensor(spec: TensorSpec, batch: int, device: str) -> torch.Tensor:
    """A tensor of the edge's shape with a batch in front, for measuring."""
    dtype = torch.int64 if spec.is_int else torch.float32
    return torch.zeros((batch, *spec.shape), dtype=dtype, device=device)


def measure_cache_clear() -> None:
    _measure.cache_clear()


def _port_inputs(graph: Graph, node: Node, block: Block) -> list[tuple[Port, Edge]]:
    """(port, edge) per argument, in call order: ports in declaration order, edges of a
    variadic port in edge order, unwired optional ports left out."""
    ports = graph.inputs_of(node.id)
    return [(port, edge) for port in block.inputs for edge in ports.get(port.name, [])]


def infer(graph: Graph, vector_output: bool = True) -> Analysis:
    """Measure every node's output shape and collect every problem of the graph.

    A node whose own check fails gets the error; nodes downstream of it get no shape and no
    error of their own, so the person sees one red node, not a red tail. `vector_output`:
    warn when the model does not end in one vector per sample (a classifier's need; a
    segmentation, an autoencoder or a GAN's generator end in maps on purpose).

    This is the whole pass; a window that re-analyses after every edit keeps a
    `shapes_incremental.ShapeTracker`, which gives the same answer from the nodes an edit
    touched.
    """
    from .shapes_incremental import ShapeTracker

    with gc_paused():  # many objects, no garbage (engine/gcpause.py)
        return ShapeTracker(graph, listen=False).analysis(vector_output)


def measure_node(graph: Graph, node: Node, nodes: Mapping[str, NodeInfo]
                 ) -> tuple[NodeInfo, list[GraphError]]:
    """One node's output, measured from what its inputs carry (their entries in `nodes`),
    and the problems that measuring found. The caller leaves out nodes whose own check
    failed and blocks wired to nothing; the returned NodeInfo's errors stay empty, as the
    pass gives each node its problems from the whole graph's."""
    info = NodeInfo()
    block = node.block
    assert block is not None  # unknown types fail their own check
    params = node.build_params(graph.base_dir)
    if block.is_input:
        try:
            block.check(params, ())
        except BlockCheckError as exc:  # an impossible sample size: nothing downstream
            return info, [ShapeError(exc.message, node=node.id, block_type=node.type,
                                     param="shape")]
        info.spec = block.output_spec(params)  # type: ignore[attr-defined]
        info.outputs = {SINGLE_OUTPUT: info.spec}
        return info, []
    args = _port_inputs(graph, node, block)
    if any(nodes[edge.src].spec is None for _port, edge in args):
        return info, []  # an upstream node failed; it carries the error
    carried = [source_spec(graph, nodes[edge.src], edge) for _port, edge in args]
    wrong = [(port, edge, text) for (port, edge), text in zip(args, carried)
             if isinstance(text, str)]
    if wrong:  # a stale wire (Chunk's chunks lowered): the node it feeds shows it
        return info, [PortError(text, node=node.id, block_type=node.type, port=port.name,
                                fix=rewire_fix(nodes[edge.src], edge, port.name))
                      for port, edge, text in wrong]
    info.input_specs = tuple(carried)  # type: ignore[arg-type]
    error = unknown_vocab(node, params) or check_node(graph, node, block, params, args,
                                                      info.input_specs)
    if error is None and getattr(block, "is_unit", False):
        error = _measure_unit(node, block, params, info)
    elif error is None:
        measured = _measure(node.type, params_key(params), info.input_specs)
        if measured.where is not None:
            error = CodeError(measured.error or "", node=node.id, block_type=node.type,
                              path=measured.where[0], line=measured.where[1])
        elif measured.error is not None:
            error = ShapeError(measured.error, node=node.id, block_type=node.type)
        else:
            error = _set_outputs(node, block, params, info, measured)
    if error is not None:
        return info, [error]
    if not node.trainable:  # a frozen block: its weights do not train
        info.trainable_params = 0
    return info, []


def model_ends(graph: Graph, outputs: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """The model's output node and every output it returns (`Analysis.output`, `outputs`):
    the one output; or, when every output has a head (`engine.heads`), the heads' nodes in
    the heads' order; else none."""
    output = outputs[0] if len(outputs) == 1 else None
    ends: tuple[str, ...] = (output,) if output is not None else ()
    if len(outputs) > 1 and set(outputs) <= set(graph.heads):
        ends = tuple(h for h in graph.heads if h in outputs)
        output = ends[0]
    return output, ends


def end_problems(graph: Graph, nodes: Mapping[str, NodeInfo], output: str | None,
                 ends: tuple[str, ...], vector_output: bool) -> list[GraphError]:
    """What is wrong with how the model ends (a tuple where one tensor must come out; a
    classifier ending in a map), each also added to its node's errors."""
    found: list[GraphError] = []
    if len(ends) > 1:
        vector_output = False  # each head's task checks its own output
    for end in ends[1:]:
        tuple_out = _tuple_output(graph, nodes, end)
        if tuple_out is not None:
            found.append(tuple_out)
    if output is not None and nodes[output].multi_output:
        node = graph.node(output)
        tuple_out = ShapeError(
            f"gives {len(nodes[output].outputs)} outputs ({', '.join(nodes[output].outputs)}) "
            "but a model ends in one tensor: wire its pieces onward (into a Concat, say)",
            node=output, block_type=node.type)
        found.append(tuple_out)
        nodes[output].errors.append(tuple_out)
    elif vector_output and output is not None and nodes[output].spec is not None:
        warning = output_warning(graph.node(output), nodes[output].spec)  # type: ignore[arg-type]
        if warning is not None:
            found.append(warning)
            nodes[output].errors.append(warning)
    return found


def _tuple_output(graph: Graph, nodes: Mapping[str, NodeInfo], end: str) -> GraphError | None:
    """An error on a head's node that returns a tuple: a head ends in one tensor."""
    if not nodes[end].multi_output:
        return None
    error = ShapeError(f"gives {len(nodes[end].outputs)} outputs but a head ends in one "
                       "tensor: wire its pieces onward (into a Concat, say)", node=end,
                       block_type=graph.node(end).type)
    nodes[end].errors.append(error)
    return error


def _set_outputs(node: Node, block: Block, params: dict[str, Any], info: NodeInfo,
                 measured: _Measured) -> GraphError | None:
    """The measured tensor(s) onto the node's output ports; an error when the module gave
    a different number of tensors than the block declares ports (a bug in the block, or a
    Code block returning a tuple)."""
    ports = block.output_ports(params, info.input_specs)
    specs = measured.specs if measured.specs is not None else None
    if is_single(ports) and specs is None:
        info.outputs = {SINGLE_OUTPUT: measured.spec}  # type: ignore[dict-item]
    elif not is_single(ports) and specs is not None and len(specs) == len(ports):
        info.outputs = {port.name: spec for port, spec in zip(ports, specs)}
    else:
        given = len(specs) if specs is not None else 1
        return ShapeError(f"gives {given} tensor{'s' if given != 1 else ''} but has "
                          f"{len(ports)} output port{'s' if len(ports) != 1 else ''} "
                          f"({', '.join(p.name for p in ports)}): they must match",
                          node=node.id, block_type=node.type)
    info.spec = measured.spec
    info.num_params, info.trainable_params = measured.params, measured.trainable
    return None


def _measure_unit(node: Node, block: Block, params: dict[str, Any], info: NodeInfo
                  ) -> GraphError | None:
    """A unit node: the shape pass runs over its graph, once per copy (`engine.units`)."""
    from .units.expand import measure_unit

    unit = block.defn  # type: ignore[attr-defined]
    measured = measure_unit(block.units, unit, node.id, params,  # type: ignore[attr-defined]
                            info.input_specs)
    if measured.error is None:
        info.spec = measured.spec
        info.outputs = {SINGLE_OUTPUT: measured.spec}
        info.num_params, info.trainable_params = measured.num_params, measured.trainable
    return measured.error
