"""The sentence that says which images a folder dataset left out.

A folder loader skips an image it cannot decode and goes on (`info["skipped"]`, with the
first few in `info["skipped_files"]`). Recorded only in run.json, a person training on 950
of 1,000 photos would never know; the command line and the GUI's training log say it when
training starts, with the same words, from here.
"""

from __future__ import annotations

from typing import Any

#: How many file names the sentence lists before "and N more".
SHOWN = 5


def skipped_note(data: dict[str, Any]) -> str | None:
    """``skipped 3 unreadable images: a.png, b.png, c.png``; None when nothing was skipped.

    `data` is what a run says of its data (`TrainingJob.data()`, run.json's "data")."""
    try:
        count = int(data.get("skipped") or 0)
    except (TypeError, ValueError):
        return None
    if count <= 0:
        return None
    names = [str(n) for n in data.get("skipped_files") or []][:SHOWN]
    noun = "image" if count == 1 else "images"
    text = f"skipped {count} unreadable {noun}"
    if names:
        text += ": " + ", ".join(names)
        if count > len(names):
            text += f" and {count - len(names)} more"
    return text


__all__ = ["SHOWN", "skipped_note"]
