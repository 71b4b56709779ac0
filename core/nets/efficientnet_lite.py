"""EfficientNet-Lite0 built in Keras from its published description, with its ImageNet weights.

``keras.applications`` has no Lite variant, so the network is written out here from the
description in the shipped weights' provenance note (``assets/pretrained/NOTICE.md``):
EfficientNet-B0's block table with ReLU6 everywhere and no squeeze-and-excitation, batch
normalisation epsilon 1e-3, TensorFlow's ``same`` padding, a fixed 32-channel stem and 1280-channel
head, global average pooling. Its 3,413,024 weights come as plain NumPy arrays named as in the
PyTorch port they were read from; :func:`load_lite0_weights` converts their layouts and puts
each into the layer of the same role, refusing any file whose arrays do not match one for one.

Like ``keras.applications.MobileNetV2`` in :mod:`core.nets.models`, the built network takes
*scaled* pixels: the model that wraps it puts :func:`lite0_scaling` (``(x - 127) / 128``) in
front of it, so every model still takes raw 0..255 pixels and scales them exactly once.

Layer names follow ``keras.applications.EfficientNetB0`` (``stem_conv``, ``block3b_dwconv``,
``block6d_project_bn``, ``top_conv``, ``top_activation``, ``avg_pool``): readable in the network
view, and ``top_activation`` is the last convolutional output Grad-CAM can target.
"""

from __future__ import annotations

import string
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.assets import EFFICIENTNET_LITE0_WEIGHTS, asset_path
from core.errors import CnnStudioError
from core.nets.runtime import keras
from core.nets.weight_shapes import LITE0_FEATURES, LITE0_STAGES, LITE0_STEM

layers = keras.layers

#: The block table (:data:`core.nets.weight_shapes.LITE0_STAGES`) and the fixed stem and head
#: widths live with the weight shapes, which need them without Keras.
#: Batch normalisation epsilon of the original checkpoint.
LITE0_BN_EPSILON = 1e-3
#: Input scaling: ``(x - 127) / 128`` on RGB pixels 0..255.
LITE0_SCALE = 1.0 / 128.0
LITE0_OFFSET = -127.0 / 128.0
#: Weights of the network (trainable and batch-norm statistics together).
LITE0_PARAMS = 3_413_024

#: The PyTorch names of a batch normalisation layer's arrays, in Keras's weight order
#: (gamma, beta, moving mean, moving variance).
_BN_ARRAYS = ("weight", "bias", "running_mean", "running_var")


def lite0_scaling(name: str = "scale") -> keras.layers.Layer:
    """The layer that turns raw 0..255 pixels into Lite0's input, ``(x - 127) / 128``.

    Goes in front of the network built by :func:`build_efficientnet_lite0`, as the MobileNetV2
    preset puts its ``x / 127.5 - 1`` in front of its backbone.
    """
    return layers.Rescaling(LITE0_SCALE, offset=LITE0_OFFSET, name=name)


def _conv_bn(
    x: keras.KerasTensor, filters: int, kernel: int, stride: int, prefix: str, act: bool
) -> keras.KerasTensor:
    """A bias-free convolution, batch normalisation and (when ``act``) ReLU6."""
    x = layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{prefix}conv"
    )(x)
    x = layers.BatchNormalization(epsilon=LITE0_BN_EPSILON, name=f"{prefix}bn")(x)
    return layers.ReLU(6.0, name=f"{prefix}activation")(x) if act else x


