"""Grad-CAM: where in an image the model found the evidence for its answer.

Grad-CAM (Selvaraju et al., 2017) weighs each channel of the last convolutional block's output
by how much the class score rises with it (the gradient, averaged over the image), sums the
weighted channels and keeps the positive part. The score is the class's logit (before the
softmax): a probability near 1 has a vanishing gradient, and its map would be empty.

Every preset ends in convolutions, then pooling/flattening and dense layers. The *last
convolutional block* is the last convolution with the batch normalisation and activation
layers right after it (``conv2`` in the article's CNN, ``relu32`` in ``deeper-bn``, the
backbone's ``out_relu`` in the pretrained preset, whose convolutions live inside the nested
``backbone`` model). The map is brought to the model's input size with each grid cell centred
on the pixel the layers centre it on (:func:`cell_geometry`), so a peak lands where the object
is, not a few pixels off.

Use it from one thread (the engine's worker thread in the GUI), as every Keras call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import CnnStudioError
from core.nets.runtime import keras, tf
from core.use.heatmap import normalise, resample

layers = keras.layers

#: Layers that look at neighbourhoods of pixels: the end of the last one is explained.
CONVOLUTIONS = (layers.Conv2D, layers.DepthwiseConv2D, layers.SeparableConv2D)
#: Pixel-wise layers that belong to the convolution before them (its block).
BLOCK_TAIL = (layers.BatchNormalization, layers.ReLU, layers.Activation, layers.LeakyReLU)


@dataclass(frozen=True)
class _Plan:
    """A model cut at its last convolutional block.

    ``features`` maps pixels to the block's output (N, rows, columns, channels); ``head`` are
    the layers from there to the class layer's input, one after another; ``classes`` is the
    final Dense layer; ``geometry`` is :func:`cell_geometry` of the layers up to the cut.
    """

    features: Callable[..., tf.Tensor]
    head: list[keras.layers.Layer]
    classes: keras.layers.Dense
    geometry: tuple[float, float] | None


def _inner(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers of a nested model (its input layer left out); [] for an ordinary layer."""
    if not isinstance(layer, keras.Model):
        return []
    return [sub for sub in layer.layers if not isinstance(sub, layers.InputLayer)]


def _block_end(stack: Sequence[keras.layers.Layer]) -> int | None:
    """Index in ``stack`` of the last layer of its last convolutional block, or None."""
    last = None
    for i, layer in enumerate(stack):
        if isinstance(layer, CONVOLUTIONS):
            last = i
    if last is None:
        return None
    while last + 1 < len(stack) and isinstance(stack[last + 1], BLOCK_TAIL):
        last += 1
    return last


def _chain(stack: Sequence[keras.layers.Layer]) -> Callable[..., tf.Tensor]:
    """Call ``stack``'s layers one after another, in inference mode."""

    def run(x: tf.Tensor, training: bool = False) -> tf.Tensor:
        for layer in stack:
            x = layer(x, training=training)
        return x

    return run


def _plan(model: keras.Model) -> _Plan:
    """Cut ``model`` at its last convolutional block (see the module docstring)."""
    top = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    classes = top[-1] if top else None
    if not isinstance(classes, layers.Dense):
        raise CnnStudioError(f"cannot explain {model.name}: it does not end in a dense layer")
    size = int(model.input_shape[1])
    for b in range(len(top) - 1, -1, -1):
        end = _block_end(_inner(top[b]))
        if end is not None:  # the last convolutions are inside this nested model
            return _nested_plan(top, b, end, classes, size)
        if isinstance(top[b], CONVOLUTIONS):
            end = _block_end(top)
            assert end is not None
            cut = keras.Model(model.inputs, top[end].output, name=f"{model.name}_cut")
            return _Plan(cut, top[end + 1 : -1], classes, cell_geometry(top[: end + 1], size))
    raise CnnStudioError(f"cannot explain {model.name}: it has no convolutional layer")


def _nested_plan(
    top: list[keras.layers.Layer], b: int, end: int, classes: keras.layers.Dense, size: int
) -> _Plan:
    """The cut of a model whose last convolutional block ends at layer ``end`` of the model
    nested at ``top[b]`` (the pretrained preset's backbone): the layers before the nested
    model, then the nested model up to the block (its own graph: residual connections and
    all), then the rest of it and of the outer model as the head."""
    nested = top[b]
    inner = _inner(nested)
    cut = keras.Model(nested.inputs, inner[end].output, name=f"{nested.name}_cut")
    before = _chain(top[:b])

    def features(x: tf.Tensor, training: bool = False) -> tf.Tensor:
        return cut(before(x, training=training), training=training)

    head = inner[end + 1 :] + top[b + 1 : -1]
    return _Plan(features, head, classes, cell_geometry([*top[:b], *inner[: end + 1]], size))


def _pairs(value: object) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    first, second = value  # type: ignore[misc]
    return int(first), int(second)


def _window(layer: keras.layers.Layer) -> tuple[int, int, int | str] | None:
    """(kernel, stride, padding) along the rows of a layer that moves a window over the
    image; padding is "same", "valid" or a number of pixels added at the top. None for a
    layer that does not (or one this module cannot follow)."""
    config = layer.get_config()
    if isinstance(layer, CONVOLUTIONS):
        if _pairs(config.get("dilation_rate", 1))[0] != 1:
            return None
        return _pairs(config["kernel_size"])[0], _pairs(config["strides"])[0], config["padding"]
    if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
        pool = _pairs(config["pool_size"])[0]
        stride = _pairs(config["strides"] or config["pool_size"])[0]
        return pool, stride, config["padding"]
    if isinstance(layer, layers.ZeroPadding2D):
        padding = config["padding"]
        return 1, 1, int(padding[0][0] if isinstance(padding[0], (list, tuple)) else padding[0])
    return None


