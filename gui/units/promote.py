"""Promoted parameters made from the inspector of a block inside an opened unit.

Beside each parameter of an inner block sits a small "⋯" button. Its menu promotes the
parameter to the unit (a unit-level parameter every node of that unit shows in its
inspector, default = the value it has now), links it to an existing unit parameter of the
same type (one `channels` feeding two convolutions), or un-promotes it. Each is one step on
the project's undo stack: the definition's promoted parameters before and after, plus the
graph edits that go with them (un-promoting drops the value from every node of the unit and
leaves the inner block with the value it was being fed, so nothing on screen jumps).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QInputDialog, QMenu, QToolButton, QWidget

from torchloom.engine.edits import Op, apply_all
from torchloom.engine.errors import TorchloomError
from torchloom.engine.graph import Graph

# ---- what may be promoted or linked (no Qt) ----------------------------------------------


def fed_by(defn: Any, node_id: str, param: str) -> str | None:
    """The unit parameter that sets `node_id.param`, or None."""
    for pname, promoted in defn.params.items():
        if any(t.node == node_id and t.param == param for t in promoted.targets):
            return pname
    return None


def can_promote(defn: Any, node_id: str, param: str) -> bool:
    """An inner block's own parameter (not a unit input's: those take what flows in)."""
    if node_id not in defn.graph or node_id in {p.node for p in defn.inputs}:
        return False
    block = defn.graph.node(node_id).block
    return block is not None and param in block.params


def _decl(defn: Any, node_id: str, param: str) -> Any:
    block = defn.graph.node(node_id).block
    return block.params.get(param) if block is not None else None


def linkable(defn: Any, node_id: str, param: str) -> list[str]:
    """Unit parameters this one could follow: same declaration type (a choice: same
    choices), and their default is a value this parameter accepts."""
    mine = _decl(defn, node_id, param)
    if mine is None or fed_by(defn, node_id, param) is not None:
        return []
    names = []
    for pname in defn.params:
        theirs = defn.target_decl(pname)
        if theirs is None or type(theirs) is not type(mine) or \
                getattr(theirs, "choices", None) != getattr(mine, "choices", None):
            continue
        try:
            mine.validate(defn.params[pname].default)
        except ValueError:
            continue
        names.append(pname)
    return names


def default_name(defn: Any, node_id: str, param: str) -> str:
    """The parameter's own name (``out_channels`` → ``channels``) when the unit has none
    of that name, else `<node>_<param>`."""
    for base in (param.removeprefix("out_"), param, f"{node_id}_{param}"):
        if base.isidentifier() and base != "repeat" and base not in defn.params:
            return base
    n = 2
    while f"{node_id}_{param}{n}" in defn.params:
        n += 1
    return f"{node_id}_{param}{n}"


def unit_graphs(project: Any) -> list[Graph]:
    """Every graph a unit node can sit in: the model's (a GAN's two) and every unit's."""
    graphs = list(project.graphs().values())
    graphs += [d.graph for d in project.units.defs.values()]
    return graphs


@dataclass
class PromoteEdit:
    """One promotion change: the unit's promoted parameters before and after, and the
    graph edits that go with it (graph, ops), applied after the parameters change."""

    defn: Any
    before: dict[str, Any]
    after: dict[str, Any]
    text: str
    ops: list[tuple[Graph, list[Op]]] = field(default_factory=list)


def plan_promote(project: Any, unit: str, node_id: str, param: str, pname: str
                 ) -> PromoteEdit:
    """`node_id.param` becomes the unit parameter `pname` (default: its value now).
    Raises the engine's `UnitError` for a taken or invalid name."""
    from torchloom.engine.units.edit import promote

    defn = project.units.get(unit)
    before = copy.deepcopy(defn.params)
    try:
        promote(project, unit, pname, [(node_id, param)])
        after = copy.deepcopy(defn.params)
    finally:
        _assign(defn.params, before)
    return PromoteEdit(defn, before, after, f"Promote {node_id}.{param} to {unit}.{pname}")


def plan_link(defn: Any, node_id: str, param: str, pname: str) -> PromoteEdit:
    """`node_id.param` follows the existing unit parameter `pname` too."""
    from torchloom.engine.units.model import Target

    if pname not in linkable(defn, node_id, param):
        raise ValueError(f"{node_id}.{param} cannot follow {pname}")
    before = copy.deepcopy(defn.params)
    after = copy.deepcopy(defn.params)
    after[pname].targets.append(Target(node_id, param))
    return PromoteEdit(defn, before, after, f"Link {node_id}.{param} to {defn.name}.{pname}")


def plan_unpromote(project: Any, defn: Any, node_id: str, param: str, value: Any = None
                   ) -> PromoteEdit:
    """`node_id.param` stops following its unit parameter and keeps `value` (what it was
    fed; None: the parameter's default). The last target gone, the unit parameter goes,
    and with it its value on every node of the unit."""
    pname = fed_by(defn, node_id, param)
    if pname is None:
        raise ValueError(f"{node_id}.{param} is not promoted")
    before = copy.deepcopy(defn.params)
    after = copy.deepcopy(defn.params)
    promoted = after[pname]
    promoted.targets = [t for t in promoted.targets
                        if not (t.node == node_id and t.param == param)]
    edit = PromoteEdit(defn, before, after, f"Un-promote {node_id}.{param} from {pname}")
    if not promoted.targets:
        del after[pname]
        edit.text = f"Remove the parameter {pname} from {defn.name}"
        kind = f"unit:{defn.name}"
        for graph in unit_graphs(project):
            ops = [Op("unset_param", node_id=n.id, name=pname)
                   for n in graph.nodes if n.type == kind and pname in n.params]
            if ops:
                edit.ops.append((graph, ops))
    decl = _decl(defn, node_id, param)
    value = promoted.default if value is None else value
    inner = defn.graph.node(node_id)
    if decl is not None:
        try:
            raw = decl.to_json(decl.validate(value))
        except ValueError:
            raw = None
        if raw is not None and inner.params.get(param) != raw:
            edit.ops.append((defn.graph, [Op("set_param", node_id=node_id, name=param,
                                             value=raw)]))
    return edit


