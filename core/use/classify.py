"""Building models from model files, and classifying images with them quickly.

:class:`Classifier` wraps a model in a compiled TensorFlow function with a fixed input
signature, so classifying one image costs well under a millisecond of overhead and memory does
not grow over thousands of calls (``model.predict`` in a loop does both badly). Every input goes
through :func:`core.data.images.to_model_input`, the function training used. Call it from one
thread (the engine's worker thread in the GUI).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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

    def probabilities_in_batches(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Class probabilities for many uint8 images, ``batch_size`` at a time."""
        if not len(images):
            return np.zeros((0, len(self.class_names)), np.float32)
        return np.concatenate(
            [
                self.probabilities(images[i : i + batch_size])
                for i in range(0, len(images), batch_size)
            ]
        )

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
        batch_size: int = 256,
        cancel: CancelToken | None = None,
    ) -> tuple[list[Prediction], list[tuple[str, str]]]:
        """Classify many files in batches: (predictions, [(path, reason) for failures]).

        ``cancel`` is checked before every file; a cancelled run raises
        :class:`~core.errors.Cancelled`.
        """
        predictions: list[Prediction] = []
        failures: list[tuple[str, str]] = []
        pending: list[tuple[str, np.ndarray]] = []

        def flush() -> None:
            if pending:
                probs = self.probabilities(np.stack([p for _, p in pending]))
                predictions.extend(
                    self._rank(n, row, top_k) for (n, _), row in zip(pending, probs, strict=True)
                )
                pending.clear()

        for path in paths:
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                pending.append((str(path), to_model_input(Path(path), self.spec)))
            except ImageError as exc:
                failures.append((str(path), exc.reason))
            if len(pending) >= batch_size:
                flush()
        flush()
        return predictions, failures


__all__ = [
    "Classifier",
    "Prediction",
    "evaluate_validation",
    "model_from_bundle",
    "optimizer_state_of",
]
