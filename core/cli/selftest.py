"""``cnn-studio --self-test``: prove, headless, that this installation (or frozen app) works.

Decodes one generated image of each supported format, trains one epoch on a small generated
dataset with the progress observer attached, saves, loads and classifies, and checks minimum
library versions. Prints one line per step and returns 0, or 1 naming the step that failed.
"""

from __future__ import annotations

import io
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from core.cli.console import out
from core.data.images import SUPPORTED_FORMATS, InputSpec, to_model_input

MINIMUM_VERSIONS = {"pillow": (13, 0, 0), "keras": (3, 15, 1)}


def version_tuple(text: str) -> tuple[int, ...]:
    """(13, 0, 0) from "13.0.0"; pre-release suffixes are ignored."""
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def check_versions() -> str:
    from core.nets.runtime import versions

    found = versions()
    for name, minimum in MINIMUM_VERSIONS.items():
        if version_tuple(found[name]) < minimum:
            wanted = ".".join(map(str, minimum))
            raise RuntimeError(f"{name} {found[name]} is older than the required {wanted}")
    return ", ".join(f"{k} {v}" for k, v in found.items())


def check_formats() -> str:
    base = Image.radial_gradient("L").resize((40, 30)).convert("RGB")
    spec = InputSpec(28)
    for fmt in SUPPORTED_FORMATS:
        buffer = io.BytesIO()
        base.save(buffer, fmt)
        array = to_model_input(buffer.getvalue(), spec)
        if array.shape != spec.shape:
            raise RuntimeError(f"{fmt} decoded to shape {array.shape}")
    return ", ".join(SUPPORTED_FORMATS)


def check_training(folder: Path) -> str:
    from core.data.demo import draw_shape
    from core.learn.config import TrainConfig
    from core.session import Session

    rng = np.random.default_rng(0)
    for shape in ("circle", "cross", "square"):
        (folder / "data" / shape).mkdir(parents=True)
        for i in range(24):
            draw_shape(shape, rng).save(folder / "data" / shape / f"{i}.png")
    session = Session(use_cache=False)
    dataset = session.load_dataset(folder / "data", InputSpec(28))
    events: list[str] = []

    class Observer:
        def run_started(self, total_epochs: int, batches_per_epoch: int) -> None:
            events.append("started")

        def batch_ended(self, epoch: int, batch: int, loss: float) -> None:
            events.append("batch")

        def epoch_ended(self, epoch: int, metrics: dict, seconds: float) -> None:
            events.append("epoch")

    session.train(TrainConfig(epochs=1, batch_size=16), "article", observer=Observer())
    if events[0] != "started" or "batch" not in events or events[-1] != "epoch":
        raise RuntimeError(f"progress events out of order: {events[:3]}…")
    path = session.save(folder / "m.cnnmodel")
    reopened = Session(use_cache=False)
    model = reopened.open(path)
    predictions, failures = reopened.classify([folder / "data" / "circle" / "0.png"])
    if failures or predictions[0].top[0] not in model.class_names:
        raise RuntimeError(f"the reopened model did not classify: {failures or predictions}")
    return f"trained 1 epoch on {dataset.size} images, saved, reopened, classified"


def check_pretrained() -> str:
    """The shipped backbone loads from its file (no network) and classifies a photo-like image."""
    from core.data.images import to_model_input
    from core.nets.models import ModelSpec, build_model
    from core.nets.presets import BACKBONE_NAMES

    loaded = []
    for preset, name in BACKBONE_NAMES.items():
        spec = ModelSpec(preset, InputSpec(64, color=True), 3)
        model = build_model(spec, pretrained=True)
        photo = Image.radial_gradient("L").resize((90, 70)).convert("RGB")
        pixels = to_model_input(photo, spec.input)[None].astype("float32")
        probabilities = np.asarray(model(pixels))
        if probabilities.shape != (1, 3) or abs(float(probabilities.sum()) - 1) > 1e-4:
            raise RuntimeError(f"the pretrained network {name} answered {probabilities}")
        loaded.append(f"{name} ({model.get_layer('backbone').count_params():,} weights)")
    return " and ".join(loaded) + " loaded from the shipped files"


def run(extra: Sequence[tuple[str, Callable[[], str]]] = ()) -> int:
    """Run every step, then the front end's ``extra`` steps (the GUI's: the camera backend
    loads); print a report; 0 when all pass, else 1 naming the failed step."""
    with tempfile.TemporaryDirectory(prefix="cnnstudio-selftest-") as tmp:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("decode every supported format", check_formats),
            ("library versions", check_versions),
            ("pretrained backbone", check_pretrained),
            ("train, save, load, classify", lambda: check_training(Path(tmp))),
            *extra,
        ]
        for name, step in steps:
            start = time.perf_counter()
            try:
                detail = step()
            except Exception as exc:
                out(f"FAIL {name}: {type(exc).__name__}: {exc}")
                out(traceback.format_exc())
                out(f"Self-test failed at step: {name}")
                return 1
            out(f"ok   {name} ({time.perf_counter() - start:.1f} s): {detail}")
    out("Self-test passed.")
    return 0
