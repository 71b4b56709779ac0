"""Network architectures: the article's CNN and a few presets, built in code from plain data.

A model is fully described by a :class:`ModelSpec` (preset name, input spec, class count,
augmentation flag). Model files store that spec, never code, and the network is rebuilt from it.
Every model takes raw 0..255 pixels and scales them with its first layer, so scaling happens
exactly once, inside the model, and exported models expect the same input as the app.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from core.assets import MOBILENET_V2_WEIGHTS, asset_path
from core.data.images import InputSpec
from core.errors import CnnStudioError
from core.nets.precision import KERAS_POLICY
from core.nets.presets import (
    BACKBONE_IDS,
    BACKBONE_WORDS_BY_PRESET,
    PRESETS,
    PRETRAINED_PRESET,
    is_pretrained,
    pretrained_input_problem,
)
from core.nets.runtime import keras, tf
from core.nets.weight_shapes import extra_pooling

layers = keras.layers


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a network: stored in model files as plain data."""

    preset: str
    input: InputSpec
    num_classes: int
    augment: bool = False

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose from {', '.join(PRESETS)}")
        if self.num_classes < 2:
            raise ValueError("a classifier needs at least two classes")
        problem = self.pretrained and pretrained_input_problem(self.input.size, self.input.color)
        if problem:
            raise ValueError(problem)

    @property
    def pretrained(self) -> bool:
        """True for a preset built on a shipped pretrained backbone."""
        return is_pretrained(self.preset)

    @property
    def backbone_id(self) -> str | None:
        """The pretrained backbone's id (model files and feature caches name it), or None."""
        return BACKBONE_IDS.get(self.preset)


def _augmentation(spec: ModelSpec) -> list[keras.layers.Layer]:
    if not spec.augment:
        return []
    return [
        layers.RandomFlip("horizontal", name="augment_flip"),
        layers.RandomRotation(0.05, fill_mode="nearest", name="augment_rotate"),
        layers.RandomZoom(0.1, fill_mode="nearest", name="augment_zoom"),
        layers.RandomContrast(0.1, name="augment_contrast"),
    ]


