"""Test-wide settings: Qt draws offscreen, so the suite runs on a machine with no screen."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
