"""Network architectures: the article's CNN and a few presets, built in code from plain data.

A model is fully described by a :class:`ModelSpec` (preset name, input spec, class count,
augmentation flag). Model files store that spec, never code, and the network is rebuilt from it.
Every model takes raw 0..255 pixels and scales them with its first layer, so scaling happens
exactly once, inside the model, and exported models expect the same input as the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.images import InputSpec
from core.presets import PRESETS
from core.runtime import keras

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


def _augmentation(spec: ModelSpec) -> list[keras.layers.Layer]:
    if not spec.augment:
        return []
    return [
        layers.RandomFlip("horizontal", name="augment_flip"),
        layers.RandomRotation(0.05, fill_mode="nearest", name="augment_rotate"),
        layers.RandomZoom(0.1, fill_mode="nearest", name="augment_zoom"),
        layers.RandomContrast(0.1, name="augment_contrast"),
    ]


def _article_body(spec: ModelSpec, dropout: bool) -> list[keras.layers.Layer]:
    body = [
        layers.Conv2D(64, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
        layers.Flatten(name="flatten"),
    ]
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


def build_model(spec: ModelSpec) -> keras.Model:
    """Build the (uncompiled) network for ``spec``; input is uint8-range float pixels."""
    inputs = keras.Input(shape=spec.input.shape, name="pixels")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    for layer in _augmentation(spec):
        x = layer(x)
    if spec.preset == "deeper-bn":
        body = _deeper_body(spec)
    else:
        body = _article_body(spec, dropout=spec.preset == "article-dropout")
    for layer in body:
        x = layer(x)
    outputs = layers.Dense(spec.num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=f"cnnstudio_{spec.preset.replace('-', '_')}")


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
        return "Scale pixels to 0..1"
    if kind.startswith("Random"):
        return f"Augmentation: {kind[6:].lower()} (training only)"
    names = {
        "Flatten": "Flatten",
        "BatchNormalization": "Batch normalisation",
        "ReLU": "ReLU",
        "GlobalAveragePooling2D": "Global average pooling",
    }
    return names.get(kind, kind)


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
