"""The few torch modules Torchloom adds to `torch.nn`, used by blocks that torch lacks.

They live apart from the block declarations so that reading the catalogue (the palette, a
project file) never imports torch: the GUI shows its window before torch has loaded.
Every class here is plain PyTorch, so exported code can carry it as it is.
"""

from __future__ import annotations

import torch
from torch import nn


class PositionalEmbedding(nn.Module):
    """A learned table of position vectors, added to a [N, L, E] sequence.

    Attention alone cannot tell positions apart; this gives each position its own vector.
    """

    def __init__(self, max_len: int, embedding_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_len, embedding_dim))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[: x.shape[1]]


class _RecurrentOutput:
    """What a recurrent layer passes on, so that each edge carries one tensor.

    ``output="sequence"``: every step, [N, L, H * directions]. ``output="hidden"``: the last
    layer's final hidden state, [N, H * directions], the directions side by side (forward
    first): a classifier's one vector per sample, which for the backward direction is its
    state after reading the whole sequence, not the output at the last step.
    ``output="both"``: the tuple (sequence, hidden), one tensor per output port. Only a plain
    attribute is added, so the weights' names are those of the torch class.
    """

    def __init__(self, *args: object, output: str = "sequence", **kwargs: object) -> None:
        if output not in ("sequence", "hidden", "both"):
            raise ValueError(f"output must be 'sequence', 'hidden' or 'both', got {output!r}")
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        sequence, state = super().forward(x)  # type: ignore[misc]
        if self.output == "sequence":
            return sequence
        h_n = state[0] if isinstance(state, tuple) else state  # an LSTM's is (h_n, c_n)
        directions = 2 if self.bidirectional else 1  # type: ignore[attr-defined]
        hidden = h_n[-directions:].transpose(0, 1).flatten(1)
        return hidden if self.output == "hidden" else (sequence, hidden)

    def extra_repr(self) -> str:
        text = super().extra_repr()  # type: ignore[misc]
        return text if self.output == "sequence" else f"{text}, output={self.output!r}"


class LSTMSequence(_RecurrentOutput, nn.LSTM):
    """nn.LSTM that returns the output sequence, the final hidden state, or both."""


class GRUSequence(_RecurrentOutput, nn.GRU):
    """nn.GRU that returns the output sequence, the final hidden state, or both."""


class RNNSequence(_RecurrentOutput, nn.RNN):
    """nn.RNN that returns the output sequence, the final hidden state, or both."""


class TokenPadding:
    """The token id padded text carries (engine/text puts `<pad>` first, so it is 0).
    Layers that take token ids leave it out, so a sample gives the same result however
    much padding its batch adds."""

    PAD_ID = 0


class SequencePool(TokenPadding, nn.Module):
    """Reduce [N, L, H] to [N, H]: the last step, the mean or the max over time.

    With `tokens` (the [N, L] token ids the sequence was read from), positions holding the
    pad id 0 are left out: 'mean' averages the real tokens only, 'max' takes the largest
    over them, 'last' is the last real token. A text of no real tokens pools to zeros.
    """

    def __init__(self, mode: str = "last") -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor, tokens: torch.Tensor | None = None) -> torch.Tensor:
        if tokens is None:
            if self.mode == "last":
                return x[:, -1]
            if self.mode == "mean":
                return x.mean(dim=1)
            return x.amax(dim=1)
        real = tokens != self.PAD_ID
        any_real = real.any(dim=1, keepdim=True)
        if self.mode == "last":
            steps = torch.arange(x.shape[1], device=x.device)
            last = torch.where(real, steps, torch.zeros_like(steps)).amax(dim=1)
            picked = x[torch.arange(x.shape[0], device=x.device), last]
            return torch.where(any_real, picked, torch.zeros_like(picked))
        weight = real.unsqueeze(-1).to(x.dtype)
        if self.mode == "mean":
            return (x * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1)
        low = torch.finfo(x.dtype).min
        top = x.masked_fill(~real.unsqueeze(-1), low).amax(dim=1)
        return torch.where(any_real, top, torch.zeros_like(top))

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


