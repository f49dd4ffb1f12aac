"""Click-to-train: the worker thread around the engine Trainer and the panels that show it."""
