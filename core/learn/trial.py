"""Choosing the network by measuring: where a folder's kind is not obvious from its image
headers (:attr:`core.learn.advice.DataProfile.unclear`: colour images under 96 px, grayscale
photos, a mix of sizes), both candidates are tried on a sample of the folder itself before
anything is trained, and the better one is chosen.

The candidates: the pretrained photos network (EfficientNet-Lite0), whose head is fitted on the
sample's backbone features (cached by content like the training features, so training
afterwards reuses them), and the article's CNN trained for a few epochs on the same images at
its own input. Both are scored on the same stratified fifth of the sample. A folder tried once
is not tried again: the result is cached by the sample's content. The measured figures are
what the app and ``cnn-studio train``/``inspect`` say ("tried on 600 images: pretrained photos
network 74 %, the article's CNN 47 % → pretrained").

Runs on the thread that loads the dataset (the engine's worker thread in the app); Keras work
stays on that one thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.data.cache import cache_root
from core.data.decoding import decode_one
from core.data.images import InputSpec
from core.data.scan import DatasetIndex
from core.learn.advice import (
    PHOTO_SIDE,
    Advice,
    DataProfile,
    photo_advice,
    small_image_advice,
)
from core.learn.features import FeatureCache
from core.progress import CancelToken, ProgressCallback, no_progress

#: At most this many images are tried (spread over the classes and over each class).
TRIAL_IMAGES = 600
#: Epochs the article's CNN gets on the sample (it reaches most of what it will on a sample
#: this size in them; the head gets up to HEAD_EPOCHS with early stopping).
ARTICLE_EPOCHS = 8
HEAD_EPOCHS = 60
#: Every this-many-th image of a class (in the sample) is held out for scoring.
HOLD_OUT_EVERY = 5
#: Bumped when what a trial does changes, so older cached results are not reused.
TRIAL_VERSION = 1


@dataclass(frozen=True)
class TrialResult:
    """What was tried and what each candidate scored on the held-out part of the sample."""

    images: int  # how many images were tried (training and held-out together)
    pretrained: float  # held-out accuracy of the pretrained photos network's head
    article: float  # held-out accuracy of the article's CNN after ARTICLE_EPOCHS epochs

    @property
    def pretrained_wins(self) -> bool:
        """The better one wins; on a tie the article's CNN, smaller and faster."""
        return self.pretrained > self.article

    def words(self) -> str:
        """'tried on 600 images: pretrained photos network 74 %, the article's CNN 47 %
        → pretrained'."""
        chosen = "pretrained" if self.pretrained_wins else "the article's CNN"
        return (
            f"tried on {self.images} images: pretrained photos network "
            f"{self.pretrained:.0%}, the article's CNN {self.article:.0%} → {chosen}"
        ).replace("%", " %")


def choose_by_trial(
    index: DatasetIndex,
    profile: DataProfile,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    use_cache: bool = True,
) -> tuple[Advice, TrialResult | None]:
    """The advice for ``index``'s folder, measured where ``profile`` is unclear: the better
    candidate's advice, its reason saying what was tried. Where the folder's kind is clear,
    or too few images could be read to try anything, the rule's advice and None. Raises
    :class:`core.errors.Cancelled` when ``cancel`` is set."""
    photo, small = photo_advice(profile), small_image_advice(profile)
    rule = photo if profile.sampled and profile.short_side >= PHOTO_SIDE else small
    if not profile.unclear:
        return rule, None
    result = try_candidates(index, photo.spec, small.spec, progress, cancel, use_cache)
    if result is None:
        return rule, None
    chosen = photo if result.pretrained_wins else small
    said = result.words()
    return dataclasses.replace(chosen, reason=said[0].upper() + said[1:] + "."), result


