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
#: checkpoint.json and run.json are a few kilobytes; a bigger one is refused unread.
MAX_RECORD_BYTES = 16 * 2**20
PROBE_FILE = "probe.npz"
#: Text data: the tokenizer fitted on the training split (`engine.text.tokenizers`); probes,
#: Evaluate, export and generation encode with it, never with a refit.
TOKENIZER_FILE = "tokenizer.json"
#: ``"keep": "best"``: the best epoch's weights, in a folder of their own inside the run folder
#: (its MODEL_FILE and CHECKPOINT_FILE; see `best`).
BEST_DIR = "best"
#: Per-layer weight and gradient statistics, one JSON object per capture
#: (`train.layer_stats`).
STATS_FILE = "stats.jsonl"
#: TensorBoard event files, when the run writes them (`train.tensorboard`).
TENSORBOARD_DIR = "tensorboard"
