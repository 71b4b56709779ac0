"""The ``cnn-studio`` command line: everything the app does, without Qt.

Exit codes: 0 success, 1 failure (one line on stderr naming what failed and why), 2 wrong usage.
A user mistake or a bad file never prints a Python traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from core import cli_model
from core.cache import DatasetCache
from core.console import ProgressBar, err, out
from core.dataset import LoadedDataset, load_dataset
from core.demo import demo_dataset
from core.errors import Cancelled, CnnStudioError
from core.images import InputSpec
from core.scan import scan_folder

Handler = Callable[[argparse.Namespace], int]


def add_dataset_argument(parser: argparse.ArgumentParser) -> None:
    """``DIR`` or ``--demo``: the dataset folder a command works on."""
    parser.add_argument("dir", nargs="?", type=Path, help="folder with one subfolder per class")
    parser.add_argument("--demo", action="store_true", help="use the built-in shapes dataset")


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image-size",
        type=int,
        default=28,
        metavar="N",
        help="model input is N x N pixels (default 28)",
    )
    parser.add_argument("--color", action="store_true", help="keep colour (default grayscale)")
    parser.add_argument("--no-cache", action="store_true", help="do not use the decoded cache")


def dataset_dir(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Path:
    if args.demo and args.dir:
        parser.error("give a folder or --demo, not both")
    if args.demo:
        return demo_dataset()
    if args.dir is None:
        parser.error("a dataset folder (or --demo) is required")
    return args.dir


def spec_from(args: argparse.Namespace) -> InputSpec:
    try:
        return InputSpec(size=args.image_size, color=args.color)
    except ValueError as exc:
        raise CnnStudioError(str(exc)) from None


def load_with_progress(folder: Path, spec: InputSpec, use_cache: bool) -> LoadedDataset:
    """Scan and decode ``folder`` with progress bars on a terminal."""
    scan_bar = ProgressBar("Scanning ")
    index = scan_folder(folder, progress=scan_bar)
    scan_bar.close()
    bar = ProgressBar("Loading  ")
    dataset = load_dataset(index, spec, progress=bar, cache=DatasetCache() if use_cache else None)
    bar.close()
    return dataset


def cmd_inspect(args: argparse.Namespace) -> int:
    folder = dataset_dir(args, args.parser)
    dataset = load_with_progress(folder, spec_from(args), not args.no_cache)
    summary = dataset.summary()
    if args.json:
        out(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    counts = dataset.counts()
    out(f"{folder}: {len(counts)} classes, {len(dataset)} images")
    width = max((len(n) for n in counts), default=0)
    for name, count in counts.items():
        out(f"  {name.ljust(width)}  {count}")
    for problem in dataset.problems:
        out(f"Cannot train: {problem}")
    for warning in dataset.warnings:
        out(f"Warning: {warning}")
    if dataset.skipped:
        out(f"Skipped {len(dataset.skipped)} file(s)/folder(s):")
        for skipped in dataset.skipped:
            out(f"  {skipped.path}: {skipped.reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnn-studio",
        description="Train a CNN on a folder of images and classify new ones. "
        "With no command, opens the desktop app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    inspect = sub.add_parser("inspect", help="check a dataset folder and list what is in it")
    add_dataset_argument(inspect)
    add_spec_arguments(inspect)
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.set_defaults(handler=cmd_inspect, parser=inspect)
    cli_model.register(sub)  # train, evaluate, predict, export
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
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
    except OSError as exc:
        name = f" {exc.filename}" if exc.filename else ""
        err(f"cnn-studio: error:{name} {exc.strerror or exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
