"""Every training setting is declared once (`project.TRAINING_FIELDS`); the docs are checked
against that declaration, so a new setting cannot ship undocumented."""

from __future__ import annotations

import re
from pathlib import Path

from torchloom.engine.cli import build_parser
from torchloom.engine.project import TRAINING_FIELDS

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_every_training_setting_has_a_row_in_the_project_format():
    text = (DOCS / "project-format.md").read_text()
    table = text[text.index("## `training`"):text.index("## Tasks")]
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M))
    assert set(TRAINING_FIELDS) <= rows, set(TRAINING_FIELDS) - rows


def test_every_train_flag_is_in_cli_md():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    flags = {flag for action in train._actions for flag in action.option_strings
             if flag.startswith("--")
             and flag not in ("--help", "--trust-code", "--trust-code-file")}  # shared ones
    text = (DOCS / "cli.md").read_text()
    section = text[text.index("## `torchloom train"):text.index("## `torchloom sample")]
    missing = {flag for flag in flags if f"`{flag}" not in section}
    assert not missing, missing
