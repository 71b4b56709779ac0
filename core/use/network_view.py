"""Inside the network: what each layer of a model computes for one image.

:func:`layer_views` runs one image through a model and returns a
:class:`~core.use.network_views.LayerView` per layer worth showing: the input, each convolution's
most active feature maps (and the first convolution's learnt filters), what max pooling keeps
of them, the dense layer's strongest units and the class probabilities, each with a plain
sentence. Layers that change nothing a person could see are folded in or left out: the pixel
scaling, augmentation and dropout (inactive when classifying), and the batch normalisation and
ReLU right after a convolution (its maps are shown after them, as the next layer gets them).

The pretrained preset nests MobileNetV2 (155 layers) as one layer; from it a few
representative layers are shown: its first convolution (with filters), three expansion layers
at different depths, its last convolution and its global pooling.

Every preset is a chain of layers at its top level, so they are called one after another in
inference mode. Use it from one thread (the engine's worker thread in the GUI), as every Keras
call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from core.errors import CnnStudioError
from core.nets.models import pretrained_preset_of
from core.nets.presets import BACKBONE_NAMES, BACKBONE_WORDS_BY_PRESET
from core.nets.runtime import keras, tf
from core.use.explain import BLOCK_TAIL, CONVOLUTIONS
from core.use.network_views import (
    DEAD_WHY,
    LayerView,
    NetworkView,
    numbers_in_words,
    stretch,
    title,
    weights_image,
    words,
)

layers = keras.layers

#: Layers that change nothing worth seeing when classifying: left out of the view.
PASSED_OVER = (layers.Rescaling, layers.Dropout, *BLOCK_TAIL)
#: How many expansion layers of a nested (pretrained) network are shown, and at which depths
#: (fractions of the way through its expansion layers).
BACKBONE_DEPTHS = (0.0, 0.4, 0.8)
GLOBAL_POOLING = (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)
#: A first-convolution filter whose largest weight is at most this share of the layer's largest
#: is switched off: its map is flat whatever the image (MobileNetV2 α 0.35's shipped weights
#: have 5 such filters of 16, with weights around 1e-21 where the others' reach 0.2 to 0.8).
DEAD_SHARE = 1e-6
POOLING = (layers.MaxPooling2D, layers.AveragePooling2D)


def _inner(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers of a nested model (its input layer left out); [] for an ordinary layer."""
    if not isinstance(layer, keras.Model):
        return []
    return [sub for sub in layer.layers if not isinstance(sub, layers.InputLayer)]


def _block_end(stack: Sequence[keras.layers.Layer], start: int) -> int:
    """Index of the last layer of the convolutional block that starts at ``stack[start]``."""
    end = start
    while end + 1 < len(stack) and isinstance(stack[end + 1], BLOCK_TAIL):
        end += 1
    return end


def _pair(value: object) -> int:
    return int(value if isinstance(value, int) else value[0])  # type: ignore[index]


def _augmentation(layer: keras.layers.Layer) -> bool:
    return type(layer).__name__.startswith("Random")


def _representatives(inner: list[keras.layers.Layer]) -> list[tuple[str, int, int]]:
    """The layers of a nested network to show: ``(role, start, end)`` with ``role`` one of
    "first", "block", "last" (convolutional blocks from ``start`` to ``end``) or "pool"."""
    convs = [
        i
        for i, layer in enumerate(inner)
        if isinstance(layer, CONVOLUTIONS) and not isinstance(layer, layers.DepthwiseConv2D)
    ]
    if not convs:
        return []
    first, last = convs[0], convs[-1]
    # MobileNetV2 names its widening convolutions "block_3_expand", EfficientNet-Lite0
    # "block3a_expand_conv".
    middle = [i for i in convs[1:-1] if "_expand" in inner[i].name] or convs[1:-1]
    chosen: list[int] = []
    for depth in BACKBONE_DEPTHS if middle else ():
        i = middle[min(round(depth * (len(middle) - 1)), len(middle) - 1)]
        if i not in chosen:
            chosen.append(i)
    rows = [("first", first, _block_end(inner, first))]
    rows += [("block", i, _block_end(inner, i)) for i in chosen]
    if last != first:
        rows.append(("last", last, _block_end(inner, last)))
    rows += [
        ("pool", i, i) for i in range(last, len(inner)) if isinstance(inner[i], GLOBAL_POOLING)
    ]
    return rows


