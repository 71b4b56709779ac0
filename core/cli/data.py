"""``cnn-studio inspect`` and ``cnn-studio cache``: what is in a dataset folder, and the cache."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path

from core.cli.common import (
    add_dataset_argument,
    add_spec_arguments,
    dataset_dir,
    load_with_progress,
)
from core.cli.console import err, out, table
from core.names import one_line
from core.session import Session

Handler = Callable[[argparse.Namespace], int]
_log = logging.getLogger("cnnstudio.cli")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``inspect`` and ``cache`` to the ``cnn-studio`` parser."""
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
        "--json",
        action="store_true",
        help="print the classes, skipped files, warnings, notes and every copy as JSON",
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
    for note in dataset.notes:
        out(f"Note: {note}")
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
    from core.data.cache import cache_root

    session = Session()
    if args.clear:
        files, freed = session.clear_cache()
        out(f"Cleared the cache: {files} file(s), {freed / 1e6:.1f} MB freed.")
        return 0
    files, held = session.cache_usage()
    out(f"{cache_root()}: {files} file(s), {held / 1e6:.1f} MB")
    return 0
