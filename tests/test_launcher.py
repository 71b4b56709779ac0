"""What `cnn-studio ...` does with its arguments: command line, app, or a usage error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core import __version__
from core.cli.main import command_names
from gui import launcher

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gui.launcher", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )


def test_a_mistyped_command_is_refused_and_opens_no_window():
    """Regression: `cnn-studio trian --demo` opened the app on the demo."""
    result = run("trian", "--demo")
    assert result.returncode == 2
    assert "invalid choice: 'trian'" in result.stderr
    assert "PySide6" not in result.stderr


def test_version_and_top_level_help():
    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"cnn-studio {__version__}"
    shown = run("--help")
    assert shown.returncode == 0
    for word in ("--demo", "--self-test", "--version", "PATH", "train", "inspect"):
        assert word in shown.stdout, word


def test_the_launcher_knows_every_command_of_the_parser():
    assert command_names() == launcher.COMMANDS


def test_routing(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    assert launcher._is_command_line("train")
    assert launcher._is_command_line("trian")  # not a path: a mistyped command
    assert not launcher._is_command_line(str(folder))  # a dataset to open in the app
    assert not launcher._is_command_line("--demo")
    # Paths go to the app even when missing: it says so in a window, where a windowed build
    # has no terminal for argparse's message.
    assert not launcher._is_command_line("moved/model.cnnmodel")
    assert not launcher._is_command_line(str(tmp_path / "gone"))
