"""Fine-tuning in the run loop: frozen blocks and per-block learning rates.

A node's ``trainable`` and ``lr_scale`` (`engine.block_training`) become, for a run:
parameters that do not ask for gradients and are left out of the optimizer; modules that
stay in eval mode while the rest trains, so a frozen BatchNorm keeps the running statistics
it started with and a frozen Dropout drops nothing; and one optimizer param group per
distinct scale, each remembering its ``lr_scale``, so a schedule moves every group's rate
and keeps their ratio (`scaled_rate`). A unit node is one module, so freezing it freezes
everything inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import torch
from torch import nn

from ..errors import TrainingError

#: The key each optimizer param group keeps its block scale under.
LR_SCALE = "lr_scale"


@dataclass(frozen=True)
class BlockTraining:
    """Which modules of a run's model are frozen and which learn at their own rate.

    Keys are module paths in the model (``fc1``; ``generator.fc1`` in a GAN's pair), the
    same prefixes its state_dict keys start with.
    """

    frozen: tuple[str, ...] = ()
    scales: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, project: Any, node_ids: dict[str, str]) -> "BlockTraining":
        """Read the settings off the project's nodes; `node_ids` maps module path -> node
        id, as the task's `Prepared.node_ids` does."""
        if project is None:
            return cls()
        graphs = project.graphs()
        frozen: list[str] = []
        scales: dict[str, float] = {}
        for path, node_id in node_ids.items():
            graph_key, _, _ = path.rpartition(".")
            graph = graphs.get(graph_key) if graph_key else graphs.get("graph")
            if graph is not None and node_id in graph:
                _collect(graph.node(node_id), path, frozen, scales, 1.0)
        return cls(tuple(frozen), scales)

    def __bool__(self) -> bool:
        return bool(self.frozen or self.scales)

    def _modules(self, model: nn.Module, paths: Iterable[str]) -> list[nn.Module]:
        out = []
        for path in paths:
            try:
                out.append(model.get_submodule(path))
            except AttributeError:  # a block not on the model's path is not compiled
                continue
        return out

    def freeze(self, model: nn.Module) -> None:
        """Frozen blocks' parameters stop asking for gradients, and the blocks hold eval
        mode from now on: a hook puts them back before each forward pass, whatever called
        ``train()`` in between (a probe, a GAN's sample grid)."""
        for module in self._modules(model, self.frozen):
            for p in module.parameters():
                p.requires_grad_(False)
            module.register_forward_pre_hook(_hold_eval)
        self.hold_eval(model)

    def hold_eval(self, model: nn.Module) -> None:
        """Put the frozen blocks (back) into eval mode."""
        for module in self._modules(model, self.frozen):
            module.eval()

    def train_mode(self, model: nn.Module) -> None:
        """`model.train()`, frozen blocks left in eval mode."""
        model.train()
        self.hold_eval(model)

    def param_groups(self, model: nn.Module, lr: float, prefix: str = "",
                     what: str = "the model") -> list[dict[str, Any]]:
        """The optimizer's param groups for `model` (whose paths start with `prefix` in
        this plan, e.g. ``"generator."``): trainable parameters only, one group per distinct
        scale, in the order their first parameter comes. Raises `TrainingError` when nothing
        is left to train."""
        scale_of: dict[int, float] = {}
        for path, scale in sorted(self.scales.items(), key=lambda item: item[0].count(".")):
            if path.startswith(prefix):  # a unit's scale first, then its blocks' own
                for module in self._modules(model, [path[len(prefix):]]):
                    for p in module.parameters():
                        scale_of[id(p)] = scale
        groups: dict[float, list[torch.nn.Parameter]] = {}
        for p in model.parameters():
            if p.requires_grad:
                groups.setdefault(scale_of.get(id(p), 1.0), []).append(p)
        if not groups:
            if any(path.startswith(prefix) for path in self.frozen):
                raise TrainingError(f"every block of {what} with weights is frozen: untick "
                                    "Trainable on one (\"trainable\": true) to train it",
                                    kind="config")
            raise TrainingError(f"{what} has no trainable weights: add a layer with weights "
                                "(Linear, Conv2d, ...)", kind="config")
        return [{"params": params, "lr": lr * scale, LR_SCALE: scale}
                for scale, params in groups.items()]


def _collect(node: Any, path: str, frozen: list[str], scales: dict[str, float],
             outer: float, depth: int = 0) -> None:
    """`node` (at module path `path`) and, for a unit node, the nodes inside it: a frozen
    unit freezes all of it; inside a unit that trains, its own blocks may be frozen or
    scaled (times the unit's scale). A unit with `repeat` above 1 is an `nn.Sequential` of
    copies, ``<path>.0``, ``<path>.1``..., each holding the same blocks."""
    scale = outer * float(node.lr_scale)
    if not node.trainable:
        frozen.append(path)
        return
    if scale != 1:
        scales[path] = scale
    block = node.block
    if not getattr(block, "is_unit", False) or depth > 50:
        return
    from ..compile import module_names

    repeat = node.resolved_params().get("repeat", 1)
    copies = [f"{path}.{k}" for k in range(repeat)] if isinstance(repeat, int) and repeat > 1 \
        else [path]
    inner = block.defn.graph
    names = module_names(n.id for n in inner.nodes)
    for copy_path in copies:
        for inner_node in inner.nodes:
            _collect(inner_node, f"{copy_path}.{names[inner_node.id]}", frozen, scales, scale,
                     depth + 1)


def _hold_eval(module: nn.Module, _args: Any) -> None:
    if module.training:
        module.eval()


def scaled_rate(group: dict[str, Any], lr: float) -> float:
    """A param group's rate when the run's rate is `lr` (groups from before block scales,
    a resumed old run's, have none: scale 1)."""
    return lr * float(group.get(LR_SCALE, 1.0))
