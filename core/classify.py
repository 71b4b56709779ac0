"""Building models from model files, and classifying images with them quickly.

:class:`Classifier` wraps a model in a compiled TensorFlow function with a fixed input
signature, so classifying one image costs well under a millisecond of overhead and memory does
not grow over thousands of calls (``model.predict`` in a loop does both badly). Every input goes
through :func:`core.images.load_input` / :func:`core.images.preprocess`, the same functions
training used. Call it from one thread (the engine's worker thread in the GUI).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from core import __version__
from core.bundle import ModelBundle, read_bundle
from core.config import TrainConfig
from core.errors import ImageError, ModelFileError
from core.images import InputSpec, load_input, preprocess
from core.models import ModelSpec, build_model
from core.predictions import Prediction
from core.runtime import keras, tf, versions
from core.training import TrainingResult, compile_model


def spec_of(bundle: ModelBundle) -> ModelSpec:
    return ModelSpec(bundle.preset, bundle.input, len(bundle.class_names), bundle.augment)


def model_from_bundle(bundle: ModelBundle, with_optimizer: bool = False) -> keras.Model:
    """Rebuild the network from a bundle's metadata and load its weights.

    With ``with_optimizer``, also compile it and restore the optimizer state, so training can
    continue where it stopped.
    """
    model = build_model(spec_of(bundle))
    expected = [tuple(w.shape) for w in model.get_weights()]
    found = [tuple(w.shape) for w in bundle.weights]
    if expected != found:
        raise ModelFileError(
            "the weights do not fit the architecture named in the model file "
            f"({len(found)} arrays, {len(expected)} expected)"
        )
    model.set_weights(bundle.weights)
    if with_optimizer:
        config = bundle.training.get("config", {})
        known = {k: v for k, v in config.items() if k in TrainConfig.__annotations__}
        train_config = TrainConfig(**known)
        compile_model(model, train_config)  # the trainer replaces the schedule when it runs
        _restore_optimizer(model, bundle)
    return model


def _restore_optimizer(model: keras.Model, bundle: ModelBundle) -> None:
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    variables = optimizer.variables
    saved = bundle.optimizer_weights
    if len(saved) != len(variables) or any(
        tuple(v.shape) != s.shape for v, s in zip(variables, saved, strict=True)
    ):
        return  # state from another optimizer: start it fresh rather than fail
    for variable, value in zip(variables, saved, strict=True):
        variable.assign(value)


def bundle_from_result(
    result: TrainingResult, class_names: Sequence[str], metrics: dict | None = None
) -> ModelBundle:
    """Everything about a training run, as a :class:`ModelBundle` ready to save."""
    model = result.model
    optimizer = model.optimizer
    opt_name = None
    opt_weights: list[np.ndarray] = []
    if optimizer is not None and optimizer.built:
        opt_name = result.config.optimizer
        opt_weights = [np.asarray(v.numpy()) for v in optimizer.variables]
        opt_weights = [w.astype(np.float32) if w.dtype.kind == "f" else w for w in opt_weights]
    return ModelBundle(
        preset=result.spec.preset,
        input=result.spec.input,
        class_names=list(class_names),
        augment=result.spec.augment,
        weights=[np.asarray(w, dtype=np.float32) for w in model.get_weights()],
        training={
            "config": result.config.to_dict(),
            "history": result.history,
            "outcome": result.outcome,
            "epochs": result.epochs_done,
        },
        metrics=metrics or {},
        files={
            "hash": "sha1 of the preprocessed model input",
            "train": [list(p) for p in zip(result.train_paths, result.train_hashes, strict=True)],
            "val": [list(p) for p in zip(result.val_paths, result.val_hashes, strict=True)],
        },
        versions={"cnn-studio": __version__, **versions()},
        optimizer_name=opt_name,
        optimizer_weights=opt_weights,
    )


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

    def _rank(self, name: str, probs: np.ndarray, top_k: int | None) -> Prediction:
        order = np.argsort(-probs, kind="stable")[: top_k or len(probs)]
        return Prediction(name, [(self.class_names[i], float(probs[i])) for i in order])

    def classify(
        self, image: Path | str | Image.Image | np.ndarray, top_k: int | None = None
    ) -> Prediction:
        """Classify one image; raises :class:`ImageError` for a file that is not one."""
        if isinstance(image, (str, Path)):
            pixels, name = load_input(image, self.spec), str(image)
        else:
            pixels, name = preprocess(image, self.spec), "<image>"
        return self._rank(name, self.probabilities(pixels[None])[0], top_k)

    def classify_paths(
        self, paths: Iterable[Path | str], top_k: int | None = None, batch_size: int = 256
    ) -> tuple[list[Prediction], list[tuple[str, str]]]:
        """Classify many files in batches: (predictions, [(path, reason) for failures])."""
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
            try:
                pending.append((str(path), load_input(path, self.spec)))
            except ImageError as exc:
                failures.append((str(path), exc.reason))
            if len(pending) >= batch_size:
                flush()
        flush()
        return predictions, failures


__all__ = [
    "Classifier",
    "Prediction",
    "bundle_from_result",
    "model_from_bundle",
]
