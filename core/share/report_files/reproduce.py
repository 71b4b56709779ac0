"""Retrain a CNN Studio model with plain Keras: the same images, split, network and settings.

# <about>
This is the template CNN Studio fills in for each model (``cnn-studio report MODEL --out DIR``
writes the filled-in copy); the settings below are an example.
# </about>

It needs Python 3.10 or newer with Keras 3 on TensorFlow, NumPy and Pillow, and imports nothing
of CNN Studio, so it shows exactly what the app did. Run it as

    python reproduce.py [--data FOLDER] [--out FOLDER] [--weights FILE]

It reads the images the model was trained on from the data folder, turns each file into model
input the way the app does (decoded with Pillow, EXIF rotation, transparency on white, JPEG
draft decoding, bilinear resize), checks each image against the fingerprint CNN Studio recorded,
splits them into the recorded training and validation images, builds the same network (its
layers made in the same order, so the same seed gives the same starting weights), trains it
with the same optimizer, learning-rate schedule, label smoothing, augmentation, early stopping
and seed, and prints its validation accuracy beside the app's. It saves the network as
``reproduced.keras`` and the figures as ``reproduced.json``.

How close it comes: on the same computer and libraries the run repeats the app's step by step
and ends with the app's weights, so the accuracy matches to the image. Elsewhere (another CPU or
GPU, other library versions, several GPUs) the arithmetic rounds differently, the runs drift
apart and the accuracy differs a little. Not repeated: the moment a user pressed Stop (a stopped
run is trained for the epochs it completed) and the app's divergence guard.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageFile, ImageOps

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file is an error, as in the app

# <settings>
#: The model file these settings come from, and the app's version.
MODEL_FILE = "example.cnnmodel"
APP_VERSION = "0.1.0"
#: The folder with one subfolder per class that the model was trained on (``--data`` overrides).
DATA_FOLDER = "/path/to/dataset"
#: Classes in the order of the network's outputs.
CLASS_NAMES = ["circle", "square"]
#: Model input: IMAGE_SIZE x IMAGE_SIZE pixels, colour (RGB) or grey, centre square or whole.
IMAGE_SIZE = 28
COLOR = False
CROP = False
#: The architecture preset (the layers are in ``build_network`` below) and augmentation.
PRESET = "article"
AUGMENT = False
#: The pretrained preset's ImageNet weights (the file CNN Studio ships); ``--weights`` overrides.
PRETRAINED_WEIGHTS = ""
#: Each training run of the model, in order (a continued model has several), as recorded:
#: settings, then the epochs it trained and how it ended.
RUNS: list[dict[str, Any]] = [
    {
        "epochs": 10,
        "batch_size": 128,
        "learning_rate": 0.005,
        "optimizer": "adam",
        "label_smoothing": 0.1,
        "seed": 42,
        "early_stopping": True,
        "patience": 3,
        "fine_tune": False,
        "precision": "float32",
        "val_split": 0.2,
        "epochs_done": 10,
        "outcome": "finished",
    },
]
#: The temperature the app fitted on the validation images after training and folded into the
#: last layer (1.0: none). Applied here too: it changes how sure the answers are, never which.
TEMPERATURE = 1.0
#: The app's validation accuracy for this model (None: not recorded).
APP_ACCURACY: float | None = None
#: The app's accuracy on the dataset's test folder (None: it had none).
APP_TEST_ACCURACY: float | None = None
#: How the recorded image fingerprints were made.
FILES_HASH = "sha1 of the preprocessed model input"
# </settings>

#: TensorFlow's thread pools as CNN Studio sizes them (all cores inside an op, two ops at once).
INTER_OP_THREADS = 2
#: Formats the app decodes (by content, never by file name).
FORMATS = ["PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"]
#: Transparent pixels are composited onto this grey level (white).
BACKGROUND = 255
#: The learning rate warms up over the first 1/WARMUP_SHARE of a run's steps. Fine-tuning the
#: pretrained backbone trains its top FINE_TUNE_LAYERS layers at FINE_TUNE_RATE x the rate.
WARMUP_SHARE = 10
FINE_TUNE_LAYERS = 20
FINE_TUNE_RATE = 0.02
#: Early stopping waits at least this many optimizer steps.
MIN_PATIENCE_STEPS = 10
#: Training images whose statistics batch normalisation is measured on (see ``recalibrate``).
BN_SAMPLE = 512
BN_BATCH_PIXELS = 2**22
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


# --- the network ---------------------------------------------------------------------------


# <architecture>
def build_network(weights: str | None = None) -> keras.Model:
    """The article's CNN: two 3x3 convolutions (64 filters), max-pooling, a 128-unit dense
    layer. Layers are made in CNN Studio's order, so a seed gives the app's starting weights.
    Takes raw 0..255 pixels; the first layer scales them."""
    layers = keras.layers
    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3 if COLOR else 1), name="pixels")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    x = layers.Conv2D(64, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    outputs = layers.Dense(len(CLASS_NAMES), activation="softmax", name="classes", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="cnnstudio_article")


# </architecture>


def build_in(precision: str, weights: str | None = None) -> keras.Model:
    """``build_network`` with its layers computing in ``precision`` (weights stay float32)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[precision])
    try:
        return build_network(weights)
    finally:
        keras.config.set_dtype_policy(previous)


