"""Models that sample: a VAE draws ``torch.randn_like`` noise on every call, so two runs on
one batch differ. The import and the exports prove themselves by comparing two models on
the same batch; these helpers keep that comparison exact where it can be.

Two runs of torch models (the person's module, the compiled graph, the written python file)
seeded alike draw the same noise in the same order, so they agree to the bit. A runtime
with its own generator (ONNX Runtime) cannot: there the outputs the noise reaches are found
(they change with the seed) and compared by shape and dtype only.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

#: The seed both sides of a comparison run under.
CHECK_SEED = 0


def run_seeded(model: Callable[..., Any], inputs: Sequence[torch.Tensor],
               seed: int = CHECK_SEED) -> Any:
    """`model` on clones of `inputs` with torch's CPU generator seeded, without grad. The
    caller's random state is left as it was; the clones keep a forward that changes its
    input in place harmless."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        return model(*(x.clone() for x in inputs))


def as_outputs(value: Any) -> list[Any]:
    """One output, or each of a tuple or list (a model with several heads)."""
    return list(value) if isinstance(value, (tuple, list)) else [value]


def sampled_outputs(model: Callable[..., Any], inputs: Sequence[torch.Tensor]) -> list[int]:
    """The positions of the outputs that change with the seed: those the noise reaches."""
    first = as_outputs(run_seeded(model, inputs, CHECK_SEED))
    second = as_outputs(run_seeded(model, inputs, CHECK_SEED + 1))
    return [k for k, (a, b) in enumerate(zip(first, second))
            if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
            and a.shape == b.shape and not torch.equal(a, b)]
