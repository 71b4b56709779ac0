"""The shapes of the weight arrays each architecture preset has, worked out without Keras.

A model file names its architecture (preset, input size and colour, number of classes) and
lists its weight arrays. Before any array is unpacked, :mod:`core.modelfile.bundle` compares that
list with what the named network really holds, so a file whose ``meta.json`` declares a 1 GB array
where the network has a 1,600 x 128 one is refused from its metadata alone, instead of after the
gigabyte has been unpacked. This module is that description: the arrays of every network
:func:`core.nets.models.build_model` makes, in the order of ``model.get_weights()``, in plain Python
(a test checks it against the real Keras models for every preset).

Needs only the standard library (and the preset names), like :mod:`core.modelfile.bundle`.
"""

from __future__ import annotations

import math

from core.nets.presets import (
    PRESET_NAMES,
    PRETRAINED_PRESET,
    is_pretrained,
    pretrained_input_problem,
)

Shape = tuple[int, ...]

#: Units of the dense layer of the article's CNN (all three article presets).
ARTICLE_DENSE = 128
#: Filters of both convolutions of the article's CNN.
ARTICLE_FILTERS = 64
#: The article's CNN at 28 px flattens an 11x11 grid; ``article-pooled`` pools larger inputs down
#: to at most this, so its dense layer stays the size that trains well.
ARTICLE_GRID = 11
#: Filters of the three blocks of two convolutions of ``deeper-bn``.
DEEPER_FILTERS = (32, 64, 128)
#: Width multiplier of the pretrained MobileNetV2 backbone.
MOBILENET_ALPHA = 0.35
#: MobileNetV2's inverted-residual stages as ``keras.applications.MobileNetV2`` builds them:
#: (expansion factor, output filters before the width multiplier, blocks). Strides change
#: no weight's shape and are left out.
MOBILENET_STAGES = (
    (1, 16, 1),
    (6, 24, 2),
    (6, 32, 3),
    (6, 64, 4),
    (6, 96, 3),
    (6, 160, 3),
    (6, 320, 1),
)
#: Channels of MobileNetV2's last 1x1 convolution (1280 for every width multiplier up to 1).
MOBILENET_FEATURES = 1280
#: EfficientNet-B0's stages, as Lite0 keeps them: (kernel, stride of the first block, expansion,
#: output channels, blocks); :mod:`core.nets.efficientnet_lite` builds from this table.
LITE0_STAGES = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
#: Channels of Lite0's stem convolution and of its head (Lite keeps both fixed).
LITE0_STEM = 32
LITE0_FEATURES = 1280


