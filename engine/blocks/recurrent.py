"""Recurrent layers and sequence pooling. Always batch-first; they output the whole sequence
or, with ``output="hidden"``, the last layer's final hidden state; ``output="both"`` gives
two output ports, ``sequence`` and ``hidden``, for a model that reads both (an encoder's
states for attention and its summary for a decoder).

Measured on a small real CPU tensor, not on meta: the meta kernels of LSTM/GRU/RNN run one
Python-level step per time step (about 1.6 ms each here), which would stall the canvas on
long sequences, while the real CPU forward on a batch of two takes about a millisecond.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Bool, Choice, Float, Int
from .base import (SINGLE_OUTPUT, Block, BlockCheckError, OutputPort, Port, SampleShape,
                   TensorSpec, register)

#: What a recurrent block passes on; the names of the two ports of "both" are the other two.
OUTPUTS = ("sequence", "hidden", "both")
_BOTH_PORTS = [OutputPort("sequence", "every step, [N, L, H * directions]"),
               OutputPort("hidden", "the last layer's final hidden state, [N, H * directions]")]


def _rnn_params() -> dict[str, Any]:
    return {
        "hidden_size": Int(64, "Size of the hidden state per direction.", min=1, max=1 << 16),
        "num_layers": Int(1, "Stacked layers.", min=1, max=64),
        "bias": Bool(True, "Learn bias weights."),
        "dropout": Float(0.0, "Dropout between stacked layers (needs num_layers >= 2).",
                         min=0.0, max=1.0, max_open=True),
        "bidirectional": Bool(False, "Also read the sequence backwards; doubles the output "
                              "features."),
        "output": Choice("sequence", "'sequence': every step, [N, L, H * directions]; "
                         "'hidden': the last layer's final hidden state, [N, H * directions], "
                         "one vector per sample for a classifier; 'both': two output ports, "
                         "`sequence` and `hidden`.",
                         choices=OUTPUTS),
    }


class _RecurrentBlock(Block):
    category = "Recurrent"
    measure_on = "cpu"
    inputs = (Port("in", ranks=(3,), layout="[N, L, features]"),)
    fixed = {"batch_first": True}
    outputs_doc = ("`out`; with output \"both\" two instead: `sequence` (every step, "
                   "[N, L, H * directions]) and `hidden` (the final hidden state, "
                   "[N, H * directions])")

    def output_ports(self, params: dict[str, Any],
                     inputs: Sequence[TensorSpec] | None = None) -> list[OutputPort]:
        if params.get("output") == "both":
            return list(_BOTH_PORTS)
        return [OutputPort(SINGLE_OUTPUT)]

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        if params["dropout"] > 0 and params["num_layers"] == 1:
            raise BlockCheckError("dropout only acts between stacked layers: set num_layers to "
                                  "2 or more, or dropout to 0")

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"input_size": input_shapes[0][-1]}


@register
class LSTMBlock(_RecurrentBlock):
    type_name = "LSTM"
    module = "torchloom.engine.layers.LSTMSequence"
    doc = ("Long short-term memory over [N, L, features]; outputs every step's hidden state, "
           "or only the final one.")
    params = _rnn_params()


@register
class GRUBlock(_RecurrentBlock):
    type_name = "GRU"
    module = "torchloom.engine.layers.GRUSequence"
    doc = ("Gated recurrent unit over [N, L, features]; outputs every step's hidden state, "
           "or only the final one.")
    params = _rnn_params()


@register
class RNNBlock(_RecurrentBlock):
    type_name = "RNN"
    module = "torchloom.engine.layers.RNNSequence"
    doc = ("Plain (Elman) recurrent layer over [N, L, features]; outputs every step, or only "
           "the final hidden state.")
    params = {**_rnn_params(),
              "nonlinearity": Choice("tanh", "Activation of the hidden state.",
                                     choices=("tanh", "relu"))}


@register
class SequencePoolBlock(Block):
    type_name = "SequencePool"
    category = "Recurrent"
    doc = ("Turn a sequence [N, L, H] into one vector [N, H] for a classifier: the last step, "
           "the mean, or the max over time; wire the token ids into 'tokens' to leave padding "
           "(id 0) out.")
    inputs = (Port("in", ranks=(3,), layout="a sequence [N, L, H]"),
              Port("tokens", ranks=(2,), dtype="int", optional=True,
                   layout="int64 token ids [N, L]",
                   doc="The token ids the sequence was read from: positions holding the pad "
                       "id 0 are left out ('mean' over real tokens, 'last' real token)."))
    module = "torchloom.engine.layers.SequencePool"
    params = {"mode": Choice("last", "'last' step, 'mean' or 'max' over time.",
                             choices=("last", "mean", "max"))}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        if len(inputs) == 2 and inputs[1].shape[0] != inputs[0].shape[0]:
            raise BlockCheckError(f"the sequence has {inputs[0].shape[0]} steps but 'tokens' "
                                  f"has {inputs[1].shape[0]}: wire the token ids the sequence "
                                  "was read from")
