"""``cnn-studio evaluate``, ``predict`` and ``explain``: using a saved model on images.

Thin front ends on :class:`core.session.Session`; TensorFlow is imported only when a
command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from core.atomic import check_target
from core.cli.common import add_threads_argument
from core.cli.console import JsonArray, ProgressBar, err, note, out, table
from core.errors import CnnStudioError
from core.plain import accuracy_in_words, confidence_in_words, unseen_in_words

if TYPE_CHECKING:
    from core.use.predictions import Prediction


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evaluate``, ``predict`` and ``explain`` to the ``cnn-studio`` parser."""
    evaluate = sub.add_parser(
        "evaluate",
        help="score a model on a labelled folder",
        description="Classify every image of a folder with one subfolder per class and report "
        "the accuracy and each class's precision, recall and F1. Says whether the model was "
        "trained on these images: only images it never saw give a fair score.",
    )
    evaluate.add_argument("model", type=Path, metavar="MODEL", help="a .cnnmodel file")
    evaluate.add_argument(
        "dir",
        type=Path,
        metavar="DIR",
        help="folder with one subfolder per class, named as the model's classes",
    )
    add_threads_argument(evaluate)
    evaluate.add_argument(
        "--json", action="store_true", help="print the scores as JSON instead of a table"
    )
    evaluate.set_defaults(handler=cmd_evaluate, parser=evaluate)

    predict = sub.add_parser(
        "predict",
        help="classify images or folders of images",
        description="Classify image files, and every image in the folders given, with a model.",
    )
    predict.add_argument("model", type=Path, metavar="MODEL", help="a .cnnmodel file")
    predict.add_argument(
        "targets",
        type=Path,
        nargs="+",
        metavar="IMAGE|DIR",
        help="image files, or folders of them (searched with their subfolders)",
    )
    predict.add_argument(
        "--top-k",
        type=int,
        default=3,
        metavar="K",
        help="how many of the likeliest classes to show for each image (default: %(default)s)",
    )
    predict.add_argument(
        "--csv", type=Path, metavar="FILE", help="also write the results to this CSV file"
    )
    predict.add_argument(
        "--min-confidence",
        type=_share,
        default=0.0,
        metavar="P",
        help="answer 'unsure' for an image whose likeliest class has a probability below P, "
        "from 0 to 1; the probabilities are calibrated on the model's validation images, so "
        "0.9 means right about 9 times in 10 (default: 0, always answer)",
    )
    add_threads_argument(predict)
    predict.add_argument("--json", action="store_true", help="print JSON instead of text")
    predict.set_defaults(handler=cmd_predict, parser=predict)
    _register_explain(sub)


