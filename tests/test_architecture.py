"""Structural rules: core never imports Qt, the code is ruff clean, nothing reaches the network."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_core_imports_no_qt_even_when_everything_is_imported():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "core").rglob("*.py")
        if p.stem != "__main__" and not {"export_files", "report_files"} & set(p.parts)
    )
    assert len(modules) > 60 and "core.data.scan" in modules  # every package's modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'gui')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the tree at ``root`` (its pyproject.toml's contracts)."""
    # The script beside this Python (its venv's, activated or not), else the one on PATH.
    beside = Path(sys.executable).with_name("lint-imports")
    lint = str(beside) if beside.is_file() else shutil.which("lint-imports")
    assert lint, "import-linter is part of the test extras"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([lint], cwd=root, capture_output=True, text=True, timeout=300, env=env)


def test_import_contract_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # A new module is covered by the package it is put in, not by a list.
        ("core/data/new_reader.py", "import tensorflow\n", "never import TensorFlow, even"),
        ("core/data/new_reader.py", "from core.learn import config\n", "the engine's layers"),
        ("core/nets/new_net.py", "from core.session import Session\n", "the engine's layers"),
        ("gui/tabs/new_tab.py", "from core.session import Session\n", "widgets reach the engine"),
        ("gui/widgets/new_chart.py", "from core.use import classify\n", "widgets reach the engine"),
    ],
)
def test_the_contracts_catch_a_module_that_breaks_them(tmp_path, module, source, broken):
    for part in ("core", "gui"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(f'"""A module that breaks a contract."""\n\n{source}')
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "Contracts: 4 kept, 1 broken." in result.stdout, result.stdout
    assert broken in result.stdout.split("Broken contracts")[1], result.stdout


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sockets_are_disabled_for_the_whole_suite():
    """Every test runs with network sockets blocked (pytest-socket), so offline use is proven."""
    with pytest.raises(Exception, match="socket"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_self_test_passes_from_source():
    result = subprocess.run(
        [sys.executable, "-m", "gui.launcher", "--self-test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("Self-test passed.")
    assert "PySide6" not in result.stderr


def test_launcher_survives_missing_standard_streams():
    """Like a windowed frozen build: no stdout or stderr at all."""
    code = (
        "import sys\n"
        "sys.stdout = None\n"
        "sys.stderr = None\n"
        "from gui.launcher import main\n"
        "code = main(['inspect', '--bogus'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2  # argparse's usage error, written to the null device
    assert "Traceback" not in result.stderr
