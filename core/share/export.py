"""Exporting a trained model as a self-contained folder, checked as its user would run it.

:func:`export_model` writes a folder holding the model in one of the formats of
:mod:`core.share.formats` (Keras, SavedModel, TFLite float or int8, ONNX) beside
``labels.txt``, ``preprocessing.json``, ``classify.py`` and ``README.md``
(:mod:`core.share.folder`). It then runs the folder's own ``classify.py`` in a fresh process on
held-out image files and compares its top-1 labels with the app's (:mod:`core.share.check`);
a float export that gives the app's answer on fewer than 99.5 % of them is not kept. The result
is stored beside the export as ``parity.json``.

The exported network is a fresh, uncompiled copy of the model without its augmentation layers
(identity at inference, but their random ops do not convert), so plain Keras, TensorFlow,
LiteRT and ONNX Runtime load it with their default settings. It takes what the app gives
its model: raw 0..255 pixels, float32, NHWC; the scaling is its first layer.

The folder is built in a temporary folder beside the target and renamed into place, so a
failed or interrupted export never leaves a half-written folder under the target's name.
Before the rename it gets the modes a new folder and its files get from the umask (755 and 644
at 022), not the temporary folder's private 700.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from core import native_stderr
from core.atomic import give_normal_modes, nearest_folder
from core.data.images import to_model_input
from core.errors import CnnStudioError, ImageError, SaveError
from core.nets.models import ModelSpec, build_model
from core.nets.runtime import keras, native_logs_filtered, tf
from core.share.check import CheckSet, ExportReport, compare, run_script, spread
from core.share.folder import (
    PARITY,
    is_export,
    write_readme,
    write_support_files,
)
from core.share.formats import FORMATS, install_hint

#: Images the int8 converter calibrates its value ranges on (at most).
CALIBRATION_IMAGES = 200
#: A leftover temporary export folder untouched this long belongs to a dead export.
STALE_SECONDS = 3600


def check_export_target(target: Path | str) -> Path:
    """Return ``target`` if an export folder can be written there, else raise
    :class:`SaveError` saying why: a file is in the way, or a folder that is neither empty
    nor an earlier CNN Studio export (which is replaced)."""
    raw = str(target)
    target = Path(target)
    if not raw.strip() or target.name in ("", ".", ".."):
        raise SaveError(f"{raw or '(empty)'}: give the name of a new folder to export into")
    target = target.absolute()
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise SaveError(f"{target}: exists and is not a folder; give the name of a new folder")
    if target.is_dir():
        try:
            empty = not any(target.iterdir())
        except OSError as exc:
            raise SaveError(f"{target}: cannot read the folder ({exc.strerror or exc})") from exc
        if not empty and not is_export(target):
            raise SaveError(
                f"{target}: the folder is not empty and is not an earlier CNN Studio export "
                "(it has no preprocessing.json written by one), so it is not replaced; give "
                "the name of a new or empty folder"
            )
    existing = nearest_folder(target, target.parent)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SaveError(f"{target}: cannot write in {existing} (permission denied)")
    return target


def _plain_copy(model: keras.Model, spec: ModelSpec) -> keras.Model:
    """An uncompiled float32 build of ``spec`` without augmentation, holding ``model``'s weights."""
    plain = build_model(ModelSpec(spec.preset, spec.input, spec.num_classes, augment=False))
    plain.set_weights(model.get_weights())  # augmentation layers hold no weights
    plain(np.zeros((1, *spec.input.shape), np.float32))  # the ONNX exporter needs it called
    return plain


@contextlib.contextmanager
def _native_stderr_held() -> Iterator[None]:
    """Hold back everything native code writes to file descriptor 2 during the block (the
    int8 quantiser prints a settings line in no log format, which the filter of
    :func:`core.nets.runtime.native_logs_filtered` would let through); shown if the block
    fails. Through :func:`core.native_stderr.captured`, the app's one fd-2 capture."""
    held = native_stderr.Captured()
    try:
        with native_stderr.captured() as held:
            yield
    except BaseException:
        native_stderr.show(held.text[-20_000:])
        raise


@contextlib.contextmanager
def _converter_quiet() -> Iterator[None]:
    """Converters talk: tf2onnx through Python logging, the TFLite converter from native code
    (see :func:`core.nets.runtime.native_logs_filtered`). Held back unless the conversion fails."""
    chatty = logging.getLogger("tf2onnx")
    level = chatty.level
    chatty.setLevel(logging.ERROR)
    try:
        with native_logs_filtered(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Keras's ONNX path probes NumPy
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        chatty.setLevel(level)


def _write_model(
    plain: keras.Model, fmt: str, folder: Path, calibration: np.ndarray | None
) -> None:
    """Write ``plain`` into ``folder`` as ``fmt`` (file name from :data:`FORMATS`)."""
    path = str(folder / FORMATS[fmt].model_file)
    builtins_only = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    try:
        with _converter_quiet():
            if fmt == "keras":
                plain.save(path)
            elif fmt == "savedmodel":
                plain.export(path, format="tf_saved_model", verbose=False)
            elif fmt == "tflite":
                plain.export(path, format="litert", verbose=False, target_spec=builtins_only)
            elif fmt == "tflite-int8":
                assert calibration is not None and len(calibration)
                samples = calibration.astype(np.float32)

                def representative() -> Iterator[list[np.ndarray]]:
                    for sample in samples:
                        yield [sample[None]]

                with _native_stderr_held():
                    plain.export(
                        path,
                        format="litert",
                        verbose=False,
                        optimizations=[tf.lite.Optimize.DEFAULT],
                        representative_dataset=representative,
                        target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
                    )
            elif fmt == "onnx":
                plain.export(path, format="onnx", verbose=False)
    except CnnStudioError:
        raise
    except Exception as exc:  # converters raise many types; the user needs the reason
        text = str(exc).strip().splitlines()
        reason = text[-1][:300] if text else type(exc).__name__
        raise CnnStudioError(
            f"converting the model to {FORMATS[fmt].title} failed: {reason}"
        ) from exc


def _temporary_folder(target: Path) -> Path:
    """A new hidden folder beside ``target`` to build the export in; removes the leftovers
    of exports to the same target that died over :data:`STALE_SECONDS` ago."""
    prefix = f".{target.name[:48]}."
    target.parent.mkdir(parents=True, exist_ok=True)
    for old in target.parent.glob(prefix.replace("[", "[[]") + "*.tmp"):
        with contextlib.suppress(OSError):
            if old.is_dir() and time.time() - old.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(old)
    return Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=target.parent))


