"""Putting CNN Studio in a Linux desktop's applications menu, and ``.cnnmodel`` files on it.

Following the freedesktop.org specifications: a launcher (Desktop Entry Specification) whose
``Exec`` is the absolute path of the app, so it works when the folder is not on ``PATH``; the
icon installed under the icon theme's name ``cnn-studio`` (a relative ``Icon=`` path is not
allowed); a MIME type ``application/x-cnnmodel`` for ``*.cnnmodel`` (shared-mime-info) that the
launcher declares, so a double-clicked model file opens in the app. Everything goes under the
user's ``$XDG_DATA_HOME`` (``~/.local/share``); nothing needs root. The desktop's caches are
refreshed when their tools are installed; without them the menu still picks the entry up at the
next log-in.

No Qt here: ``build.spec`` writes the packaged folder's installer script with it, and the app
(*File → Add to applications menu*, on the GUI thread: a handful of small files) and
``cnn-studio --add-to-menu`` both call :func:`install`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: The name everything is installed under: launcher, icon, Wayland app id.
APP_ID = "cnn-studio"
#: The window's X11 class (Qt uses the application name), for StartupWMClass.
WM_CLASS = "CNN Studio"
MIME_TYPE = "application/x-cnnmodel"
#: The windowed executable's name in the packaged folder (build.spec).
WINDOWED_EXECUTABLE = "CNN Studio"


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute (the spec)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".local/share"


def _exec_argument(text: str) -> str:
    """``text`` as one quoted argument of a desktop entry's Exec key.

    Inside double quotes the characters ``"`, $ and \\`` are escaped with a backslash; then,
    because Exec is a string value, every backslash is escaped again; ``%`` becomes ``%%``.
    """
    quoted = "".join("\\" + ch if ch in '"`$\\' else ch for ch in text)
    return '"' + quoted.replace("\\", "\\\\").replace("%", "%%") + '"'


def launch_command() -> list[str]:
    """How to start the app from a launcher: the packaged app's windowed executable, or this
    Python running the launcher module (an install from source)."""
    if getattr(sys, "frozen", False):
        here = Path(sys.executable).resolve()
        windowed = here.with_name(WINDOWED_EXECUTABLE)
        return [str(windowed if windowed.is_file() else here)]
    script = shutil.which(APP_ID)
    if script:
        return [str(Path(script).resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "gui.launcher"]


def desktop_entry(command: list[str]) -> str:
    """The text of ``cnn-studio.desktop`` for starting ``command`` (absolute paths)."""
    exec_line = " ".join(_exec_argument(part) for part in command) + " %f"
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"
        "Name=CNN Studio\n"
        "GenericName=Image classifier trainer\n"
        "Comment=Train a CNN on a folder of images and classify new ones, offline\n"
        f"Exec={exec_line}\n"
        f"TryExec={command[0].replace(chr(92), chr(92) * 2)}\n"
        f"Icon={APP_ID}\n"
        "Terminal=false\n"
        "Categories=Education;Science;\n"
        f"MimeType={MIME_TYPE};\n"
        f"StartupWMClass={WM_CLASS}\n"
        "StartupNotify=true\n"
        "Keywords=neural network;CNN;machine learning;image;classifier;\n"
    )


def mime_package() -> str:
    """shared-mime-info XML declaring ``*.cnnmodel`` (a zip archive inside)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">\n'
        f'  <mime-type type="{MIME_TYPE}">\n'
        "    <comment>CNN Studio model</comment>\n"
        '    <sub-class-of type="application/zip"/>\n'
        '    <glob pattern="*.cnnmodel" weight="60"/>\n'
        f'    <icon name="{APP_ID}"/>\n'
        "  </mime-type>\n"
        "</mime-info>\n"
    )


@dataclass(frozen=True)
class Installed:
    """What :func:`install` wrote, and which cache refreshes ran."""

    files: list[Path]
    refreshed: list[str]

    def describe(self) -> str:
        lines = ["CNN Studio is in your applications menu, and .cnnmodel files open in it."]
        lines += [f"  wrote {path}" for path in self.files]
        if self.refreshed:
            lines.append("  refreshed: " + ", ".join(self.refreshed))
        else:
            lines.append("  (the menu shows it after your next log-in)")
        return "\n".join(lines)


