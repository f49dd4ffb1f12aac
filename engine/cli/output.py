"""What every command prints the same way: exit codes, one-line messages, --json errors."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

#: Exit codes (a public contract, see docs/cli.md): 0 all good; 1 the graph has errors (and
#: per command: an export that cannot express or reproduce the model, an import whose graph
#: differs, a failed training); 2 a file or argument cannot be used; 3 a bug in Torchloom.
EXIT_OK, EXIT_GRAPH, EXIT_FILE, EXIT_INTERNAL = 0, 1, 2, 3

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


#: The largest seed torch's generators take.
MAX_SEED = 2**63 - 1


def in_range(kind: type, low: float, high: float, shown: str | None = None) -> Any:
    """An argparse `type` for a number from `low` to `high`, so every command words a bad
    count, seed or temperature the same way (`shown` spells a bound like 2**63 - 1)."""
    word = "a whole number" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {word}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be from {low} to {shown or high}, got {value}")
        return value
    return parse


def path_arg(text: str) -> str:
    """An argparse `type` for a path: an empty one (``-o ""``, a variable that was not set)
    means the current folder to Python, where an export would write its files unasked."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: name a file or folder")
    return text


def say(text: object = "", file: Any = None) -> None:
    """Every human-readable line a command prints goes through here, escaped: an id, a file
    name or a message from a file may hold escape sequences that would rewrite the person's
    terminal. Line breaks in `text` stay; text that is one line whatever it holds (a table
    row, an error) is passed through `one_line` first, so an id's line break cannot fake a
    line of output."""
    lines = str(text).split("\n")
    stream = file or sys.stdout
    try:
        print("\n".join(one_line(line) for line in lines), file=stream, flush=True)
    except BrokenPipeError:  # `torchloom train ... | head`: the reader left
        silence(stream)


def say_json(value: Any, file: Any = None) -> None:
    """One JSON object on one line, through `say`: JSON escapes C0 controls but, with
    non-ASCII kept readable, not C1 ones (``\x9b`` starts an escape sequence on many
    terminals) nor line separators; `one_line` writes those as JSON escapes too, so the
    line stays valid JSON equal to `value`."""
    say(json.dumps(value, ensure_ascii=False), file)


def printable(text: str) -> str:
    """Text that keeps its own line breaks (a model's generated text, written piece by
    piece) with every other control character escaped, as `say` prints it."""
    return "\n".join(one_line(line) for line in text.split("\n"))


def silence(stream: Any) -> None:
    """Output to a reader that has gone is dropped from now on, never an error: a closed
    pipe must not fail a training run whose checkpoint is fine (nor print Python's
    "Exception ignored" when the interpreter flushes at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture it)
        pass


def one_line(text: str) -> str:
    """One line any UTF-8 terminal can print. A file name that is not valid UTF-8 reaches
    Python as lone surrogates, and an id or a type in a file may hold a line break; both are
    escaped (as JSON escapes them, so JSON output stays valid JSON)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def fail(args: argparse.Namespace, code: int, message: str, detail: dict[str, Any],
         lines: list[str] | None = None) -> int:
    """One line per problem on stderr; with --json also {"ok": false, "error"} on stdout."""
    if getattr(args, "json", False):
        error = {"message": message, **{k: v for k, v in detail.items() if v is not None}}
        say_json({"ok": False, "error": error})
    for line in lines or [message]:
        say(one_line(f"error: {line}"), sys.stderr)
    return code
