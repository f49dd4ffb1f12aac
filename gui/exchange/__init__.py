"""Models in and out of the app: the export dialog and the PyTorch import dialog."""
