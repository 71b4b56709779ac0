"""What the commands share: the dataset and input options, and loading a folder with a
progress bar on a terminal.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from pathlib import Path

from core.cli.console import ProgressBar
from core.data.dataset import LoadedDataset
from core.data.demo import demo_dataset
from core.data.findings import format_words
from core.data.images import InputSpec
from core.session import Session

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
    # Every copy and misnamed file, where the warnings and notes name only the first few.
    for group in dataset.copies:
        _log.info("identical images: %s", " = ".join(group))
    for first, second, bits in dataset.near_copies:
        _log.info("near-identical images (%d bits apart): %s ~ %s", bits, first, second)
    for path, fmt in dataset.misnamed:
        _log.info("read although its name says otherwise: %s (%s)", path, format_words(fmt))
    return dataset
