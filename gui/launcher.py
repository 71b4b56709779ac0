"""Entry point of the ``cnn-studio`` command.

With a subcommand (``inspect``, ``train``, ...) it runs the headless command line from
:mod:`core.cli` and never imports Qt. Otherwise it opens the desktop app.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence

HEADLESS_COMMANDS = {"inspect", "train", "evaluate", "predict", "export", "-h", "--help"}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the command line or the GUI; returns the exit code."""
    multiprocessing.freeze_support()
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