def _block_number(name: str) -> int | None:
    found = re.search(r"block_?(\d+)", name)
    return int(found.group(1)) if found else None


class _Builder:
    """Turns activations into :class:`LayerView` rows, remembering the last convolution's
    shown channels (a pooling layer shows the same ones) and whether filters were shown."""

    def __init__(self, max_maps: int) -> None:
        self.max_maps = max_maps
        self.channels: tuple[int, ...] | None = None
        self.first = True
        self.convolutions = 0  # how many convolutions outside a nested network so far
        self.rows: list[LayerView] = []

    def conv(
        self,
        layer: keras.layers.Layer,
        tail: Sequence[keras.layers.Layer],
        activation: np.ndarray,
        key: str,
        **words_in: object,
    ) -> None:
        """A convolution, the pixel-wise ``tail`` layers after it, and their output; for the
        first convolution also its learnt filters (switched-off ones last, see
        :func:`_switched_off_last`)."""
        maps = activation[0]  # (rows, columns, channels)
        strength = maps.mean(axis=(0, 1))
        ranked = np.argsort(-strength, kind="stable")
        config = layer.get_config()
        kernel = _pair(config["kernel_size"])
        filters = int(maps.shape[-1])
        names = list(dict.fromkeys(_tail_name(t) for t in tail))
        after = f", then {' and '.join(names)}" if names else ""
        if key == "conv":
            self.convolutions += 1
        first, self.first = self.first, False
        heading = title(
            key, number=self.convolutions, filters=filters, kernel=kernel, after=after, **words_in
        )
        if first and key == "conv":
            key = "conv_first"
        images, switched_off = None, ""
        if first:
            weights = np.transpose(np.asarray(layer.kernel, np.float32), (3, 0, 1, 2))
            ranked, switched_off = _switched_off_last(
                ranked, weights, self.max_maps, key, str(words_in.get("network", ""))
            )
            images = weights_image(weights[ranked[: self.max_maps]])
        order = ranked[: self.max_maps]
        self.channels = tuple(int(c) for c in order)
        sentence = words(key, filters=filters, kernel=kernel, **words_in)
        self.rows.append(
            LayerView(
                name=layer.name,
                kind="conv",
                title=heading,
                shape=tuple(int(d) for d in maps.shape),
                # Above the maps, so flat black ones are explained before they are seen.
                sentence=f"{sentence} {switched_off}" if switched_off else sentence,
                total=filters,
                maps=stretch(np.moveaxis(maps[..., order], -1, 0)),
                channels=self.channels,
                peaks=tuple(float(maps[..., c].max()) for c in order),
                filters=images,
                filters_sentence=words("filters", kernel=kernel) if first else "",
            )
        )

    def pool(self, layer: keras.layers.Layer, activation: np.ndarray) -> None:
        """A max (or average) pooling layer: the previous convolution's channels, shrunk."""
        maps = activation[0]
        count = int(maps.shape[-1])
        order = self.channels
        if order is None or max(order, default=-1) >= count:
            order = tuple(int(c) for c in np.argsort(-maps.mean(axis=(0, 1)))[: self.max_maps])
        pool = _pair(layer.get_config()["pool_size"])
        kind = "max" if isinstance(layer, layers.MaxPooling2D) else "average"
        rows, columns = int(maps.shape[0]), int(maps.shape[1])
        self.rows.append(
            LayerView(
                name=layer.name,
                kind="pool",
                title=title("pool", kind=kind, pool=pool, rows=rows, columns=columns),
                shape=tuple(int(d) for d in maps.shape),
                sentence=words("pool", pool=pool, rows=rows, columns=columns),
                total=count,
                maps=stretch(np.moveaxis(maps[..., list(order)], -1, 0)),
                channels=tuple(order),
                peaks=tuple(float(maps[..., c].max()) for c in order),
            )
        )

    def units(
        self, layer: keras.layers.Layer, activation: np.ndarray, kind: str, key: str, unit: str
    ) -> None:
        """A layer with one value per unit (dense, global pooling): its strongest units."""
        values = activation[0].astype(np.float64)
        order = np.argsort(-values, kind="stable")[: self.max_maps]
        total = int(values.shape[0])
        self.rows.append(
            LayerView(
                name=layer.name,
                kind=kind,
                title=title(key, units=total, channels=total),
                shape=(total,),
                sentence=words(key, units=total, channels=total),
                total=total,
                units=tuple((f"{unit} {int(i) + 1}", float(values[i])) for i in order),
            )
        )

    def output(
        self, layer: keras.layers.Layer, activation: np.ndarray, class_names: Sequence[str]
    ) -> None:
        """The class layer: every class with its probability, most likely first."""
        probabilities = activation[0].astype(np.float64)
        count = len(probabilities)
        names = list(class_names) if len(class_names) == count else []
        names = names or [f"class {i + 1}" for i in range(count)]
        order = np.argsort(-probabilities, kind="stable")
        self.rows.append(
            LayerView(
                name=layer.name,
                kind="output",
                title=title("output", count=count),
                shape=(count,),
                sentence=words("output"),
                total=count,
                units=tuple((names[i], float(probabilities[i])) for i in order),
            )
        )

    def other(self, layer: keras.layers.Layer, activation: np.ndarray) -> None:
        """Any other layer (flatten, reshaping): named by what it is, never by its name."""
        shape = tuple(int(d) for d in activation.shape[1:])
        if isinstance(layer, layers.Flatten):
            values = int(np.prod(shape))
            sentence, heading = words("flatten", values=values), title("flatten", values=values)
        else:
            kind = _kind_in_words(layer)
            sentence, heading = words("other", name=kind), title("other", name=kind)
        self.rows.append(LayerView(layer.name, "other", heading, shape, sentence))


