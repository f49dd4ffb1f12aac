"""Import an existing PyTorch model onto the canvas: `torchloom import`.

A ``file.py:ClassName`` source is executed (it is the person's own code), traced with
torch.fx, and every layer and call the catalogue knows becomes a block; the rest becomes
Code nodes whose source sits in one ``<project>_code.py`` beside the project. The
module's weights are carried over as the project's initial weights, and the import checks
that the new graph computes what the module computes.
"""

from __future__ import annotations

from .pipeline import import_module, import_to_project
from .result import ImportResult

__all__ = ["ImportResult", "import_module", "import_to_project"]
