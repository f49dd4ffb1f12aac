"""What one node of a trained model produced on a few samples: the core of `torchloom
probe`, which then writes it as .npy and pictures, and of the Python API's `probe`, which
hands it to a notebook as a tensor. One function, so both name the same nodes, take the
same samples and refuse the same things in the same words."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ProbeError
from .activations import capture
from .loaded import TrainedModel, probe_batch_for


@dataclass
class NodeCapture:
    """One node's output on `x` (the raw samples, before normalisation).

    `kind` is ``"feature_maps"`` (`data` is ``[K, C, H, W]``), ``"attention"`` (`data` is
    the weights ``[K, heads, L, S]``, each row summing to 1, NaN where a query may not
    look) or ``"activations"`` (any other output).
    """

    node: str
    kind: str
    data: torch.Tensor
    x: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def __repr__(self) -> str:
        shown = ", ".join(map(str, self.data.shape))
        return f"NodeCapture(node={self.node!r}, kind={self.kind!r}, shape=[{shown}])"


def capture_node(trained: TrainedModel, node_id: str, *, x: torch.Tensor | None = None,
                 samples: int | None = None, source: str = "the samples",
                 fewer: str = "fewer samples") -> NodeCapture:
    """Run `trained` on `x` (default: the run's probe batch) and keep `node_id`'s output.

    `samples` keeps only the first K; `source` names where `x` came from in messages
    (a file name for the command line); `fewer` says how to ask for fewer samples.

    Raises:
        ProbeError: an unknown node (the valid ones are listed), samples that do not fit
            the Input, or an output too large to capture.
    """
    valid = trained.node_ids()
    if node_id not in valid:
        raise ProbeError(f"node '{node_id}' does not exist or has no layer: choose one of "
                         f"{', '.join(valid)}")
    own = x is not None
    if x is not None:
        x = trained.check_samples(x[:samples] if samples else x, source=source)
    else:
        x = probe_batch_for(trained).x[:samples]
    try:
        result = capture(trained.model, trained.prepare(x), trained.names, nodes=[node_id])
    except (RuntimeError, IndexError) as exc:
        if not own:  # the run's own probe batch fits its model: this is a bug
            raise
        hint = (": are the token ids below the Embedding's num_embeddings?"
                if isinstance(exc, IndexError) and not x.is_floating_point() else "")
        raise ProbeError(f"the model cannot run on these samples ({exc}){hint}",
                         path=source) from None
    probe = result.nodes.get(node_id)
    if probe is None:
        raise ProbeError("its output is too large to capture for this many samples; try "
                         f"{fewer}", node=node_id)
    if probe.attention is not None:
        return NodeCapture(node_id, "attention", probe.attention, x)
    kind = "feature_maps" if probe.activation.dim() == 4 else "activations"
    return NodeCapture(node_id, kind, probe.activation, x)
