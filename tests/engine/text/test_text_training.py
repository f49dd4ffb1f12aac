"""A text classification project trains from `torchloom train`, keeps its tokenizer in the
run folder, and the "vocab" size follows the data."""

from __future__ import annotations

import json
from pathlib import Path

from torchloom.engine.cli import main
from torchloom.engine.project import load_project
from torchloom.engine.tasks import task_for
from torchloom.engine.text.tokenizers import load_tokenizer

TEMPLATE = Path(__file__).resolve().parents[3] / "resources" / "examples" / "review_sentiment.json"


def _project(tmp_path: Path, rows: int = 120) -> Path:
    data = json.loads(TEMPLATE.read_text())
    lines = ["review,sentiment"] + [
        f"{'a great and fun film' if i % 2 else 'a dull and boring film'},"
        f"{'good' if i % 2 else 'bad'}" for i in range(rows)]
    (tmp_path / "reviews.csv").write_text("\n".join(lines) + "\n")
    data["dataset"] = {"path": "reviews.csv", "text": "review", "target": "sentiment",
                       "tokenizer": {"kind": "word", "max_len": 32}}
    data["training"].update(epochs=3, device="cpu")
    path = tmp_path / "project.json"
    path.write_text(json.dumps(data))
    return path


def test_a_text_classifier_trains_from_the_cli_and_saves_its_tokenizer(tmp_path, capsys):
    project = _project(tmp_path)
    out = tmp_path / "run"
    code = main(["train", str(project), "--out", str(out)])
    assert code == 0, capsys.readouterr()
    tok = load_tokenizer(out / "tokenizer.json")
    assert tok.kind == "word" and {"great", "dull", "<pad>", "<unk>"} <= set(tok.vocab)
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert float(metrics[-1].split(",")[metrics[0].split(",").index("val_acc")]) > 0.9


def test_vocab_sizes_resolve_from_the_data_and_show_an_error_without_it(tmp_path):
    project = load_project(_project(tmp_path))
    analysis = task_for(project).analyze(project)
    assert analysis.ok, analysis.errors
    embed = project.graph.node("embed")
    assert embed.params["num_embeddings"] == "vocab"  # the file keeps the word
    assert embed.build_params()["num_embeddings"] == project.graph.vocab_size == 2 + 7
    project.dataset = {"name": "sequences"}  # token ids, but no tokenizer: no "vocab"
    errors = task_for(project).analyze(project).errors
    assert errors and errors[0].node == "embed" and '"vocab"' in errors[0].message


def test_the_run_tokenizer_is_used_after_training_not_a_refit(tmp_path):
    from torchloom.engine.probe.loaded import load_trained
    from torchloom.engine.tasks.prepare import prepare_training

    path = _project(tmp_path)
    run = tmp_path / "run"
    prepare_training(load_project(path), out_dir=run, overrides={"epochs": 1}).run()
    saved = load_tokenizer(run / "tokenizer.json")
    # the data changes after training: new words must not get ids of their own
    (tmp_path / "reviews.csv").write_text("review,sentiment\n" + "".join(
        f"brand new words {i},{'good' if i % 2 else 'bad'}\n" for i in range(40)))
    trained = load_trained(run, load_project(path))
    assert trained.tokenizer == saved
    split = trained.split()
    assert split.full.tokenizer == saved
    assert (split.val.x[:, :3] == saved.unk_id).all()