def _block(
    x: keras.KerasTensor, channels: int, spec: tuple[int, int, int, int], stride: int, name: str
) -> keras.KerasTensor:
    """One inverted-residual block: [1x1 expand, BN, ReLU6], depthwise, BN, ReLU6, 1x1 project,
    BN, plus the input when the shape is unchanged."""
    kernel, _, expansion, out = spec
    inputs = x
    if expansion != 1:
        x = _conv_bn(x, channels * expansion, 1, 1, f"{name}_expand_", act=True)
    x = layers.DepthwiseConv2D(
        kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dwconv"
    )(x)
    x = layers.BatchNormalization(epsilon=LITE0_BN_EPSILON, name=f"{name}_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_activation")(x)
    x = _conv_bn(x, out, 1, 1, f"{name}_project_", act=False)
    if stride == 1 and channels == out:
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def _block_names() -> list[tuple[str, int, int, tuple[int, int, int, int], int]]:
    """Every block as (Keras name, index in the PyTorch file, input channels, (kernel, stride,
    expansion, output channels), stride), in order."""
    blocks = []
    channels, index = LITE0_STEM, 0
    for stage, (kernel, stride, expansion, out, repeats) in enumerate(LITE0_STAGES, start=1):
        for k in range(repeats):
            name = f"block{stage}{string.ascii_lowercase[k]}"
            blocks.append(
                (name, index, channels, (kernel, stride, expansion, out), stride if k == 0 else 1)
            )
            channels, index = out, index + 1
    return blocks


def build_efficientnet_lite0(
    input_shape: tuple[int, int, int] = (224, 224, 3), name: str = "efficientnet_lite0"
) -> keras.Model:
    """EfficientNet-Lite0 without its classifier: scaled pixels (see :func:`lite0_scaling`) in,
    the pooled 1280 features out. Weights are random until :func:`load_lite0_weights`."""
    inputs = keras.Input(shape=input_shape, name="input")
    x = _conv_bn(inputs, LITE0_STEM, 3, 2, "stem_", act=True)
    for block, _, channels, spec, stride in _block_names():
        x = _block(x, channels, spec, stride, block)
    x = _conv_bn(x, LITE0_FEATURES, 1, 1, "top_", act=True)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, x, name=name)


def _conv_kernel(array: np.ndarray) -> np.ndarray:
    """PyTorch (out, in, kh, kw) -> Keras (kh, kw, in, out)."""
    return array.transpose(2, 3, 1, 0)


def _depthwise_kernel(array: np.ndarray) -> np.ndarray:
    """PyTorch (C, 1, kh, kw) -> Keras (kh, kw, C, 1)."""
    return array.transpose(2, 3, 0, 1)


def _keep(array: np.ndarray) -> np.ndarray:
    return array


Layout = Callable[[np.ndarray], np.ndarray]
Conversion = tuple[str, int, Layout]


def _weight_map() -> dict[str, Conversion]:
    """PyTorch array name -> (Keras layer name, index in that layer's weights, layout change)."""
    mapping: dict[str, Conversion] = {}

    def conv(torch: str, layer: str, convert: Layout = _conv_kernel) -> None:
        mapping[f"{torch}.weight"] = (layer, 0, convert)

    def bn(torch: str, layer: str) -> None:
        for i, part in enumerate(_BN_ARRAYS):
            mapping[f"{torch}.{part}"] = (layer, i, _keep)

    conv("_conv_stem", "stem_conv")
    bn("_bn0", "stem_bn")
    for block, index, _, (_, _, expansion, _), _ in _block_names():
        prefix = f"_blocks.{index}."
        if expansion != 1:
            conv(f"{prefix}_expand_conv", f"{block}_expand_conv")
            bn(f"{prefix}_bn0", f"{block}_expand_bn")
        conv(f"{prefix}_depthwise_conv", f"{block}_dwconv", _depthwise_kernel)
        bn(f"{prefix}_bn1", f"{block}_bn")
        conv(f"{prefix}_project_conv", f"{block}_project_conv")
        bn(f"{prefix}_bn2", f"{block}_project_bn")
    conv("_conv_head", "top_conv")
    bn("_bn1", "top_bn")
    return mapping


