"""Paths a project or a command line names are read only if they are regular files, and never
past a limit: /dev/zero, a FIFO or a folder is refused at once, naming the path and what it
is (issue 20, part 1). A regression here hangs or fills the memory, so the command-line cases
run in a child process with a timeout: a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from torchloom.engine.cli import main
from torchloom.engine.data import load_dataset
from torchloom.engine.errors import DataError
from torchloom.engine.safe_read import FileTooBigError, NotAFileError, read_limited

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")


def fifo(tmp_path: Path, name: str = "pipe") -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def cli(*argv: str) -> subprocess.CompletedProcess:
    """`torchloom ARGV` in a child process that may not hang (60 s is a hang, not a speed)."""
    return subprocess.run([sys.executable, "-m", "torchloom.engine.cli", *argv],
                          capture_output=True, text=True, timeout=60)


def test_a_regular_file_is_read_up_to_its_limit(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 100)
    assert read_limited(path, 100) == b"x" * 100
    with pytest.raises(FileTooBigError) as caught:
        read_limited(path, 99)
    assert caught.value.limit == 99 and "larger than 99 bytes" in caught.value.strerror


@needs_fifo
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    with pytest.raises(NotAFileError, match="named pipe"):
        read_limited(fifo(tmp_path), 10)


@needs_dev_zero
def test_dev_zero_is_refused_though_it_claims_zero_bytes():
    with pytest.raises(NotAFileError, match="character device"):
        read_limited("/dev/zero", 2**20)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(NotAFileError, match="a folder"):
        read_limited(tmp_path, 10)


@needs_dev_zero
def test_dev_zero_as_the_project_is_a_file_error_not_an_internal_one():
    done = cli("summary", "/dev/zero")
    assert done.returncode == 2, done  # a file that cannot be read
    assert "character device" in done.stdout + done.stderr
    done = cli("check", "/dev/zero")
    assert done.returncode == 1, done  # check: "at least one file is bad, whatever the reason"
    assert "/dev/zero" in done.stdout + done.stderr
    assert "character device" in done.stdout + done.stderr


@needs_fifo
def test_check_of_a_fifo_as_the_project_returns_at_once(tmp_path):
    path = fifo(tmp_path, "project.json")
    done = cli("check", str(path))
    assert done.returncode == 1 and "named pipe" in done.stdout + done.stderr, done


def _code_project(tmp_path: Path, file: str) -> Path:
    data = {"format": "torchloom-project", "version": 1, "graph": {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                  {"id": "code", "type": "Code", "params": {"file": file,
                                                            "class_name": "Net"}}],
        "edges": [{"from": "x", "to": "code"}]}}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    return path


@needs_dev_zero
def test_a_code_block_naming_dev_zero_is_a_graph_error_naming_it(tmp_path):
    """Opening someone's project hashes its Code files for the trust check: /dev/zero used
    to be read until the kernel killed the process at 22.8 GB."""
    done = cli("check", str(_code_project(tmp_path, "/dev/zero")))
    assert done.returncode == 1, done
    assert "/dev/zero" in done.stdout and "character device" in done.stdout, done.stdout


@needs_fifo
def test_a_code_block_naming_a_fifo_is_a_graph_error_naming_it(tmp_path):
    fifo(tmp_path, "net.py")
    done = cli("check", str(_code_project(tmp_path, "net.py")))
    assert done.returncode == 1 and "named pipe" in done.stdout, done


@needs_fifo
def test_a_fifo_among_images_is_skipped_as_unreadable(tmp_path):
    from PIL import Image

    for label in ("a", "b"):
        folder = tmp_path / "imgs" / label
        folder.mkdir(parents=True)
        for i in range(3):
            Image.new("L", (8, 8), 40 * i).save(folder / f"{i}.png")
    fifo(tmp_path / "imgs" / "a", "trap.png")
    data = load_dataset({"path": "imgs", "image_size": [8, 8]}, tmp_path)
    assert len(data) == 6


def test_the_summary_command_refuses_a_folder_as_the_project(tmp_path, capsys):
    assert main(["summary", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_an_image_above_the_pixel_limit_is_refused_not_decoded(tmp_path, monkeypatch):
    """A small file can declare a huge image (a 410 KB PNG of 144 megapixels took 1.45 GB);
    it is refused from its header, naming the file and the setting. The limit is lowered
    here so that the test image stays small."""
    from PIL import Image

    for label in ("a", "b"):
        folder = tmp_path / "imgs" / label
        folder.mkdir(parents=True)
        for i in range(2):
            Image.new("L", (8, 8), 40 * i).save(folder / f"{i}.png")
    Image.new("L", (64, 64)).save(tmp_path / "imgs" / "a" / "bomb.png")
    monkeypatch.setenv("TORCHLOOM_MAX_IMAGE_PIXELS", "1000")  # 64x64 is above it
    with pytest.raises(DataError, match="TORCHLOOM_MAX_IMAGE_PIXELS") as info:
        load_dataset({"path": "imgs", "image_size": [8, 8]}, tmp_path)
    assert info.value.where == "a/bomb.png" and "64 × 64" in info.value.message


def test_an_idx_file_declaring_255_dimensions_is_a_data_error(tmp_path):
    from torchloom.engine.data.idx import read_idx
    from torchloom.engine.errors import DataError

    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 255]) + b"\x00\x00\x00\x01" * 255)
    with pytest.raises(DataError, match="declares 255 dimensions"):
        read_idx(path)


def test_a_code_block_naming_a_link_loop_is_a_graph_error_naming_it(tmp_path, capsys):
    """Path.resolve raises RuntimeError on a loop: the trust check's 'outside the project?'
    question used to let it out as an internal error (found by bench/hostile_paths.py)."""
    os.symlink("net.py.b", tmp_path / "net.py")
    os.symlink("net.py", tmp_path / "net.py.b")
    assert main(["check", str(_code_project(tmp_path, "net.py"))]) == 1
    out = capsys.readouterr().out
    assert "net.py cannot be read" in out and "symbolic links" in out, out


def test_a_socket_as_the_project_is_named_a_socket(tmp_path, capsys):
    import socket

    path = tmp_path / "project.json"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        assert main(["summary", str(path)]) == 2
    assert "is a socket" in capsys.readouterr().err
