"""``cnn-studio train``: train a model on a dataset folder and save it, never over one
without asking.

A thin front end on :class:`core.session.Session`; TensorFlow is imported only when the
command runs, so ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from core.atomic import check_target, unused_path
from core.cli.common import (
    add_dataset_argument,
    add_spec_arguments,
    add_threads_argument,
    dataset_dir,
    load_with_progress,
)
from core.cli.console import ProgressBar, err, format_seconds, note, out, table, verbosity
from core.data.layout import dataset_name
from core.errors import CnnStudioError
from core.learn.config import DEVICES, MAX_SEED, OPTIMIZERS, TrainConfig
from core.learn.record import TrainingSummary
from core.modelfile.bundle import SUFFIX
from core.nets.precision import PRECISIONS
from core.nets.precision import describe as describe_precision
from core.nets.presets import (
    DEFAULT_PRESET,
    PRESETS,
    PRETRAINED_PRESET,
    PRETRAINED_SIZE,
    is_pretrained,
    preset_in_words,
    pretrained_input_problem,
)
from core.plain import (
    accuracy_in_words,
    learning_curve_figures,
    learning_curve_in_words,
    run_in_words,
    unseen_in_words,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` to the ``cnn-studio`` parser."""

    d = TrainConfig()
    train = sub.add_parser(
        "train",
        help="train a model on a dataset folder",
        description="Train a model on a folder with one subfolder per class, and save it.",
    )
    add_dataset_argument(train)
    add_spec_arguments(train)
    train.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="model file to write (default: the dataset's name + .cnnmodel in the current "
        "folder, -2, -3… when taken; a train/ or valid/ folder is named after its parent)",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the model file --out names if it exists (default: refuse)",
    )
    train.add_argument(
        "--epochs",
        type=int,
        default=None,
        metavar="N",
        help=f"passes over the training images (default: chosen for the data; {d.epochs} for "
        "small images)",
    )
    train.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help=f"images per training step (default: chosen for the data; {d.batch_size} for "
        "small images; with --continue-from, the model's own)",
    )
    train.add_argument(
        "--learning-rate",
        type=float,
        default=d.learning_rate,
        metavar="RATE",
        help="how big each correction is: the peak of the warm-up + cosine schedule "
        "(default: %(default)s)",
    )
    train.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=d.optimizer,
        help="how the corrections are made (default: %(default)s)",
    )
    train.add_argument(
        "--val-split",
        type=float,
        default=d.val_split,
        metavar="SHARE",
        help="share of each class held back to check the model on, from 0 up to (not "
        "including) 1 (default: %(default)s)",
    )
    train.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="the kind of network, by the images it suits: "
        + "; ".join(f"{name} = {preset_in_words(name)}" for name in sorted(PRESETS))
        + f" (default: chosen for the data, {DEFAULT_PRESET} for small images, "
        f"{PRETRAINED_PRESET} for photos; from the model with --continue-from)",
    )
    train.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random flips, rotation, zoom and contrast while training, so the model learns "
        "the object rather than its exact pixels (default: off, on for the demo; from the "
        "model with --continue-from)",
    )
    train.add_argument(
        "--seed",
        type=_seed,
        default=d.seed,
        metavar="N",
        help=f"random seed, 0 to {MAX_SEED}: the same seed and data train the same model "
        "(default: %(default)s)",
    )
    train.add_argument(
        "--patience",
        type=int,
        default=None,
        metavar="N",
        help="epochs without improvement before stopping early (default: chosen for the data; "
        f"{d.patience} for small images; with --continue-from, the model's own)",
    )
    train.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="train every epoch (default: stop when the validation loss stops improving)",
    )
    train.add_argument(
        "--fine-tune",
        action="store_true",
        help="pretrained preset: also train the top of the backbone on the images (slower, "
        "usually more accurate; best with --continue-from a head already trained)",
    )
    train.add_argument(
        "--continue-from",
        type=Path,
        metavar="MODEL",
        help="continue training this model file for --epochs more epochs (its architecture, "
        "augmentation, image size and colour are kept)",
    )
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=d.precision,
        help="what training computes in: auto picks bfloat16 on CPUs that have it natively "
        "(about twice as fast), float16 on a GPU, float32 elsewhere; weights and saved models "
        "are float32 whatever is chosen (default: %(default)s)",
    )
    train.add_argument(
        "--devices",
        choices=DEVICES,
        default=d.devices,
        help="where to train: auto uses every GPU when there are several (each trains on "
        "part of every batch), "
        "else the one GPU or the CPU; cpu the CPU only; all every GPU, or every logical CPU "
        "device when there is no GPU (default: %(default)s)",
    )
    add_threads_argument(train)
    train.add_argument(
        "--json", action="store_true", help="print a JSON summary on stdout instead of text"
    )
    train.set_defaults(handler=cmd_train, parser=train)


