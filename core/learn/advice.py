"""Settings chosen for the data: measure a scanned folder, then pick preset, input and training.

Photos (colour, typically 96 px or more on the short side) get the pretrained preset at its
size in colour, with settings for training its head; small images get the article's CNN at
their native size (at most 28 px, where it trains well). The choice comes with one line saying
why, which the app and ``cnn-studio train`` show; the user can override every part of it.
Measuring reads only image headers (a sample of files per class). Needs Pillow, not TensorFlow.
"""

from __future__ import annotations

import contextlib
import statistics
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from core.data.images import SUPPORTED_FORMATS, InputSpec
from core.data.scan import DatasetIndex
from core.learn.config import TrainConfig
from core.nets.presets import DEFAULT_PRESET, PRETRAINED_PRESET, PRETRAINED_SIZE, is_pretrained

#: Files whose headers are read per class (spread over the class).
SAMPLE_PER_CLASS = 12
#: From this short side on (median), images count as photos.
PHOTO_SIDE = 96
#: Colour images from this short side up to PHOTO_SIDE have their network chosen by trial.
TRIAL_MIN_SIDE = 16
#: A folder with at least this share of small images and of large ones is a mix.
MIXED_SHARE = 0.2
#: The article's CNN trains well up to here (its dense layer grows with the input).
ARTICLE_MAX_SIZE = 28
#: The presets that are the article's CNN without extra pooling.
ARTICLE_PRESETS = ("article", "article-dropout")


@dataclass(frozen=True)
class DataProfile:
    """What a sample of a folder's image headers says."""

    sampled: int
    width: int  # median
    height: int  # median
    color_share: float  # share of sampled images stored in colour
    small_share: float = 0.0  # share of sampled images under PHOTO_SIDE on the short side

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    @property
    def color(self) -> bool:
        return self.color_share >= 0.5

    @property
    def unclear(self) -> bool:
        """True where the folder's kind is not obvious from its headers, so the candidates are
        tried on the images themselves (:mod:`core.learn.trial`): colour images under
        :data:`PHOTO_SIDE` (small photos, or icons and drawings?), grayscale photos, or a mix
        of small and large images. Grayscale small images (digits, letters, drawings) are
        not: they get the article's CNN, as they always did."""
        if not self.sampled:
            return False
        mixed = MIXED_SHARE <= self.small_share <= 1 - MIXED_SHARE
        small_colour = self.color and TRIAL_MIN_SIDE <= self.short_side < PHOTO_SIDE
        grey_photos = not self.color and self.short_side >= PHOTO_SIDE
        return mixed or small_colour or grey_photos


@dataclass(frozen=True)
class Advice:
    """The settings chosen for a dataset, and why (one line for people)."""

    preset: str
    spec: InputSpec
    epochs: int
    batch_size: int
    patience: int
    reason: str
    augment: bool = False  # random flips, turns, zoom and contrast while training

    def config(self, **overrides: object) -> TrainConfig:
        """A training config with these settings (``overrides`` win)."""
        values: dict[str, object] = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "patience": self.patience,
        }
        values.update(overrides)
        return TrainConfig(**values)  # type: ignore[arg-type]


