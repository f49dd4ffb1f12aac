"""Torchloom's engine: everything that is not pixels. It never imports Qt."""

__version__ = "0.1.0"
