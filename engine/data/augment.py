"""Image augmentation as a dataset setting: what each augmentation is and takes, declared once.

A project asks for augmentation in its dataset object::

    "dataset": {"name": "mnist5k", "augment": {"hflip": {"p": 0.5}, "crop": {"padding": 4}}}

Each key is one of `AUGMENTATIONS` and its value the augmentation's parameters (``{}`` or
``true`` for the defaults; ``false`` or ``null`` leaves it off). They run in the order the
declaration lists them (geometric first, then colour, noise, cutout, and mixing last), on
training batches only, on the device, as plain torch ops on the whole batch
(`augment_ops.Augmenter`). Validation, probes and Evaluate see the data as it is.

The checks here need no data: `spec_problems` runs in `check` and the Problems panel;
`fit_problem` runs when the data is known (training start, the data panel's preview).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError
from ..params import Float, Int, Param, ParamValueError

#: Where augmentation lives in a project's dataset object.
KEY = "augment"


@dataclass(frozen=True)
class Augmentation:
    """One augmentation: its parameters and what it needs of the data."""

    name: str
    doc: str
    params: dict[str, Param] = field(default_factory=dict)
    #: moves pixels, so a segmentation mask moves with the image
    geometric: bool = False
    #: "image": samples [C, H, W] of numbers; "numbers": any float input
    needs: str = "image"
    #: mixes two samples and their labels: classification only
    mixes: bool = False


def _p(default: float = 0.5) -> Float:
    return Float(default, "Chance that a sample gets it.", min=0.0, max=1.0)


AUGMENTATIONS: dict[str, Augmentation] = {a.name: a for a in (
    Augmentation("hflip", "Mirror left to right.", {"p": _p()}, geometric=True),
    Augmentation("vflip", "Mirror top to bottom.", {"p": _p()}, geometric=True),
    Augmentation("crop", "Pad each side with zeros (the mean after normalisation), then crop "
                 "back to the original size at a random place.",
                 {"padding": Int(4, "Pixels of padding on each side.", min=1, max=256)},
                 geometric=True),
    Augmentation("resized_crop", "Crop a random part (area fraction from min_scale to 1, "
                 "aspect ratio from 3/4 to 4/3) and stretch it back to full size.",
                 {"min_scale": Float(0.5, "Smallest area fraction kept.", min=0.05, max=1.0)},
                 geometric=True),
    Augmentation("affine", "Rotate, shift and zoom a little.",
                 {"degrees": Float(10.0, "Largest rotation either way, in degrees.", min=0.0,
                                   max=180.0),
                  "translate": Float(0.1, "Largest shift, as a fraction of the side.",
                                     min=0.0, max=0.5),
                  "scale": Float(0.1, "Zoom from 1 - scale to 1 + scale.", min=0.0, max=0.5)},
                 geometric=True),
    Augmentation("brightness", "Multiply the pixel values by a factor from 1 - amount to "
                 "1 + amount.", {"amount": Float(0.2, "How far the factor goes from 1.",
                                                 min=0.0, max=1.0)}),
    Augmentation("contrast", "Stretch or flatten each image around its mean by a factor from "
                 "1 - amount to 1 + amount.", {"amount": Float(0.2, "How far the factor goes "
                                                               "from 1.", min=0.0, max=1.0)}),
    Augmentation("noise", "Add Gaussian noise, in units of the data's standard deviation.",
                 {"std": Float(0.05, "Standard deviation of the noise.", min=0.0, max=5.0,
                               min_open=True)}, needs="numbers"),
    Augmentation("cutout", "Blank out one random square (to the mean).",
                 {"size": Float(0.25, "The square's side as a fraction of the image's "
                                "shorter side.", min=0.01, max=1.0), "p": _p(1.0)}),
    Augmentation("mixup", "Blend each sample with another and their labels alike "
                 "(classification).", {"alpha": Float(0.2, "Beta(alpha, alpha) draws the "
                                                       "blend.", min=0.0, max=10.0,
                                                       min_open=True)}, mixes=True),
    Augmentation("cutmix", "Paste a random box of another sample in, with the labels mixed "
                 "by its area (classification). With mixup too, each batch takes one of the "
                 "two.", {"alpha": Float(1.0, "Beta(alpha, alpha) draws the box's area.",
                                         min=0.0, max=10.0, min_open=True)}, mixes=True),
)}


def _where(name: str | None = None, param: str | None = None) -> str:
    return ".".join(part for part in ("dataset", KEY, name, param) if part)


def parse(spec: Any) -> dict[str, dict[str, Any]]:
    """The augmentations a dataset object asks for, in the order they run, each with all
    its parameters (defaults filled in). Raises `DataError` naming the key."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise DataError('must be an object such as {"hflip": {}, "crop": {"padding": 4}}',
                        where=_where())
    unknown = [k for k in spec if k not in AUGMENTATIONS]
    if unknown:
        import difflib

        close = difflib.get_close_matches(str(unknown[0]), AUGMENTATIONS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise DataError(f"there is no augmentation {unknown[0]!r}{hint}; there are "
                        + ", ".join(AUGMENTATIONS), where=_where(str(unknown[0])))
    out: dict[str, dict[str, Any]] = {}
    for name, aug in AUGMENTATIONS.items():
        given = spec.get(name)
        if given is None or given is False:
            continue
        if given is True:
            given = {}
        if not isinstance(given, dict):
            raise DataError("must be an object of its parameters ({} for the defaults) or "
                            "true", where=_where(name))
        extra = [k for k in given if k not in aug.params]
        if extra:
            takes = ", ".join(aug.params) or "no parameters"
            raise DataError(f"{name} has no parameter {extra[0]!r}; it takes {takes}",
                            where=_where(name, str(extra[0])))
        values = {}
        for key, param in aug.params.items():
            try:
                values[key] = param.validate(given.get(key, param.default))
            except ParamValueError as exc:
                raise DataError(str(exc), where=_where(name, key)) from None
        out[name] = values
    return out


def spec_problems(dataset: Any) -> list[DataError]:
    """What is wrong with a dataset object's augmentation, before any data is loaded."""
    if not isinstance(dataset, dict) or KEY not in dataset:
        return []
    try:
        parse(dataset[KEY])
    except DataError as exc:
        return [exc]
    return []


def fit_problem(chosen: dict[str, dict[str, Any]], sample_shape: tuple[int, ...],
                is_float: bool, several: bool, targets: str) -> DataError | None:
    """Why these augmentations cannot run on this data (one sentence naming the
    augmentation and what the data is), or None. `targets`: the task's kind of targets."""
    if not chosen:
        return None
    first = next(iter(chosen))
    if several:
        return DataError(f"{first} augments one input, but this model has several Inputs; "
                         "remove dataset.augment", where=_where(first))
    shape = "[" + ", ".join(map(str, sample_shape)) + "]"
    for name in chosen:
        aug = AUGMENTATIONS[name]
        if not is_float:
            return DataError(f"{name} cannot augment token ids (samples {shape}): "
                             "augmentation is for images and numbers; remove it",
                             where=_where(name))
        if aug.needs == "image" and len(sample_shape) != 3:
            return DataError(f"{name} needs images [channels, height, width], but each "
                             f"sample is {shape}; only noise works on other numbers",
                             where=_where(name))
        if aug.mixes and targets != "classification":
            return DataError(f"{name} mixes class labels: it is for classification, not "
                             f"{targets} targets", where=_where(name))
    return None


def data_problem(chosen: dict[str, dict[str, Any]], data: Any, targets: str
                 ) -> DataError | None:
    """`fit_problem` for a loaded `Dataset`."""
    several = bool(data.several)
    shape = () if several else tuple(data.input_shape)
    is_float = not several and data.dtype.startswith(("float", "bfloat"))
    return fit_problem(chosen, shape, is_float, several, targets)


def without_augment(spec: Any) -> Any:
    """The dataset object as the loaders read it: augmentation is not theirs."""
    if isinstance(spec, dict) and KEY in spec:
        return {k: v for k, v in spec.items() if k != KEY}
    return spec
