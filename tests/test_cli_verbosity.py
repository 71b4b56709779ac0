"""``-q/--quiet`` and ``-v/--verbose``: how much the command line says, before or after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_pattern_dataset

ROOT = Path(__file__).resolve().parents[1]


def launch(*args: object) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point's code (the launcher), as `cnn-studio ARGS` would."""
    return subprocess.run(
        [sys.executable, "-m", "gui.launcher", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = make_pattern_dataset(tmp_path_factory.mktemp("verbosity") / "data", 8, size=16)
    (folder / "blob" / "broken.png").write_bytes(b"not a png at all")
    return folder


@pytest.mark.slow
def test_quiet_train_prints_the_result_and_nothing_else(data, tmp_path):
    model = tmp_path / "q.cnnmodel"
    result = launch("-q", "train", data, "--epochs", "1", "--out", model)
    assert result.returncode == 0, result.stderr
    assert model.is_file()
    assert "Saved" in result.stdout
    assert "Epoch" not in result.stderr
    assert "Chosen for this data" not in result.stderr
    # the warning about the skipped file is not a note: it still shows
    assert "Skipped 1 file" in result.stderr


@pytest.mark.slow
def test_normal_train_shows_notes_and_epochs(data, tmp_path):
    result = launch("train", data, "--epochs", "1", "--out", tmp_path / "n.cnnmodel")
    assert result.returncode == 0, result.stderr
    assert "Epoch 1/1:" in result.stderr
    assert "Chosen for this data" in result.stderr
    assert "INFO" not in result.stderr


def test_verbose_after_the_command_adds_the_log_with_each_skipped_file(data):
    result = launch("inspect", data, "-v")
    assert result.returncode == 0, result.stderr
    assert "INFO cnnstudio.cli:" in result.stderr
    assert "skipped blob/broken.png: not an image" in result.stderr


def test_quiet_before_the_command_reaches_the_command_line_not_the_window(data):
    result = launch("--quiet", "inspect", data)
    assert result.returncode == 0, result.stderr
    assert "classes" in result.stdout
    assert "INFO" not in result.stderr


def test_quiet_and_verbose_together_is_a_usage_error(data):
    result = launch("-q", "inspect", data, "--verbose")
    assert result.returncode == 2
    assert "cannot be used together" in result.stderr or "not allowed with" in result.stderr
