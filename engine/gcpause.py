"""Bulk graph work with Python's cyclic garbage collector paused.

Loading or measuring a 10,000-node graph makes hundreds of thousands of objects that live on
(nodes, edges, their dicts, networkx's adjacency, the analysis), and none of them is
garbage. The collector still runs every few hundred allocations, and each run of its older
generations walks every object made so far, so loading cost twice as much per node at
10,000 nodes as at 2,000 (bench/graph_growth.py). Paused, the cost per node stays flat.
Reference counting still frees everything that is not a cycle at once; the few cycles made
meanwhile (small closures torch builds while measuring) wait for the next collection after
the pause.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator

_lock = threading.Lock()
#: How many `gc_paused` blocks are open (on any thread), and whether the collector was on
#: when the first of them opened: only the last one out turns it back on.
_open = 0
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (nested and threaded uses are fine)."""
    global _open, _was_enabled
    with _lock:
        if _open == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _open += 1
    try:
        yield
    finally:
        with _lock:
            _open -= 1
            if _open == 0 and _was_enabled:
                gc.enable()
