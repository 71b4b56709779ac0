"""Command-line commands that train, evaluate, classify with and export models.

TensorFlow is imported only when one of these commands runs, so ``cnn-studio inspect`` and
``--help`` stay quick.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from core.config import OPTIMIZERS, TrainConfig
from core.console import ProgressBar, err, format_seconds, out
from core.errors import CnnStudioError
from core.presets import PRESETS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the model commands to the ``cnn-studio`` parser."""
    from core.cli import add_dataset_argument, add_spec_arguments

    train = sub.add_parser("train", help="train a model on a dataset folder")
    add_dataset_argument(train)
    add_spec_arguments(train)
    train.add_argument("--out", type=Path, help="model file to write (default: DATASET.cnnmodel)")
    d = TrainConfig()
    train.add_argument("--epochs", type=int, default=d.epochs)
    train.add_argument("--batch-size", type=int, default=d.batch_size)
    train.add_argument(
        "--learning-rate",
        type=float,
        default=d.learning_rate,
        help=f"peak of the warm-up + cosine schedule (default {d.learning_rate})",
    )
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    train.add_argument("--val-split", type=float, default=d.val_split)
    train.add_argument("--preset", choices=sorted(PRESETS), default=d.preset)
    train.add_argument("--augment", action="store_true", help="random flips, rotation, zoom")
    train.add_argument("--seed", type=int, default=d.seed)
    train.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience")
    train.add_argument("--no-early-stopping", action="store_true")
    train.add_argument(
        "--continue-from",
        type=Path,
        metavar="MODEL",
        help="continue training this model file for --epochs more epochs",
    )
    train.add_argument("--json", action="store_true", help="print a JSON summary")
    train.set_defaults(handler=cmd_train, parser=train)

    evaluate = sub.add_parser("evaluate", help="score a model on a labelled folder")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("dir", type=Path)
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=cmd_evaluate, parser=evaluate)

    predict = sub.add_parser("predict", help="classify images or folders of images")
    predict.add_argument("model", type=Path)
    predict.add_argument("targets", type=Path, nargs="+", metavar="IMAGE|DIR")
    predict.add_argument("--top-k", type=int, default=3)
    predict.add_argument("--csv", type=Path, help="also write the results to this CSV file")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(handler=cmd_predict, parser=predict)

    export = sub.add_parser("export", help="export a model as .keras or TFLite")
    export.add_argument("model", type=Path)
    export.add_argument("--format", choices=("keras", "tflite"), required=True)
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(handler=cmd_export, parser=export)


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
        parts = [f"{k} {v:.4f}" for k, v in metrics.items()]
        err(f"Epoch {epoch + 1}/{self.total}: {', '.join(parts)} ({format_seconds(seconds)})")


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
    from core.bundle import read_bundle, save_bundle
    from core.classify import bundle_from_result, model_from_bundle, spec_of
    from core.cli import dataset_dir, load_with_progress, spec_from
    from core.evaluate import evaluate_result
    from core.progress import TrainingControl
    from core.training import Trainer

    folder = dataset_dir(args, args.parser)
    earlier = None
    spec = spec_from(args)
    if args.continue_from:
        earlier = read_bundle(args.continue_from)
        spec = earlier.input
    try:
        config = TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            optimizer=args.optimizer,
            val_split=args.val_split,
            seed=args.seed,
            early_stopping=not args.no_early_stopping,
            patience=args.patience,
            augment=args.augment,
            preset=args.preset,
        )
    except ValueError as exc:
        raise CnnStudioError(str(exc)) from None
    dataset = load_with_progress(folder, spec, not args.no_cache)
    for warning in dataset.warnings:
        err(f"Warning: {warning}")
    if dataset.skipped and not args.json:
        err(f"Skipped {len(dataset.skipped)} file(s); `cnn-studio inspect` lists them.")
    out_path = args.out or Path(f"{folder.resolve().name or 'model'}.cnnmodel")
    control = TrainingControl()
    _install_interrupt(control)
    trainer = Trainer(dataset, config, ConsoleObserver(quiet=args.json), control)
    if not args.json:  # the layers in plain words, from a throwaway copy of the network
        from core.models import ModelSpec, build_model, describe_text

        preset = earlier.preset if earlier is not None else config.preset
        augment = earlier.augment if earlier is not None else config.augment
        described = ModelSpec(preset, dataset.spec, max(len(dataset.class_names), 2), augment)
        err(describe_text(build_model(described)))
    if earlier is not None:
        if earlier.class_names != dataset.class_names:
            raise CnnStudioError("the dataset's classes differ from the model's classes")
        model = model_from_bundle(earlier, with_optimizer=True)
        result = trainer.run(model, spec_of(earlier), earlier.training.get("history", []))
    else:
        result = trainer.run()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if result.outcome == "stopped" and not _confirm_keep():
        err("Stopped; the model was not saved.")
        return 1
    evaluation = evaluate_result(result, dataset)
    bundle = bundle_from_result(result, dataset.class_names, evaluation)
    bundle.files["root"] = str(dataset.root.resolve())
    path = save_bundle(bundle, out_path)
    summary = {
        "model": str(path),
        "outcome": result.outcome,
        "epochs": result.epochs_done,
        "history": result.history,
        "validation": evaluation,
        "warnings": dataset.warnings + result.warnings,
    }
    if args.json:
        out(json.dumps(summary, indent=2))
    else:
        acc = evaluation.get("accuracy")
        shown = f", validation accuracy {acc:.2%}" if acc is not None else ""
        epochs = f"{result.epochs_done} epoch{'s' if result.epochs_done != 1 else ''}"
        out(f"Saved {path} ({result.outcome} after {epochs}{shown})")
    return 0