def cell_geometry(stack: Sequence[keras.layers.Layer], size: int) -> tuple[float, float] | None:
    """Where the output cells of ``stack`` sit on a ``size`` px input: ``(scale, offset)`` such
    that the receptive field of cell ``j`` (along rows or columns) is centred on input pixel
    ``scale * j + offset``.

    Follows convolutions, pooling and zero padding (TensorFlow's "same" padding puts the odd
    pixel at the bottom/right); pixel-wise layers leave the geometry as it is. Every step is
    checked against the layer's real output size, so a layer it cannot follow gives None (the
    caller then spreads the cells evenly over the image).
    """
    scale, offset, current = 1.0, 0.0, size
    for layer in stack:
        shape = tuple(layer.output.shape)
        if len(shape) != 4:
            return None
        window = _window(layer)
        if window is None:
            if shape[1] != current:
                return None  # changes the size in a way not followed here
            continue
        kernel, stride, padding = window
        if padding == "same":
            out = math.ceil(current / stride)
            before = max((out - 1) * stride + kernel - current, 0) // 2
        elif padding == "valid":
            out = (current - kernel) // stride + 1
            before = 0
        else:  # ZeroPadding2D: ``padding`` pixels at the top, its output size as it says
            out, before = shape[1], int(padding)
        if out != shape[1]:
            return None
        offset += scale * ((kernel - 1) / 2 - before)
        scale *= stride
        current = out
    return scale, offset


class Explainer:
    """Grad-CAM maps (and the class probabilities) for a model, compiled once.

    Works with every preset, trained just now or loaded from a model file. The computation is
    a TensorFlow function traced once for the model's input shape.
    """

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.size = int(model.input_shape[1])
        self.shape = tuple(int(d) for d in model.input_shape[1:])
        self._plan = _plan(model)
        signature = [
            tf.TensorSpec([None, *self.shape], tf.float32),
            tf.TensorSpec([None], tf.int32),
        ]
        self._run = tf.function(self._grad_cam, input_signature=signature)

    def _grad_cam(self, pixels: tf.Tensor, wanted: tf.Tensor) -> tuple[tf.Tensor, ...]:
        plan = self._plan
        with tf.GradientTape() as tape:
            activations = tf.cast(plan.features(pixels, training=False), tf.float32)
            tape.watch(activations)
            x = activations
            for layer in plan.head:
                x = layer(x, training=False)
            kernel = tf.cast(plan.classes.kernel, tf.float32)
            logits = tf.matmul(tf.cast(x, tf.float32), kernel)
            if plan.classes.use_bias:
                logits += tf.cast(plan.classes.bias, tf.float32)
            top = tf.argmax(logits, axis=-1, output_type=tf.int32)
            chosen = tf.where(wanted >= 0, wanted, top)
            score = tf.reduce_sum(tf.gather(logits, chosen, batch_dims=1))
        gradients = tape.gradient(score, activations)
        weights = tf.reduce_mean(gradients, axis=[1, 2])  # (N, channels)
        cam = tf.nn.relu(tf.einsum("nhwc,nc->nhw", activations, weights))
        return cam, tf.nn.softmax(logits), chosen

    def explain(
        self, batch: np.ndarray, class_index: int | Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grad-CAM for a uint8 batch of shape (N, *input shape).

        ``class_index`` picks the class each map explains: one index for all images, one per
        image, or None for each image's top answer. Returns ``(maps, probabilities, classes)``:
        maps (N, size, size) float32 in 0..1 at the input size, the class probabilities
        (N, classes) and the class each map explains (N,).
        """
        batch = np.asarray(batch)
        if batch.shape[1:] != self.shape:
            raise ValueError(f"expected images of shape {self.shape}, got {batch.shape[1:]}")
        count = len(batch)
        if class_index is None:
            wanted = np.full(count, -1, np.int32)
        else:
            wanted = np.broadcast_to(np.asarray(class_index, np.int32), (count,)).copy()
            classes = int(self._plan.classes.units)
            if ((wanted < 0) | (wanted >= classes)).any():
                raise ValueError(f"class index out of range 0..{classes - 1}: {class_index}")
        if count == 0:
            empty = np.zeros((0, self.size, self.size), np.float32)
            return empty, np.zeros((0, int(self._plan.classes.units)), np.float32), wanted
        cam, probs, chosen = self._run(tf.constant(batch, tf.float32), tf.constant(wanted))
        grid = normalise(cam.numpy())
        geometry = self._plan.geometry
        if geometry is None:
            maps = resample(grid, self.size)
        else:
            maps = resample(grid, self.size, *geometry)
        # Again after resampling: pixels rarely sit on a cell centre, so the top is below 1.
        return normalise(maps), probs.numpy(), chosen.numpy()


def grad_cam(
    model: keras.Model, batch_uint8: np.ndarray, class_index: int | Sequence[int] | None = None
) -> np.ndarray:
    """Grad-CAM maps of ``model`` for a uint8 batch: (N, size, size) float32 in 0..1 at the
    model's input size. ``class_index``: see :meth:`Explainer.explain`. Builds (and traces) an
    :class:`Explainer` each call; keep one to explain many batches."""
    return Explainer(model).explain(batch_uint8, class_index)[0]


__all__ = ["Explainer", "cell_geometry", "grad_cam"]
