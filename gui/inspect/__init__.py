"""Looking inside a trained model: the Inspect panel (one node's activations or attention),
the Evaluate panel (confusion matrix, metrics, mistakes, saliency) and the work they do off
the GUI thread."""
