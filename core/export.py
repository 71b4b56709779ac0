"""Exporting a trained model for use elsewhere (``.keras`` and TFLite), checked for parity.

The exported network is a fresh, uncompiled copy of the model (no optimizer, no schedule, no
class of ours), so plain Keras loads it with its default settings. Each export is written
atomically, then loaded **in a fresh process** that imports nothing of CNN Studio
(:mod:`core.export_check`) and run on held-out images; its top-1 labels must match the app's
own answers, or the export is deleted and an error raised. The exported models take the same
input as the app: raw 0..255 pixels of the model's input size, shape (N, size, size,
channels), float32.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from core.atomic import atomic_path, check_target
from core.errors import CnnStudioError
from core.models import ModelSpec, build_model
from core.runtime import keras, native_logs_filtered, tf

FORMATS = ("keras", "tflite")
#: Seconds a fresh process may take to import TensorFlow and run the check.
CHECK_TIMEOUT = 300


def _parity(expected: np.ndarray, got: np.ndarray, what: str) -> None:
    same = np.argmax(expected, axis=1) == np.argmax(got, axis=1)
    if not same.all():
        raise CnnStudioError(
            f"{what} export disagrees with the app on {int((~same).sum())} of {len(same)} "
            "check images; it was not kept"
        )


def _tflite_bytes(model: keras.Model) -> bytes:
    """The TFLite flatbuffer of ``model``, converted through a SavedModel.

    The converter logs from native code straight to the terminal (reading the SavedModel,
    "Ignored output_format"): its info and warning lines are held back, and everything it
    wrote is shown if the conversion fails.
    """
    folder = tempfile.mkdtemp(prefix="cnnstudio-export-")
    try:
        with native_logs_filtered():
            model.export(folder, format="tf_saved_model", verbose=False)
            return tf.lite.TFLiteConverter.from_saved_model(folder).convert()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_command() -> list[str]:
    """How to start the fresh checking process: the frozen app itself, or this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--check-export"]
    return [sys.executable, "-m", "core.export_check"]


def run_in_fresh_process(fmt: str, model_path: Path, batch: np.ndarray) -> np.ndarray:
    """Load ``model_path`` in a new process with plain Keras/TFLite and return its outputs."""
    with tempfile.TemporaryDirectory(prefix="cnnstudio-check-") as folder:
        source, target = Path(folder, "input.npy"), Path(folder, "output.npy")
        np.save(source, batch.astype(np.float32), allow_pickle=False)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        try:
            done = subprocess.run(
                [*check_command(), fmt, str(model_path), str(source), str(target)],
                capture_output=True,
                text=True,
                timeout=CHECK_TIMEOUT,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CnnStudioError(f"could not check the export in a new process ({exc})") from exc
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
            raise CnnStudioError(f"the exported file does not load on its own: {reason}")
        return np.load(target, allow_pickle=False)


def export_model(
    model: keras.Model, spec: ModelSpec, fmt: str, target: Path | str, check_images: np.ndarray
) -> Path:
    """Export ``model`` (built for ``spec``) to ``target`` as ``fmt``; verify on ``check_images``.

    ``check_images`` is a uint8 batch of held-out inputs. Returns the written path.
    """
    if fmt not in FORMATS:
        raise CnnStudioError(f"unknown export format {fmt!r}; choose keras or tflite")
    target = check_target(target)  # before the suffix: '.', a folder or a device is refused
    suffix = ".keras" if fmt == "keras" else ".tflite"
    if target.suffix != suffix:
        target = target.with_name(target.name + suffix)
    check_target(target)
    plain = build_model(spec)  # uncompiled: nothing but layers Keras itself knows
    plain.set_weights(model.get_weights())
    batch = check_images.astype(np.float32)
    expected = np.asarray(plain(batch, training=False))
    with atomic_path(target, suffix=suffix) as tmp:
        if fmt == "keras":
            plain.save(tmp)
        else:
            tmp.write_bytes(_tflite_bytes(plain))
        _parity(
            expected, run_in_fresh_process(fmt, tmp, batch), "Keras" if fmt == "keras" else "TFLite"
        )
    return target
