"""The message after an export, alone: every file it wrote and what it verified are shown
whole, long paths included (they wrap inside the path rather than run off the edge), and the
text grows with the lines instead of scrolling or eliding."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from torchloom.gui.exchange.export_done import NARROWEST, ExportDoneDialog, export_message

from ..conftest import HANG_GUARD_MS

LONG = ("/tmp/pytest-of-someone/pytest-123/test_exports_with_long_names0/"
        + "a_file_name_with_no_spaces_at_all_" * 4 + "model.onnx")


@pytest.fixture
def shown(qtbot):
    def show(files: list[str]) -> ExportDoneDialog:
        dialog = ExportDoneDialog(export_message(files, "outputs identical to the model's",
                                                 ["Opset 18."]))
        qtbot.addWidget(dialog)
        dialog.open()
        qtbot.waitExposed(dialog)
        return dialog
    return show


def laid_out_lines(dialog: ExportDoneDialog) -> list[tuple[str, float]]:
    """(text, width) of every line as the text edit wrapped it."""
    lines = []
    block = dialog.text.document().begin()
    while block.isValid():
        layout = block.layout()
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            lines.append((block.text()[line.textStart():line.textStart() + line.textLength()],
                          line.naturalTextWidth()))
        block = block.next()
    return lines


def assert_all_visible(dialog: ExportDoneDialog) -> None:
    text = dialog.text
    viewport = text.viewport()
    assert text.toPlainText() == dialog.message
    assert text.document().size().height() <= viewport.height()  # every line in view
    assert text.verticalScrollBar().maximum() == 0  # nothing to scroll to
    assert text.horizontalScrollBar().maximum() == 0
    assert all(width <= viewport.width() for _, width in laid_out_lines(dialog))
    assert "".join(t for t, _ in laid_out_lines(dialog)).replace("\u2028", "") == \
        dialog.message.replace("\n", "")  # no character dropped or elided


def test_a_long_path_is_shown_whole_inside_the_screen(shown):
    dialog = shown([LONG, LONG.replace(".onnx", ".json")])
    assert_all_visible(dialog)
    assert LONG in dialog.text.toPlainText()
    screen = QApplication.primaryScreen().availableGeometry()
    assert dialog.frameGeometry().width() <= screen.width()
    assert len(laid_out_lines(dialog)) > len(dialog.message.splitlines())  # it wrapped


def test_a_short_message_takes_one_line_a_line_and_no_blank_space(shown):
    dialog = shown(["/home/me/mnist_cnn.onnx"])
    assert_all_visible(dialog)
    assert len(laid_out_lines(dialog)) == len(dialog.message.splitlines())
    assert dialog.text.height() <= dialog.text.document().size().height() + 4


def test_narrowing_the_dialog_grows_the_text_and_enter_closes_it(shown, qtbot):
    dialog = shown([LONG])
    before = dialog.text.height()
    dialog.resize(NARROWEST, dialog.height())
    text = dialog.text
    qtbot.waitUntil(lambda: text.viewport().height() >= text.document().size().height(),
                    timeout=HANG_GUARD_MS)
    assert dialog.width() == NARROWEST and text.height() > before
    assert_all_visible(dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted and not dialog.isVisible()