def float32_copy(model: keras.Model) -> keras.Model:
    """The same weights in a float32 build (what the app keeps after a mixed-precision run)."""
    copy = build_in("float32")
    copy.set_weights(model.get_weights())
    return copy


# --- images --------------------------------------------------------------------------------


def load_image(path: Path) -> np.ndarray:
    """One image file as model input: uint8 (IMAGE_SIZE, IMAGE_SIZE, channels), 0..255."""
    mode = "RGB" if COLOR else "L"
    image = Image.open(io.BytesIO(path.read_bytes()), formats=FORMATS)
    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        # JPEGs decode at the smallest scale that keeps IMAGE_SIZE pixels on both sides.
        image.draft("L" if mode == "L" and image.mode == "RGB" else None, (IMAGE_SIZE,) * 2)
    image.load()
    if image.format in (None, "JPEG", "TIFF", "WEBP") or "exif" in image.info:
        image = ImageOps.exif_transpose(image)
    image = to_mode(image, mode)
    if CROP and image.width != image.height:
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image, dtype=np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE, 3 if COLOR else 1)


def to_mode(image: Image.Image, mode: str) -> Image.Image:
    """8 bits per channel in ``mode``: 16-bit greys keep their top byte, transparency is laid
    on white, anything else is converted (by way of RGB when there is no direct way)."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        wide = np.asarray(image).astype(np.uint32)
        if image.mode == "I" and wide.max(initial=0) <= 255:
            narrow = wide.astype(np.uint8)
        else:
            narrow = (np.minimum(wide, 65535) >> 8).astype(np.uint8)
        image = Image.fromarray(narrow, "L")
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (BACKGROUND, BACKGROUND, BACKGROUND, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != mode:
        try:
            image = image.convert(mode)
        except ValueError:
            image = image.convert("RGB").convert(mode)
    return image


Part = tuple[np.ndarray, np.ndarray, list[str]]  # images, class indices, paths


def read_images(folder: Path, entries: list[list[Any]], notes: dict[str, list[str]]) -> Part:
    """The images of ``entries`` ([path in the folder, class index, fingerprint]), in order;
    those that cannot be read are listed in ``notes["unreadable"]``, and those whose pixels
    differ from the recorded fingerprint in ``notes["changed"]``."""
    images, labels, paths = [], [], []
    for relpath, label, digest in entries:
        try:
            pixels = load_image(folder / relpath)
        except (OSError, ValueError, SyntaxError) as exc:
            notes["unreadable"].append(f"{relpath} ({exc})")
            continue
        if digest and hashlib.sha1(pixels.tobytes()).hexdigest() != digest:
            notes["changed"].append(relpath)
        images.append(pixels)
        labels.append(label)
        paths.append(relpath)
    shape = (0, IMAGE_SIZE, IMAGE_SIZE, 3 if COLOR else 1)
    stacked = np.stack(images) if images else np.zeros(shape, np.uint8)
    return stacked, np.array(labels, dtype=np.int64), paths


def read_parts(folder: Path) -> dict[str, Part]:
    """The recorded training, validation and test images, in the app's order. Without
    recorded lists (older model files), every image of the class folders is under "train"
    and nothing under "val": the runs then split them as the app does."""
    recorded = recorded_files()
    notes: dict[str, list[str]] = {"unreadable": [], "changed": []}
    if not recorded["train"]:
        print("The model file lists no images: reading every file of the class folders.")
        entries = [[p, label, ""] for p, label in scan(folder)]
        parts = {"train": read_images(folder, entries, notes)}
        if notes["unreadable"]:
            print(
                f"Left out {len(notes['unreadable'])} file(s) that are not images, as the app does."
            )
        empty = read_images(folder, [], notes)
        return {**parts, "val": empty, "test": empty}
    parts = {part: read_images(folder, entries, notes) for part, entries in recorded.items()}
    total = sum(len(entries) for entries in recorded.values())
    print(f"Read {total - len(notes['unreadable'])} of {total} images from {folder}.")
    unreadable, changed = notes["unreadable"], notes["changed"]
    if unreadable:
        more = f"; and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
        print(
            f"Warning: {len(unreadable)} recorded image(s) could not be read: "
            f"{'; '.join(unreadable[:5])}{more}"
        )
    if changed:
        print(
            f"Warning: {len(changed)} image(s) differ from what the app trained on (the files "
            "changed, or this Pillow decodes them differently), e.g. "
            f"{', '.join(changed[:3])}: the result may differ too."
        )
    return parts


def scan(folder: Path) -> list[tuple[str, int]]:
    """(path, class index) of every file in the class folders, class by class, sorted by path
    (hidden files and folders left out), as the app lists them."""
    entries: list[tuple[str, int]] = []
    for label, name in enumerate(CLASS_NAMES):
        found = []
        for path in (folder / name).rglob("*"):
            relpath = path.relative_to(folder)
            if path.is_file() and not any(part.startswith(".") for part in relpath.parts):
                found.append(relpath.as_posix())
        entries += [(relpath, label) for relpath in sorted(found)]
    return entries


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int, groups: np.ndarray | None = None
) -> tuple[Any, Any]:
    """The app's split: class by class, a seeded shuffle of the class's groups of copies (one
    picture each; see ``copy_groups``) sends them to validation while they fit in
    round(n * fraction) images (at least one from a class of three or more), always keeping
    one training image per class; a group stays wholly on one side. A group belongs to the
    class most of its members have. Returns sorted (training indices, validation indices)."""
    labels = np.asarray(labels)
    n = len(labels)
    if groups is None:
        groups = np.arange(n)
    classes, label_index = np.unique(labels, return_inverse=True)
    label_index = label_index.ravel()
    _, group_of = np.unique(np.asarray(groups), return_inverse=True)
    group_of = group_of.ravel()
    count = int(group_of.max()) + 1 if n else 0
    first = np.full(count, n, dtype=np.int64)
    np.minimum.at(first, group_of, np.arange(n))
    size = np.bincount(group_of, minlength=count)
    home = np.full(count, len(classes), dtype=np.int64)
    np.minimum.at(home, group_of, label_index)
    top = np.full(count, -1, dtype=np.int64)
    np.maximum.at(top, group_of, label_index)
    mixed: dict[int, dict[int, int]] = {}
    for g in np.flatnonzero(home != top).tolist():
        where = np.flatnonzero(group_of == g)
        kinds, many = np.unique(label_index[where], return_counts=True)
        mixed[g] = dict(zip(kinds.tolist(), many.tolist(), strict=True))
        home[g] = int(kinds[np.argmax(many)])
        first[g] = int(where[label_index[where] == home[g]][0])
    training_left = np.bincount(label_index, minlength=len(classes)).tolist()
    rng = np.random.default_rng(seed)
    in_val = np.zeros(count, dtype=bool)
    for c in range(len(classes)):
        units = np.flatnonzero(home == c)
        units = units[np.argsort(first[units], kind="stable")]
        units = units[rng.permutation(len(units))]
        total = int(size[units].sum())
        n_val = min(round(total * fraction), total - 1)
        if fraction > 0 and n_val == 0 and total >= 3:
            n_val = 1
        taken = 0
        for g in units.tolist():
            if taken >= n_val:
                break
            members = mixed.get(g, {c: int(size[g])})
            if taken + int(size[g]) > n_val or any(
                training_left[k] - m < 1 for k, m in members.items()
            ):
                continue
            in_val[g] = True
            taken += int(size[g])
            for k, m in members.items():
                training_left[k] -= m
    chosen = in_val[group_of]
    return np.flatnonzero(~chosen), np.flatnonzero(chosen)


def group_numbers(paths: list[str]) -> np.ndarray:
    """The group of copies of each image of ``paths`` as a number: the recorded group's, or
    one of its own for an image without copies."""
    recorded = {path: k for k, group in enumerate(copy_groups()) for path in group}
    alone = len(copy_groups())
    return np.array([recorded.get(p, alone + i) for i, p in enumerate(paths)], dtype=np.int64)


def run_splits(parts: dict[str, Part]) -> list[tuple[np.ndarray, ...]]:
    """(training images, labels, validation images, labels) for each run. The last run's are
    the recorded lists. Each run of a continued model split the images afresh with its own
    seed and validation share; an earlier run with other ones is split the app's way, once the
    app's split of the last run is found to give exactly the recorded lists."""
    train, val = parts["train"], parts["val"]
    recorded = (train[0], train[1], val[0], val[1])
    images = np.concatenate([train[0], val[0]])
    labels = np.concatenate([train[1], val[1]])
    paths = train[2] + val[2]
    order = np.array(sorted(range(len(paths)), key=lambda i: (labels[i], paths[i])), np.int64)
    images, labels, paths = images[order], labels[order], [paths[i] for i in order]

    groups = group_numbers(paths)

    def drawn(run: dict[str, Any]) -> tuple[tuple[np.ndarray, ...], list[str]]:
        t, v = stratified_split(labels, run["val_split"], run["seed"], groups)
        return (images[t], labels[t], images[v], labels[v]), [paths[i] for i in t]

    if not len(val[1]):  # nothing recorded: every run splits as the app does
        return [drawn(run)[0] for run in RUNS]
    last = RUNS[-1]
    same_as_app = drawn(last)[1] == train[2]
    splits = []
    for run in RUNS:
        if (run["seed"], run["val_split"]) == (last["seed"], last["val_split"]):
            splits.append(recorded)
        elif same_as_app:
            splits.append(drawn(run)[0])
        else:
            print(
                "Warning: an earlier run split the images with other settings, and the app's "
                "split cannot be repeated on these images; it trains on the recorded split."
            )
            splits.append(recorded)
    return splits