def _kind_in_words(layer: keras.layers.Layer) -> str:
    """A layer's kind as words ("ZeroPadding2D" → "Zero padding 2D"), not its own name."""
    parts = re.findall(r"[A-Z]+[a-z]*|\d+D?", type(layer).__name__)
    said = " ".join(p if p.isupper() or p[0].isdigit() else p.lower() for p in parts)
    return said[:1].upper() + said[1:] if said else "A layer"


def _switched_off_last(
    ranked: np.ndarray, weights: np.ndarray, max_maps: int, key: str, network: str = ""
) -> tuple[np.ndarray, str]:
    """``ranked`` (filter indices, most active first) with the switched-off filters moved
    last, and a sentence naming those of them among the first ``max_maps`` ("" when none is).

    A filter is switched off when its largest weight is at most :data:`DEAD_SHARE` of the
    layer's largest: it shows as plain mid grey and its map is flat (drawn black) whatever
    the image. The shipped MobileNetV2 α 0.35 has 5 such first filters of 16, and without a
    word they looked like a fault. ``key`` ("conv_first" or "backbone_first") says where the
    weights came from, and so why (``network`` names the pretrained one).
    """
    largest = np.abs(weights).reshape(len(weights), -1).max(axis=1)
    off = largest <= DEAD_SHARE * largest.max()
    if not off.any() or off.all():
        return ranked, ""
    ranked = np.concatenate([ranked[~off[ranked]], ranked[off[ranked]]])
    shown = sorted(int(c) + 1 for c in ranked[:max_maps] if off[c])
    if not shown:
        return ranked, ""
    many = len(shown) > 1
    return ranked, words(
        "dead_filters",
        which=("Filters " if many else "Filter ") + numbers_in_words(shown),
        count=len(shown),
        filters=len(weights),
        have="have" if many else "has",
        why=DEAD_WHY[key].format(network=network),
    )


def _tail_name(layer: keras.layers.Layer) -> str:
    if isinstance(layer, layers.BatchNormalization):
        return "batch normalisation"
    config = layer.get_config()
    activation = config.get("activation")
    return str(activation) if isinstance(activation, str) else "ReLU"


