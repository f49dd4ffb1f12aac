"""``python -m torchloom.engine.cli``: the engine's commands without the GUI's."""

import sys

from . import main

sys.exit(main())
