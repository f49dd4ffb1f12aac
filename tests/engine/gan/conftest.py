"""GAN tests train small MLPs: one intra-op thread is as fast for them, and on a loaded
machine (CI neighbours, several test runs at once) it is many times faster than threads
that wait on each other. The setting is put back after each test module."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
