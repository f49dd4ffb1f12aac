"""The start page, shown when no project is open: New, Open, Recent and the examples."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QMenu, QPushButton,
                               QVBoxLayout, QWidget)

from torchloom.engine.project import task_of
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks import task_class

from .paths import recent_files
from .text import message


def example_summary(path: Path) -> tuple[str, str]:
    """(name, one line) read from the file without building anything."""
    try:
        data = json.loads(path.read_text())
        dataset = (data.get("dataset") or {}).get("name", "own data")
        task = task_class(task_of(data))
        if len(task.graph_keys()) > 1:
            sizes = ", ".join(f"{key} {len(data.get(key, {}).get('nodes', []))} blocks"
                              for key in task.graph_keys())
            return data.get("name", path.stem), f"{task.title} · {sizes} · {dataset}"
        nodes = data.get("graph", {}).get("nodes", [])
        kinds = sorted({n.get("type") for n in nodes} & {"Conv2d", "LSTM", "GRU",
                                                          "MultiheadAttention",
                                                          "TransformerEncoderLayer", "Linear"})
        return data.get("name", path.stem), f"{len(nodes)} blocks · {dataset} · " + \
            ", ".join(kinds)
    except (OSError, ValueError, AttributeError):
        return path.stem, "cannot be read"


class ExampleCard(QFrame):
    clicked = Signal(Path)

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setObjectName("card")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        name, line = example_summary(path)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        title = QLabel(name)
        title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        sub = QLabel(line)
        sub.setObjectName("muted")
        sub.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(sub)
        self.setToolTip(message(str(path)))

    def mouseReleaseEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.path)


class StartPage(QWidget):
    new_requested = Signal()
    #: New from a task's template, by the task's name ("gan": the classic MLP GAN).
    template_requested = Signal(str)
    open_requested = Signal()
    recent_requested = Signal(str)
    example_requested = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        column = QVBoxLayout()
        outer.addLayout(column, 6)
        outer.addStretch(1)
        column.addSpacing(40)
        title = QLabel("Torchloom")
        title.setObjectName("title")
        subtitle = QLabel("Draw a network, see every shape, train it, look inside.")
        subtitle.setObjectName("subtitle")
        column.addWidget(title)
        column.addWidget(subtitle)
        column.addSpacing(18)
        buttons = QHBoxLayout()
        new = QPushButton("New project")
        new.setProperty("primary", True)
        new.clicked.connect(self.new_requested)
        self.new_gan = QPushButton("New GAN")
        self.new_gan.setToolTip("A generator and a discriminator (the classic MLP GAN on "
                                "mnist5k), trained against each other")
        self.new_gan.clicked.connect(lambda: self.template_requested.emit("gan"))
        self.templates = QPushButton("From a template ▾")
        self.templates.setToolTip("A small project of each kind of model, on data Torchloom "
                                  "makes itself: regression, multi-label, segmentation...")
        self.templates.setAccessibleName("New from a template")
        menu = QMenu(self.templates)
        from torchloom.engine.tasks import task_class, task_names

        for name in task_names():
            task = task_class(name)
            if task.template:
                act = menu.addAction(task.title)
                act.setToolTip(task.summary)
                act.triggered.connect(lambda _c=False, n=name: self.template_requested.emit(n))
        menu.setToolTipsVisible(True)
        self.templates.setMenu(menu)
        open_ = QPushButton("Open…")
        open_.clicked.connect(self.open_requested)
        buttons.addWidget(new)
        buttons.addWidget(self.templates)
        buttons.addWidget(self.new_gan)
        buttons.addWidget(open_)
        buttons.addStretch(1)
        column.addLayout(buttons)
        column.addSpacing(24)
        self.recent_box = QVBoxLayout()
        column.addLayout(self.recent_box)
        label = QLabel("Examples")
        label.setObjectName("section")
        column.addWidget(label)
        grid = QGridLayout()
        grid.setSpacing(12)
        self.cards: list[ExampleCard] = []
        for i, path in enumerate(sorted(examples_dir().glob("*.json"))):
            card = ExampleCard(path)
            card.clicked.connect(self.example_requested)
            grid.addWidget(card, i // 2, i % 2)
            self.cards.append(card)
        column.addLayout(grid)
        column.addStretch(1)
        self.refresh_recent()

    def refresh_recent(self) -> None:
        while self.recent_box.count():
            item = self.recent_box.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        files = [f for f in recent_files() if Path(f).exists()][:5]
        if not files:
            return
        label = QLabel("Recent")
        label.setObjectName("section")
        self.recent_box.addWidget(label)
        for path in files:
            button = QPushButton(f"{Path(path).name}   —   {Path(path).parent}")
            button.setStyleSheet("text-align: left;")
            button.clicked.connect(lambda _=False, p=path: self.recent_requested.emit(p))
            self.recent_box.addWidget(button)
        self.recent_box.addSpacing(18)
