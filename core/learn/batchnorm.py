"""Batch-normalisation statistics that match the trained weights, however short the run.

Why: a batch-norm layer normalises with the statistics of each batch while training, but with
its *moving* mean and variance when classifying. Keras moves those by 1 % a step (momentum
0.99) from a start of mean 0, variance 1. On a small dataset (400 photos: three steps an
epoch) a whole run is a few dozen steps, so the moving statistics stay mostly the starting
values: measured on the clothing photos after 60 steps, the first layer's moving variance was
0.53 where its inputs' real variance was 0.016. Classifying then sees wildly mis-scaled
activations and answers one class for every image (the ``deeper-bn`` preset at chance).

The fix is to measure the statistics instead of waiting for them: run a sample of training
images through the network in training mode, averaging each layer's batch statistics exactly
(:func:`recalibrate`). :class:`Recalibration` does it before every validation, so validation
loss, early stopping and the kept weights all see the statistics classifying will use.

Only the model's own top-level batch-norm layers are measured; a frozen pretrained backbone
keeps its ImageNet statistics. Runs on the training thread.
"""

from __future__ import annotations

import numpy as np

from core.nets.runtime import keras, tf

#: Training images whose statistics are measured (a sample, so large datasets stay cheap).
SAMPLE = 512
#: Pixels per measuring batch (bounds memory at large input sizes).
BATCH_PIXELS = 2**22


def batchnorm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """The model's own batch-norm layers (not those inside a nested backbone)."""
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def recalibrate(model: keras.Model, images: np.ndarray, seed: int = 0) -> None:
    """Set every own batch-norm layer's moving statistics to the average of its batch
    statistics over a sample of ``images`` (uint8-range model inputs)."""
    layers = batchnorm_layers(model)
    if not layers or not len(images):
        return
    rng = np.random.default_rng(seed)
    sample = images[np.sort(rng.permutation(len(images))[:SAMPLE])]
    pixels = int(np.prod(sample.shape[1:3]))
    batch = int(max(1, min(64, BATCH_PIXELS // max(pixels, 1))))
    momenta = [layer.momentum for layer in layers]
    try:
        for k, start in enumerate(range(0, len(sample), batch)):
            for layer in layers:  # a running average: batch k weighs 1 / (k + 1)
                layer.momentum = k / (k + 1)
            model(tf.constant(sample[start : start + batch], tf.float32), training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum


class Recalibration(keras.callbacks.Callback):
    """Recalibrates ``network``'s batch-norm statistics before each validation pass (so the
    validation loss, early stopping and restored weights use classifying's statistics)."""

    def __init__(self, network: keras.Model, images: np.ndarray, seed: int) -> None:
        super().__init__()
        self.network = network
        self.images = images
        self.seed = seed

    def on_test_begin(self, logs: dict | None = None) -> None:
        recalibrate(self.network, self.images, self.seed)