def _listed(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def load_lite0_weights(model: keras.Model, arrays: dict[str, np.ndarray]) -> None:
    """Put the PyTorch-named ``arrays`` into ``model`` (built by :func:`build_efficientnet_lite0`),
    converting their layouts; any dtype is cast to float32.

    Everything is checked before anything is set, so a refused file leaves ``model`` unchanged:
    raises :class:`CnnStudioError` naming the array that is missing, not expected or of the
    wrong shape.
    """
    mapping = _weight_map()
    missing = [name for name in mapping if name not in arrays]
    if missing:
        raise CnnStudioError(f"EfficientNet-Lite0 weights: array {_listed(missing)} is missing")
    extra = [name for name in arrays if name not in mapping]
    if extra:
        raise CnnStudioError(f"EfficientNet-Lite0 weights: unexpected array {_listed(extra)}")
    values: dict[str, list[np.ndarray]] = {}
    for name, (layer, index, convert) in mapping.items():
        if layer not in values:
            values[layer] = [np.asarray(w) for w in model.get_layer(layer).get_weights()]
        target = values[layer][index]
        array = np.asarray(arrays[name])
        converted = convert(array) if array.ndim == target.ndim else array
        if converted.shape != target.shape:
            raise CnnStudioError(
                f"EfficientNet-Lite0 weights: array {name} has shape {array.shape}, "
                f"where this network needs {_torch_shape(target.shape, convert)}"
            )
        values[layer][index] = converted.astype(np.float32)
    for layer, weights in values.items():
        model.get_layer(layer).set_weights(weights)


def _torch_shape(shape: tuple[int, ...], convert: Callable[[np.ndarray], np.ndarray]) -> tuple:
    """The PyTorch-layout shape of a Keras weight of ``shape`` (to say what was expected)."""
    if convert is _conv_kernel:
        return (shape[3], shape[2], shape[0], shape[1])
    if convert is _depthwise_kernel:
        return (shape[2], shape[3], shape[0], shape[1])
    return tuple(shape)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file by name, read without unpickling anything."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CnnStudioError(f"cannot read the weights in {path}: {exc}") from exc


def shipped_lite0_arrays() -> dict[str, np.ndarray]:
    """The float16 ImageNet weights shipped in ``assets/pretrained`` (never downloaded)."""
    path = asset_path(EFFICIENTNET_LITE0_WEIGHTS)
    if path is None:
        raise CnnStudioError(
            "the EfficientNet-Lite0 weights are missing from this installation "
            f"(assets/{EFFICIENTNET_LITE0_WEIGHTS}); reinstall CNN Studio"
        )
    return read_arrays(path)


def pretrained_lite0(
    input_shape: tuple[int, int, int] = (224, 224, 3), name: str = "efficientnet_lite0"
) -> keras.Model:
    """:func:`build_efficientnet_lite0` holding the shipped ImageNet weights."""
    model = build_efficientnet_lite0(input_shape, name=name)
    load_lite0_weights(model, shipped_lite0_arrays())
    return model


def write_float16_copy(source: Path, target: Path) -> None:
    """Write ``source``'s arrays cast to float16, same names, as a compressed ``.npz``.

    How ``assets/pretrained/efficientnet_lite0_imagenet_no_top.npz`` was made from the float32
    file, run once from the project root: ``python -m core.nets.efficientnet_lite
    ../shared/pretrained/efficientnet_lite0_imagenet_no_top.npz
    assets/pretrained/efficientnet_lite0_imagenet_no_top.npz``. It is what
    ``np.savez_compressed`` writes, except that every entry carries a fixed date, so the same
    source always gives the same bytes (and the sha256 in the NOTICE can be checked by
    regenerating). Halves the size; moves the features by about 0.4 % of the largest.
    """
    arrays = read_arrays(source)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, array.astype(np.float16), allow_pickle=False)


if __name__ == "__main__":  # the one-off conversion: python -m core.nets.efficientnet_lite SRC DST
    import sys

    write_float16_copy(Path(sys.argv[1]), Path(sys.argv[2]))
