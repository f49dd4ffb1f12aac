"""A GPT with dropout (its attention on the fused path, its optimizer fused) repeats for a
seed and resumes bit for bit: stopped and continued equals never stopped."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project
from torchloom.engine.tasks.prepare import prepare_training

from ..train.helpers import Recorder
from .test_language_model import CONTEXT, _corpus


def _dropout_gpt(tmp_path) -> Project:
    g = Graph()
    g.add_node("Input", {"shape": [CONTEXT], "dtype": "int64"}, "tokens")
    g.add_node("Embedding", {"num_embeddings": "vocab", "embedding_dim": 16}, "embed")
    g.add_node("PositionalEmbedding", {"max_len": CONTEXT}, "pos")
    g.add_node("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 32, "dropout": 0.2,
                                           "norm_first": True, "causal": True}, "block")
    g.add_node("Linear", {"out_features": "vocab"}, "head")
    for a, b in (("tokens", "embed"), ("embed", "pos"), ("pos", "block"), ("block", "head")):
        g.connect(a, b)
    (tmp_path / "corpus.txt").write_text(_corpus(40))
    project = Project(g, name="dropout gpt", task="language_model",
                      dataset={"path": "corpus.txt", "tokenizer": {"kind": "char"},
                               "context": CONTEXT},
                      training={"epochs": 2, "batch_size": 8, "optimizer": "adamw",
                                "lr": 0.01, "val_split": 0.1, "seed": 0, "device": "cpu"})
    save_project(project, tmp_path / "gpt.json")
    return project


def _run(project, tmp_path, name, stop_at=None):
    recorder = Recorder(stop_at)
    job = prepare_training(project, out_dir=tmp_path / name, callbacks=[recorder],
                           report_interval=0)
    recorder.trainer = job.trainer
    return job.run()


@pytest.mark.parametrize("stop_at", [3, 9])  # mid-epoch 1, mid-epoch 2
def test_a_stopped_gpt_with_dropout_resumes_bit_for_bit(tmp_path, stop_at):
    project = _dropout_gpt(tmp_path)
    whole = _run(project, tmp_path, "whole")
    again = _run(project, tmp_path, "again")
    assert whole.status == again.status == "finished"
    a = load_file(tmp_path / "whole" / "model.safetensors")
    assert all(torch.equal(a[k], t) for k, t in
               load_file(tmp_path / "again" / "model.safetensors").items())
    assert _run(project, tmp_path, "part", stop_at=stop_at).status == "stopped"
    resumed = prepare_training(project, resume=tmp_path / "part").run()
    assert resumed.status == "finished" and resumed.step == whole.step
    b = load_file(tmp_path / "part" / "model.safetensors")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert [e.val_loss for e in resumed.epochs] == [e.val_loss for e in whole.epochs]
