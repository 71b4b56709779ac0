"""The ``cnn-studio`` command line: everything the app does, without Qt.

Exit codes: 0 success, 1 failure (one line on stderr naming what failed and why), 2 wrong usage.
A user mistake or a bad file never prints a Python traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from core import __version__
from core.cli import data, export, report, train, use
from core.cli.console import err, set_verbosity, silence_closed_stdout
from core.errors import Cancelled, CnnStudioError
from core.threads import set_thread_limit

Handler = Callable[[argparse.Namespace], int]
_log = logging.getLogger("cnnstudio.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnn-studio",
        usage="cnn-studio [-h] [--version] [--demo | PATH | --self-test | COMMAND ...]",
        description="Train a CNN on a folder of images and classify new ones, offline. "
        "With no command, opens the desktop app.",
        epilog="Opening the app: `cnn-studio` opens it empty, `cnn-studio PATH` opens a dataset "
        "folder or a .cnnmodel file in it, `cnn-studio --demo` opens it on the built-in demo "
        "dataset. `cnn-studio --self-test` checks this installation without a window. "
        "`cnn-studio COMMAND -h` explains a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="open the app on the built-in demo dataset"
    )
    parser.add_argument(
        "--self-test", action="store_true", help="check this installation (no window) and exit"
    )
    # prog: a command's usage line reads "cnn-studio train ...", not the app's usage + "train".
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="cnn-studio")
    for commands in (data, train, use, export, report):  # in the order --help lists them
        commands.register(sub)
    add_verbosity_arguments(parser, default=0)
    for command in sub.choices.values():  # also after the command: `cnn-studio train DIR -q`
        add_verbosity_arguments(command, default=argparse.SUPPRESS)
    return parser


def add_verbosity_arguments(parser: argparse.ArgumentParser, default: Any) -> None:
    """``-v/--verbose`` and ``-q/--quiet``, accepted before or after the command.

    A command's parser uses ``SUPPRESS`` as its default so that, when the option was given
    before the command only, the command's parser does not overwrite it with its own default.
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="say more: -v adds the app's log (skipped files, engine steps), -vv TensorFlow's",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default if default is argparse.SUPPRESS else False,
        help="only results, warnings and errors: no progress bars or notes",
    )


def command_names() -> set[str]:
    """The subcommands ``cnn-studio`` knows (for the launcher's routing)."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.quiet and args.verbose:
        args.parser.error("-q/--quiet and -v/--verbose cannot be used together")
    set_verbosity(-1 if args.quiet else args.verbose)
    if getattr(args, "threads", 0):
        if args.threads < 0:
            args.parser.error("--threads must be 0 (all cores) or more")
        set_thread_limit(args.threads)  # before anything imports TensorFlow
    try:
        return int(args.handler(args))
    except Cancelled:
        err("cnn-studio: cancelled")
        return 1
    except KeyboardInterrupt:
        err("cnn-studio: interrupted")
        return 130
    except CnnStudioError as exc:
        err(f"cnn-studio: error: {exc}")
        return 1
    except BrokenPipeError:  # the reader of our output stopped reading: nothing to report
        silence_closed_stdout()
        return 1
    except OSError as exc:
        name = f" {exc.filename}" if exc.filename else ""
        err(f"cnn-studio: error:{name} {exc.strerror or exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