def _confirm_keep() -> bool:
    """After Ctrl-C: ask whether to keep the model so far (yes when nobody can answer)."""
    if sys.stdin is None or not sys.stdin.isatty():
        return True
    try:
        answer = input("Save the model trained so far? [Y/n] ").strip().lower()
    except EOFError:
        return True
    return answer in ("", "y", "yes")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.bundle import read_bundle
    from core.classify import Classifier, model_from_bundle
    from core.cli import load_with_progress
    from core.evaluate import evaluate_predictions

    bundle = read_bundle(args.model)
    dataset = load_with_progress(args.dir, bundle.input, use_cache=True)
    if not len(dataset):
        raise CnnStudioError(f"no images to evaluate in {args.dir}. " + " ".join(dataset.problems))
    unknown = [n for n in dataset.class_names if n not in bundle.class_names]
    if unknown:
        raise CnnStudioError(
            f"classes not known to the model: {', '.join(unknown)} "
            f"(it knows {', '.join(bundle.class_names)})"
        )
    labels = np.array([bundle.class_names.index(dataset.class_names[k]) for k in dataset.labels])
    classifier = Classifier(model_from_bundle(bundle), bundle.class_names, bundle.input)
    probs = (
        np.concatenate(
            [
                classifier.probabilities(dataset.images[i : i + 512])
                for i in range(0, len(labels), 512)
            ]
        )
        if len(labels)
        else np.zeros((0, len(bundle.class_names)))
    )
    evaluation = evaluate_predictions(labels, probs, bundle.class_names, dataset.paths)
    if args.json:
        out(json.dumps(evaluation.to_dict(), indent=2))
        return 0
    out(f"Accuracy: {evaluation.accuracy:.2%} on {len(labels)} images")
    width = max(len(n) for n in bundle.class_names)
    out(f"{'class'.ljust(width)}  precision  recall     f1  support")
    for name, s in evaluation.per_class.items():
        out(
            f"{name.ljust(width)}  {s['precision']:9.3f}  {s['recall']:6.3f}  {s['f1']:5.3f}"
            f"  {s['support']:7d}"
        )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from core.classify import Classifier
    from core.predictions import write_csv
    from core.scan import image_files

    if args.top_k < 1:
        args.parser.error("--top-k must be at least 1")
    classifier = Classifier.from_file(args.model)
    missing = [str(t) for t in args.targets if not t.exists()]
    if missing:
        raise CnnStudioError(f"not found: {', '.join(missing)}")
    predictions, failures = classifier.classify_paths(image_files(args.targets), args.top_k)
    for path, reason in failures:
        err(f"Skipped {path}: {reason}")
    if args.csv:
        write_csv(predictions, args.csv, args.top_k)
    if args.json:
        out(json.dumps([p.to_dict() for p in predictions], indent=2, ensure_ascii=False))
    else:
        for p in predictions:
            ranking = ", ".join(f"{n} {v:.1%}" for n, v in p.labels)
            out(f"{p.path}: {ranking}")
    return 1 if failures and not predictions else 0


def cmd_export(args: argparse.Namespace) -> int:
    from core.bundle import read_bundle
    from core.classify import Classifier, model_from_bundle
    from core.export import export_model
    from core.images import load_input

    bundle = read_bundle(args.model)
    classifier = Classifier(model_from_bundle(bundle), bundle.class_names, bundle.input)
    root = Path(str(bundle.files.get("root", "")))
    checks = []
    for relpath, _ in bundle.files.get("val", [])[:32]:
        try:
            checks.append(load_input(root / relpath, bundle.input))
        except CnnStudioError:
            continue
    if not checks:  # the training images are gone: check on reproducible noise instead
        rng = np.random.default_rng(0)
        checks = list(rng.integers(0, 256, (16, *bundle.input.shape), dtype=np.uint8))
    path = export_model(classifier, args.format, args.out, np.stack(checks))
    out(f"Exported {path} (checked on {len(checks)} images: same top-1 labels as the app)")
    return 0
