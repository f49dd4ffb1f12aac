"""Broken data files opened from the data panel: the panel shows the loader's one-line
message (the file, and the row, key or image) and the app keeps running: a good file opened
afterwards previews as usual."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtGui import QTextDocument

from torchloom.engine.resources import examples_dir

from ..engine.data.broken_corpus import CASES
from .conftest import settle

BY_ID = {c.id: c for c in CASES}
#: A few of each kind; the engine tests try the whole corpus.
SHOWN = ["npz-x-nan-2", "npz-x-strings", "npz-huge-2d", "csv-ragged-row-6-1",
         "csv-text-row-7", "csv-unclosed-quote-huge", "images-only-image-text",
         "idx-cut-at-100"]
IMAGE_OUT = os.environ.get("TORCHLOOM_DATA_ERROR_PNG", "")


def visible(label) -> str:
    """What a rich-text label shows, markup removed the way Qt removes it."""
    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


def open_project(window, tmp_path):
    path = tmp_path / "project.json"
    path.write_bytes((examples_dir() / "mlp_digits.json").read_bytes())
    assert window.open_path(path)
    settle()
    panel = window.data_panel
    window.side_tabs.setCurrentWidget(panel)
    assert panel.wait_loaded()
    return panel


def choose(panel, monkeypatch, path: str, folder: bool) -> None:
    """Pick "Open a file…" (or "Open an image folder…") and answer the dialog with `path`,
    as the person does."""
    from torchloom.gui.training import data_panel

    dialog = data_panel.QFileDialog
    if folder:
        monkeypatch.setattr(dialog, "getExistingDirectory", lambda *a, **k: path)
    else:
        monkeypatch.setattr(dialog, "getOpenFileName", lambda *a, **k: (path, ""))
    item = panel.source.findData(data_panel.OWN_FOLDER if folder else data_panel.OWN_FILE)
    panel.source.setCurrentIndex(item)
    settle()
    assert panel.wait_loaded()


def good_npz(tmp_path) -> str:
    path = tmp_path / "good.npz"
    np.savez(path, x=np.random.default_rng(0).random((30, 1, 8, 8)).astype(np.float32),
             y=np.arange(30) % 3)
    return str(path)


@pytest.mark.parametrize("case_id", SHOWN)
def test_the_panel_shows_a_broken_file_and_the_app_keeps_running(window, tmp_path,
                                                                 monkeypatch, case_id):
    panel = open_project(window, tmp_path)
    case = BY_ID[case_id]
    spec = case.make(tmp_path)
    choose(panel, monkeypatch, str(tmp_path / spec["path"]), folder=case.kind == "images")
    text = visible(panel.info)
    assert window.document.project.dataset == {"path": spec["path"]}  # relative to the project
    assert case.names in text, text
    if case.where is not None:
        assert case.where in text, text
    assert "Error:" not in text and "Traceback" not in text  # the loader's own words only
    panel.resize(panel.width() - 30, panel.height())  # a resize repaints the preview
    settle()
    assert panel.data is None and panel.preview.pixmap().isNull() and panel.table.isHidden()
    if IMAGE_OUT and case_id == SHOWN[0]:
        settle()  # let the layout take the new text before the picture
        panel.grab().save(IMAGE_OUT)
    choose(panel, monkeypatch, good_npz(tmp_path), folder=False)
    assert "30</b> samples" in panel.info.text() and "3 classes" in panel.info.text()
    assert not panel.preview.pixmap().isNull()
    assert window.isVisible() and window.document is not None


def test_a_message_with_angle_brackets_is_shown_as_text(window, tmp_path, monkeypatch):
    panel = open_project(window, tmp_path)
    spec = BY_ID["npz-x-strings"].make(tmp_path)
    choose(panel, monkeypatch, str(tmp_path / spec["path"]), folder=False)
    assert "holds <U1, not numbers" in visible(panel.info)
    if IMAGE_OUT:
        settle()
        panel.grab().save(IMAGE_OUT.replace(".png", "_brackets.png"))


def test_broken_images_that_were_skipped_are_named(window, tmp_path, monkeypatch):
    from ..engine.data.broken_corpus import png_bytes

    panel = open_project(window, tmp_path)
    root = tmp_path / "pets"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(2):
            (root / name / f"{i}.png").write_bytes(png_bytes(colour=(i * 99, 50, 0)))
    (root / "dog" / "cut.png").write_bytes(png_bytes()[:30])
    choose(panel, monkeypatch, str(root), folder=True)
    text = visible(panel.info)
    assert "4 samples" in text and "1 broken image(s) skipped: dog/cut.png" in text
    assert not panel.preview.pixmap().isNull()
    if IMAGE_OUT:
        panel.grab().save(IMAGE_OUT.replace(".png", "_skipped.png"))


def test_a_long_load_says_how_many_megabytes_it_has_read(window, tmp_path, monkeypatch):
    """The reader reports as bytes unpack; the panel's "Loading…" shows the count, then the
    data. Reports are made every 200 KB here so a small file makes several."""
    import gzip

    from torchloom.engine.data import stream

    panel = open_project(window, tmp_path)
    monkeypatch.setattr(stream, "REPORT_EVERY", 200_000)
    shown: list[str] = []
    panel._loaded.progress.connect(lambda *_: shown.append(panel.info.text()))
    rows = "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(200_000))
    (tmp_path / "big.csv.gz").write_bytes(gzip.compress(("a,b,target\n" + rows).encode()))
    choose(panel, monkeypatch, str(tmp_path / "big.csv.gz"), folder=False)
    assert shown[:3] == ["Loading… 0.2 MB read", "Loading… 0.4 MB read",
                         "Loading… 0.6 MB read"], shown
    assert "200,000</b> samples" in panel.info.text()
    panel.info.setText("Loading…")
    panel._on_progress(panel._token, 734_000_000)
    assert panel.info.text() == "Loading… 734 MB read"
    if IMAGE_OUT:
        settle()
        panel.grab().save(IMAGE_OUT.replace(".png", "_loading.png"))
