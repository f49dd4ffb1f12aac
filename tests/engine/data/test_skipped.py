"""Images a folder dataset could not read are said when training starts, not only recorded
in run.json: a person training on fewer photos than they have must be told which."""

from __future__ import annotations

import json

from torchloom.engine.cli import main
from torchloom.engine.data.skipped import skipped_note

from ..builders import pets_with_broken_images


def test_the_note_names_the_first_files_and_counts_the_rest():
    assert skipped_note({"skipped": 0, "skipped_files": []}) is None
    assert skipped_note({"name": "digits"}) is None  # not a folder dataset
    assert skipped_note({"skipped": 1, "skipped_files": ["a.png"]}) == \
        "skipped 1 unreadable image: a.png"
    many = [f"cat/{i}.png" for i in range(10)]
    assert skipped_note({"skipped": 12, "skipped_files": many}) == (
        "skipped 12 unreadable images: cat/0.png, cat/1.png, cat/2.png, cat/3.png, cat/4.png "
        "and 7 more")


def test_train_says_which_images_it_skipped(tmp_path, capsys):
    project = pets_with_broken_images(tmp_path)
    code = main(["train", str(project), "--quiet", "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if "unreadable" in ln)
    assert line.startswith("note: skipped 3 unreadable images: ")
    assert {"cat/empty.png", "cat/text.png", "dog/cut.png"} <= set(
        line.split(": ", 2)[2].split(", "))
    assert out.index("unreadable") < out.index("epoch 1:")  # before the first epoch
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["data"]["skipped"] == 3 and any("unreadable" in n for n in info["notes"])