def measure(index: DatasetIndex, per_class: int = SAMPLE_PER_CLASS) -> DataProfile:
    """Read the headers of up to ``per_class`` files of each class (no pixels are decoded)."""
    widths: list[int] = []
    heights: list[int] = []
    colored = small = 0
    for folder in index.classes:
        files = folder.files
        step = max(1, len(files) // per_class)
        for entry in files[::step][:per_class]:
            with (
                contextlib.suppress(OSError, ValueError, SyntaxError, Image.DecompressionBombError),
                Image.open(Path(index.root, entry.relpath), formats=SUPPORTED_FORMATS) as image,
            ):
                widths.append(image.width)
                heights.append(image.height)
                colored += image.mode not in ("1", "L", "LA", "I", "I;16", "F")
                small += min(image.width, image.height) < PHOTO_SIDE
    if not widths:
        return DataProfile(0, 0, 0, 0.0)
    return DataProfile(
        sampled=len(widths),
        width=int(statistics.median(widths)),
        height=int(statistics.median(heights)),
        color_share=colored / len(widths),
        small_share=small / len(widths),
    )


def advise(profile: DataProfile) -> Advice:
    """Choose preset, input and training settings for data like ``profile`` by rule (where
    :attr:`DataProfile.unclear`, the session then tries both candidates, see
    :mod:`core.learn.trial`)."""
    if profile.sampled and profile.short_side >= PHOTO_SIDE:
        return photo_advice(profile)
    return small_image_advice(profile)


def photo_advice(profile: DataProfile) -> Advice:
    """The pretrained photos network at its own input, for data like ``profile``."""
    kind = "colour photos" if profile.color else "photos (grayscale)"
    return _pretrained(
        f"{kind.capitalize()}, typically {profile.width}x{profile.height}: a network "
        f"pretrained on photos, the centre square at {PRETRAINED_SIZE} px in colour; only its "
        "head is trained."
    )


def small_image_advice(profile: DataProfile) -> Advice:
    """The article's CNN at the images' own size (at most 28 px), for data like ``profile``."""
    defaults = TrainConfig()
    seen = f"{profile.width}x{profile.height}"
    size = ARTICLE_MAX_SIZE
    if profile.sampled:
        size = max(8, min(profile.short_side, ARTICLE_MAX_SIZE))
    color = profile.sampled > 0 and profile.color
    kind = "small colour images" if color else "small grayscale images"
    seen_text = f", typically {seen}" if profile.sampled else ""
    return Advice(
        preset=DEFAULT_PRESET,
        spec=InputSpec(size, color),
        epochs=defaults.epochs,
        batch_size=defaults.batch_size,
        patience=defaults.patience,
        reason=f"{kind.capitalize()}{seen_text}: the article's CNN at {size} px "
        f"{'in colour' if color else 'in grayscale'}.",
    )


def _pretrained(reason: str, preset: str = PRETRAINED_PRESET) -> Advice:
    """A pretrained preset with its own input (the centre square at its size, in colour)
    and the settings for training its head."""
    return Advice(
        preset=preset,
        spec=InputSpec(PRETRAINED_SIZE, color=True, crop=True),
        epochs=60,
        batch_size=32,
        patience=8,
        reason=reason,
    )


def for_preset(advice: Advice, preset: str) -> Advice:
    """``advice`` for a user who chose ``preset``: a preset brings its own input, so choosing
    the pretrained one on small images gives its 224 px colour input (not the 28 px chosen for
    the article's CNN), and the article's CNN on photos gets at most 28 px. Sizes, colour and
    crop the user gives still override this (:meth:`core.session.Session.load_dataset`)."""
    if preset == advice.preset:
        return advice
    if is_pretrained(preset):
        return _pretrained(
            f"{preset}, as asked: the centre square at {PRETRAINED_SIZE} px in colour, the "
            "input its network was pretrained on; only its head is trained.",
            preset,
        )
    spec = advice.spec
    if preset in ARTICLE_PRESETS and spec.size > ARTICLE_MAX_SIZE:
        spec = InputSpec(ARTICLE_MAX_SIZE, spec.color, spec.crop)
    defaults = TrainConfig()
    return Advice(
        preset=preset,
        spec=spec,
        epochs=defaults.epochs,
        batch_size=defaults.batch_size,
        patience=defaults.patience,
        reason=f"{preset}, as asked, at {spec.size} px "
        f"{'in colour' if spec.color else 'in grayscale'}.",
    )


#: Training epochs for the demo (augmented: the shapes come at any angle and size).
DEMO_EPOCHS = 15


def demo_advice() -> Advice:
    """The settings the demo is trained with unless the user changes them."""
    return Advice(
        preset=DEFAULT_PRESET,
        spec=InputSpec(28, color=False),
        epochs=DEMO_EPOCHS,
        batch_size=TrainConfig().batch_size,
        patience=TrainConfig().patience,
        reason="The demo's shapes: the article's CNN at 28 px in grayscale, with augmentation "
        "(random turns, flips and zoom), since a shape may be drawn at any angle and size.",
        augment=True,
    )
