"""``cnn-studio report MODEL --out DIR``: a model card and ``reproduce.py`` for a model file.

Reads the model file's metadata only (no TensorFlow), so it takes a moment even for a large
model; see :mod:`core.share.card` for what the card holds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.console import out


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` to the ``cnn-studio`` parser."""
    report = sub.add_parser(
        "report",
        help="write a model card (HTML) and a plain Keras script that retrains the model",
        description="Write into DIR a self-contained HTML model card (the dataset, the "
        "training settings and curves, the confusion matrix, per-class scores, calibration, "
        "the software versions and the hashes of the training images) and reproduce.py, a "
        "plain Keras script (no CNN Studio needed) that trains the same network again on the "
        "same images with the same settings and prints its accuracy beside the app's.",
    )
    report.add_argument("model", type=Path, metavar="MODEL", help="a .cnnmodel file")
    report.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder to write model_card.html and reproduce.py into (created if needed)",
    )
    report.set_defaults(handler=cmd_report, parser=report)


def cmd_report(args: argparse.Namespace) -> int:
    from core.modelfile.bundle import read_bundle
    from core.share.card import write_report

    bundle = read_bundle(args.model)
    written = write_report(bundle, args.out, args.model)
    out(f"Wrote {written.card}")
    out(f"Wrote {written.script} (run it with Python to train the model again with plain Keras)")
    return 0