def _sample(index: DatasetIndex, limit: int) -> list[tuple[int, str]]:
    """(label, relpath) of up to ``limit`` files, the same share of each class, spread
    evenly over each class's files."""
    per_class = max(HOLD_OUT_EVERY, limit // max(1, len(index.classes)))
    chosen = []
    for label, folder in enumerate(index.classes):
        files = folder.files
        step = max(1, len(files) / per_class)
        picks = sorted({int(i * step) for i in range(min(per_class, len(files)))})
        chosen += [(label, files[i].relpath) for i in picks]
    return chosen


def _decode(
    index: DatasetIndex,
    sample: list[tuple[int, str]],
    specs: tuple[InputSpec, InputSpec],
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[str], list[int]]:
    """The sample's pixels at both inputs, their content hashes at the first, and labels;
    unreadable files are left out (the scan already lists them)."""
    big, small, hashes, labels = [], [], [], []
    root = str(index.root)
    for done, (label, relpath) in enumerate(sample):
        if cancel is not None:
            cancel.raise_if_cancelled()
        pixels, _, digest, _ = decode_one(root, relpath, specs[0])
        other = decode_one(root, relpath, specs[1])[0]
        if pixels is not None and other is not None:
            big.append(pixels)
            small.append(other)
            hashes.append(digest)
            labels.append(label)
        if done % 25 == 0:
            progress(0.3 * done / len(sample), f"Trying the networks: reading {len(sample)} images")
    return big, small, hashes, labels


def try_candidates(
    index: DatasetIndex,
    photo_spec: InputSpec,
    small_spec: InputSpec,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    use_cache: bool = True,
) -> TrialResult | None:
    """Train both candidates on a sample of ``index``'s folder and score them on its held-out
    fifth: the pretrained head at ``photo_spec``, the article's CNN at ``small_spec``. None
    when fewer than two classes have images to hold out."""
    sample = _sample(index, TRIAL_IMAGES)
    big, small, hashes, labels = _decode(index, sample, (photo_spec, small_spec), progress, cancel)
    y = np.asarray(labels, np.int64)
    held = _held_out(y)
    classes = len(index.classes)
    if len(set(y[held].tolist())) < 2 or held.all() or not held.any():
        return None
    key = _key(hashes, labels, photo_spec, small_spec)
    known = _read_cached(key) if use_cache else None
    if known is not None:
        progress(1.0, known.words())
        return known
    x_big, x_small = np.stack(big), np.stack(small)
    del big, small
    pretrained = _score_pretrained(x_big, y, held, hashes, classes, photo_spec, progress, cancel)
    del x_big
    progress(0.8, "Trying the networks: the article's CNN")
    article = _score_article(x_small, y, held, classes, small_spec, cancel)
    result = TrialResult(len(y), pretrained, article)
    if use_cache:
        _write_cached(key, result)
    progress(1.0, result.words())
    return result


def _held_out(labels: np.ndarray) -> np.ndarray:
    """Every :data:`HOLD_OUT_EVERY`-th image of each class (a stratified fifth)."""
    held = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        held[where[HOLD_OUT_EVERY - 1 :: HOLD_OUT_EVERY]] = True
    return held


def _cancel_check(cancel: CancelToken | None) -> object:
    """A Keras callback that ends a fit after the batch in which ``cancel`` was set."""
    from core.nets.runtime import keras

    class CancelCheck(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if cancel is not None and cancel.cancelled:
                self.model.stop_training = True

    return CancelCheck()


def _fit_and_score(
    model: object,
    x: np.ndarray,
    y: np.ndarray,
    held: np.ndarray,
    epochs: int,
    cancel: CancelToken | None,
    patience: int | None = None,
) -> float:
    """Fit ``model`` on the kept part, score it on the held-out part: its best held-out
    accuracy over the epochs (the same measure for both candidates)."""
    from core.nets.runtime import keras

    model.compile(  # type: ignore[attr-defined]
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    callbacks: list[object] = [_cancel_check(cancel)]
    if patience:
        callbacks.append(
            keras.callbacks.EarlyStopping("val_accuracy", patience=patience, mode="max")
        )
    history = model.fit(  # type: ignore[attr-defined]
        x[~held],
        y[~held],
        validation_data=(x[held], y[held]),
        epochs=epochs,
        batch_size=32,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    if cancel is not None:
        cancel.raise_if_cancelled()
    return float(max(history.history["val_accuracy"]))


def _score_pretrained(
    x: np.ndarray,
    y: np.ndarray,
    held: np.ndarray,
    hashes: list[str],
    classes: int,
    spec: InputSpec,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> float:
    from core.nets.models import ModelSpec, build_model, extract_features, feature_extractor
    from core.nets.models import head_model as head_of
    from core.nets.presets import PRETRAINED_PRESET
    from core.nets.runtime import keras

    keras.utils.set_random_seed(0)
    model_spec = ModelSpec(PRETRAINED_PRESET, spec, classes)
    model = build_model(model_spec, pretrained=True)
    extractor = feature_extractor(model)
    total = len(x)

    def compute(rows: np.ndarray) -> np.ndarray:
        parts = []
        for start in range(0, len(rows), 32):
            if cancel is not None:
                cancel.raise_if_cancelled()
            parts.append(extract_features(extractor, x[rows[start : start + 32]]))
            progress(
                0.3 + 0.5 * (start + 32) / max(1, len(rows)),
                f"Trying the networks: the pretrained photos network on {total} images",
            )
        return np.concatenate(parts) if parts else np.zeros((0, 1280), np.float32)

    cache = FeatureCache(str(model_spec.backbone_id), spec.size)
    features = cache.features(hashes, compute)
    return _fit_and_score(head_of(model), features, y, held, HEAD_EPOCHS, cancel, patience=8)


def _score_article(
    x: np.ndarray,
    y: np.ndarray,
    held: np.ndarray,
    classes: int,
    spec: InputSpec,
    cancel: CancelToken | None,
) -> float:
    from core.nets.models import ModelSpec, build_model
    from core.nets.presets import DEFAULT_PRESET
    from core.nets.runtime import keras

    keras.utils.set_random_seed(0)
    model = build_model(ModelSpec(DEFAULT_PRESET, spec, classes))
    return _fit_and_score(model, x.astype(np.float32), y, held, ARTICLE_EPOCHS, cancel)


def _key(hashes: list[str], labels: list[int], *specs: InputSpec) -> str:
    digest = hashlib.sha1(f"trial {TRIAL_VERSION} {specs}".encode())
    for content, label in zip(hashes, labels, strict=True):
        digest.update(f"{content}:{label};".encode())
    return digest.hexdigest()


def _cache_file(key: str) -> Path:
    return cache_root() / "trials" / f"{key}.json"


def _read_cached(key: str) -> TrialResult | None:
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        data = json.loads(_cache_file(key).read_text(encoding="utf-8"))
        result = TrialResult(int(data["images"]), float(data["pretrained"]), float(data["article"]))
        if result.images > 0 and 0 <= result.pretrained <= 1 and 0 <= result.article <= 1:
            return result
    return None


def _write_cached(key: str, result: TrialResult) -> None:
    target = _cache_file(key)
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target, durable=False) as tmp:
            tmp.write_text(json.dumps(dataclasses.asdict(result)), encoding="utf-8")