def _seed(text: str) -> int:
    """An argparse type: a seed Keras accepts (a bad one is a usage error, before any work)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_SEED}, not {value}")
    return value


class ConsoleObserver:
    """Draws training progress on stderr; runs on the training thread (the main thread here)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = ProgressBar("")
        self.total = 1
        self.batches = 1
        self.loss = float("nan")

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None:
        self.total, self.batches = total_epochs, batches_per_epoch

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        self.loss = loss if self.loss != self.loss else 0.9 * self.loss + 0.1 * loss
        fraction = (epoch + (batch + 1) / self.batches) / self.total
        self.bar(fraction, f"epoch {epoch + 1}/{self.total} loss {self.loss:.4f}")

    def epoch_ended(self, epoch: int, metrics: dict[str, float], seconds: float) -> None:
        self.bar.close()
        if self.quiet:
            return
        # Keras's names in words: "val_loss" means nothing to most people.
        parts = [
            f"{k.replace('val_', 'validation ').replace('_', ' ')} {v:.4f}"
            for k, v in metrics.items()
        ]
        err(f"Epoch {epoch + 1}/{self.total}: {', '.join(parts)} ({format_seconds(seconds)})")

    def curve_progress(self, fraction: float, message: str) -> None:
        """The learning curve's fits after a pretrained head's run (core.learn.learning_curve)."""
        if fraction == 0:
            self.bar = ProgressBar("learning curve ")
        self.bar(fraction, message)
        if fraction >= 1:
            self.bar.close()


def _install_interrupt(control: Any) -> None:
    """First Ctrl-C stops and keeps the model so far; a second one cancels."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if control.stop_requested:
            err("\nCancelling: the model will not be saved.")
            control.cancel()
        else:
            err(
                "\nStopping after this batch; the model so far will be kept (Ctrl-C again to "
                "cancel)."
            )
            control.stop()

    signal.signal(signal.SIGINT, handler)


def cmd_train(args: argparse.Namespace) -> int:

    from core.progress import TrainingControl
    from core.session import Session

    folder = dataset_dir(args, args.parser)
    continuing = args.continue_from is not None
    if continuing:
        given = [
            flag
            for flag, value in (
                ("--preset", args.preset),
                ("--augment" if args.augment else "--no-augment", args.augment),
                ("--image-size", args.image_size),
                ("--color", args.color),
                ("--crop", args.crop),
            )
            if value is not None
        ]
        if given:
            args.parser.error(
                f"{', '.join(given)} cannot be used with --continue-from: a continued model "
                "keeps its own architecture, augmentation and input"
            )
    _check_preset_input(args)
    # Checked now, not after minutes of training.
    out_path = check_target(_model_target(args, folder))
    session = Session(use_cache=not args.no_cache)
    if continuing:
        model = session.open(args.continue_from)
        dataset = load_with_progress(session, folder, model.spec)
    else:
        dataset = load_with_progress(
            session,
            folder,
            None,
            size=args.image_size,
            color=args.color,
            crop=args.crop,
            preset=args.preset,
        )
    advice = session.state().dataset.advice
    if not continuing and advice is not None and not args.json:
        note(f"Chosen for this data: {advice.reason}")
    layout = dataset.layout_summary()
    if layout is not None and not args.json:
        note(str(layout["note"]))
    chosen = advice.config() if advice is not None and not continuing else TrainConfig()
    if continuing:  # goes on as the model was trained: its batch size and patience
        earlier = session.state().model.config or {}  # type: ignore[union-attr]
        chosen = TrainConfig(
            batch_size=int(earlier.get("batch_size", chosen.batch_size)),
            patience=int(earlier.get("patience", chosen.patience)),
        )
    try:
        config = TrainConfig(
            epochs=args.epochs if args.epochs is not None else chosen.epochs,
            batch_size=args.batch_size if args.batch_size is not None else chosen.batch_size,
            learning_rate=args.learning_rate,
            optimizer=args.optimizer,
            val_split=args.val_split,
            seed=args.seed,
            early_stopping=not args.no_early_stopping,
            patience=args.patience if args.patience is not None else chosen.patience,
            fine_tune=args.fine_tune,
            precision=args.precision,
            devices=args.devices,
        )
    except ValueError as exc:
        raise CnnStudioError(str(exc)) from None
    for warning in dataset.warnings:
        err(f"Warning: {warning}")
    if dataset.skipped and not args.json:
        err(f"Skipped {len(dataset.skipped)} file(s); `cnn-studio inspect` lists them.")
    control = TrainingControl()
    _install_interrupt(control)
    observer = ConsoleObserver(quiet=args.json or verbosity() < 0)
    if continuing:
        if not args.json and verbosity() >= 0:
            note(session.layer_table())
        summary = session.continue_training(config, observer, control)
    else:
        preset = args.preset or (advice.preset if advice is not None else DEFAULT_PRESET)
        augment = args.augment if args.augment is not None else bool(advice and advice.augment)
        if not args.json and verbosity() >= 0:  # building the network to describe it: ~1 s
            from core.nets.models import layer_table

            note(layer_table(*session.describe(preset, augment)))
        summary = session.train(config, preset, augment, observer, control)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if summary.outcome == "stopped" and summary.epochs == 0:
        err("Stopped before the first epoch ended; nothing was saved.")
        return 1
    if summary.outcome == "stopped" and not _confirm_keep():
        err("Stopped; the model was not saved.")
        return 1
    if not args.overwrite and out_path.exists():  # made while we trained: still never replaced
        taken, out_path = out_path, unused_path(out_path)
        err(f"Warning: {taken} appeared while training; saving to {out_path} instead")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a save takes seconds: Ctrl-C must not lose it
    try:
        path, problem = session.save_or_recover(out_path)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if problem:
        err(f"cnn-studio: error: could not save the model: {problem}")
        err(f"The trained model was saved to {path} instead; move it where you want it.")
    if args.json:
        report = {"model": str(path), **summary.to_dict()}
        if problem:
            report["not_saved_to"] = {"path": str(out_path), "reason": problem}
        out(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for warning in summary.warnings[len(dataset.warnings) :]:
            err(f"Warning: {warning}")
        where = f" on {len(summary.devices)} devices" if len(summary.devices) > 1 else ""
        note(f"Trained in {describe_precision(summary.precision)}{where}")
        out(f"Saved {path} ({_run_in_words(summary, len(dataset.class_names))})")
        fair = unseen_in_words(summary.evaluation.get("unseen"), digits=2)
        if fair:  # a given validation folder with copies of training images
            out(f"Validation images: {fair}")
        if summary.learning_curve:  # a pretrained head: how more photos would help
            out(f"Learning curve: {learning_curve_figures(summary.learning_curve)}")
            out(str(learning_curve_in_words(summary.learning_curve)))
        if summary.test and layout is not None:
            folders: dict[str, str] = layout["folders"]  # type: ignore[assignment]
            _print_test(summary.test, folders["test"], len(dataset.class_names))
    return 1 if problem else 0


def _run_in_words(summary: TrainingSummary, classes: int) -> str:
    """How the run ended, which epoch's weights the model kept when not its last, and the kept
    model's validation accuracy, in numbers and in words (:func:`core.plain.run_in_words`)."""
    acc = summary.evaluation.get("accuracy")
    said = None
    if acc is not None:  # measured on the validation images, which training never used
        said = f"{acc:.2%}, {accuracy_in_words(acc, classes, held_out=True)}"
    return run_in_words(summary.outcome, summary.epochs, summary.best_epoch, summary.history, said)


