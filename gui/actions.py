"""The window's actions, declared once: name, menu text, keys and what each does.

The window makes its QActions from this table (`MainWindow._action`), Help → Keyboard
shortcuts lists it, and the shortcut-clash test walks the actions made from it. Keys are a
`QKeySequence.StandardKey` where Qt has one, so each platform gets its own (Redo is
Ctrl+Shift+Z on Linux, Ctrl+Y on Windows, ⇧⌘Z on a Mac); a key written as text is added on
every platform, after the platform's own. `GESTURES` are the keys and mouse moves the canvas
handles itself (no action): they are listed in Help, never bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

Key = Union[QKeySequence.StandardKey, str]
K = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    """One window action. `does` is the sentence Help shows and the status bar tip."""

    text: str
    does: str = ""
    keys: tuple[Key, ...] = ()


#: Every action of the main window, by name (the window's attribute is ``act_<name>``), in
#: the order Help lists them.
ACTIONS: dict[str, ActionSpec] = {
    "new": ActionSpec("&New", "New project", (K.New,)),
    "new_gan": ActionSpec("New &GAN", "The classic MLP GAN on mnist5k: a generator and a "
                          "discriminator"),
    "open": ActionSpec("&Open…", "Open a project", (K.Open,)),
    "save": ActionSpec("&Save", "Save", (K.Save,)),
    "save_as": ActionSpec("Save &As…", "Save as", (K.SaveAs, "Ctrl+Shift+S")),
    "import": ActionSpec("&Import PyTorch module…", "Turn an nn.Module class from your own "
                         ".py file into a canvas", ("Ctrl+Shift+I",)),
    "export": ActionSpec("&Export…", "Export the model as PyTorch code, ONNX, torch.export, "
                         "weights or a multi-GPU training script", ("Ctrl+E",)),
    "trust": ActionSpec("&Trust code files…", "Run the Python files this project's Code "
                        "blocks name"),
    "quit": ActionSpec("&Quit", "Quit", (K.Quit, "Ctrl+Q")),
    "undo": ActionSpec("&Undo", "Undo", (K.Undo,)),
    "redo": ActionSpec("&Redo", "Redo", (K.Redo, "Ctrl+Shift+Z", "Ctrl+Y")),
    "cut": ActionSpec("Cu&t", "Cut the selected blocks (with the wires between them)",
                      (K.Cut,)),
    "copy": ActionSpec("&Copy", "Copy the selected blocks (with the wires between them)",
                       (K.Copy,)),
    "paste": ActionSpec("&Paste", "Paste blocks", (K.Paste,)),
    "duplicate": ActionSpec("&Duplicate", "Duplicate the selected blocks", ("Ctrl+D",)),
    "delete": ActionSpec("De&lete", "Delete the selected blocks and wires", (K.Delete,)),
    "select_all": ActionSpec("Select &All", "Select all blocks", (K.SelectAll,)),
    "add": ActionSpec("&Add block…", "Add a block at the cursor (Tab on the canvas)"),
    "layout": ActionSpec("Auto-&layout", "Auto-layout, left to right", ("Ctrl+L",)),
    "group": ActionSpec("&Group into unit…", "Group the selected blocks into a unit",
                        ("Ctrl+G",)),
    "ungroup": ActionSpec("&Ungroup", "Ungroup the selected unit back into its blocks",
                          ("Ctrl+Shift+G",)),
    "open_unit": ActionSpec("&Open unit", "Show and edit the blocks inside the unit "
                            "(double-click)"),
    "unit_up": ActionSpec("Back &out of unit", "Back to the graph that holds this unit",
                          ("Alt+Up",)),
    "save_unit": ActionSpec("&Save unit to library…", "Keep this unit in My blocks, for any "
                            "project"),
    "fit": ActionSpec("&Fit to view", "Fit the graph to the view", ("F",)),
    "dark": ActionSpec("&Dark theme", "Dark theme"),
    "light": ActionSpec("&Light theme", "Light theme"),
    "train": ActionSpec("▶  &Train", "Compile the graph and train a new run",
                        ("Ctrl+Return",)),
    "stop": ActionSpec("■  &Stop", "Stop after the current batch; a checkpoint is kept",
                       ("Ctrl+.",)),
    "resume": ActionSpec("⟳  &Resume", "Continue the stopped run from its checkpoint"),
    "find_lr": ActionSpec("Find &learning rate…", "Sweep the learning rate on a copy of the "
                          "model and suggest one to apply"),
    "reset": ActionSpec("Reset &weights", "The next run starts from fresh weights instead of "
                        "the last run's"),
    "pretrained": ActionSpec("Start from &pretrained weights…", "The next run starts from a "
                             ".safetensors or torch state-dict file, matched to the blocks "
                             "by name"),
    "shortcuts": ActionSpec("&Keyboard shortcuts", "This list", (K.HelpContents, "F1")),
    "about": ActionSpec("&About Torchloom", "About Torchloom"),
}

#: What the canvas does with keys and the mouse by itself: (keys, what it does).
GESTURES: tuple[tuple[str, str], ...] = (
    ("Tab", "Add a block at the cursor (type to search, Enter to add the best match)"),
    ("Double-click a unit", "Open it: edit the blocks inside (every node of that unit "
     "follows)"),
    ("Backspace / Esc", "Back out of an opened unit"),
    ("Wheel", "Zoom around the cursor"),
    ("Middle drag / Space+drag", "Pan"),
    ("Drag, Ctrl+click", "Select with a rubber band; add or remove one block"),
    ("Drag from a port", "Wire an output to an input (drop on a block: its first free input)"),
)


def key_sequences(spec: ActionSpec, taken: Iterable[QKeySequence] = ()) -> list[QKeySequence]:
    """The sequences an action answers: each standard key's bindings on this platform, then
    the keys written as text; each sequence once (two equal ones on one action make Qt
    call every press of it ambiguous). A platform binding in `taken` (a key another action
    declares as text) is left out: on X11, Delete's bindings include Ctrl+D, which is
    Duplicate's."""
    taken = list(taken)
    out: list[QKeySequence] = []
    for key in spec.keys:
        standard = isinstance(key, QKeySequence.StandardKey)
        found = QKeySequence.keyBindings(key) if standard else [QKeySequence(key)]
        for sequence in found:
            if sequence.isEmpty() or sequence in out or (standard and sequence in taken):
                continue
            out.append(sequence)
    return out


