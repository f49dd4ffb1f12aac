"""Click-to-train: the worker thread around the engine's run loop and the panels that show it."""