def _nested(builder: _Builder, nested: keras.Model, x: tf.Tensor) -> tf.Tensor:
    """Show the representative layers of ``nested`` run on ``x``; returns its output."""
    inner = _inner(nested)
    plan = _representatives(inner)
    probe = keras.Model(
        nested.inputs, [inner[end].output for _, _, end in plan] + list(nested.outputs)
    )
    results = probe(x, training=False)
    blocks = max((_block_number(layer.name) or 0 for layer in inner), default=0)
    preset = pretrained_preset_of(nested)
    network, network_words = BACKBONE_NAMES[preset], BACKBONE_WORDS_BY_PRESET[preset]
    for place, ((role, start, end), value) in enumerate(zip(plan, results, strict=False)):
        activation = np.asarray(value, np.float32)
        layer = inner[start]
        if role == "pool":
            builder.units(layer, activation, "pool", "global_pool", "feature")
            continue
        channels = int(activation.shape[-1])
        number = _block_number(layer.name) or place
        builder.conv(
            layer,
            inner[start + 1 : end + 1],
            activation,
            f"backbone_{role}",
            channels=channels,
            block=number,
            blocks=blocks or len(plan),
            network=network,
            network_words=network_words,
        )
    return results[-1]


def layer_views(
    model: keras.Model,
    image_uint8: np.ndarray,
    max_maps: int = 16,
    class_names: Sequence[str] = (),
) -> list[LayerView]:
    """What each shown layer of ``model`` computes for one image (see the module docstring).

    ``image_uint8`` has the model's input shape (rows, columns, channels); ``max_maps`` caps
    the feature maps (and units) shown per layer; ``class_names`` name the output's classes.
    """
    image = np.asarray(image_uint8)
    shape = tuple(int(d) for d in model.input_shape[1:])
    if image.shape != shape or image.dtype != np.uint8:
        raise CnnStudioError(
            f"the image is {image.dtype} {image.shape}; this model takes uint8 {shape}"
        )
    if max_maps < 1:
        raise ValueError("max_maps must be at least 1")
    top = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    if not top or not isinstance(top[-1], layers.Dense):
        raise CnnStudioError(f"cannot look inside {model.name}: it does not end in a dense layer")
    builder = _Builder(max_maps)
    size, channels = shape[0], shape[-1]
    colour = "colour" if channels == 3 else "grey"
    builder.rows.append(
        LayerView(
            name="pixels",
            kind="input",
            title=title("input", size=size, colour=colour),
            shape=shape,
            sentence=words("input", size=size, colour=colour),
            image=image.copy(),
        )
    )
    x = tf.constant(image[None], tf.float32)
    skip = 0
    for i, layer in enumerate(top):
        if skip:  # already run, as part of the convolutional block before it
            skip -= 1
            continue
        if isinstance(layer, keras.Model):
            x = _nested(builder, layer, x)
            continue
        x = layer(x, training=False)
        activation = np.asarray(x, np.float32)
        if isinstance(layer, CONVOLUTIONS):
            end = _block_end(top, i)
            skip = end - i
            for tail in top[i + 1 : end + 1]:
                x = tail(x, training=False)
            builder.conv(layer, top[i + 1 : end + 1], np.asarray(x, np.float32), "conv")
        elif isinstance(layer, POOLING):
            builder.pool(layer, activation)
        elif isinstance(layer, GLOBAL_POOLING):
            builder.units(layer, activation, "pool", "global_pool", "feature")
        elif i == len(top) - 1:
            builder.output(layer, activation, class_names)
        elif isinstance(layer, layers.Dense):
            builder.units(layer, activation, "dense", "dense", "unit")
        elif isinstance(layer, PASSED_OVER) or _augmentation(layer):
            continue
        else:
            builder.other(layer, activation)
    return builder.rows


def network_view(
    model: keras.Model,
    image_uint8: np.ndarray,
    source: str,
    max_maps: int = 16,
    class_names: Sequence[str] = (),
    model_generation: int = 0,
) -> NetworkView:
    """:func:`layer_views` wrapped with the image's name and the model it came from."""
    rows = layer_views(model, image_uint8, max_maps, class_names)
    return NetworkView(source, tuple(rows), model_generation)


__all__ = ["layer_views", "network_view"]
