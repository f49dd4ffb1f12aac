"""Segmentation: a class for every pixel (which pixels are road, which are a car).

The output is [N, K, H, W]: K class scores per pixel, at the masks' size; the loss is the
cross-entropy over every pixel. Validation reports the pixel accuracy and the mean IoU:
per class, the pixels both the model and the mask give it over the pixels either gives it,
averaged over the classes that occur in either (scikit-learn's jaccard, macro).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import lazy_module
from .base import Chart
from .supervised import SupervisedTask

if TYPE_CHECKING:
    from ..shapes import Analysis

torch = lazy_module("torch")
F = lazy_module("torch.nn.functional")


class Segment(SupervisedTask):
    vector_output = False
    name = "segment"
    title = "Segmentation"
    template = "shape_masks_unet.json"
    summary = "A class for every pixel (shapes, organs, roads): per-pixel cross-entropy, mIoU."
    metric_columns = ("epoch", "train_loss", "val_loss", "val_pixel_acc", "val_miou",
                      "seconds", "samples_per_s")
    charts = (Chart("Loss", ("loss",), ("val_loss",)),
              Chart("Validation pixel accuracy and mean IoU",
                    epoch=("val_pixel_acc", "val_miou"), percent=True))
    headline = (("val_miou", "validation mIoU"), ("val_pixel_acc", "pixel accuracy"))
    views = ("masks",)
    targets = "segmentation"
    export_formats = ("python", "onnx", "pt2", "safetensors")

    def output_problem(self, analysis: "Analysis", facts: Any) -> str | None:
        out, node = analysis.output_spec, analysis.output
        if len(facts.target_shape) != 2:
            return None  # not masks: the loader says so
        height, width = facts.target_shape
        classes = facts.num_classes
        if len(out.shape) != 3:
            return (f"segment: the output of {node} is {out.show()} but segmentation needs "
                    f"class scores per pixel, [N, classes, {height}, {width}]: end the model "
                    f"with a Conv2d of {classes} out_channels")
        k, h, w = out.shape
        if (h, w) != (height, width):
            fix = ("remove a pooling layer or add an Upsample" if h < height
                   else "add a pooling layer or a strided convolution")
            return (f"segment: the output of {node} is {out.show()} but the masks are "
                    f"{height}x{width}: {fix}")
        if k < classes:
            return (f"segment: the masks hold classes 0 to {classes - 1} but {node} gives {k} "
                    f"scores per pixel: set its out_channels to {classes}")
        return None

    def loss(self, loop: Any, out: Any, y: Any) -> Any:
        return F.cross_entropy(out.float(), y)

    def val_batch(self, loop: Any, sums: dict[str, Any], out: Any, y: Any) -> None:
        k = int(out.shape[1])
        if "confusion" not in sums:
            sums["confusion"] = torch.zeros(k * k, device=loop.device, dtype=torch.int64)
        pred = out.argmax(1)
        sums["confusion"] += torch.bincount((y * k + pred).flatten(), minlength=k * k)

    def val_metrics(self, loop: Any, sums: dict[str, Any], n: int) -> dict[str, Any]:
        return confusion_metrics(sums["confusion"])

    def evaluate(self, trained: Any, data: Any) -> Any:
        from ..probe.evaluations import masks

        return masks(trained, data)


def confusion_metrics(flat: Any) -> dict[str, Any]:
    """Pixel accuracy and mean IoU from a flattened [K, K] confusion matrix (true, pred)."""
    k = int(round(flat.numel() ** 0.5))
    matrix = flat.reshape(k, k).double()
    hits = matrix.diagonal()
    union = matrix.sum(0) + matrix.sum(1) - hits
    present = union > 0
    iou = hits[present] / union[present]
    return {"val_pixel_acc": float(hits.sum() / matrix.sum().clamp_min(1)),
            "val_miou": float(iou.mean()) if present.any() else 0.0}


TASK = Segment
