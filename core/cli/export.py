"""``cnn-studio export``: a model as a folder other programs use, checked in a fresh process."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.console import note, out


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export`` to the ``cnn-studio`` parser."""
    from core.share.formats import FORMATS

    export = sub.add_parser(
        "export",
        help="export a model as a folder other programs use without CNN Studio",
        description="Write a folder holding the model in the chosen format, labels.txt, "
        "preprocessing.json (how an image becomes the model's input), classify.py (runs "
        "with Pillow, NumPy and the format's runtime only) and a README. The folder's "
        "classify.py is then run in a fresh process on held-out images: a float export must "
        "give the app's answer on at least 99.5%% of them, or it is not kept; the result is "
        "stored as parity.json.",
    )
    export.add_argument("model", type=Path, metavar="MODEL", help="a .cnnmodel file")
    export.add_argument(
        "--format",
        choices=tuple(FORMATS),
        required=True,
        help="; ".join(f"{f.name}: {f.description}" for f in FORMATS.values()),
    )
    export.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder to write: a new or empty one, or an earlier export (replaced)",
    )
    export.add_argument(
        "--check",
        type=Path,
        metavar="DIR",
        help="check the export on (up to 200) images of this folder, labelled by their class "
        "subfolders if they have them (default: the model's validation files)",
    )
    export.set_defaults(handler=cmd_export, parser=export)


def cmd_export(args: argparse.Namespace) -> int:
    from core.session import Session
    from core.share.formats import FORMATS

    session = Session()
    session.open(args.model)
    note(f"Exporting to {FORMATS[args.format].title} and checking it in a fresh process…")
    report = session.export(args.format, args.out, args.check)
    out(f"Exported to {report.folder}")
    out(f"Checked: {report.summary()}.")
    return 0
