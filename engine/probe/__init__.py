"""Looking inside a model: activations, attention per head, predictions, saliency, weight
statistics and per-node cost. Nothing here imports Qt; the GUI's inspect and evaluate
panels, `torchloom probe` and the run loop's live probes all call these functions.

Names are imported on first use, like the data and train packages.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_WHERE = {
    "ProbeBatch": "batch", "choose_probe_batch": "batch",
    "NodeProbe": "activations", "ProbeResult": "activations", "capture": "activations",
    "attention_nodes": "activations",
    "TrainedModel": "loaded", "load_trained": "loaded", "probe_batch_for": "loaded",
    "Predictions": "predictions", "ClassMetrics": "predictions", "predict": "predictions",
    "confusion_matrix": "predictions", "class_metrics": "predictions",
    "input_gradient": "saliency", "grad_cam": "saliency", "conv_nodes": "saliency",
    "TensorStats": "stats", "weight_stats": "stats", "gradient_stats": "stats",
    "dead_relu_fraction": "stats", "activation_stats": "stats", "top_units": "stats",
    "NodeCost": "cost", "node_costs": "cost", "MemoryEstimate": "cost",
    "memory_estimate": "cost", "fits_on": "cost", "format_bytes": "cost",
    "colorize": "render", "feature_grid": "render", "head_heatmaps": "render",
    "vector_strip": "render", "save_png": "render",
}

__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
