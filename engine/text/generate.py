"""Text from a trained language model, one token at a time.

The model sees at most its `context` tokens (the Input node's length: what it trained on and
what its position table holds), so a long continuation keeps only the latest ones. Every
step runs under `torch.inference_mode()`; a seeded generator makes the same seed give the
same text. Tokens are handed to `on_token` as they come, so a view can show them stream in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..errors import DataError, ProbeError

MAX_TOKENS = 100_000


class GenerateError(ProbeError):
    """A prompt or a setting that generation cannot use, named by `where` (``prompt``,
    ``tokens``...) or `path` (the run folder)."""

    def __init__(self, message: str, where: str | None = None, path: str | None = None
                 ) -> None:
        super().__init__(message, path=path)
        self.where = where

    def describe(self) -> str:
        return f"{self.where}: {self.message}" if self.where else super().describe()


@dataclass
class Generated:
    prompt: str
    text: str = ""
    tokens: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "text": self.text, "tokens": self.tokens}


def context_of(trained: Any) -> int:
    """The model's context: the length of its (one) token Input."""
    node = trained.input_node()
    spec = trained.analysis.nodes[node].spec if node is not None else None
    if spec is None or len(spec.shape) != 1 or not spec.is_int:
        raise GenerateError("the model does not read one sequence of token ids, so it cannot "
                            "generate text")
    return int(spec.shape[0])


def encode_prompt(tokenizer: Any, prompt: str, context: int) -> list[int]:
    if not prompt:
        raise GenerateError("the prompt is empty: give at least one character to continue",
                            where="prompt")
    try:
        ids = [int(i) for i in tokenizer.encode(prompt)]
    except DataError as exc:
        raise GenerateError(f"the prompt cannot be encoded: {exc.message}",
                            where="prompt") from None
    unknown = sorted({ch for ch in prompt if tokenizer.kind == "char"
                      and tokenizer.unk_id is not None
                      and int(tokenizer.encode(ch)[0]) == tokenizer.unk_id})
    if unknown:
        raise GenerateError("the prompt holds characters the tokenizer does not know: "
                            + " ".join(repr(c) for c in unknown), where="prompt")
    if not ids:
        raise GenerateError("the prompt holds no token the tokenizer knows", where="prompt")
    if len(ids) > context:
        raise GenerateError(f"the prompt is {len(ids)} tokens but the model's context is "
                            f"{context}: shorten it", where="prompt")
    return ids


def generate_text(trained: Any, prompt: str, tokens: int = 200, temperature: float = 1.0,
                  top_k: int | None = None, seed: int = 0,
                  on_token: Callable[[int, str], bool | None] | None = None) -> Generated:
    """Continue `prompt` by `tokens` tokens with `trained` (a `probe.loaded.TrainedModel`
    of a language model, whose run saved its tokenizer).

    `temperature` 0 always takes the likeliest token; `top_k` keeps only the k likeliest.
    `on_token(id, text)` is called for each new token; returning False stops early.
    """
    tokenizer = trained.tokenizer
    if tokenizer is None:
        raise GenerateError("the run has no tokenizer.json: train the language model again",
                            path=str(trained.run_dir))
    if not 1 <= tokens <= MAX_TOKENS:
        raise GenerateError(f"must be from 1 to {MAX_TOKENS}, got {tokens}", where="tokens")
    if not temperature >= 0:
        raise GenerateError(f"must be 0 or more, got {temperature}", where="temperature")
    if top_k is not None and top_k < 1:
        raise GenerateError(f"must be 1 or more, got {top_k}", where="top_k")
    context = context_of(trained)
    ids = encode_prompt(tokenizer, prompt, context)
    model, device = trained.model, trained.device
    gen = torch.Generator(device=device).manual_seed(seed)
    result = Generated(prompt)
    pieces: list[str] = []
    window = torch.tensor([ids], dtype=torch.int64, device=device)
    model.eval()
    with torch.inference_mode():
        for _ in range(tokens):
            logits = model(window[:, -context:])[0, -1].float()
            if temperature == 0:
                token = int(logits.argmax())
            else:
                logits = logits / temperature
                if top_k is not None and top_k < logits.numel():
                    cut = torch.topk(logits, top_k).values[-1]
                    logits = logits.masked_fill(logits < cut, float("-inf"))
                token = int(torch.multinomial(logits.softmax(-1), 1, generator=gen))
            window = torch.cat([window, window.new_tensor([[token]])], dim=1)
            result.tokens.append(token)
            piece = tokenizer.decode([token])
            pieces.append(piece)
            if on_token is not None and on_token(token, piece) is False:
                break
    result.text = tokenizer.decode(result.tokens) if tokenizer.kind == "bpe" else \
        ("" if tokenizer.kind == "char" else " ").join(pieces)
    return result
