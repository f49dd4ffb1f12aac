"""Themes: a Qt style sheet per theme (resources/themes) plus the canvas colours, which the
canvas paints itself."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from torchloom.engine.resources import resource_dir

#: Node header colour per catalogue category, readable on both themes.
CATEGORY_COLORS = {
    "Input": "#4c8bf5",
    "Convolution": "#e0684b",
    "Pooling": "#e8a33d",
    "Resampling": "#c9a227",
    "Normalization": "#3fa37a",
    "Core": "#6c7ae0",
    "Activation": "#a86ad6",
    "Embedding": "#2f9e9e",
    "Recurrent": "#d9486b",
    "Attention": "#e07b2f",
    "Tensor": "#8a9a3b",
    "Merge": "#7d8597",
    "Units": "#b5838d",
    "My blocks": "#b5838d",
}
DEFAULT_CATEGORY_COLOR = "#7d8597"


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, DEFAULT_CATEGORY_COLOR))


@dataclass(frozen=True)
class CanvasColors:
    background: str
    grid_minor: str
    grid_major: str
    node_body: str
    node_border: str
    node_text: str
    node_subtext: str
    selected: str
    wire: str
    wire_int: str
    label_background: str
    label_text: str
    error: str
    warning: str
    port: str


THEMES = {
    "dark": CanvasColors(
        background="#1e2127", grid_minor="#23262d", grid_major="#2a2e36", node_body="#2b3038",
        node_border="#3b414c", node_text="#e6e9ef", node_subtext="#9aa3b2", selected="#f0c75e",
        wire="#8c96a8", wire_int="#46b3b3", label_background="#323842", label_text="#cfd6e2",
        error="#f05454", warning="#f0a830", port="#c8cedb"),
    "light": CanvasColors(
        background="#f4f5f7", grid_minor="#eceef1", grid_major="#e0e3e9", node_body="#ffffff",
        node_border="#c9ced8", node_text="#1f2430", node_subtext="#5d6675", selected="#d4940f",
        wire="#7b8494", wire_int="#1f8f8f", label_background="#ffffff", label_text="#2e3440",
        error="#d63a3a", warning="#c9820a", port="#5d6675"),
}

_current = ["dark"]


def current() -> CanvasColors:
    return THEMES[_current[0]]


def current_name() -> str:
    return _current[0]


def apply_theme(app: QApplication, name: str) -> None:
    """Switch the whole app (widgets via QSS, canvas via `current()`)."""
    if name not in THEMES:
        name = "dark"
    _current[0] = name
    app.setStyle("Fusion")
    colors = THEMES[name]
    palette = QPalette()
    window = QColor("#23272e" if name == "dark" else "#f6f7f9")
    text = QColor(colors.node_text)
    palette.setColor(QPalette.ColorRole.Window, window)
    palette.setColor(QPalette.ColorRole.WindowText, text)
    palette.setColor(QPalette.ColorRole.Base, QColor(colors.node_body))
    palette.setColor(QPalette.ColorRole.AlternateBase, window)
    palette.setColor(QPalette.ColorRole.Text, text)
    palette.setColor(QPalette.ColorRole.Button, window)
    palette.setColor(QPalette.ColorRole.ButtonText, text)
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#3d6fd9"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(colors.node_body))
    palette.setColor(QPalette.ColorRole.ToolTipText, text)
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(colors.node_subtext))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSizeF(10)
    app.setFont(font)
    folder = resource_dir() / "themes"
    sheet = folder / f"{name}.qss"
    text = sheet.read_text() if sheet.exists() else ""
    app.setStyleSheet(text.replace("@THEMES@", folder.as_posix()))


def style_plot(plot: object, axes: tuple[str, ...] = ("left", "bottom")) -> None:
    """Give a pyqtgraph PlotWidget the canvas background and muted axes of the theme (a
    PlotItem inside a GraphicsLayoutWidget: only the axes; its layout has the background)."""
    colors = current()
    if hasattr(plot, "setBackground"):
        plot.setBackground(colors.background)
    for name in axes:
        axis = plot.getAxis(name)  # type: ignore[attr-defined]
        axis.setPen(colors.node_subtext)
        axis.setTextPen(colors.node_subtext)