def _write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling, so a crash leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return path


def _refresh(tool: str, folder: Path) -> bool:
    """Run a desktop cache tool on ``folder`` if it is installed; False when absent or failing."""
    found = shutil.which(tool)
    if not found:
        return False
    try:
        done = subprocess.run(
            [found, str(folder)], capture_output=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def paths(home: Path) -> dict[str, Path]:
    """Where each installed file goes under the data folder ``home``."""
    return {
        "entry": home / "applications" / f"{APP_ID}.desktop",
        "icon": home / "icons" / "hicolor" / "512x512" / "apps" / f"{APP_ID}.png",
        "mime_icon": home
        / "icons"
        / "hicolor"
        / "512x512"
        / "mimetypes"
        / f"{MIME_TYPE.replace('/', '-')}.png",
        "mime": home / "mime" / "packages" / f"{APP_ID}.xml",
    }


def install(icon: Path, command: list[str] | None = None, home: Path | None = None) -> Installed:
    """Install the launcher, icon and MIME type for the current user; returns what was done.

    Raises OSError (with the path) when a file cannot be written; files already written stay
    and are overwritten by the next try, which is harmless.
    """
    home = home or data_home()
    where = paths(home)
    image = icon.read_bytes()
    files = [
        _write(where["icon"], image),
        _write(where["mime_icon"], image),
        _write(where["mime"], mime_package().encode()),
        _write(where["entry"], desktop_entry(command or launch_command()).encode()),
    ]
    refreshed = []
    if _refresh("update-mime-database", home / "mime"):
        refreshed.append("MIME database")
    if _refresh("update-desktop-database", home / "applications"):
        refreshed.append("applications menu")
    if _refresh("gtk-update-icon-cache", home / "icons" / "hicolor"):
        refreshed.append("icon cache")
    return Installed(files, refreshed)


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove what :func:`install` wrote; returns the files removed."""
    home = home or data_home()
    removed = []
    for path in paths(home).values():
        if path.is_file():
            path.unlink()
            removed.append(path)
    _refresh("update-mime-database", home / "mime")
    _refresh("update-desktop-database", home / "applications")
    return removed


def run_command(add: bool) -> int:
    """``cnn-studio --add-to-menu`` / ``--remove-from-menu``: do it and say what was done."""
    from core.assets import asset_path

    if not sys.platform.startswith("linux"):
        print("cnn-studio: the applications menu entry is for Linux desktops", file=sys.stderr)
        return 1
    try:
        if add:
            icon = asset_path("icon.png")
            if icon is None:
                print(
                    "cnn-studio: error: the app's icon is missing from its folder", file=sys.stderr
                )
                return 1
            print(install(icon).describe())
        else:
            removed = uninstall()
            print(
                f"Removed {len(removed)} file(s) from the applications menu."
                if removed
                else "CNN Studio was not in the applications menu."
            )
    except OSError as exc:
        print(f"cnn-studio: error: {exc.filename or ''} {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


INSTALL_SCRIPT = """#!/bin/sh
# Adds CNN Studio to your applications menu (and makes .cnnmodel files open in it), for you
# only: files go under ~/.local/share. The same as the app's File > Add to applications menu.
# Undo with:  ./install-desktop-entry.sh --remove
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
if [ "$1" = "--remove" ]; then
  exec "$here/cnn-studio" --remove-from-menu
fi
exec "$here/cnn-studio" --add-to-menu
"""


def write_bundle_files(folder: Path) -> None:
    """At build time (build.spec, Linux): the installer script in the packaged folder.

    No ``.desktop`` file is shipped in the folder itself: its Exec and Icon must be absolute,
    which only the installed copy can know.
    """
    script = folder / "install-desktop-entry.sh"
    script.write_text(INSTALL_SCRIPT, encoding="utf-8")
    script.chmod(0o755)
    stale = folder / f"{APP_ID}.desktop"
    if stale.exists():
        stale.unlink()
