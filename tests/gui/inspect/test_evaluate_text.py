"""Evaluate on a text classifier (issue 21 §4): the most confident mistakes read as text,
and saliency shades the words of a review, padding left out."""

from __future__ import annotations

import pytest

from torchloom.engine.probe.loaded import load_trained
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.gui.inspect.evaluate_panel import EvaluatePanel

from ..conftest import HANG_GUARD_MS

VOCABULARY = {"the", "was", "not", "but", "good", "bad", "great", "film", "plot"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    project = load_project(examples_dir() / "review_sentiment.json")
    project.dataset = dict(project.dataset, n=600)
    run = tmp_path_factory.mktemp("evaluate-text") / "run"
    result = prepare_training(project, overrides={"epochs": 1, "device": "cpu"},
                              out_dir=run).run()
    assert result.status == "finished"
    return load_trained(run, project)


@pytest.fixture
def evaluated(qtbot, trained):
    panel = EvaluatePanel()
    qtbot.addWidget(panel)
    panel.resize(1400, 420)
    panel.show()
    panel.set_trained(trained)
    qtbot.waitUntil(lambda: panel.preds is not None, timeout=60_000)
    yield panel
    panel.jobs.wait()


def test_mistakes_read_as_text(evaluated):
    lines = [evaluated.mistakes.item(r).text() for r in range(evaluated.mistakes.count())]
    assert lines, "a one-epoch model makes mistakes"
    words = set(" ".join(lines).split())
    assert words & VOCABULARY  # the reviews' own words, not token ids
    assert "<pad>" not in " ".join(lines)
    tip = evaluated.mistakes.item(0).toolTip()
    assert tip.startswith("#") and "\n" in tip  # the whole text on hover


def test_saliency_shades_the_words_and_leaves_padding_out(evaluated, qtbot):
    first = evaluated.mistakes.indices()[0]
    evaluated.show_sample(first)
    view = evaluated.saliency
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.tokens, timeout=HANG_GUARD_MS)
    shown = view.tokens.text()
    x = evaluated.data.read(__import__("torch").tensor([first]))[0]
    real = int((x != evaluated.words.pad).sum())
    assert shown.count("<span") == real < x.numel()  # one per word, none for padding
    assert any(f"&nbsp;{w}&nbsp;" in shown for w in VOCABULARY)
