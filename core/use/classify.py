"""Building models from model files, and classifying images with them quickly.

:class:`Classifier` wraps a model in a compiled TensorFlow function with a fixed input
signature, so classifying one image costs well under a millisecond of overhead and memory does
not grow over thousands of calls (``model.predict`` in a loop does both badly). Every input goes
through :func:`core.data.images.to_model_input`, the function training used. Call it from one
thread (the engine's worker thread in the GUI).

Batches are bounded by bytes, not counts (:func:`batch_for`): the activations of a batch grow
with its pixels, and 256 photos of 224 px through a backbone took gigabytes. Many files are
classified as a stream (:meth:`Classifier.iter_classify_paths`), one batch at a time, so memory
does not grow with the number of files and callers can write or show results as they come.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.data.dataset import LoadedDataset
from core.data.images import InputSpec, to_model_input
from core.errors import ImageError, ModelFileError
from core.learn.optimizer import OptimizerState
from core.modelfile.bundle import ModelBundle, read_bundle
from core.nets.models import ModelSpec, build_model
from core.nets.runtime import keras, tf
from core.progress import CancelToken
from core.use.evaluate import Evaluation, evaluate_predictions, unseen_score
from core.use.predictions import Prediction

#: Bytes of float32 input one batch may hold: 20 MiB is 32 images of 224x224x3 (after rounding
#: down to a multiple of 8), whose activations through a photo backbone stay in the hundreds of
#: megabytes rather than the gigabytes 256 of them took.
BATCH_BYTES = 20 * 2**20
#: The most images in a batch, however small (28 px grayscale reaches it: as many as before).
MAX_BATCH = 512


def batch_for(spec: InputSpec, budget: int = BATCH_BYTES, most: int = MAX_BATCH) -> int:
    """How many images of ``spec`` to run through a network at once: as many as fit
    ``budget`` bytes as float32 input (a multiple of 8 from 8 on), at least 1, at most
    ``most``. Why bytes: memory of a batch grows with its pixels, not with its count."""
    per_image = 4 * spec.size * spec.size * spec.channels
    count = min(most, budget // per_image)
    return max(1, count - count % 8 if count >= 8 else count)


@dataclass
class ClassifiedBatch:
    """One step of a streaming classification (:meth:`Classifier.iter_classify_paths`): the
    predictions of one batch, in the order of their files, the files that could not be read
    since the previous step as ``(path, reason)``, and how many files this step handled."""

    predictions: list[Prediction] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def files(self) -> int:
        """Files handled by this step: classified or failed."""
        return len(self.predictions) + len(self.failures)


def gathered(
    steps: Iterable[ClassifiedBatch],
) -> tuple[list[Prediction], list[tuple[str, str]]]:
    """Every prediction and failure of a streaming classification, in one list each (for
    callers that want them all at once: the lists grow with the files)."""
    predictions: list[Prediction] = []
    failures: list[tuple[str, str]] = []
    for step in steps:
        predictions += step.predictions
        failures += step.failures
    return predictions, failures


def spec_of(bundle: ModelBundle) -> ModelSpec:
    return ModelSpec(bundle.preset, bundle.input, len(bundle.class_names), bundle.augment)


def model_from_bundle(bundle: ModelBundle) -> keras.Model:
    """Rebuild the (uncompiled) network from a bundle's metadata and load its weights."""
    model = build_model(spec_of(bundle))
    expected = [tuple(w.shape) for w in model.get_weights()]
    found = [tuple(w.shape) for w in bundle.weights]
    if expected != found:
        raise ModelFileError(
            "the weights do not fit the architecture named in the model file "
            f"({len(found)} arrays, {len(expected)} expected)"
        )
    model.set_weights(bundle.weights)
    return model


def optimizer_state_of(bundle: ModelBundle) -> OptimizerState | None:
    """The optimizer state saved in a bundle, for continuing its training (None if none)."""
    if not bundle.optimizer_name or not bundle.optimizer_weights:
        return None
    return OptimizerState(bundle.optimizer_name, tuple(bundle.optimizer_weights))


