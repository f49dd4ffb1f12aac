"""The training thread keeps the thread count it was given, whatever a job thread sets."""

from __future__ import annotations

import threading

from torchloom.gui.engine_loader import set_thread_count


def test_a_job_setting_one_thread_meanwhile_leaves_the_training_thread_its_count():
    import torch

    given, other_set = threading.Event(), threading.Event()
    seen: list[int] = []

    def training() -> None:
        set_thread_count(2)
        given.set()
        other_set.wait()
        seen.append(torch.get_num_threads())
        seen.append(int(torch.ones(64, 64).sum()))  # a first operation after the other set

    def job() -> None:
        given.wait()
        torch.set_num_threads(1)  # what an Inspect job does on its own thread
        other_set.set()

    threads = [threading.Thread(target=training), threading.Thread(target=job)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [2, 4096]
