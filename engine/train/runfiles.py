"""The file names inside a run folder. Apart from `checkpoint` so that reading run history
(the GUI's run list) does not import torch."""

MODEL_FILE = "model.safetensors"
STATE_FILE = "state.pt"
#: Written last, after MODEL_FILE and STATE_FILE: their step, sizes and sha256. Without it
#: (or with digests that differ) the checkpoint was interrupted and is never loaded.
CHECKPOINT_FILE = "checkpoint.json"
METRICS_FILE = "metrics.csv"
PROJECT_FILE = "project.json"
RUN_FILE = "run.json"
PROBE_FILE = "probe.npz"