def _check_preset_input(args: argparse.Namespace) -> None:
    """Refuse, as a usage error naming the option to change, an input size the chosen preset
    cannot take (the preset's own size is used when ``--image-size`` is left out)."""
    if not is_pretrained(args.preset or "") or args.image_size is None:
        return
    if pretrained_input_problem(args.image_size, color=True):
        args.parser.error(
            f"--image-size {args.image_size} is too small for --preset {args.preset}: "
            f"it needs 32 px or more ({PRETRAINED_SIZE} when --image-size is left out); "
            "change --image-size"
        )


def _model_target(args: argparse.Namespace, folder: Path) -> Path:
    """Where ``train`` saves: ``--out`` (refused when it holds a file, unless ``--overwrite``)
    or the dataset's name in the current folder, numbered when taken, so a model is never
    replaced without asking."""
    if args.out is None:
        return unused_path(Path(f"{dataset_name(folder) or 'model'}{SUFFIX}"))
    if not args.overwrite and os.path.lexists(args.out) and not args.out.is_dir():
        args.parser.error(
            f"{args.out} exists; add --overwrite to replace it, or choose another --out"
        )
    return args.out


def _print_test(test: dict[str, Any], folder: str, classes: int) -> None:
    """The scores on a split dataset's test folder, labelled as such (stdout)."""
    per_class: dict[str, dict[str, float]] = test["per_class"]
    total = sum(int(s["support"]) for s in per_class.values())
    fair = unseen_in_words(test.get("unseen"), digits=2)
    if fair is None:
        words = accuracy_in_words(test["accuracy"], classes, held_out=True)
        out(
            f"Test set ({folder}/, {total} images never used in training): accuracy "
            f"{test['accuracy']:.2%}, {words}"
        )
    else:  # the folder holds copies of training images: the fair figure beside the whole one
        out(f"Test set ({folder}/): accuracy {test['accuracy']:.2%} on {total} images; {fair}")
    out()
    for line in table(_score_rows(per_class), header=_SCORE_HEADER):
        out(line)


_SCORE_HEADER = ("class", "precision", "recall", "f1", "images")


def _score_rows(per_class: dict[str, dict[str, float]]) -> list[tuple[str, ...]]:
    """One table row per class: precision, recall and F1 to three places, and the images."""
    return [
        (name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", f"{s['support']}")
        for name, s in per_class.items()
    ]


def _confirm_keep() -> bool:
    """After Ctrl-C: ask whether to keep the model so far (yes when nobody can answer)."""
    if sys.stdin is None or not sys.stdin.isatty():
        return True
    try:
        answer = input("Save the model trained so far? [Y/n] ").strip().lower()
    except EOFError:
        return True
    return answer in ("", "y", "yes")
