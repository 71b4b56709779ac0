"""The built-in demo dataset: shapes drawn in code, so the app works offline out of the box.

Four classes (circle, cross, square, triangle) of grayscale drawings at random size, position,
rotation, stroke and noise, generated from a fixed seed and written once as an ordinary
class-folder tree in the user's data folder.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import platformdirs
from PIL import Image, ImageDraw

SHAPES = ("circle", "cross", "square", "triangle")
DEMO_VERSION = 2
IMAGE_SIZE = 64


def default_data_dir() -> Path:
    """The per-user data folder (demo dataset, logs)."""
    return Path(platformdirs.user_data_dir("cnn-studio", appauthor=False))


def draw_shape(shape: str, rng: np.random.Generator, size: int = IMAGE_SIZE) -> Image.Image:
    """Draw one noisy grayscale ``shape`` on a dark background."""
    image = Image.new("L", (size, size), int(rng.integers(0, 60)))
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(0.26, 0.44) * size
    cx = rng.uniform(radius, size - radius)
    cy = rng.uniform(radius, size - radius)
    angle = rng.uniform(0, 2 * math.pi)
    ink = int(rng.integers(170, 256))
    width = int(rng.integers(4, 8))  # thick enough to survive shrinking to 28x28

    def polygon(corners: int, offset: float) -> list[tuple[float, float]]:
        return [
            (
                cx + radius * math.cos(angle + offset + 2 * math.pi * k / corners),
                cy + radius * math.sin(angle + offset + 2 * math.pi * k / corners),
            )
            for k in range(corners)
        ]

    filled = bool(rng.integers(0, 2))
    if shape == "circle":
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        draw.ellipse(box, fill=ink if filled else None, outline=ink, width=width)
    elif shape in ("square", "triangle"):
        points = polygon(4 if shape == "square" else 3, math.pi / 4)
        draw.polygon(points, fill=ink if filled else None, outline=ink, width=width)
    elif shape == "cross":
        for k in range(2):
            a = angle + k * math.pi / 2
            dx, dy = radius * math.cos(a), radius * math.sin(a)
            draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=ink, width=width + 2)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0, rng.uniform(3, 18), pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def write_demo_dataset(target: Path, per_class: int = 300, seed: int = 7) -> Path:
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
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def demo_dataset(data_dir: Path | None = None) -> Path:
    """Return the demo dataset folder, generating it on first use (a second or two)."""
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    target = base / f"demo-shapes-v{DEMO_VERSION}"
    if not all((target / shape).is_dir() for shape in SHAPES):
        write_demo_dataset(target)
    return target
