"""Entry point of the ``cnn-studio`` command.

With a subcommand (``inspect``, ``train``, ...) it runs the headless command line from
:mod:`core.cli.main` and never imports Qt. A first word that is neither a command nor an existing
path (a mistyped command such as ``trian``) also goes there, so argparse refuses it with exit
code 2 instead of a window opening. Otherwise it opens the desktop app.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.cli.interrupt import exit_on_ctrl_c, restore_ctrl_c
from gui.trimmed import install_stand_ins

#: The subcommands of :func:`core.cli.main.build_parser` (a test keeps the two in step; importing
#: the parser here would slow the app's start).
COMMANDS = {"inspect", "train", "evaluate", "predict", "export", "explain", "report", "cache"}
HEADLESS_OPTIONS = {"-h", "--help", "--version"}
#: Options that may come before the command (``cnn-studio -q train DIR``).
VERBOSITY_OPTIONS = {"-q", "--quiet", "-v", "-vv", "--verbose"}


def _ensure_streams() -> None:
    """Windowed frozen builds start with ``sys.stdout``/``sys.stderr`` set to None.

    Our own output already checks for that (:mod:`core.cli.console`); this catches everyone else's
    (argparse's usage errors, library warnings) by pointing the missing streams at the null
    device instead of letting a write crash the app.
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def _is_command_line(first: str) -> bool:
    """True when the first argument asks for the command line rather than the app.

    A bare word that names nothing on disk is a mistyped command. Anything that looks like a
    path (a separator, a .cnnmodel suffix) goes to the app even when missing, so a windowed
    build opened on a moved file says so in a dialog instead of exiting silently.
    """
    if first in COMMANDS or first in HEADLESS_OPTIONS:
        return True
    if first.startswith("-") or Path(first).exists():
        return False
    looks_like_path = any(sep in first for sep in ("/", "\\")) or first.endswith(".cnnmodel")
    return not looks_like_path


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the command line or the GUI; returns the exit code.

    Ctrl-C while the heavy modules are still importing (the first second or so) ends quietly
    with exit code 130, as it does later on, instead of printing a traceback
    (:mod:`core.cli.interrupt`).
    """
    multiprocessing.freeze_support()
    _ensure_streams()
    exit_on_ctrl_c()
    install_stand_ins()  # the packaged app: before anything imports TensorFlow
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("cnn-studio: interrupted", file=sys.stderr)
        return 130
    finally:
        restore_ctrl_c()


def _dispatch(args: list[str]) -> int:
    if args[:1] == ["--run-script"]:  # the frozen app running an export's classify.py
        from core.share.check import run_script_main

        restore_ctrl_c()
        return run_script_main(args[1:])
    if args[:1] in (["--add-to-menu"], ["--remove-from-menu"]):
        from gui.desktop import run_command

        return run_command(add=args[0] == "--add-to-menu")
    if "--self-test" in args:
        from core.cli.selftest import run

        return run([("camera backend", _camera_backend)])
    first = next((arg for arg in args if arg not in VERBOSITY_OPTIONS), "")
    if first and _is_command_line(first):
        from core.cli.main import main as cli_main

        restore_ctrl_c()
        return cli_main(args)
    from gui.app import run_app

    restore_ctrl_c()
    return run_app(args)


def _camera_backend() -> str:
    """The self-test's camera step: Qt Multimedia and its FFmpeg plugin load (no camera
    needed; without a display too)."""
    from PySide6.QtCore import QCoreApplication

    from gui.camera.qt_source import backend_check

    _app = QCoreApplication.instance() or QCoreApplication([])
    return backend_check()


if __name__ == "__main__":
    sys.exit(main())