def evaluate_validation(
    model: keras.Model,
    dataset: LoadedDataset,
    val_paths: Sequence[str],
    train_paths: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Score ``model`` on the validation images of ``dataset`` (a plain dict, with mistakes).

    Empty when the run held out no validation images. With ``train_paths`` (the images the
    model was trained on), held-out images that are exact or near copies of them are scored
    apart too: ``"unseen"`` (:func:`core.use.evaluate.unseen_score`) then says how the others did,
    present only when there were such copies (a given test folder may hold them).
    """
    from core.use.by_features import dataset_probabilities

    if not val_paths:
        return {}
    rows = dataset_rows(dataset, val_paths)
    probs = dataset_probabilities(model, dataset, rows)
    return score_held_out(dataset, val_paths, probs, train_paths).to_dict(with_mistakes=True)


def dataset_rows(dataset: LoadedDataset, paths: Sequence[str]) -> np.ndarray:
    """The rows of ``dataset`` that hold the images at ``paths``, in their order."""
    index = {p: i for i, p in enumerate(dataset.paths)}
    return np.array([index[p] for p in paths], np.int64)


def score_held_out(
    dataset: LoadedDataset,
    paths: Sequence[str],
    probabilities: np.ndarray,
    train_paths: Sequence[str] | None,
) -> Evaluation:
    """The evaluation of ``probabilities`` for the held-out images at ``paths``; with
    ``train_paths``, images that are exact or near copies of those are scored apart too:
    ``unseen`` (:func:`core.use.evaluate.unseen_score`) then says how the others did, set only
    when there were such copies (a given validation or test folder may hold them)."""
    rows = dataset_rows(dataset, paths)
    labels = dataset.labels[rows]
    evaluation = evaluate_predictions(labels, probabilities, dataset.class_names, list(paths))
    if train_paths:
        exact, near = dataset.copies_of(rows, dataset_rows(dataset, train_paths))
        if exact.any() or near.any():
            evaluation.unseen = unseen_score(labels, probabilities, exact, near)
    return evaluation


class Classifier:
    """Classifies paths, PIL images or arrays with a trained model."""

    def __init__(self, model: keras.Model, class_names: Sequence[str], spec: InputSpec) -> None:
        self.model = model
        self.class_names = list(class_names)
        self.spec = spec
        signature = [tf.TensorSpec([None, *spec.shape], tf.float32)]
        self._forward = tf.function(lambda x: model(x, training=False), input_signature=signature)
        self._forward(tf.zeros([1, *spec.shape], tf.float32))  # trace once, up front

    @classmethod
    def from_file(cls, path: Path | str) -> Classifier:
        bundle = read_bundle(path)
        return cls(model_from_bundle(bundle), bundle.class_names, bundle.input)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities for a uint8 batch of shape (N, *spec.shape)."""
        if batch.shape[1:] != self.spec.shape:
            raise ValueError(f"expected images of shape {self.spec.shape}, got {batch.shape[1:]}")
        return self._forward(tf.constant(batch, tf.float32)).numpy()

    def probabilities_in_batches(
        self, images: np.ndarray, batch_size: int | None = None
    ) -> np.ndarray:
        """Class probabilities (N, classes) for many uint8 images, ``batch_size`` at a time
        (None: :func:`batch_for` the model's input).

        ``images`` may be any array-like with ``len()`` whose slices are arrays (rows read from
        disk on slicing): only ``images[i : i + batch]`` is ever taken, never the whole."""
        count = len(images)
        result = np.zeros((count, len(self.class_names)), np.float32)
        step = batch_size or batch_for(self.spec)
        for i in range(0, count, step):
            result[i : i + step] = self.probabilities(np.asarray(images[i : i + step]))
        return result

    def _rank(self, name: str, probs: np.ndarray, top_k: int | None) -> Prediction:
        order = np.argsort(-probs, kind="stable")[: top_k or len(probs)]
        return Prediction(name, [(self.class_names[i], float(probs[i])) for i in order])

    def classify(
        self, image: Path | str | bytes | Image.Image | np.ndarray, top_k: int | None = None
    ) -> Prediction:
        """Classify one image (path, file bytes, Pillow image or pixels); raises
        :class:`ImageError` for a file that is not one."""
        name = str(image) if isinstance(image, (str, Path)) else "<image>"
        pixels = to_model_input(image, self.spec)
        return self._rank(name, self.probabilities(pixels[None])[0], top_k)

    def classify_paths(
        self,
        paths: Iterable[Path | str],
        top_k: int | None = None,
        batch_size: int | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[list[Prediction], list[tuple[str, str]]]:
        """Classify many files in batches: (predictions, [(path, reason) for failures]).

        All at once: the lists grow with the files; :meth:`iter_classify_paths` streams them.
        ``cancel`` is checked before every file; a cancelled run raises
        :class:`~core.errors.Cancelled`.
        """
        return gathered(self.iter_classify_paths(paths, top_k, batch_size, cancel))

    def iter_classify_paths(
        self,
        paths: Iterable[Path | str],
        top_k: int | None = None,
        batch_size: int | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[ClassifiedBatch]:
        """Classify files as a stream: one :class:`ClassifiedBatch` per batch of
        ``batch_size`` decoded images (None: :func:`batch_for` the model's input), so only one
        batch of pixels is held at a time and ``paths`` (any iterable, even a lazy one) is read
        only as far as the batches need.

        Files that cannot be read come in the next step's ``failures`` (a step may hold only
        failures). ``cancel`` is checked before every file; a cancelled run raises
        :class:`~core.errors.Cancelled`. Runs on the caller's thread, the one running TensorFlow.
        """
        step = batch_size or batch_for(self.spec)
        names: list[str] = []
        pixels: list[np.ndarray] = []
        failures: list[tuple[str, str]] = []
        for path in paths:
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                pixels.append(to_model_input(Path(path), self.spec))
                names.append(str(path))
            except ImageError as exc:
                failures.append((str(path), exc.reason))
            if len(pixels) >= step or len(failures) >= step:
                yield self._classified(names, pixels, failures, top_k)
                names, pixels, failures = [], [], []
        if pixels or failures:
            yield self._classified(names, pixels, failures, top_k)

    def _classified(
        self,
        names: list[str],
        pixels: list[np.ndarray],
        failures: list[tuple[str, str]],
        top_k: int | None,
    ) -> ClassifiedBatch:
        """One step of :meth:`iter_classify_paths`: ``pixels`` (of the files ``names``) ranked."""
        if not pixels:
            return ClassifiedBatch([], failures)
        probs = self.probabilities(np.stack(pixels))
        ranked = [self._rank(n, row, top_k) for n, row in zip(names, probs, strict=True)]
        return ClassifiedBatch(ranked, failures)


__all__ = [
    "ClassifiedBatch",
    "Classifier",
    "Prediction",
    "batch_for",
    "evaluate_validation",
    "gathered",
    "model_from_bundle",
    "optimizer_state_of",
]