class AttentionMasks(TokenPadding):
    """What attention may not look at: later positions (causal) and padding. A base class
    rather than functions, so exported code carries it with the layers that use it."""

    @staticmethod
    def hidden(length: int, source: int, device: torch.device, causal: bool,
               tokens: torch.Tensor | None) -> torch.Tensor | None:
        """True where a query may not look: [L, S] for causal alone, [N, L, S] with token
        ids (their padding keys hidden), None when nothing is hidden. A query that would
        see nothing (a padding position first in a causal sequence) sees every key instead,
        so no row is NaN; padding keys stay hidden from every real position."""
        mask = (torch.ones(length, source, dtype=torch.bool, device=device).triu(1)
                if causal else None)
        if tokens is None:
            return mask
        padding = (tokens == AttentionMasks.PAD_ID)[:, None, :]
        full = padding.expand(-1, length, -1) if mask is None else padding | mask
        return full & ~full.all(dim=-1, keepdim=True)

    @staticmethod
    def for_torch(mask: torch.Tensor | None, heads: int) -> torch.Tensor | None:
        """`hidden` as torch's attention takes it: [L, S], or [N * heads, L, S]."""
        if mask is None or mask.dim() == 2:
            return mask
        return mask.repeat_interleave(heads, dim=0)

    @staticmethod
    def split_token_ids(args: tuple[torch.Tensor, ...]
                        ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor | None]:
        """Attention's optional token-id input comes last and is the only integer tensor,
        so it is found whichever of key and value are wired."""
        if args and not args[-1].is_floating_point():
            return args[:-1], args[-1]
        return args, None