def _sync_files(folder: Path) -> None:
    """Flush every file of the built export to disk before it is renamed into place."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb+") as handle:
                os.fsync(handle.fileno())


def _move_into_place(work: Path, target: Path) -> None:
    """Rename the built folder to ``target``; an earlier export there is replaced only once
    the new one is complete (and put back if the rename fails)."""
    old = None
    if target.exists():
        old = Path(
            tempfile.mkdtemp(prefix=f".{target.name[:48]}.", suffix=".old", dir=target.parent)
        )
        old.rmdir()
        target.rename(old)
    try:
        work.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _generated_files(images: np.ndarray, folder: Path) -> tuple[Path, ...]:
    """Write model inputs as PNG files (lossless, already at the model's size)."""
    paths = []
    for i, pixels in enumerate(images):
        path = folder / f"check_{i:03d}.png"
        Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).save(path)
        paths.append(path)
    return tuple(paths)


def _app_answers(
    model: keras.Model, class_names: Sequence[str], spec: ModelSpec, checks: CheckSet
) -> tuple[CheckSet, list[tuple[str, float]], np.ndarray]:
    """The app's own (label, probability) for each check file the app can read, the check set
    narrowed to those files, and their model inputs (int8 calibration falls back on them)."""
    from core.use.classify import Classifier

    classifier = Classifier(model, class_names, spec.input)
    kept, labels, inputs, answers = [], [], [], []
    for path, label in zip(checks.paths, checks.labels, strict=True):
        try:
            pixels = to_model_input(path, spec.input)
        except ImageError:
            continue  # the app refuses it: nothing to compare
        kept.append(path)
        labels.append(label)
        inputs.append(pixels)
    if not kept:
        raise CnnStudioError(f"none of the {len(checks.paths)} check images could be read")
    batch = np.stack(inputs)
    probabilities = classifier.probabilities_in_batches(batch)
    for row in probabilities:
        best = int(np.argmax(row))
        answers.append((class_names[best], float(row[best])))
    narrowed = CheckSet(tuple(kept), tuple(labels), checks.source)
    return narrowed, answers, batch


def export_model(
    model: keras.Model,
    spec: ModelSpec,
    class_names: Sequence[str],
    fmt: str,
    target: Path | str,
    checks: CheckSet,
    calibration: np.ndarray | None = None,
) -> ExportReport:
    """Export ``model`` (built for ``spec``) as format ``fmt`` into the folder ``target``.

    ``checks`` are the held-out images to verify it on; ``calibration`` the (training) images
    the int8 format calibrates on (default: the check images). Returns the check's report,
    also stored in the folder as ``parity.json``. Raises :class:`CnnStudioError` when the
    format cannot be written here, the target is taken, or a float export disagrees with the
    app on more than 0.5 % of the check images (then nothing is left behind).
    """
    if fmt not in FORMATS:
        raise CnnStudioError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    hint = install_hint(fmt)
    if hint:
        raise CnnStudioError(hint)
    target = check_export_target(target)
    # As labels.txt holds them: a name that is not valid UTF-8 (a folder name held as
    # surrogate escapes) is written with '?' in its place, and so printed by classify.py.
    names = [n.encode("utf-8", "replace").decode("utf-8") for n in class_names]
    work = _temporary_folder(target)
    try:
        with tempfile.TemporaryDirectory(prefix="cnnstudio-check-") as scratch:
            if not checks.paths and checks.images is not None:
                generated = _generated_files(checks.images, Path(scratch))
                checks = CheckSet(generated, (None,) * len(generated), checks.source)
            checks, app, inputs = _app_answers(model, names, spec, checks)
            note = None
            if fmt == "tflite-int8":
                if calibration is None or not len(calibration):
                    calibration, note = inputs, f"{len(inputs)} check images (no training images)"
                else:
                    calibration = calibration[spread(len(calibration), CALIBRATION_IMAGES)]
                    note = f"{len(calibration)} training images"
            _write_model(_plain_copy(model, spec), fmt, work, calibration)
            write_support_files(work, spec.input, fmt, names)
            report = compare(target, fmt, checks, app, run_script(work, checks.paths), names)
        report.calibration = note
        if not report.passed:
            raise CnnStudioError(
                f"the {FORMATS[fmt].title} export gives the app's answer on only "
                f"{report.agreeing} of {report.checked} check images "
                f"({report.agreement:.1%}, {report.required:.1%} required); it was not kept"
            )
        (work / PARITY).write_text(
            json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        write_readme(work, spec.input, fmt, names, f"The export's {report.summary()}.")
        give_normal_modes(work)  # not mkdtemp's 700: what a new folder gets
        _sync_files(work)
        _move_into_place(work, target)
    except BaseException as exc:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, SaveError):
            raise SaveError(f"{target}: cannot write the export ({exc.strerror or exc})") from exc
        raise
    return report