# --- training ------------------------------------------------------------------------------


def make_schedule(peak: float, total_steps: int, start_step: int = 0) -> Any:
    """Linear warm-up over the first tenth of the steps to ``peak``, then cosine decay to 0,
    counted from optimizer step ``start_step`` (a continued run keeps the step counter)."""
    total = max(int(total_steps), 1)
    warmup = max(1, total // WARMUP_SHARE)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / (warmup + 1),
        decay_steps=max(total - warmup, 1),
        alpha=0.0,
        warmup_target=peak,
        warmup_steps=warmup,
    )
    return StartingAt(schedule, start_step) if start_step else schedule


class StartingAt(keras.optimizers.schedules.LearningRateSchedule):
    """``schedule`` counted from optimizer step ``start`` on."""

    def __init__(self, schedule: Any, start: int) -> None:
        self.schedule = schedule
        self.start = int(start)

    def __call__(self, step: Any) -> Any:
        return self.schedule(tf.maximum(tf.cast(step, tf.float32) - float(self.start), 0.0))

    def get_config(self) -> dict[str, Any]:
        return {"start": self.start, "schedule": self.schedule.get_config()}


def make_optimizer(run: dict[str, Any], rate: float, steps: int, start: int) -> Any:
    schedule = make_schedule(rate, steps, start)
    if run["optimizer"] == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9)
    if run["optimizer"] == "rmsprop":
        return keras.optimizers.RMSprop(schedule)
    return keras.optimizers.Adam(schedule)