class SequenceAttention(AttentionMasks, nn.MultiheadAttention):
    """Batch-first multi-head attention; `key` defaults to `query` and `value` to `key`.

    With only the query wired it is self-attention. `causal` lets each position attend only
    to itself and earlier ones; token ids wired last mask the padding keys. Weights are not
    returned, so torch can use its fused kernels (a causal mask goes as `is_causal`); probes
    ask the parent class for them on a probe batch only.
    """

    def __init__(self, *args: object, causal: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.causal = causal

    def forward(self, query: torch.Tensor,  # type: ignore[override]
                *rest: torch.Tensor) -> torch.Tensor:
        rest, tokens = self.split_token_ids(rest)
        key = rest[0] if rest else query
        value = rest[1] if len(rest) > 1 else key
        mask = self.hidden(query.shape[1], key.shape[1], query.device, self.causal, tokens)
        # causal alone goes as `is_causal` too, so torch can take its fused causal kernel
        return super().forward(query, key, value, need_weights=False,
                               attn_mask=self.for_torch(mask, self.num_heads),
                               is_causal=self.causal and tokens is None)[0]

    def extra_repr(self) -> str:
        return f"causal={self.causal}" if self.causal else ""


class MaskedEncoderLayer(AttentionMasks, nn.TransformerEncoderLayer):
    """`nn.TransformerEncoderLayer` with the `causal` setting and the optional token ids
    whose padding it ignores, so a decoder (a GPT) is the same block with one box ticked."""

    def __init__(self, *args: object, causal: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.causal = causal

    def forward(self, src: torch.Tensor,  # type: ignore[override]
                tokens: torch.Tensor | None = None) -> torch.Tensor:
        if tokens is None and self.self_attn.batch_first and src.dim() == 3 and (
                self.causal or self.training or torch.is_grad_enabled()):
            # (torch's own inference kernel takes the other cases as fast, bit for bit
            # as a plain `nn.TransformerEncoderLayer`; for a causal layer it needs a mask)
            x = src
            if self.norm_first:
                x = x + self._self_attention(self.norm1(x))
                return x + self._feed_forward(self.norm2(x))
            x = self.norm1(x + self._self_attention(x))
            return self.norm2(x + self._feed_forward(x))
        mask = self.hidden(src.shape[1], src.shape[1], src.device, self.causal, tokens)
        return super().forward(src, src_mask=self.for_torch(mask, self.self_attn.num_heads),
                               is_causal=self.causal and tokens is None)

    def _self_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Self-attention with nothing masked but (when causal) later positions, straight
        into torch's fused kernel: what `nn.MultiheadAttention` computes for it, without its
        move to [L, N, E] and back, its copy of the packed projections and a mask tensor
        per call (a GPT step spent about a tenth longer there than nanoGPT's block). The
        parameters are the attention's own, so its weights and their names are unchanged;
        probes still ask `nn.MultiheadAttention` for the per-head weights."""
        attn = self.self_attn
        n, length, width = x.shape
        heads = attn.num_heads
        qkv = nn.functional.linear(x, attn.in_proj_weight, attn.in_proj_bias)
        # split, not a view into [3, ...] and unbind: its backward writes the packed
        # gradient in the layout the projection's backward reads (no copy)
        q, k, v = (t.view(n, length, heads, -1).transpose(1, 2) for t in qkv.split(width, 2))
        y = nn.functional.scaled_dot_product_attention(
            q, k, v, dropout_p=attn.dropout if self.training else 0.0, is_causal=self.causal)
        y = nn.functional.linear(y.transpose(1, 2).reshape(n, length, width),
                                 attn.out_proj.weight, attn.out_proj.bias)
        return self._drop(self.dropout1, y)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """torch's `_ff_block`, its dropouts left out where they do nothing."""
        x = self.linear2(self._drop(self.dropout, self.activation(self.linear1(x))))
        return self._drop(self.dropout2, x)

    def _drop(self, dropout: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """`dropout(x)` while training with p > 0; else x, as torch would return it, without
        the module call (generation runs a layer per token, where such calls add up)."""
        return dropout(x) if self.training and dropout.p > 0 else x  # type: ignore[operator]


class Add(nn.Module):
    """Element-wise sum of any number of equally shaped tensors (a residual join)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Concatenate along `dim`, counted without the batch dimension (0 is channels)."""

    def __init__(self, dim: int = 0) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim + 1 if self.dim >= 0 else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class SampleDims(nn.Module):
    """Base of the tensor operations whose dims are counted without the batch: 0 is the
    first dimension after it, negative dims count from the end, so the batch never moves."""

    @staticmethod
    def axis(dim: int) -> int:
        return dim + 1 if dim >= 0 else dim

    @classmethod
    def axes(cls, dims: int | tuple[int, ...]) -> int | tuple[int, ...]:
        return cls.axis(dims) if isinstance(dims, int) else tuple(cls.axis(d) for d in dims)


class Reshape(nn.Module):
    """Reshape each sample to `shape` (one size may be -1); the batch stays first.

    `reshape`, not `view`, so an input that is not contiguous (after a Transpose) works.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Permute(SampleDims):
    """Reorder the dimensions after the batch: `dims` is a permutation of 0..rank-1."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *(self.axis(d) for d in self.dims))

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Transpose(SampleDims):
    """Swap two dimensions, counted without the batch: [N, C, L] with 0, 1 is [N, L, C]."""

    def __init__(self, dim0: int = 0, dim1: int = 1) -> None:
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.axis(self.dim0), self.axis(self.dim1))

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"


class Reduce(SampleDims):
    """Base of Mean, Sum and Max over `dims` (counted without the batch)."""

    def __init__(self, dims: int | tuple[int, ...] = -1, keepdim: bool = False) -> None:
        super().__init__()
        self.dims, self.keepdim = dims, keepdim

    def extra_repr(self) -> str:
        return f"dims={self.dims}, keepdim={self.keepdim}"


class Mean(Reduce):
    """The mean over `dims`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.axes(self.dims), keepdim=self.keepdim)


class Sum(Reduce):
    """The sum over `dims`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=self.axes(self.dims), keepdim=self.keepdim)


class Max(Reduce):
    """The largest value over `dims` (the values only, not where they are)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=self.axes(self.dims), keepdim=self.keepdim)


class Slice(SampleDims):
    """``x[..., start:stop:step]`` along `dim` (without the batch); with `index` set, the one
    position ``x[..., index]`` and that dimension dropped, as ``x[:, -1]`` takes the last
    step of a sequence."""

    def __init__(self, dim: int = 0, start: int | None = None, stop: int | None = None,
                 step: int = 1, index: int | None = None) -> None:
        super().__init__()
        self.dim, self.start, self.stop, self.step, self.index = dim, start, stop, step, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axis = self.axis(self.dim) % x.dim()
        if self.index is not None:
            return x.select(axis, self.index)
        return x[(slice(None),) * axis + (slice(self.start, self.stop, self.step),)]

    def extra_repr(self) -> str:
        if self.index is not None:
            return f"dim={self.dim}, index={self.index}"
        return f"dim={self.dim}, start={self.start}, stop={self.stop}, step={self.step}"


class Split(SampleDims):
    """`torch.split` along `dim` (without the batch): a tuple, one tensor per output port.

    `split_size_or_sections` is one size or a list of section sizes, as torch takes it.
    """

    def __init__(self, split_size_or_sections: int | tuple[int, ...], dim: int = 0) -> None:
        super().__init__()
        pieces = split_size_or_sections
        self.split_size_or_sections = pieces if isinstance(pieces, int) else list(pieces)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(torch.split(x, self.split_size_or_sections, dim=self.axis(self.dim)))

    def extra_repr(self) -> str:
        return f"split_size_or_sections={self.split_size_or_sections}, dim={self.dim}"


class Chunk(SampleDims):
    """`torch.chunk` along `dim` (without the batch): a tuple of `chunks` tensors."""

    def __init__(self, chunks: int = 2, dim: int = 0) -> None:
        super().__init__()
        self.chunks, self.dim = chunks, dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(torch.chunk(x, self.chunks, dim=self.axis(self.dim)))

    def extra_repr(self) -> str:
        return f"chunks={self.chunks}, dim={self.dim}"


class Scale(nn.Module):
    """Multiply by a constant `factor` (e.g. 1/sqrt(d) before a softmax)."""

    def __init__(self, factor: float = 1.0) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


class Interpolate(nn.Module):
    """`torch.nn.functional.interpolate` as a module: resize to `size` or by `scale_factor`."""

    def __init__(self, size: int | tuple[int, ...] | None = None,
                 scale_factor: float | None = None, mode: str = "nearest",
                 align_corners: bool | None = None) -> None:
        super().__init__()
        self.size, self.scale_factor = size, scale_factor
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(x, size=self.size, scale_factor=self.scale_factor,
                                         mode=self.mode, align_corners=self.align_corners)

    def extra_repr(self) -> str:
        return (f"size={self.size}, scale_factor={self.scale_factor}, mode={self.mode!r}, "
                f"align_corners={self.align_corners}")


class Multiply(nn.Module):
    """Element-wise product of any number of tensors, broadcasting sizes of 1 (a gate, or
    squeeze-and-excitation's [N, C, H, W] * [N, C, 1, 1])."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Subtract(nn.Module):
    """`input` minus `other`, broadcasting sizes of 1."""

    def forward(self, input: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return input - other


class MatMul(nn.Module):
    """Matrix product of each sample's last two dimensions: [N, A, B] @ [N, B, C]."""

    def forward(self, input: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return torch.matmul(input, other)


class LearnedTensor(nn.Module):
    """A learned tensor of `shape`, repeated for each sample of the input's batch.

    The input gives only the batch size: the output is [N, *shape], ready to be added to a
    sequence (a position embedding) or concatenated with it (a class token).
    """

    def __init__(self, shape: tuple[int, ...], init: str = "normal") -> None:
        super().__init__()
        self.shape, self.init = tuple(shape), init  # kept, so an import reads them back
        self.weight = nn.Parameter(torch.empty(*shape))
        if init == "normal":
            nn.init.normal_(self.weight, std=0.02)
        elif init == "ones":
            nn.init.ones_(self.weight)
        else:
            nn.init.zeros_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight.expand(x.shape[0], *self.weight.shape)