def extra_pooling(size: int) -> int:
    """The pool size ``article-pooled`` adds after its second convolution at input ``size``
    (1: none, as at 28 px, where it is the article's CNN); :mod:`core.nets.models` builds with
    it."""
    grid = ((size - 2) // 2) - 2  # after conv1 (valid), pool1 and conv2 (valid)
    return max(1, math.ceil(grid / ARTICLE_GRID))


def expected_weight_shapes(preset: str, size: int, color: bool, num_classes: int) -> list[Shape]:
    """The shapes of ``model.get_weights()`` for the network of ``preset`` taking ``size`` px
    inputs (colour or grey) and telling ``num_classes`` classes apart, in that order.

    Augmentation layers hold no weights, so the flag does not matter. Raises
    :class:`ValueError` for a network that cannot be built (unknown preset, fewer than two
    classes, inputs too small for the preset, grey inputs for the pretrained preset).
    """
    if preset not in PRESET_NAMES:
        raise ValueError(f"unknown architecture preset {preset!r}")
    if num_classes < 2:
        raise ValueError("a classifier needs at least two classes")
    channels = 3 if color else 1
    if is_pretrained(preset):
        problem = pretrained_input_problem(size, color)
        if problem:
            raise ValueError(problem)
        lite = preset == PRETRAINED_PRESET
        shapes = lite0_shapes(channels) if lite else mobilenet_v2_shapes(channels)
        features = LITE0_FEATURES if lite else MOBILENET_FEATURES
    elif preset == "deeper-bn":
        shapes = _deeper_shapes(channels)
        features = DEEPER_FILTERS[-1]
    else:
        shapes = _article_shapes(size, channels, pooled=preset == "article-pooled")
        features = ARTICLE_DENSE
    return [*shapes, (features, num_classes), (num_classes,)]


def _article_shapes(size: int, channels: int, pooled: bool) -> list[Shape]:
    """Two valid 3x3 convolutions with a 2x2 max-pooling between them (and, when ``pooled``,
    :func:`extra_pooling` after them), flattened into a dense layer."""
    grid = ((size - 2) // 2) - 2
    if pooled:
        grid //= extra_pooling(size)
    if grid < 1:
        raise ValueError(f"{size} px inputs are too small for the article's CNN")
    filters = ARTICLE_FILTERS
    return [
        (3, 3, channels, filters),
        (filters,),
        (3, 3, filters, filters),
        (filters,),
        (grid * grid * filters, ARTICLE_DENSE),
        (ARTICLE_DENSE,),
    ]


def _batch_norm(channels: int) -> list[Shape]:
    """Gamma, beta, moving mean and moving variance of a batch normalisation layer."""
    return [(channels,)] * 4


def _deeper_shapes(channels: int) -> list[Shape]:
    """Three blocks of two bias-free 3x3 convolutions, each followed by batch normalisation
    (pooling and the global average hold no weights)."""
    shapes: list[Shape] = []
    incoming = channels
    for filters in DEEPER_FILTERS:
        for _ in range(2):
            shapes += [(3, 3, incoming, filters), *_batch_norm(filters)]
            incoming = filters
    return shapes


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to a multiple of ``divisor`` but never more than 10 % below it: how
    MobileNetV2 (``keras.applications.mobilenet_v2._make_divisible``) sizes its layers."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def mobilenet_v2_shapes(channels: int = 3) -> list[Shape]:
    """The weight shapes of the backbone, ``keras.applications.MobileNetV2(alpha=0.35,
    include_top=False)``, on ``channels``-channel inputs; its spatial size changes none."""
    alpha = MOBILENET_ALPHA
    first = make_divisible(32 * alpha)
    shapes: list[Shape] = [(3, 3, channels, first), *_batch_norm(first)]
    incoming = first
    block = 0
    for expansion, filters, blocks in MOBILENET_STAGES:
        outgoing = make_divisible(int(filters * alpha))
        for _ in range(blocks):
            hidden = incoming
            if block:  # every block but the first widens its input with a 1x1 convolution
                hidden = expansion * incoming
                shapes += [(1, 1, incoming, hidden), *_batch_norm(hidden)]
            shapes += [(3, 3, hidden, 1), *_batch_norm(hidden)]  # depthwise 3x3
            shapes += [(1, 1, hidden, outgoing), *_batch_norm(outgoing)]  # projection
            incoming = outgoing
            block += 1
    last = MOBILENET_FEATURES
    return [*shapes, (1, 1, incoming, last), *_batch_norm(last)]


def lite0_shapes(channels: int = 3) -> list[Shape]:
    """The weight shapes of EfficientNet-Lite0 without its classifier
    (:func:`core.nets.efficientnet_lite.build_efficientnet_lite0`) on ``channels``-channel
    inputs: bias-free convolutions, each followed by batch normalisation."""
    shapes: list[Shape] = [(3, 3, channels, LITE0_STEM), *_batch_norm(LITE0_STEM)]
    incoming = LITE0_STEM
    for kernel, _, expansion, outgoing, blocks in LITE0_STAGES:
        for _ in range(blocks):
            hidden = incoming * expansion
            if expansion != 1:
                shapes += [(1, 1, incoming, hidden), *_batch_norm(hidden)]
            shapes += [(kernel, kernel, hidden, 1), *_batch_norm(hidden)]  # depthwise
            shapes += [(1, 1, hidden, outgoing), *_batch_norm(outgoing)]  # projection
            incoming = outgoing
    return [*shapes, (1, 1, incoming, LITE0_FEATURES), *_batch_norm(LITE0_FEATURES)]