def _assign(params: dict[str, Any], value: dict[str, Any]) -> None:
    """Replace a definition's promoted parameters in place (the dict stays the same)."""
    params.clear()
    params.update(copy.deepcopy(value))


# ---- the undo step ---------------------------------------------------------------------


class PromoteCommand(QUndoCommand):
    """A `PromoteEdit` as an undo step (done by `redo` when pushed)."""

    def __init__(self, outer: Any, edit: PromoteEdit) -> None:
        super().__init__(edit.text)
        self.outer, self.edit = outer, edit
        self.inverses: list[tuple[Graph, list[Op]]] = []

    def redo(self) -> None:
        _assign(self.edit.defn.params, self.edit.after)  # first: unit nodes read it
        self.inverses = [(g, apply_all(g, ops)) for g, ops in self.edit.ops]
        self.outer._refresh.start()

    def undo(self) -> None:
        _assign(self.edit.defn.params, self.edit.before)  # first: set_param checks against it
        for graph, inverses in reversed(self.inverses):
            apply_all(graph, inverses)
        self.outer._refresh.start()


# ---- the inspector's button ------------------------------------------------------------


def ask_param_name(parent: QWidget, unit: str, target: str, default: str) -> str | None:
    """The unit-level name for a promoted parameter (tests replace this); None: cancelled."""
    name, ok = QInputDialog.getText(
        parent, "Promote to unit parameter",
        f"Name the {unit} parameter that sets {target}.\nEvery {unit} node then shows it in "
        "its inspector; its default is the value set here now.", text=default)
    return (name.strip() or None) if ok else None


def promote(doc: Any, node_id: str, param: str, pname: str | None = None,
            parent: QWidget | None = None) -> str | None:
    """Promote from an opened unit (`doc` a `UnitDocument`); asks the name when `pname` is
    None. Returns the unit parameter's name, None when cancelled or refused (said)."""
    defn = doc.defn
    if pname is None:
        pname = ask_param_name(parent, defn.name, f"{node_id}.{param}",  # type: ignore
                               default_name(defn, node_id, param))
        if pname is None:
            return None
    try:
        edit = plan_promote(doc.project, defn.name, node_id, param, pname)
    except TorchloomError as exc:
        doc.message.emit(f"Cannot promote: {exc.message}")
        return None
    return pname if _push(doc, edit) else None


def link(doc: Any, node_id: str, param: str, pname: str) -> bool:
    try:
        edit = plan_link(doc.defn, node_id, param, pname)
    except ValueError as exc:
        doc.message.emit(f"Cannot link: {exc}")
        return False
    return _push(doc, edit)


def unpromote(doc: Any, node_id: str, param: str) -> bool:
    defn = doc.defn
    fed = doc.promoted_targets().get((node_id, param))
    try:
        edit = plan_unpromote(doc.project, defn, node_id, param, fed[1] if fed else None)
    except ValueError as exc:
        doc.message.emit(str(exc))
        return False
    return _push(doc, edit)


def _push(doc: Any, edit: PromoteEdit) -> bool:
    if doc.locked:
        doc.message.emit(doc.locked)
        return False
    doc.undo_stack.push(PromoteCommand(doc.outer, edit))
    return True


def param_button(doc: Any, node_id: str, param: str, parent: QWidget | None = None
                 ) -> QToolButton | None:
    """The "⋯" beside an inner block's parameter, or None where nothing can be done."""
    defn = doc.defn
    if not can_promote(defn, node_id, param):
        return None
    button = QToolButton(parent)
    button.setObjectName(f"promote_{param}")
    button.setText("⋯")
    button.setAutoRaise(True)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setStyleSheet("QToolButton { padding: 0 4px; } "
                         "QToolButton::menu-indicator { image: none; width: 0; }")
    menu = QMenu(button)
    pname = fed_by(defn, node_id, param)
    if pname is None:
        button.setToolTip(f"Promote {param} to a parameter of the unit {defn.name}")
        menu.addAction("Promote to unit parameter…",
                       lambda *_: promote(doc, node_id, param, parent=button.window()))
        names = linkable(defn, node_id, param)
        if names:
            sub = menu.addMenu("Link to unit parameter")
            for name in names:
                sub.addAction(name, lambda *_, n=name: link(doc, node_id, param, n))
    else:
        last = len(defn.params[pname].targets) == 1
        button.setToolTip(f"Set by the unit parameter {pname}")
        text = (f"Un-promote (removes {pname} from {defn.name})" if last
                else f"Unlink from {pname}")
        menu.addAction(text, lambda *_: unpromote(doc, node_id, param))
    button.setMenu(menu)
    return button