def make_dataset(
    images: np.ndarray, labels: np.ndarray, batch: int, shuffle: bool, seed: int, passes: int = 1
) -> tf.data.Dataset:
    """Batches of (float pixels, one-hot labels), shuffled each pass with ``seed``."""
    x, y = tf.constant(images), tf.constant(labels.astype(np.int32))
    indices = tf.data.Dataset.range(len(labels))
    if shuffle:
        indices = indices.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch)

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        pixels = tf.cast(tf.gather(x, idx), tf.float32)
        return pixels, tf.one_hot(tf.gather(y, idx), len(CLASS_NAMES))

    if passes > 1:
        batches = batches.repeat(passes)
    return batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def batchnorm_layers(model: keras.Model) -> list[Any]:
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def recalibrate(model: keras.Model, images: np.ndarray, seed: int) -> None:
    """Set each batch-norm layer's moving mean and variance to the exact average of its batch
    statistics over a sample of training images (Keras's moving averages barely move in a
    short run, and the network then answers one class for everything)."""
    layers = batchnorm_layers(model)
    if not layers or not len(images):
        return
    rng = np.random.default_rng(seed)
    sample = images[np.sort(rng.permutation(len(images))[:BN_SAMPLE])]
    pixels = int(np.prod(sample.shape[1:3]))
    batch = int(max(1, min(64, BN_BATCH_PIXELS // max(pixels, 1))))
    momenta = [layer.momentum for layer in layers]
    try:
        for k, start in enumerate(range(0, len(sample), batch)):
            for layer in layers:
                layer.momentum = k / (k + 1)
            model(tf.constant(sample[start : start + batch], tf.float32), training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum


class Recalibration(keras.callbacks.Callback):
    """Recalibrates batch normalisation before each validation pass."""

    def __init__(self, network: keras.Model, images: np.ndarray, seed: int) -> None:
        super().__init__()
        self.network, self.images, self.seed = network, images, seed

    def on_test_begin(self, logs: dict | None = None) -> None:
        recalibrate(self.network, self.images, self.seed)


class StopAfter(keras.callbacks.Callback):
    """Ends training after ``epochs`` epochs (a run the user stopped by hand)."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def features_of(model: keras.Model, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """The pretrained preset's backbone features of ``images`` (scaled as the network does)."""
    inputs = keras.Input(shape=model.input_shape[1:], name="pixels")
    x = model.get_layer("backbone")(model.get_layer("scale")(inputs), training=False)
    extractor = keras.Model(inputs, x, name="features")
    run = tf.function(lambda x: extractor(x, training=False), reduce_retracing=True)
    parts = [
        run(tf.constant(images[i : i + batch], tf.float32)).numpy()
        for i in range(0, len(images), batch)
    ]
    width = int(extractor.output.shape[-1])
    return np.concatenate(parts) if parts else np.zeros((0, width), np.float32)


def head_of(model: keras.Model) -> keras.Model:
    """The pretrained preset's head alone (features -> classes), sharing the model's layers."""
    width = int(model.get_layer("backbone").output.shape[-1])
    inputs = keras.Input(shape=(width,), name="features")
    x = model.get_layer("dropout")(inputs)
    return keras.Model(inputs, model.get_layer("classes")(x), name="head")


def train_run(
    run: dict[str, Any],
    model: keras.Model | None,
    earlier: int,
    state: tuple[str, list[np.ndarray]] | None,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    weights: str | None,
) -> tuple[keras.Model, int, tuple[str, list[np.ndarray]] | None]:
    """One training run as the app runs it: (float32 model, epochs so far, optimizer state)."""
    train_x, train_y, val_x, val_y = data
    keras.utils.set_random_seed(run["seed"])
    pretrained = PRESET in ("photos", "photos-pretrained")
    smoothing = run["label_smoothing"]
    if smoothing is None:
        smoothing = 0.0 if pretrained else 0.1
    precision = run["precision"] if run["precision"] in POLICIES else "float32"
    batch_size = min(run["batch_size"], len(train_y))
    batches = math.ceil(len(train_y) / batch_size)
    steps = batches * run["epochs"]
    if model is None:
        model = build_in(precision, weights)
    elif model.dtype_policy.name != POLICIES[precision]:
        copy = build_in(precision)
        copy.set_weights(model.get_weights())
        model = copy
    inputs, fit_model = train_x, model
    if pretrained and run["fine_tune"]:
        backbone = model.get_layer("backbone")
        backbone.trainable = True
        for layer in backbone.layers[:-FINE_TUNE_LAYERS]:
            layer.trainable = False
    elif pretrained:
        everything = np.concatenate([train_x, val_x])
        inputs, fit_model = features_of(model, everything), head_of(model)
        train_x, val_x = inputs[: len(train_y)], inputs[len(train_y) :]
    rate = run["learning_rate"] * (FINE_TUNE_RATE if pretrained and run["fine_tune"] else 1.0)
    per_call = batches if fit_model is not model else 1  # a small head: an epoch per call

    def compile_from(step: int) -> None:
        fit_model.compile(
            optimizer=make_optimizer(run, rate, steps, step),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=smoothing),
            metrics=["accuracy"],
            steps_per_execution=per_call,
        )

    same = state is not None and state[0] == run["optimizer"]
    first = state[1][0] if state is not None and same and state[1] else None
    counted = first is not None and first.ndim == 0 and first.dtype.kind in "iu"
    compile_from(int(first) if counted and first is not None else 0)
    if state is not None and same:
        # The earlier run's step counter and moments carry over, as in the app; when they do
        # not fit (other weights are trained now) the optimizer starts afresh.
        optimizer = fit_model.optimizer
        optimizer.build(fit_model.trainable_variables)
        variables = optimizer.variables
        if len(variables) == len(state[1]) and all(
            tuple(v.shape) == s.shape for v, s in zip(variables, state[1], strict=True)
        ):
            for variable, value in zip(variables, state[1], strict=True):
                variable.assign(value)
        else:
            print("The earlier run's optimizer state does not fit this run: it starts afresh.")
            compile_from(0)
    train_ds = make_dataset(train_x, train_y, batch_size, True, run["seed"], run["epochs"])
    val_ds = None
    if len(val_y):
        val_ds = make_dataset(val_x, val_y, max(batch_size, 256), False, 0)
    callbacks: list[keras.callbacks.Callback] = []
    calibrate = bool(batchnorm_layers(fit_model))
    if calibrate and val_ds is not None:
        callbacks.append(Recalibration(fit_model, train_x, run["seed"]))
    if run["early_stopping"]:
        warmup = max(1, steps // WARMUP_SHARE)
        patience = max(run["patience"], math.ceil(MIN_PATIENCE_STEPS / batches))
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if val_ds is not None else "loss",
                patience=patience,
                restore_best_weights=True,
                start_from_epoch=earlier + math.ceil(warmup / batches),
            )
        )
    if run.get("outcome") == "stopped":
        print(f"This run was stopped by hand in the app: training {run['epochs_done']} epochs.")
        callbacks.append(StopAfter(earlier + run["epochs_done"]))
    history = fit_model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=earlier + run["epochs"],
        steps_per_epoch=batches,
        shuffle=False,
        initial_epoch=earlier,
        callbacks=callbacks,
        verbose=2,
    )
    if pretrained:
        model.get_layer("backbone").trainable = False
    if calibrate and (val_ds is None or run.get("outcome") == "stopped"):
        recalibrate(fit_model, train_x, run["seed"])
    optimizer = fit_model.optimizer
    after = (run["optimizer"], [np.asarray(v.numpy()) for v in optimizer.variables])
    if precision != "float32":
        model = float32_copy(model)
    return model, earlier + len(history.epoch), after


def fold_temperature(model: keras.Model, temperature: float) -> None:
    """Divide the last layer's kernel and bias by ``temperature``: the softmax then gives
    softmax(logits / temperature), the app's calibrated probabilities."""
    if temperature != 1.0:
        layer = model.get_layer("classes")
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel / temperature, bias / temperature])


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of ``images`` whose likeliest class is their label (as the app scores it)."""
    if not len(labels):
        return float("nan")
    forward = tf.function(lambda x: model(x, training=False))
    probabilities = np.concatenate(
        [
            forward(tf.constant(images[i : i + 512], tf.float32)).numpy()
            for i in range(0, len(images), 512)
        ]
    )
    return float((np.argmax(probabilities, axis=1) == labels).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(DATA_FOLDER), help="dataset folder")
    here = Path(__file__).resolve().parent
    parser.add_argument("--out", type=Path, default=here, help="where to save the results")
    parser.add_argument("--weights", default=PRETRAINED_WEIGHTS, help="pretrained weights file")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(
            f"error: the data folder {args.data} is not there; pass --data FOLDER", file=sys.stderr
        )
        return 1
    weights = None
    if PRESET in ("photos", "photos-pretrained"):
        weights = args.weights
        if not weights or not Path(weights).is_file():
            print(
                f"error: the pretrained weights file {weights or '(not set)'} is missing. Copy "
                "it from CNN Studio's installation (assets/pretrained/: "
                "efficientnet_lite0_imagenet_no_top.npz for the photos preset, "
                "mobilenet_v2_0.35_imagenet_no_top.weights.h5 for photos-pretrained) and pass "
                "--weights FILE (or set PRETRAINED_WEIGHTS).",
                file=sys.stderr,
            )
            return 1
    tf.config.threading.set_inter_op_parallelism_threads(INTER_OP_THREADS)
    parts = read_parts(args.data)
    splits = run_splits(parts)
    if not len(splits[-1][1]):
        print("error: no training images could be read", file=sys.stderr)
        return 1
    train_count, val_count = len(splits[-1][1]), len(splits[-1][3])
    print(f"Training {PRESET} on {train_count} images, validating on {val_count}.")
    model, epochs, state = None, 0, None
    for k, (run, data) in enumerate(zip(RUNS, splits, strict=True), start=1):
        if len(RUNS) > 1:
            print(f"Run {k} of {len(RUNS)}: {run['epochs']} epochs.")
        model, epochs, state = train_run(run, model, epochs, state, data, weights)
    assert model is not None
    if TEMPERATURE != 1.0:
        print(f"Applying the app's calibration: temperature {TEMPERATURE:.4g}.")
        fold_temperature(model, TEMPERATURE)
    figures: dict[str, Any] = {"training_images": train_count, "epochs": epochs}
    evaluated = {"val": splits[-1][2:], "test": parts["test"][:2]}
    for part, words, recorded in (
        ("val", "Validation", APP_ACCURACY),
        ("test", "Test", APP_TEST_ACCURACY),
    ):
        images, labels = evaluated[part]
        if not len(labels):
            continue
        result = accuracy(model, images, labels)
        print(f"{words} accuracy, reproduced: {result:.2%} on {len(labels)} images")
        if recorded is not None:
            gap = 100 * (result - recorded)
            print(f"{words} accuracy, CNN Studio: {recorded:.2%} (difference {gap:+.2f} points)")
        key = "accuracy" if part == "val" else "test_accuracy"
        figures.update({key: result, f"app_{key}": recorded, f"{part}_images": len(labels)})
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "reproduced.keras")
    (args.out / "reproduced.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(f"Saved {args.out / 'reproduced.keras'} and reproduced.json")
    return 0


# <files>
def recorded_files() -> dict[str, list[list[Any]]]:
    """The training and validation images as the app recorded them: [path inside the data
    folder, class index, fingerprint], in the app's order (none in this example)."""
    return {"train": [], "val": [], "test": []}


def copy_groups() -> list[list[str]]:
    """The groups of copies (exact, or near: re-saved, shifted) the app's split kept wholly on
    one side, as paths; an image in none is a group of its own (none in this example)."""
    return []


# </files>


if __name__ == "__main__":
    sys.exit(main())