def bindings() -> dict[str, list[QKeySequence]]:
    """Every declared action's sequences on this platform, by name."""
    written = {name: [QKeySequence(k) for k in spec.keys if isinstance(k, str)]
               for name, spec in ACTIONS.items()}
    return {name: key_sequences(spec, [s for other, keys in written.items() if other != name
                                       for s in keys])
            for name, spec in ACTIONS.items()}


def on_every_keyboard(sequence: QKeySequence) -> bool:
    """Whether `sequence` uses keys a common keyboard has: not F13-F35 nor the dedicated
    Copy, Paste, Undo... keys some X11 bindings add (those still work; Help leaves them
    out)."""
    key = sequence[0].key() if sequence.count() else None
    return key is not None and not (Qt.Key.Key_F13 <= key <= Qt.Key.Key_F35) and \
        key < Qt.Key.Key_Back


def keys_text(sequences: Iterable[QKeySequence]) -> str:
    """Keys as this platform writes them, "Ctrl+Shift+Z / Ctrl+Y", leaving out the keys
    few keyboards have."""
    shown = [s for s in sequences if on_every_keyboard(s)] or list(sequences)
    return " / ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in shown)


def plain_name(name: str) -> str:
    """The action's name as a screen reader should say it: no mnemonic `&`, no glyph, no
    ellipsis ("▶  &Train" is "Train")."""
    text = ACTIONS[name].text.replace("&", "").replace("…", "")
    return text.lstrip("▶■⟳ ").strip()


def tool_tip(name: str, keys: dict[str, list[QKeySequence]] | None = None) -> str:
    """What the action does, with its shortcut: "Compile the graph and train a new run
    (Ctrl+Return)". Toolbar buttons and the panels' buttons for the action show this."""
    spec = ACTIONS[name]
    sequences = (keys if keys is not None else bindings())[name]
    shown = keys_text(sequences)
    return (spec.does or plain_name(name)) + (f" ({shown})" if shown else "")


def shortcut_rows() -> list[tuple[str, str]]:
    """Help → Keyboard shortcuts: (keys, what they do), every keyed action then the
    canvas gestures."""
    keys = bindings()
    rows = [(keys_text(keys[name]), spec.does or spec.text.replace("&", ""))
            for name, spec in ACTIONS.items() if keys[name]]
    return rows + list(GESTURES)
