"""A two-input model (an image and a vector) trains from an NPZ to the accuracy of the same
model written by hand in plain PyTorch; either input alone is near chance."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from torchloom.engine.tasks.prepare import prepare_training

from ..data.two_inputs import K, TRAINING, two_input_arrays, two_input_project, \
    write_two_inputs


class ByHand(nn.Module):
    def __init__(self, use_img: bool = True, use_meta: bool = True) -> None:
        super().__init__()
        self.use_img, self.use_meta = use_img, use_meta
        width = 64 * use_img + K * use_meta
        self.net = nn.Sequential(nn.Linear(width, 64), nn.ReLU(), nn.Linear(64, K))

    def forward(self, img: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        parts = ([img.flatten(1)] if self.use_img else []) + ([meta] if self.use_meta else [])
        return self.net(torch.cat(parts, 1))


def train_by_hand(arrays, use_img=True, use_meta=True) -> float:
    """Plain PyTorch: seeded split 80/20, per-channel/feature standardisation from the
    training part, Adam with the project's lr, batch size and epochs."""
    torch.manual_seed(TRAINING["seed"])
    img, meta = torch.from_numpy(arrays["img"]), torch.from_numpy(arrays["meta"])
    y = torch.from_numpy(arrays["y"])
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(1))
    val, train = order[: len(y) // 5], order[len(y) // 5:]
    img = (img - img[train].mean()) / img[train].std()
    meta = (meta - meta[train].mean(0)) / meta[train].std(0)
    model = ByHand(use_img, use_meta)
    opt = torch.optim.Adam(model.parameters(), lr=TRAINING["lr"])
    for _ in range(TRAINING["epochs"]):
        for idx in train[torch.randperm(len(train))].split(TRAINING["batch_size"]):
            loss = nn.functional.cross_entropy(model(img[idx], meta[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((model(img[val], meta[val]).argmax(1) == y[val]).float().mean())


@pytest.mark.slow
def test_two_inputs_train_to_the_accuracy_of_the_model_by_hand(tmp_path):
    write_two_inputs(tmp_path)
    project = two_input_project(tmp_path)
    job = prepare_training(project)
    result = job.run()
    assert result.status == "finished", result.error
    ours = result.epochs[-1].val_acc
    arrays = two_input_arrays()
    by_hand = train_by_hand(arrays)
    img_only = train_by_hand(arrays, use_meta=False)
    meta_only = train_by_hand(arrays, use_img=False)
    print(f"\ntwo-input project {ours:.3f}, by hand {by_hand:.3f}, image only {img_only:.3f}, "
          f"vector only {meta_only:.3f} (chance {1 / K:.3f})")
    assert ours >= 0.95 and by_hand >= 0.95
    assert abs(ours - by_hand) <= 0.04
    assert img_only < 0.5 and meta_only < 0.5
    info = json.loads((job.run_dir / "run.json").read_text())
    assert info["data"]["input_shape"] == {"img": [1, 8, 8], "meta": [K]}


def test_an_npz_missing_an_inputs_key_fails_with_one_line_and_no_run_folder(tmp_path, capsys):
    from torchloom.engine.cli import main

    write_two_inputs(tmp_path, drop=("meta",), n=30)
    two_input_project(tmp_path)
    code = main(["train", str(tmp_path / "two.json"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "two.npz" in err[0] and "Input node meta" in err[0]
    assert not (tmp_path / "runs").exists()


def test_a_two_input_run_is_probed_and_evaluated_and_refuses_what_takes_one_input(
        tmp_path, capsys):
    from torchloom.engine.cli import main
    from torchloom.engine.errors import ProbeError
    from torchloom.engine.probe.loaded import load_trained, probe_batch_for
    from torchloom.engine.probe.saliency import input_gradient
    from torchloom.engine.tasks import task_for

    write_two_inputs(tmp_path, n=60)
    project = two_input_project(tmp_path, epochs=1)
    job = prepare_training(project)
    assert job.run().status == "finished"
    trained = load_trained(job.run_dir, project)
    batch = probe_batch_for(trained)  # read back from probe.npz
    assert batch.x.keys() == ["img", "meta"] and len(batch) == batch.y.shape[0]
    preds = task_for(project).evaluate(trained, trained.split().val)
    assert len(preds.pred) == 12
    with pytest.raises(ProbeError, match="saliency takes a model with one Input"):
        input_gradient(trained, batch.x[:1])
    code = main(["probe", str(tmp_path / "two.json"), "--weights", str(job.run_dir),
                 "--node", "relu", "--out", str(tmp_path / "p"), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["shape"] == [len(batch), 64]
    code = main(["probe", str(tmp_path / "two.json"), "--weights", str(job.run_dir),
                 "--node", "relu", "--out", str(tmp_path / "q"),
                 "--input", str(tmp_path / "two.npz")])
    assert code == 2 and "--input" in capsys.readouterr().err
