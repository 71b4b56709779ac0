"""The ``cnn-studio`` command line: everything the app does, without Qt.

Exit codes: 0 success, 1 failure (one line on stderr naming what failed and why), 2 wrong usage.
A user mistake or a bad file never prints a Python traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core import __version__, cli_model, cli_report
from core.console import ProgressBar, err, out, set_verbosity, silence_closed_stdout, table
from core.dataset import LoadedDataset
from core.demo import demo_dataset
from core.errors import Cancelled, CnnStudioError
from core.images import InputSpec
from core.names import one_line
from core.session import Session
from core.threads import set_thread_limit

Handler = Callable[[argparse.Namespace], int]
_log = logging.getLogger("cnnstudio.cli")


def add_dataset_argument(parser: argparse.ArgumentParser) -> None:
    """``DIR`` or ``--demo``: the dataset folder a command works on."""
    parser.add_argument(
        "dir", nargs="?", type=Path, metavar="DIR", help="folder with one subfolder per class"
    )
    parser.add_argument("--demo", action="store_true", help="use the built-in shapes dataset")


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """``--image-size``, ``--color``, ``--crop``/``--no-crop`` and ``--no-cache``.

    Size, colour and crop stay None unless given: the input chosen for the data fills them in, and a
    command can tell a flag the user typed (``train --continue-from`` refuses them).
    """
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        metavar="N",
        help="model input is N x N pixels (default: chosen for the data)",
    )
    parser.add_argument(
        "--color",
        action="store_true",
        default=None,
        help="keep colour (default: chosen for the data)",
    )
    parser.add_argument(
        "--crop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="use the centre square of each image instead of squeezing the whole image "
        "(default: chosen for the data; on for photos)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="decode every image afresh instead of reading the cache of decoded images",
    )


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: cap the CPU threads TensorFlow uses (applied before it starts)."""
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="N",
        help="use at most N CPU threads (default: 0, all cores)",
    )


def dataset_dir(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Path:
    if args.demo and args.dir:
        parser.error("give a folder or --demo, not both")
    if args.demo:
        return demo_dataset()
    if args.dir is None:
        parser.error("a dataset folder (or --demo) is required")
    return args.dir


def load_with_progress(
    session: Session,
    folder: Path,
    spec: InputSpec | None,
    size: int | None = None,
    color: bool | None = None,
    crop: bool | None = None,
    preset: str | None = None,
) -> LoadedDataset:
    """Load ``folder`` into ``session`` with progress bars on a terminal (``spec`` None: the
    input chosen for the data or for ``preset``, with ``size``/``color``/``crop`` overriding
    its parts)."""
    bar = ProgressBar("Loading  ")
    started = time.monotonic()
    session.load_dataset(
        folder, spec, progress=bar, size=size, color=color, crop=crop, preset=preset
    )
    bar.close()
    dataset = session.dataset
    assert dataset is not None
    _log.info(
        "%s: %d images in %d classes decoded as %s in %.1f s, %d skipped",
        folder,
        len(dataset),
        len(dataset.class_names),
        "x".join(map(str, dataset.spec.shape)),
        time.monotonic() - started,
        len(dataset.skipped),
    )
    for skipped in dataset.skipped:
        _log.info("skipped %s: %s", skipped.path, skipped.reason)
    return dataset


def cmd_inspect(args: argparse.Namespace) -> int:
    folder = dataset_dir(args, args.parser)
    session = Session(use_cache=not args.no_cache)
    dataset = load_with_progress(session, folder, None, args.image_size, args.color, args.crop)
    advice = session.state().dataset.advice
    summary = dataset.summary()
    if advice is not None:
        summary["suggested"] = {
            "preset": advice.preset,
            "image_size": advice.spec.size,
            "color": advice.spec.color,
            "crop": advice.spec.crop,
            "reason": advice.reason,
        }
    # Exit 1 when the folder cannot be trained on, as scripts expect: the reasons are in the
    # report on stdout, and the README's contract for every exit 1 is one line on stderr.
    status = 1 if dataset.problems else 0
    if args.json:
        out(json.dumps(summary, indent=2, ensure_ascii=False))
        _say_cannot_train(folder, dataset.problems)
        return status
    counts = dataset.counts()
    out(f"{folder}: {len(counts)} classes, {len(dataset)} images")
    layout = dataset.layout_summary()
    if layout is None:
        rows = [(name, str(count)) for name, count in counts.items()]
        header = None
    else:  # a train/valid/test folder: each part's images per class beside the total
        out(str(layout["note"]))
        parts: dict[str, list[int]] = layout["counts"]  # type: ignore[assignment]
        folders: dict[str, str] = layout["folders"]  # type: ignore[assignment]
        rows = [
            (name, str(count), *(str(n[k]) for n in parts.values()))
            for k, (name, count) in enumerate(counts.items())
        ]
        header = ("class", "images", *(f"{folders[role]}/" for role in parts))
    for line in table(rows, header=header, indent="  "):
        out(line)
    if advice is not None:
        out(f"Suggested: {advice.reason}")
    for problem in dataset.problems:
        out(f"Cannot train: {problem}")
    for warning in dataset.warnings:
        out(f"Warning: {warning}")
    if dataset.skipped:
        out(f"Skipped {len(dataset.skipped)} file(s)/folder(s):")
        for skipped in dataset.skipped:
            out(f"  {skipped.path}: {skipped.reason}")
    _say_cannot_train(folder, dataset.problems)
    return status


def _say_cannot_train(folder: Path, problems: list[str]) -> None:
    """The one stderr line of an ``inspect`` that exits 1: the first reason, and how many more."""
    if not problems:
        return
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    err(f"cnn-studio: error: cannot train on {folder}: {one_line(problems[0])}{more}")


def cmd_cache(args: argparse.Namespace) -> int:
    from core.cache import cache_root

    session = Session()
    if args.clear:
        files, freed = session.clear_cache()
        out(f"Cleared the cache: {files} file(s), {freed / 1e6:.1f} MB freed.")
        return 0
    files, held = session.cache_usage()
    out(f"{cache_root()}: {files} file(s), {held / 1e6:.1f} MB")
    return 0


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
    inspect = sub.add_parser(
        "inspect",
        help="check a dataset folder and list what is in it",
        description="Decode every image of a folder with one subfolder per class the way "
        "training will, and list the classes, what was skipped and why, and the input chosen "
        "for the data. Exits 1 when the folder cannot be trained on.",
    )
    add_dataset_argument(inspect)
    add_spec_arguments(inspect)
    inspect.add_argument(
        "--json", action="store_true", help="print the classes, skipped files and warnings as JSON"
    )
    inspect.set_defaults(handler=cmd_inspect, parser=inspect)
    cache = sub.add_parser(
        "cache",
        help="show or clear the cache of decoded images and pretrained features",
        description="The cache makes a second load of a folder fast. It keeps itself under "
        "a size limit (least recently used files go first); --clear empties it.",
    )
    cache.add_argument("--clear", action="store_true", help="remove every cached file")
    cache.set_defaults(handler=cmd_cache, parser=cache)
    cli_model.register(sub)  # train, evaluate, predict, export
    cli_report.register(sub)  # report
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