def _share(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, not {text}")
    return value


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.session import Session

    session = Session()
    session.open(args.model)
    bar = ProgressBar("Loading  ")
    evaluation = session.evaluate_folder(args.dir, progress=bar)
    bar.close()
    seen = evaluation.seen_in_training
    if args.json:
        # "unseen": the score on the images that are no copy of a training image (null when
        # the model file lists no training images)
        report = {**evaluation.to_dict(), "seen_in_training": seen}
        report.setdefault("unseen", None)
        out(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    total = sum(int(s["support"]) for s in evaluation.per_class.values())
    classes = len(evaluation.class_names)
    fair = unseen_in_words(evaluation.unseen, digits=2)
    if fair is None:
        # Never seen (0), or unknown (a file that does not list its training images).
        held_out = True if seen == 0 else None
        words = accuracy_in_words(evaluation.accuracy, classes, held_out)
        out(f"Accuracy: {evaluation.accuracy:.2%} on {total} images, {words}")
    else:
        out(f"Accuracy: {evaluation.accuracy:.2%} on {total} images; {fair}")
        unseen = evaluation.unseen or {}
        if unseen.get("accuracy") is not None:
            words = accuracy_in_words(unseen["accuracy"], classes, held_out=True)
            out(f"The fair figure: {words}.")
    error = evaluation.calibration_error
    if error is not None:
        words = confidence_in_words(error, evaluation.calibration_bins).rstrip(".")
        words = words[:1].lower() + words[1:]
        out(f"Confidence: {words} (expected calibration error {error:.3f}).")
    out()
    rows = [
        (name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", f"{s['support']}")
        for name, s in evaluation.per_class.items()
    ]
    for line in table(rows, header=("class", "precision", "recall", "f1", "images")):
        out(line)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify the targets as a stream: each batch's rows go to the CSV (flushed), stdout and
    stderr as soon as it is done, so memory stays the same however many images there are; the
    CSV replaces ``--csv`` only when every image was handled (never half-written)."""
    from core.session import Session
    from core.use.predictions import check_csv_target, csv_rows

    if args.top_k < 1:
        args.parser.error("--top-k must be at least 1")
    if args.csv:
        check_csv_target(check_target(args.csv))
    session = Session()
    session.open(args.model)
    missing = [str(t) for t in args.targets if not t.exists()]
    if missing:
        raise CnnStudioError(f"not found: {', '.join(missing)}")
    bar = ProgressBar(
        "Classifying ", enabled=None if any(t.is_dir() for t in args.targets) else False
    )
    printed = JsonArray(indent=2) if args.json else None
    classified = failed = 0
    with contextlib.ExitStack() as stack:
        rows = (
            stack.enter_context(csv_rows(args.csv, args.top_k, args.min_confidence))
            if args.csv
            else None
        )
        steps = stack.enter_context(
            contextlib.closing(session.iter_classify(args.targets, args.top_k, progress=bar))
        )
        for step in steps:
            if rows is not None:
                rows.write(step.predictions)
            with bar.hidden():
                for path, reason in step.failures:
                    err(f"Skipped {path}: {reason}")
                _print_predictions(step.predictions, args.min_confidence, printed)
            classified += len(step.predictions)
            failed += len(step.failures)
    bar.close()
    if printed is not None:
        printed.close()
    return 1 if failed and not classified else 0


def _print_predictions(
    predictions: list[Prediction], least: float, printed: JsonArray | None
) -> None:
    """Print ``predictions`` on stdout: as elements of the ``--json`` array ``printed``, or as
    lines of text (``unsure`` marked below ``least``)."""
    from core.use.predictions import UNSURE

    for p in predictions:
        if printed is not None:
            printed.add({**p.to_dict(), "answer": p.answer(least)})
            continue
        ranking = ", ".join(f"{n} {v:.1%}" for n, v in p.labels)
        unsure = f"{UNSURE} (under {least:.0%}): " if p.top[1] < least else ""
        out(f"{p.path}: {unsure}{ranking}")


#: Where ``explain`` writes its overlays without ``--out`` (in the current folder).
EXPLAIN_FOLDER = "heatmaps"
#: Overlays of smaller inputs are enlarged (nearest neighbour) to at least this many pixels.
EXPLAIN_MIN_SIDE = 224
#: Added to each source file's name for its overlay, so an overlay never replaces its source.
EXPLAIN_SUFFIX = "-heatmap.png"


def _register_explain(sub: argparse._SubParsersAction) -> None:
    """Add ``explain`` to the ``cnn-studio`` parser."""

    explain = sub.add_parser(
        "explain",
        help="show where a model looks in images (heat maps)",
        description="For each image, find where the model saw the evidence for its answer "
        "(Grad-CAM on its last convolutional layer) and write the image as the model sees it "
        "with a heat map over it (bright: where it looked most) as a PNG.",
    )
    explain.add_argument("model", type=Path, metavar="MODEL", help="a .cnnmodel file")
    explain.add_argument(
        "targets",
        type=Path,
        nargs="+",
        metavar="IMAGE|DIR",
        help="image files, or folders of them (searched with their subfolders)",
    )
    explain.add_argument(
        "--out",
        type=Path,
        default=Path(EXPLAIN_FOLDER),
        metavar="DIR",
        help=f"folder for the overlays, one NAME{EXPLAIN_SUFFIX} per image "
        "(default: %(default)s, in the current folder)",
    )
    add_threads_argument(explain)
    explain.add_argument(
        "--json",
        action="store_true",
        help='also print [{"path", "label", "probability", "heatmap", "peak"}]: the map at '
        "the model's input size (rows of values 0..1) and its hottest pixel [row, column]",
    )
    explain.set_defaults(handler=cmd_explain, parser=explain)


def _overlay_folder(folder: Path) -> Path:
    """Create the overlays' folder now (before any work), or say why it cannot be."""
    if folder.exists() and not folder.is_dir():
        raise CnnStudioError(f"{folder}: not a folder (--out names the folder for the overlays)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc
        raise CnnStudioError(f"{folder}: cannot create the folder ({reason})") from None
    return folder


def _overlay_name(source: str, taken: set[str], sources: set[Path], folder: Path) -> Path:
    """``folder/<source name>-heatmap.png``, numbered (``-2``, ``-3``...) when this run already
    wrote that name or it would replace one of the images being explained."""
    stem = Path(source).stem[:100] or "image"
    number = 1
    while True:
        name = f"{stem}{EXPLAIN_SUFFIX}" if number == 1 else f"{stem}-{number}{EXPLAIN_SUFFIX}"
        target = folder / name
        if name.casefold() not in taken and target.resolve() not in sources:
            taken.add(name.casefold())
            return target
        number += 1


def cmd_explain(args: argparse.Namespace) -> int:
    """Explain the targets as a stream: each batch's overlays are written (and its lines, or
    its ``--json`` elements, printed) as soon as it is explained, so memory holds one batch of
    images and maps however many files there are."""
    from PIL import Image

    from core.atomic import atomic_path
    from core.data.scan import image_files
    from core.session import Session
    from core.use.heatmap import enlarge, overlay

    folder = _overlay_folder(args.out)
    session = Session()
    session.open(args.model)
    files, skipped = image_files(args.targets)
    for path, reason in skipped:
        err(f"Skipped {path}: {reason}")
    sources = {f.resolve() for f in files}  # an overlay never replaces one of them
    taken: set[str] = set()
    bar = ProgressBar(
        "Explaining ", enabled=None if any(t.is_dir() for t in args.targets) else False
    )
    printed = JsonArray() if args.json else None
    done = written = failed = 0
    with contextlib.closing(session.iter_explain(files)) as steps:
        for explanations, failures in steps:
            done += len(explanations) + len(failures)
            failed += len(failures)
            bar(done / len(files), f"{done} of {len(files)} images")
            with bar.hidden():
                for path, reason in failures:
                    err(f"Skipped {path}: {reason}")
                for explanation in explanations:
                    assert explanation.image is not None
                    picture = overlay(
                        enlarge(explanation.image, EXPLAIN_MIN_SIDE), explanation.heatmap
                    )
                    target = _overlay_name(explanation.path, taken, sources, folder)
                    with atomic_path(target) as tmp:
                        Image.fromarray(picture, "RGB").save(tmp, format="PNG")
                    written += 1
                    if printed is not None:
                        printed.add(explanation.to_dict())
                    else:
                        row, col = explanation.peak
                        out(
                            f"{explanation.path}: {explanation.label} "
                            f"{explanation.probability:.1%}, looked most at row {row}, "
                            f"column {col} -> {target}"
                        )
    bar.close()
    if printed is not None:
        printed.close()
    elif written:
        note(f"Wrote {written} overlay(s) to {folder}")
    return 1 if skipped or failed or not written else 0
