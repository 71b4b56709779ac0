"""Entry point of the ``cnn-studio`` command.

With a subcommand (``inspect``, ``train``, ...) it runs the headless command line from
:mod:`core.cli` and never imports Qt. Otherwise it opens the desktop app.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence

HEADLESS_COMMANDS = {"inspect", "train", "evaluate", "predict", "export", "-h", "--help"}


def _ensure_streams() -> None:
    """Windowed frozen builds start with ``sys.stdout``/``sys.stderr`` set to None.

    Our own output already checks for that (:mod:`core.console`); this catches everyone else's
    (argparse's usage errors, library warnings) by pointing the missing streams at the null
    device instead of letting a write crash the app.
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the command line or the GUI; returns the exit code."""
    multiprocessing.freeze_support()
    _ensure_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in args:
        from core.selftest import run

        return run()
    if args and args[0] in HEADLESS_COMMANDS:
        from core.cli import main as cli_main

        return cli_main(args)
    from gui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
