"""Test-wide settings: Qt draws offscreen, so the suite runs on a machine with no screen, and
the app's user-data folder (settings, trusted code hashes) is a temporary one, never the
person's own."""

import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TORCHLOOM_DATA_DIR", tempfile.mkdtemp(prefix="torchloom-tests-"))
# `make test` runs one pytest-xdist worker per core; each computes with one thread. Two
# workers with torch's default team each oversubscribe the cores, and OpenMP threads that
# spin while they wait made the whole suite 3.4x slower that way, not merely shared.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Each worker its own user-data folder: inherited from the controller, one folder was
    # shared, and one worker's cleanup removed the trust store another was removing.
    os.environ["TORCHLOOM_DATA_DIR"] = tempfile.mkdtemp(
        prefix=f"torchloom-tests-{os.environ['PYTEST_XDIST_WORKER']}-")


@pytest.fixture(autouse=True)
def _no_trust_leaks():
    """Code trusted by one test is not trusted by the next."""
    yield
    from torchloom.engine import codefiles

    codefiles.forget_session_trust()
    store = codefiles._store_path()
    store.unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    """The slow tests first. `make test`'s scheduler (xdist worksteal) gives each worker a
    contiguous part of this order and lets an idle worker steal the end of another's queue,
    so a slow test left near the end would run alone while the other core waits."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
