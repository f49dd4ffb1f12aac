"""How one block takes part in training: frozen or not, and its share of the learning rate.

These are settings of a node, not of a block type: any block (a unit too) can be frozen or
given its own learning-rate scale, so they sit beside ``params`` in the project file, not
inside it. They are declared once here; the file's reader and writer, the graph's edit, the
inspector's fields and the docs read these declarations. A file writes a setting only when
it differs from its default, so a project that uses neither is saved byte for byte as
before, and older files load unchanged.
"""

from __future__ import annotations

from typing import Any

from .params import Bool, Float, Param

#: The largest learning-rate scale a block may have.
MAX_LR_SCALE = 100.0

#: A node's training settings, by their key in the project file.
NODE_TRAINING: dict[str, Param] = {
    "trainable": Bool(True, "Off freezes the block: its weights keep their starting values "
                      "and its normalisation layers stay in eval mode while training "
                      "(fine-tuning)."),
    "lr_scale": Float(1.0, "The block's learning rate is the run's lr times this; 0 keeps its "
                      "weights where they are, 0.1 trains it ten times slower.",
                      min=0.0, max=MAX_LR_SCALE),
}


def check_node_training(key: str, value: Any) -> Any:
    """The value to keep for one node training setting; `ParamValueError` (completing
    "<key> ...") when it does not fit, `KeyError` for a key that is not one of them."""
    return NODE_TRAINING[key].validate(value)


def node_training_json(node: Any) -> dict[str, Any]:
    """The settings a file writes for `node`: only those that differ from the default."""
    out: dict[str, Any] = {}
    for key, decl in NODE_TRAINING.items():
        value = getattr(node, key)
        if value != decl.default:
            out[key] = value
    return out
