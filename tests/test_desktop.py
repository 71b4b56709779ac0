"""Linux desktop integration: the applications-menu entry, its icon and the .cnnmodel type.

Everything is installed into a temporary ``XDG_DATA_HOME``; the entry is checked against the
Desktop Entry Specification (absolute Exec that survives odd paths, an installed icon name,
StartupWMClass, the MIME type) and with ``desktop-file-validate`` and ``update-mime-database``
where those tools are installed.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from gui import desktop
from gui.main_window import MainWindow
from gui.settings import MemoryStore, Preferences
from tests.fake_engine import FakeEngine

ROOT = Path(__file__).resolve().parents[1]
ICON = ROOT / "assets" / "icon.png"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux desktops")


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Desktop Entry"])


def exec_arguments(value: str) -> list[str]:
    """Split an Exec value the way the spec says a launcher does (string unescape, then
    quoting); field codes are kept as they are."""
    text, i = "", 0
    while i < len(value):  # string-level escapes: \\ -> \, \s -> space
        if value[i] == "\\" and i + 1 < len(value):
            text += {"\\": "\\", "s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(
                value[i + 1], "\\" + value[i + 1]
            )
            i += 2
        else:
            text += value[i]
            i += 1
    args, current, quoted, i, started = [], "", False, 0, False
    while i < len(text):
        ch = text[i]
        if quoted and ch == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
            current, i = current + text[i + 1], i + 2
            continue
        if ch == '"':
            quoted, started = not quoted, True
        elif ch == " " and not quoted:
            if started:
                args.append(current)
            current, started = "", False
        else:
            current, started = current + ch, True
        i += 1
    if started:
        args.append(current)
    return [arg.replace("%%", "%") for arg in args]


@linux_only
def test_the_entry_starts_the_app_by_absolute_path_even_with_odd_characters(tmp_path):
    odd = tmp_path / 'My Apps $HOME "x" `y` 100% back\\slash' / "CNN Studio"
    odd.parent.mkdir()
    odd.write_text("#!/bin/sh\n")
    done = desktop.install(ICON, command=[str(odd)], home=tmp_path / "share")
    entry_file = tmp_path / "share" / "applications" / "cnn-studio.desktop"
    assert entry_file in done.files
    entry = read_entry(entry_file)
    assert exec_arguments(entry["Exec"]) == [str(odd), "%f"]
    assert Path(exec_arguments(entry["Exec"])[0]).is_absolute()
    assert entry["Icon"] == "cnn-studio"  # an installed icon name, not a relative path
    assert entry["StartupWMClass"] == "CNN Studio"
    assert entry["Categories"] == "Education;Science;"
    assert entry["MimeType"] == "application/x-cnnmodel;"
    assert entry["Terminal"] == "false"
    icon = tmp_path / "share" / "icons" / "hicolor" / "512x512" / "apps" / "cnn-studio.png"
    assert icon.read_bytes() == ICON.read_bytes()
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(
            ["desktop-file-validate", str(entry_file)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


@linux_only
def test_cnnmodel_files_get_their_own_type(tmp_path):
    home = tmp_path / "share"
    desktop.install(ICON, command=["/opt/cnn/CNN Studio"], home=home)
    package = (home / "mime" / "packages" / "cnn-studio.xml").read_text()
    assert 'type="application/x-cnnmodel"' in package and 'pattern="*.cnnmodel"' in package
    if shutil.which("update-mime-database"):
        globs = (home / "mime" / "globs2").read_text()
        assert "application/x-cnnmodel:*.cnnmodel" in globs


@linux_only
def test_the_command_line_adds_and_removes_the_entry(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "share"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    added = subprocess.run(
        [sys.executable, "-m", "gui.launcher", "--add-to-menu"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert added.returncode == 0, added.stderr
    entry_file = tmp_path / "share" / "applications" / "cnn-studio.desktop"
    assert "applications menu" in added.stdout and str(entry_file) in added.stdout
    command = exec_arguments(read_entry(entry_file)["Exec"])
    assert command[-1] == "%f" and Path(command[0]).is_absolute() and Path(command[0]).exists()
    removed = subprocess.run(
        [sys.executable, "-m", "gui.launcher", "--remove-from-menu"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert removed.returncode == 0, removed.stderr
    assert not entry_file.exists()
    assert not any((tmp_path / "share" / "icons").rglob("*.png"))


@linux_only
def test_the_menu_action_says_what_it_writes_and_installs(qtbot, dialogs, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    window = MainWindow(FakeEngine(), Preferences(MemoryStore()))
    qtbot.addWidget(window)
    entry_file = tmp_path / "share" / "applications" / "cnn-studio.desktop"

    window.desktop_action.trigger()  # answered "Cancel": nothing is written
    assert dialogs.shown[-1][0] == "question" and str(tmp_path / "share") in dialogs.shown[-1][1]
    assert not entry_file.exists()

    dialogs.answers.append(QMessageBox.StandardButton.Yes)
    window.desktop_action.trigger()
    kind, text = dialogs.shown[-1]
    assert kind == "information" and str(entry_file) in text
    assert entry_file.is_file()


def test_the_packaged_folder_gets_an_installer_script_not_a_relative_entry(tmp_path):
    (tmp_path / "cnn-studio.desktop").write_text("[Desktop Entry]\nIcon=_internal/icon.png\n")
    desktop.write_bundle_files(tmp_path)
    script = tmp_path / "install-desktop-entry.sh"
    assert script.stat().st_mode & 0o111
    assert '"$here/cnn-studio" --add-to-menu' in script.read_text()
    assert not (tmp_path / "cnn-studio.desktop").exists()
