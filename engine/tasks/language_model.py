"""Language modelling: continue text one token at a time (a GPT).

The data is a corpus cut into windows of `context` token ids (engine/text/corpus.py); the
target is the same window shifted by one token. The output is [N, L, V]: a score for every
token of the vocabulary at every position, and the loss the cross-entropy of the next token
at every position. Validation reports `val_loss` in nats per token and `val_ppl`, its
exponential (perplexity: how many tokens the model is as unsure as choosing among).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..lazy import lazy_module
from .base import Chart
from .supervised import DataFacts, SupervisedTask

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..shapes import Analysis

torch = lazy_module("torch")
F = lazy_module("torch.nn.functional")


class LanguageModel(SupervisedTask):
    vector_output = False
    name = "language_model"
    title = "Language model"
    template = "char_gpt.json"
    summary = "Continue text token by token (a GPT): next-token cross-entropy, perplexity."
    metric_columns = ("epoch", "train_loss", "val_loss", "val_ppl", "seconds",
                      "samples_per_s")
    charts = (Chart("Loss (nats per token)", ("loss",), ("val_loss",)),
              Chart("Validation perplexity", epoch=("val_ppl",)))
    headline = (("val_ppl", "validation perplexity"), ("val_loss", "validation loss"))
    targets = "tokens"
    views = ("generate",)
    normalizes = False
    channels_last = False
    # torchrun's script feeds classifier-style batches; the rest export the model as it is
    export_formats = ("python", "onnx", "pt2", "safetensors")

    def output_problem(self, analysis: "Analysis", facts: DataFacts) -> str | None:
        out, node = analysis.output_spec, analysis.output
        context = facts.target_shape[0] if facts.target_shape else None
        if len(out.shape) != 2:
            return (f"language_model: the output of {node} is {out.show()} but a language "
                    f"model needs a score per token of the vocabulary at every position, "
                    f"[N, {context or 'L'}, vocab]: end the model with a Linear whose "
                    f'out_features is "vocab"')
        if context is not None and out.shape[0] != context:
            return (f"language_model: the output of {node} is {out.show()} but the windows "
                    f"are {context} tokens long: keep the sequence length through the model "
                    "(no pooling over positions)")
        if facts.num_classes and out.shape[1] < facts.num_classes:
            return (f"language_model: the vocabulary has {facts.num_classes} tokens but "
                    f"{node} gives {out.shape[1]} scores per position: set its out_features "
                    'to "vocab"')
        return None

    def check_targets(self, data: "Dataset", analysis: "Analysis") -> None:
        from ..errors import DataError

        if analysis.output_spec is None or analysis.output is None:
            return
        vocab = data.tokenizer.vocab_size if data.tokenizer is not None else 0
        facts = DataFacts(tuple(data.input_shape), tuple(data.y.shape[1:]), vocab, "tokens")
        problem = self.output_problem(analysis, facts)
        if problem is not None:
            raise DataError(problem)

    def loss(self, loop: Any, out: Any, y: Any) -> Any:
        return F.cross_entropy(out.float().flatten(0, 1), y.flatten())

    def val_begin(self, loop: Any) -> dict[str, Any]:
        return {"nll": torch.zeros((), device=loop.device, dtype=torch.float64),
                "tokens": torch.zeros((), device=loop.device, dtype=torch.int64)}

    def val_batch(self, loop: Any, sums: dict[str, Any], out: Any, y: Any) -> None:
        sums["nll"] += F.cross_entropy(out.float().flatten(0, 1), y.flatten(),
                                       reduction="sum").double()
        sums["tokens"] += y.numel()

    def val_metrics(self, loop: Any, sums: dict[str, Any], n: int) -> dict[str, Any]:
        per_token = float(sums["nll"]) / max(int(sums["tokens"]), 1)
        return {"val_ppl": math.exp(min(per_token, 700.0))}

    def evaluate(self, trained: Any, data: Any) -> Any:
        from ..probe.token_loss import token_losses

        return token_losses(trained, data)


TASK = LanguageModel
