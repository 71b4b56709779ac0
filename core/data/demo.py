"""The built-in demo dataset: shapes drawn in code, so the app works offline out of the box.

Four classes (circle, cross, square, triangle) of grayscale drawings, light on dark or dark on
light, at random size, position, rotation, stroke and noise, generated from a fixed seed and
written once as an ordinary class-folder tree in the user's data folder. The demo comes with
its own settings (:func:`core.learn.advice.demo_advice`): trained with them, it recognises
shapes drawn cleanly in a paint program, which is what a new user tries first.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import platformdirs
from PIL import Image, ImageDraw, ImageFilter

from core.atomic import give_normal_modes

SHAPES = ("circle", "cross", "square", "triangle")
DEMO_VERSION = 3
DEMO_FOLDER = f"demo-shapes-v{DEMO_VERSION}"
IMAGE_SIZE = 64
#: Drawings per shape. Measured with the demo's settings below: 300 gave 85 % validation
#: accuracy and recognised a cleanly drawn circle as a square; 800 gives 96-97 % and
#: recognises all 48 clean test drawings (filled or outline, light or dark ink, any place).
PER_CLASS = 800


def default_data_dir() -> Path:
    """The per-user data folder (demo dataset, logs)."""
    return Path(platformdirs.user_data_dir("cnn-studio", appauthor=False))


def _outline(shape: str, radius: float, angle: float) -> list[tuple[float, float]]:
    """The corners of ``shape`` around (0, 0); a circle is a 48-gon."""
    corners = {"circle": 48, "square": 4, "triangle": 3}[shape]
    offset = math.pi / 4 if shape == "square" else -math.pi / 2
    return [
        (
            radius * math.cos(angle + offset + 2 * math.pi * k / corners),
            radius * math.sin(angle + offset + 2 * math.pi * k / corners),
        )
        for k in range(corners)
    ]


def draw_shape(shape: str, rng: np.random.Generator, size: int = IMAGE_SIZE) -> Image.Image:
    """Draw one grayscale ``shape`` as a person might: light on dark or dark on light.

    Varied so that a model trained on them recognises a shape drawn in any paint program:
    size, position, rotation, stroke width, outline or filled, slightly uneven corners (as
    drawn by hand), background level and gradient, softness and noise.
    """
    inverted = bool(rng.integers(0, 2))
    paper = float(rng.integers(0, 70))
    ink = float(rng.integers(170, 256))
    if inverted:
        paper, ink = 255 - paper, 255 - ink
    image = Image.new("L", (size, size), int(paper))
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(0.2, 0.46) * size
    cx = rng.uniform(radius, size - radius)
    cy = rng.uniform(radius, size - radius)
    angle = rng.uniform(0, 2 * math.pi)
    width = int(rng.integers(2, 9))
    filled = rng.random() < 0.4
    shade = int(ink)
    if shape == "cross":
        arm = radius * rng.uniform(0.85, 1.05)
        for k in range(2):
            a = angle + k * math.pi / 2 + rng.normal(0, 0.06)
            dx, dy = arm * math.cos(a), arm * math.sin(a)
            draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=shade, width=width + 2)
    elif shape in ("circle", "square", "triangle"):
        stretch = rng.uniform(0.9, 1.1)  # a hand-drawn circle is rarely round
        wobble = 0.015 if shape == "circle" else 0.05
        points = [
            (
                cx + x * stretch + rng.normal(0, wobble * radius),
                cy + y / stretch + rng.normal(0, wobble * radius),
            )
            for x, y in _outline(shape, radius, angle)
        ]
        draw.polygon(points, fill=shade if filled else None, outline=shade, width=width)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    pixels = np.asarray(image, dtype=np.float32)
    if rng.random() < 0.4:  # uneven lighting across the page
        ramp = np.linspace(-1, 1, size, dtype=np.float32) * rng.uniform(10, 40)
        pixels += ramp[None, :] if rng.integers(0, 2) else ramp[:, None]
    pixels += rng.normal(0, rng.uniform(2, 16), pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def write_demo_dataset(target: Path, per_class: int = PER_CLASS, seed: int = 7) -> Path:
    """Write the demo tree to ``target`` (replacing a partial one) and return it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
    try:
        for shape in SHAPES:
            folder = staging / shape
            folder.mkdir()
            for i in range(per_class):
                draw_shape(shape, rng).save(folder / f"{shape}_{i:04d}.png")
        give_normal_modes(staging)  # mkdtemp made it 700; a folder the user makes is not
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def is_demo(root: Path, class_names: list[str]) -> bool:
    """Whether a scanned folder is the demo dataset (its folder name and its classes), so
    that it gets the demo's settings however it was opened (the app's button, ``--demo``,
    or the folder chosen by hand)."""
    return Path(root).name == DEMO_FOLDER and list(class_names) == list(SHAPES)


def demo_dataset(data_dir: Path | None = None) -> Path:
    """Return the demo dataset folder, generating it on first use (a second or two)."""
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    target = base / DEMO_FOLDER
    if not all((target / shape).is_dir() for shape in SHAPES):
        write_demo_dataset(target)
    return target
