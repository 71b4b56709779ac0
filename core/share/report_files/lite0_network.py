# ruff: noqa: F821  (a fragment of reproduce.py, which imports keras, np and Any)
# EfficientNet-Lite0 in plain Keras, and its ImageNet weights read from CNN Studio's .npz file
# (float16 arrays named as in the PyTorch port they come from). The same network, layer for
# layer and name for name, as CNN Studio's core/nets/efficientnet_lite.py builds: EfficientNet-B0's
# block table with ReLU6 and no squeeze-and-excitation.
LITE0_STAGES = (  # kernel, stride of the first block, expansion, output channels, blocks
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)


def lite0_blocks() -> list[tuple[str, int, int, int, int, int, int]]:
    """Every block: (name, index in the weights file, input channels, kernel, stride,
    expansion, output channels)."""
    blocks, channels, index = [], 32, 0
    for stage, (kernel, stride, expansion, out, repeats) in enumerate(LITE0_STAGES, start=1):
        for k in range(repeats):
            name = f"block{stage}{'abcd'[k]}"
            blocks.append((name, index, channels, kernel, stride if k == 0 else 1, expansion, out))
            channels, index = out, index + 1
    return blocks


def efficientnet_lite0(shape: tuple[int, int, int], weights: str | None) -> keras.Model:
    """EfficientNet-Lite0 without its classifier, pooled (1280 features), taking ``(x - 127) /
    128`` scaled pixels; ImageNet weights from ``weights`` (None: they come later)."""
    layers = keras.layers

    def conv_bn(x: Any, filters: int, kernel: int, stride: int, prefix: str, act: bool) -> Any:
        x = layers.Conv2D(
            filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{prefix}conv"
        )(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"{prefix}bn")(x)
        return layers.ReLU(6.0, name=f"{prefix}activation")(x) if act else x

    inputs = keras.Input(shape=shape, name="input")
    x = conv_bn(inputs, 32, 3, 2, "stem_", act=True)
    for name, _, channels, kernel, stride, expansion, out in lite0_blocks():
        block_input = x
        if expansion != 1:
            x = conv_bn(x, channels * expansion, 1, 1, f"{name}_expand_", act=True)
        x = layers.DepthwiseConv2D(
            kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dwconv"
        )(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_bn")(x)
        x = layers.ReLU(6.0, name=f"{name}_activation")(x)
        x = conv_bn(x, out, 1, 1, f"{name}_project_", act=False)
        if stride == 1 and channels == out:
            x = layers.Add(name=f"{name}_add")([x, block_input])
    x = conv_bn(x, 1280, 1, 1, "top_", act=True)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    network = keras.Model(inputs, x, name="backbone")
    if weights:
        load_lite0(network, weights)
    return network


def load_lite0(network: keras.Model, path: str) -> None:
    """Put the arrays of the .npz file at ``path`` into ``network``, by name, converting
    PyTorch's layouts to Keras's."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name].astype(np.float32) for name in data.files}

    def conv(torch: str, layer: str, depthwise: bool = False) -> None:
        kernel = arrays.pop(f"{torch}.weight")  # (out, in, h, w) or (channels, 1, h, w)
        kernel = kernel.transpose(2, 3, 0, 1) if depthwise else kernel.transpose(2, 3, 1, 0)
        network.get_layer(layer).set_weights([kernel])

    def bn(torch: str, layer: str) -> None:
        parts = ("weight", "bias", "running_mean", "running_var")
        network.get_layer(layer).set_weights([arrays.pop(f"{torch}.{p}") for p in parts])

    conv("_conv_stem", "stem_conv")
    bn("_bn0", "stem_bn")
    for name, index, _, _, _, expansion, _ in lite0_blocks():
        prefix = f"_blocks.{index}."
        if expansion != 1:
            conv(f"{prefix}_expand_conv", f"{name}_expand_conv")
            bn(f"{prefix}_bn0", f"{name}_expand_bn")
        conv(f"{prefix}_depthwise_conv", f"{name}_dwconv", depthwise=True)
        bn(f"{prefix}_bn1", f"{name}_bn")
        conv(f"{prefix}_project_conv", f"{name}_project_conv")
        bn(f"{prefix}_bn2", f"{name}_project_bn")
    conv("_conv_head", "top_conv")
    bn("_bn1", "top_bn")
    if arrays:
        raise ValueError(f"{path}: arrays this network does not have: {sorted(arrays)[:5]}")