def _article_body(spec: ModelSpec, dropout: bool, pooled: bool) -> list[keras.layers.Layer]:
    body = [
        layers.Conv2D(64, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
    ]
    pool = extra_pooling(spec.input.size) if pooled else 1
    if pool > 1:
        body.append(layers.MaxPooling2D(pool, name="pool2"))
    body.append(layers.Flatten(name="flatten"))
    if dropout:
        body.append(layers.Dropout(0.25, name="dropout1"))
    body.append(layers.Dense(128, activation="relu", name="dense"))
    if dropout:
        body.append(layers.Dropout(0.5, name="dropout2"))
    return body


def _deeper_body(spec: ModelSpec) -> list[keras.layers.Layer]:
    body: list[keras.layers.Layer] = []
    for block, filters in enumerate((32, 64, 128), start=1):
        for k in (1, 2):
            body += [
                layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{block}{k}"),
                layers.BatchNormalization(name=f"bn{block}{k}"),
                layers.ReLU(name=f"relu{block}{k}"),
            ]
        body.append(layers.MaxPooling2D(2, name=f"pool{block}"))
    body += [layers.GlobalAveragePooling2D(name="gap"), layers.Dropout(0.3, name="dropout")]
    return body


def _backbone(spec: ModelSpec, pretrained: bool) -> keras.Model:
    """The preset's pretrained backbone, frozen, named ``backbone``: EfficientNet-Lite0 for
    ``photos``, MobileNetV2 α 0.35 for ``photos-pretrained``."""
    if spec.preset == PRETRAINED_PRESET:
        from core.nets.efficientnet_lite import build_efficientnet_lite0, pretrained_lite0

        make = pretrained_lite0 if pretrained else build_efficientnet_lite0
        backbone = make(spec.input.shape, name="backbone")
        backbone.trainable = False
        return backbone
    return _mobilenet_backbone(spec, pretrained)


def _backbone_scaling(spec: ModelSpec) -> keras.layers.Layer:
    """The backbone's own input scaling from raw 0..255 pixels, named ``scale``."""
    if spec.preset == PRETRAINED_PRESET:
        from core.nets.efficientnet_lite import lite0_scaling

        return lite0_scaling("scale")
    return layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")


def _mobilenet_backbone(spec: ModelSpec, pretrained: bool) -> keras.Model:
    """MobileNetV2 alpha 0.35 without its top, pooled; ImageNet weights from the shipped file.

    Never downloads: ``weights`` is the path of the file in ``assets/pretrained`` (or None when
    the weights come from a model file instead).
    """
    weights = None
    if pretrained:
        path = asset_path(MOBILENET_V2_WEIGHTS)
        if path is None:
            raise CnnStudioError(
                "the pretrained weights are missing from this installation "
                f"(assets/{MOBILENET_V2_WEIGHTS}); reinstall CNN Studio"
            )
        weights = str(path)
    backbone = keras.applications.MobileNetV2(
        input_shape=spec.input.shape,
        alpha=0.35,
        include_top=False,
        weights=weights,
        pooling="avg",
        name="backbone",
    )
    backbone.trainable = False
    return backbone


@contextlib.contextmanager
def _dtype_policy(precision: str) -> Iterator[None]:
    """Layers created in the block compute in ``precision`` (a :data:`core.nets.precision.RESOLVED`
    name); the global policy is restored afterwards. All Keras work runs on one thread."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(KERAS_POLICY[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_model(
    spec: ModelSpec, pretrained: bool = False, precision: str = "float32"
) -> keras.Model:
    """Build the (uncompiled) network for ``spec``; input is uint8-range float pixels.

    ``pretrained`` loads the shipped ImageNet weights into the pretrained preset's backbone
    (for a new model); without it the weights are expected from a model file. ``precision``
    (see :mod:`core.nets.precision`) sets what the layers compute in; the weights are float32 in
    every precision and the last layer (its softmax, and so the loss) always computes in
    float32, so the same weights fit a float32 build of the same spec.
    """
    with _dtype_policy(precision):
        return _build(spec, pretrained)


def _build(spec: ModelSpec, pretrained: bool) -> keras.Model:
    inputs = keras.Input(shape=spec.input.shape, name="pixels")
    if spec.pretrained:
        x = inputs
        for layer in _augmentation(spec):  # on raw 0..255 pixels, the range they assume
            x = layer(x)
        x = _backbone_scaling(spec)(x)  # the backbone's own
        x = _backbone(spec, pretrained)(x, training=False)  # batch norm stays in inference
        x = layers.Dropout(0.5, name="dropout")(x)  # measured better than 0.2 (see README)
    else:
        x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
        for layer in _augmentation(spec):
            x = layer(x)
        if spec.preset == "deeper-bn":
            body = _deeper_body(spec)
        else:
            dropout, pooled = spec.preset == "article-dropout", spec.preset == "article-pooled"
            body = _article_body(spec, dropout=dropout, pooled=pooled)
        for layer in body:
            x = layer(x)
    outputs = layers.Dense(spec.num_classes, activation="softmax", name="classes", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name=f"cnnstudio_{spec.preset.replace('-', '_')}")


def rebuilt(model: keras.Model, spec: ModelSpec, precision: str = "float32") -> keras.Model:
    """A new build of ``spec`` in ``precision`` holding ``model``'s weights: to train in another
    precision or under a strategy's scope, and to hand the app a float32 model afterwards."""
    copy = build_model(spec, precision=precision)
    copy.set_weights(model.get_weights())
    return copy


def feature_extractor(model: keras.Model) -> keras.Model:
    """The pretrained preset's pixels -> pooled backbone features (no augmentation, no head)."""
    inputs = keras.Input(shape=model.input_shape[1:], name="pixels")
    x = model.get_layer("scale")(inputs)
    x = model.get_layer("backbone")(x, training=False)
    return keras.Model(inputs, x, name="features")


def head_model(model: keras.Model) -> keras.Model:
    """A model of the pretrained preset's head alone (features -> classes), sharing its layers,
    so training it trains the full model's head."""
    width = int(model.get_layer("backbone").output.shape[-1])
    inputs = keras.Input(shape=(width,), name="features")
    x = model.get_layer("dropout")(inputs)
    return keras.Model(inputs, model.get_layer("classes")(x), name="head")


def extract_features(extractor: keras.Model, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """Run ``extractor`` over uint8 ``images`` in batches: float32 (N, features).

    ``images`` is only sliced (a dataset kept on disk is read a batch at a time) and each
    batch's features go straight into the result, so nothing is held twice."""
    run = tf.function(lambda x: extractor(x, training=False), reduce_retracing=True)
    width = int(extractor.output.shape[-1])
    out = np.empty((len(images), width), np.float32)
    for i in range(0, len(images), batch):
        out[i : i + batch] = run(tf.constant(images[i : i + batch], tf.float32)).numpy()
    return out


def _layer_words(layer: keras.layers.Layer) -> str:
    config = layer.get_config()
    kind = type(layer).__name__
    activation = config.get("activation")
    act = f", {activation}" if activation and activation != "linear" else ""
    if kind == "Conv2D":
        k = config["kernel_size"]
        return f"Convolution: {config['filters']} filters {k[0]}x{k[1]}{act}"
    if kind == "Dense":
        return f"Dense: {config['units']} units{act}"
    if kind == "MaxPooling2D":
        p = config["pool_size"]
        return f"Max-pooling {p[0]}x{p[1]}"
    if kind == "Dropout":
        return f"Dropout {config['rate']:.0%}"
    if kind == "Rescaling":
        # EfficientNet-Lite0's (x - 127) / 128 starts at -0.9921875: said to two decimals.
        low = round(float(config.get("offset", 0.0)), 2)
        return f"Scale pixels to {low:g}..1"
    if kind == "Functional" and layer.name == "backbone":
        words = BACKBONE_WORDS_BY_PRESET.get(pretrained_preset_of(layer), "The pretrained network")
        return f"{words} pretrained on ImageNet (frozen)"
    if kind.startswith("Random"):
        return f"Augmentation: {kind[6:].lower()} (training only)"
    names = {
        "Flatten": "Flatten",
        "BatchNormalization": "Batch normalisation",
        "ReLU": "ReLU",
        "GlobalAveragePooling2D": "Global average pooling",
    }
    return names.get(kind, kind)


def pretrained_preset_of(backbone: keras.Model) -> str:
    """Which pretrained preset a nested ``backbone`` model belongs to, told by its layers
    (EfficientNet-Lite0's last activation is ``top_activation``, MobileNetV2's ``out_relu``)."""
    names = {layer.name for layer in backbone.layers}
    return PRETRAINED_PRESET if "top_activation" in names else "photos-pretrained"


def describe(model: keras.Model) -> list[dict[str, object]]:
    """The model's layers in plain words: ``[{"name", "description", "output", "params"}]``."""
    rows: list[dict[str, object]] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = tuple(layer.output.shape[1:])
        rows.append(
            {
                "name": layer.name,
                "description": _layer_words(layer),
                "output": "x".join(str(d) for d in shape),
                "params": int(layer.count_params()),
            }
        )
    return rows


def layer_table(rows: list[dict[str, object]], total: int) -> str:
    """A printable table of :func:`describe` rows with the total parameter count."""
    width = max(len(str(r["description"])) for r in rows)
    lines = [
        f"{str(r['description']).ljust(width)}  -> {str(r['output']).ljust(10)} "
        f"{r['params']:>10,} parameters"
        for r in rows
    ]
    lines.append(f"Total: {total:,} parameters")
    return "\n".join(lines)


def describe_text(model: keras.Model) -> str:
    """:func:`layer_table` for ``model``."""
    return layer_table(describe(model), int(model.count_params()))
