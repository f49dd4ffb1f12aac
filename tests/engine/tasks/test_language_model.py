"""The language_model task: a small causal model learns a corpus from `torchloom train`,
reports loss and perplexity per epoch, and `torchloom generate` continues a prompt with the
run's own tokenizer, the same text for the same seed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from torchloom.engine.cli import main
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, load_project, save_project
from torchloom.engine.tasks import task_for

CONTEXT = 16
#: A corpus a tiny model learns in a few epochs: three sentences in a seeded random order,
#: so windows start at every place in a sentence (a fixed phrase over and over would not).
SENTENCES = ("the cat sat on the mat. ", "a dog ran to the park. ", "my bird can sing. ")
WORDS = {w.strip(".") for s in SENTENCES for w in s.split()}


def _corpus(n: int) -> str:
    import random

    rng = random.Random(0)
    return "".join(rng.choice(SENTENCES) for _ in range(n))


def _graph(out_features: object = "vocab", pool: bool = False) -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": [CONTEXT], "dtype": "int64"}, "tokens")
    g.add_node("Embedding", {"num_embeddings": "vocab", "embedding_dim": 32}, "embed")
    g.add_node("PositionalEmbedding", {"max_len": CONTEXT}, "pos")
    g.add_node("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 64, "dropout": 0.0,
                                           "norm_first": True, "causal": True}, "block")
    g.add_node("Linear", {"out_features": out_features}, "head")
    chain = ["tokens", "embed", "pos", "block"]
    if pool:
        g.add_node("SequencePool", {"mode": "mean"}, "pool")
        chain.append("pool")
    for a, b in zip(chain + ["head"], chain[1:] + ["head"]):
        if a != b:
            g.connect(a, b)
    return g


def _project(tmp_path: Path, graph: Graph | None = None, repeats: int = 300) -> Path:
    (tmp_path / "corpus.txt").write_text(_corpus(repeats))
    project = Project(graph or _graph(), name="tiny gpt", task="language_model",
                      dataset={"path": "corpus.txt", "tokenizer": {"kind": "char"},
                               "context": CONTEXT},
                      training={"epochs": 8, "batch_size": 16, "optimizer": "adamw",
                                "lr": 0.01, "val_split": 0.1, "seed": 0, "device": "cpu"})
    path = tmp_path / "gpt.json"
    save_project(project, path)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lm")
    path = _project(tmp)
    run = tmp / "run"
    code = main(["train", str(path), "--out", str(run), "--metrics-json",
                 str(tmp / "metrics.json")])
    assert code == 0
    return path, run, json.loads((tmp / "metrics.json").read_text())


def test_it_learns_the_corpus_and_reports_loss_and_perplexity_per_epoch(trained):
    _path, run, metrics = trained
    epochs = metrics["epochs"]
    assert len(epochs) == 8
    for row in epochs:
        assert row["val_ppl"] == pytest.approx(math.exp(row["val_loss"]), rel=1e-6)
    # about 20 distinct characters: chance is a perplexity near 20; within a sentence the
    # next character is certain, only the choice of the next sentence is not
    assert epochs[-1]["val_ppl"] < 1.5 < epochs[0]["val_ppl"] * 4
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert header.split(",") == ["epoch", "train_loss", "val_loss", "val_ppl", "seconds",
                                 "samples_per_s"]
    assert (run / "tokenizer.json").is_file()


def test_generate_continues_the_phrase_the_same_for_the_same_seed(trained, capsys):
    path, run, _ = trained
    args = ["generate", str(path), "--weights", str(run), "--prompt", "the cat ",
            "--tokens", "24", "--temperature", "0.5", "--seed", "3", "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert first == again
    assert first["prompt"] == "the cat " and len(first["tokens"]) == 24
    words = (first["prompt"] + first["text"]).split()[:-1]  # the last may be cut
    assert len(words) >= 4 and all(w.strip(".") in WORDS for w in words), words
    assert main(["generate", str(path), "--weights", str(run), "--prompt", "the",
                 "--tokens", "40"]) == 0  # longer than the context: it keeps the latest
    assert capsys.readouterr().out.startswith("the")


@pytest.mark.parametrize("prompt,expected", [
    ("the cat Z", "'Z'"),
    ("", "empty"),
    ("the cat sat on the mat. the", "context is 16"),
])
def test_a_prompt_it_cannot_use_says_why(trained, capsys, prompt, expected):
    path, run, _ = trained
    code = main(["generate", str(path), "--weights", str(run), "--prompt", prompt, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and out["ok"] is False and expected in out["error"]["message"]


def test_generate_refuses_a_project_of_another_task(tmp_path, capsys):
    from torchloom.engine.resources import examples_dir

    code = main(["generate", str(examples_dir() / "mnist_cnn.json"), "--weights",
                 str(tmp_path), "--prompt", "hi"])
    assert code == 2 and "language_model" in capsys.readouterr().err


def test_an_output_that_is_not_a_score_per_position_is_an_error_on_the_output(tmp_path):
    project = load_project(_project(tmp_path, _graph(pool=True), repeats=20))
    analysis = task_for(project).analyze(project)
    from torchloom.engine.tasks.prepare import prepare_training
    from torchloom.engine.errors import TorchloomError

    with pytest.raises(TorchloomError) as caught:
        prepare_training(project, save=False)
    assert "language_model: the output of head is" in str(caught.value.describe())
    assert analysis is not None


def test_a_fixed_vocabulary_smaller_than_the_data_is_an_error_naming_vocab(tmp_path):
    project = load_project(_project(tmp_path, _graph(out_features=5), repeats=20))
    from torchloom.engine.errors import TorchloomError
    from torchloom.engine.tasks.prepare import prepare_training

    with pytest.raises(TorchloomError) as caught:
        prepare_training(project, save=False)
    assert 'out_features to "vocab"' in caught.value.describe()


def test_a_token_attention_is_over_the_window_the_model_saw(trained):
    from torchloom.engine.probe.loaded import load_trained
    from torchloom.engine.text.generate import GenerateError
    from torchloom.engine.text.token_attention import token_attention

    path, run, _ = trained
    model = load_trained(run, load_project(path))
    ids = [int(i) for i in model.tokenizer.encode("the cat sat on the mat. a dog")]
    found = token_attention(model, ids, len(ids) - 1)
    assert found.query == "g" and len(found.keys) == CONTEXT  # the last 16 characters
    assert "".join(found.keys) == "the cat sat on the mat. a dog"[-CONTEXT:]
    weights = found.layers["block"]
    assert weights.shape == (2, CONTEXT)
    assert torch.allclose(weights.sum(-1), torch.ones(2), atol=1e-5)
    first = token_attention(model, ids, 0)
    assert first.keys == ["t"] and torch.allclose(first.layers["block"], torch.ones(2, 1))
    with pytest.raises(GenerateError, match="there is no token 99"):
        token_attention(model, ids, 99)


def test_resume_and_warm_start_encode_with_the_runs_tokenizer_not_a_refit(tmp_path):
    """The corpus loses characters after the first run: continuing that run must keep the
    ids its weights learned (a refit would shrink the vocabulary and move the ids, so the
    Embedding and the head would no longer fit the checkpoint and start fresh)."""
    from torchloom.engine.errors import DataError
    from torchloom.engine.tasks.prepare import prepare_training
    from torchloom.engine.text.tokenizers import load_tokenizer

    path = _project(tmp_path, repeats=80)
    run = tmp_path / "run"
    prepare_training(load_project(path), out_dir=run, overrides={"epochs": 1}).run()
    saved = load_tokenizer(run / "tokenizer.json")
    (tmp_path / "corpus.txt").write_text("the cat sat on the mat. " * 80)

    job = prepare_training(load_project(path), resume=run, overrides={"epochs": 2})
    assert job.resumed and job.reinitialized == []
    assert job.split.full.tokenizer == saved
    assert any("tokenizer of run" in note and "not refitted" in note for note in job.notes)
    job.run()
    assert load_tokenizer(run / "tokenizer.json") == saved

    warm = prepare_training(load_project(path), init_from=run, out_dir=tmp_path / "warm",
                            overrides={"epochs": 1})
    assert warm.reinitialized == [] and warm.split.full.tokenizer == saved
    # a fresh run fits the changed corpus: fewer characters, a smaller vocabulary
    fresh = prepare_training(load_project(path), save=False, overrides={"epochs": 1})
    assert fresh.split.full.tokenizer.vocab_size < saved.vocab_size
    # a character the run never saw is said plainly, not given a new id
    (tmp_path / "corpus.txt").write_text("THE CAT SAT. " * 80)
    with pytest.raises(DataError, match="'T'"):
        prepare_training(load_project(path), resume=run, overrides={"epochs": 3})


def test_token_attention_shows_every_layer_of_a_repeated_decoder_unit(tmp_path):
    """The char GPT template draws its four layers as one unit repeated: clicking a token
    shows each of them (the layers live inside the unit's module, not at the top)."""
    from torchloom.engine.probe.loaded import load_trained
    from torchloom.engine.tasks.prepare import prepare_training
    from torchloom.engine.text.token_attention import token_attention

    template = Path(__file__).resolve().parents[3] / "resources" / "examples" / "char_gpt.json"
    data = json.loads(template.read_text())
    for node in data["graph"]["nodes"]:
        if node["id"] == "tokens":
            node["params"]["shape"] = [CONTEXT]
        if node["id"] == "pos":
            node["params"]["max_len"] = CONTEXT
    (tmp_path / "corpus.txt").write_text(_corpus(60))
    data["dataset"] = {"path": "corpus.txt", "tokenizer": {"kind": "char"}, "context": CONTEXT}
    data["training"].update(epochs=1, device="cpu")
    path = tmp_path / "gpt.json"
    path.write_text(json.dumps(data))
    run = tmp_path / "run"
    prepare_training(load_project(path), out_dir=run).run()
    model = load_trained(run, load_project(path))
    ids = [int(i) for i in model.tokenizer.encode("the cat sat on the mat.")]
    found = token_attention(model, ids, len(ids) - 1)
    assert list(found.layers) == [f"decoder {i}/4 · layer" for i in (1, 2, 3, 4)]
    heads = found.layers["decoder 1/4 · layer"]
    assert heads.shape[1] == CONTEXT
    assert torch.allclose(heads.sum(-1), torch.ones(heads.shape[0]), atol=1e-5)
