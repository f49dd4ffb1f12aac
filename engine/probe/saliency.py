"""Which parts of one input the model's answer depends on: input gradients and Grad-CAM.

Both take gradients with `torch.autograd.grad` with respect to the input (or to one node's
output) only, so no parameter's ``.grad`` is ever written and a model that is being trained
or inspected elsewhere is left exactly as it was. Hooks live only for the one forward pass
and the model goes back to the train/eval mode it was found in.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ProbeError
from ..train.inputs import call

if TYPE_CHECKING:
    from .loaded import TrainedModel


@contextlib.contextmanager
def gradient_pass(model: nn.Module) -> Iterator[None]:
    """Eval mode with gradients on, whatever the caller's context; the mode is restored.

    cuDNN computes recurrent-layer gradients only in training mode, so for a model with an
    RNN on a GPU it is switched off for the pass (one sample: the slower kernel costs
    nothing a person notices).
    """
    was_training = model.training
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    rnn = any(isinstance(m, nn.RNNBase) for m in model.modules())
    cudnn = (torch.backends.cudnn.flags(enabled=False) if rnn and device.type == "cuda"
             else contextlib.nullcontext())
    model.eval()
    try:
        with torch.enable_grad(), cudnn:
            yield
    finally:
        model.train(was_training)


def _one_sample(trained: "TrainedModel", x_raw: torch.Tensor) -> torch.Tensor:
    """`x_raw` as a batch of one: [1, ...]; a single sample without the batch is accepted."""
    trained.refuse_several("saliency")
    spec = trained.analysis.nodes[trained.analysis.inputs[0]].spec
    if spec is not None and tuple(x_raw.shape) == tuple(spec.shape):
        x_raw = x_raw.unsqueeze(0)
    if x_raw.dim() == 0 or x_raw.shape[0] != 1:
        raise ProbeError(f"saliency explains one sample at a time, got a batch of "
                         f"{x_raw.shape[0] if x_raw.dim() else 0}")
    return x_raw


def _score(out: Any, target: int | None) -> torch.Tensor:
    """The logit being explained: `target`'s, or the predicted class's."""
    out = out[0] if isinstance(out, tuple) else out
    flat = out.reshape(out.shape[0], -1)[0]
    if target is None:
        target = int(flat.detach().argmax())
    if not 0 <= target < flat.shape[0]:
        raise ProbeError(f"class {target} is outside the model's {flat.shape[0]} outputs")
    return flat[target]


class _Leaf:
    """A forward hook that swaps a module's output for a detached copy requiring grad, so
    gradients can be taken with respect to that output alone."""

    def __init__(self) -> None:
        self.value: torch.Tensor | None = None

    def __call__(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        out = output[0] if isinstance(output, tuple) else output
        leaf = out.detach().float().requires_grad_(True)
        self.value = leaf
        if isinstance(output, tuple):
            return (leaf.to(out.dtype), *output[1:])
        return leaf.to(out.dtype)


def _run_with_leaf(trained: "TrainedModel", module: nn.Module, x: torch.Tensor,
                   target: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass; returns (d score / d module output, module output)."""
    leaf = _Leaf()
    handle = module.register_forward_hook(leaf)
    try:
        with gradient_pass(trained.model):
            score = _score(call(trained.model, x), target)
            assert leaf.value is not None, "the hooked module did not run"
            (grad,) = torch.autograd.grad(score, leaf.value, allow_unused=True)
    finally:
        handle.remove()
    value = leaf.value.detach()
    return (torch.zeros_like(value) if grad is None else grad), value


def _first_embedding(trained: "TrainedModel") -> nn.Embedding | None:
    for node_id in trained.node_ids():
        module = getattr(trained.model, trained.names[node_id])
        if isinstance(module, nn.Embedding):
            return module
    return None


def input_gradient(trained: "TrainedModel", x_raw: torch.Tensor,
                   target: int | None = None) -> torch.Tensor:
    """|d score / d input| for one sample, in the input's own shape ([C, H, W] for images).

    The gradient is taken with respect to the *raw* sample (normalisation is part of the
    differentiated path), so channels with different scales compare fairly. For token ids,
    which have no gradient, it is the gradient's norm at the first Embedding's output: one
    value per token [L].

    Args:
        x_raw: one raw (un-normalised) sample, [1, ...] or [...].
        target: the class whose logit is explained; default the predicted class.

    Raises:
        ProbeError: more than one sample, a class out of range, or token ids with no
            Embedding to take the gradient at.
    """
    x_raw = _one_sample(trained, x_raw)
    if x_raw.is_floating_point():
        leaf = x_raw.detach().float().clone().requires_grad_(True)
        with gradient_pass(trained.model):
            score = _score(trained.model(trained.prepare(leaf)), target)
            (grad,) = torch.autograd.grad(score, leaf, allow_unused=True)
        if grad is None:
            return torch.zeros(x_raw.shape[1:])
        return grad[0].abs().detach().cpu()
    embedding = _first_embedding(trained)
    if embedding is None:
        raise ProbeError("token inputs have no gradient and the model has no Embedding to "
                         "take it at")
    grad, _ = _run_with_leaf(trained, embedding, trained.prepare(x_raw), target)
    return grad[0].norm(dim=-1).cpu()  # [L, E] -> one value per token


def conv_nodes(trained: "TrainedModel") -> list[str]:
    """Nodes whose output is a feature map [N, C, H, W]: the ones Grad-CAM can explain."""
    out = []
    for node_id in trained.node_ids():
        spec = trained.analysis.nodes[node_id].spec
        if spec is not None and len(spec.shape) == 3 and not spec.is_int:
            out.append(node_id)
    return out


def grad_cam(trained: "TrainedModel", x_raw: torch.Tensor, node_id: str,
             target: int | None = None) -> torch.Tensor:
    """Grad-CAM of one sample at a convolutional node: [H, W] in [0, 1].

    Each channel of the node's output is weighted by its mean gradient of the score, the
    weighted sum is clipped at zero (only evidence *for* the class) and scaled so its peak
    is 1; all zeros when nothing speaks for the class. The map is upsampled (bilinear) to
    the input's height and width, so it can be laid over the image.

    Raises:
        ProbeError: the node has no layer, or its output is not a feature map [N, C, H, W].
    """
    name = trained.names.get(node_id)
    module = getattr(trained.model, name, None) if name is not None else None
    if not isinstance(module, nn.Module):
        raise ProbeError("has no layer to explain (is it wired to the output?)", node=node_id)
    spec = trained.analysis.nodes[node_id].spec
    if spec is None or len(spec.shape) != 3:
        shown = spec.show() if spec is not None else "unknown"
        raise ProbeError(f"Grad-CAM needs a feature map [N, C, H, W]; this node gives {shown}",
                         node=node_id)
    x_raw = _one_sample(trained, x_raw)
    grad, activation = _run_with_leaf(trained, module, trained.prepare(x_raw), target)
    weights = grad.mean(dim=(2, 3), keepdim=True)  # [1, C, 1, 1]
    cam = torch.relu((weights * activation).sum(dim=1, keepdim=True))  # [1, 1, h, w]
    size = tuple(x_raw.shape[-2:]) if x_raw.dim() == 4 else tuple(cam.shape[-2:])
    if tuple(cam.shape[-2:]) != size:
        cam = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    cam = cam[0, 0].detach().float().cpu().clamp_min(0)
    peak = float(cam.max())
    return cam / peak if peak > 0 else torch.zeros_like(cam)
