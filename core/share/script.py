"""``reproduce.py``: a plain Keras script, filled in from a model file, that trains it again.

The script is the template ``core/share/report_files/reproduce.py`` (valid Python itself, so the
linter checks it) with three marked blocks replaced: the settings recorded in the model file,
the preset's network as Keras layer code, and the recorded training and validation images.
It imports nothing of CNN Studio, so it states what the app does in code anyone can run.

The network code is written here, beside :mod:`core.nets.models`, which builds the same networks:
the layers are made in the same order, so under the same seed the script starts from the app's
exact weights (a test builds both and compares). Needs only the standard library; a model's
metadata is enough (no TensorFlow).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from core.errors import CnnStudioError
from core.learn.config import TrainConfig
from core.modelfile.bundle import ModelBundle
from core.nets.presets import PRESETS, PRETRAINED_PRESET, is_pretrained

#: The template, shipped as package data (PyInstaller: bundle ``core/share/report_files``).
TEMPLATE = Path(__file__).resolve().parent / "report_files" / "reproduce.py"
#: EfficientNet-Lite0 in plain Keras, put into the script of a ``photos`` model (package data
#: too). It builds what core/nets/efficientnet_lite.py builds; a test compares the two.
LITE0_FRAGMENT = TEMPLATE.with_name("lite0_network.py")
#: The article's CNN at 28 px flattens an 11x11 grid; ``article-pooled`` pools larger inputs
#: down to at most this (the same rule as :func:`core.nets.models.extra_pooling`).
ARTICLE_GRID = 11
#: Run settings copied from the recorded config into the script.
RUN_KEYS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "optimizer",
    "label_smoothing",
    "seed",
    "early_stopping",
    "patience",
    "fine_tune",
    "precision",
    "val_split",
)


def clean(text: object) -> str:
    """``text`` as a string that can be written as UTF-8 (a file name that is not valid UTF-8
    keeps its readable part; the rest shows as the replacement character)."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def extra_pooling(size: int) -> int:
    """The pool size ``article-pooled`` adds after its second convolution at input ``size``."""
    grid = ((size - 2) // 2) - 2
    return max(1, math.ceil(grid / ARTICLE_GRID))


def class_of(relpath: str, classes: dict[str, int], split_layout: bool) -> int | None:
    """The class index of a recorded image (``classes``: name -> index): its class folder is
    the first part of its path, or the second in a train/valid/test layout
    (``train/cat/1.png``); None when that is no class of the model."""
    if split_layout and "/" in relpath:
        relpath = relpath.split("/", 1)[1]
    return classes.get(relpath.split("/", 1)[0])


def is_split_layout(paths: list[str], class_names: list[str]) -> bool:
    """True when the recorded paths start with split folders (``train/``, ``valid/``) rather
    than class folders."""
    names = set(class_names)
    return any(p.split("/", 1)[0] not in names for p in paths)


def recorded_runs(bundle: ModelBundle) -> list[dict[str, Any]]:
    """Each training run's settings (as the run used them), epochs trained and outcome."""
    training = bundle.training
    runs = training.get("runs") or [
        {
            "config": training.get("config") or {},
            "epochs": len(training.get("history", [])),
            "outcome": training.get("outcome", "finished"),
        }
    ]
    result = []
    for run in runs:
        config = TrainConfig.from_dict(run.get("config") or {}).to_dict()
        entry = {key: config[key] for key in RUN_KEYS}
        entry["epochs_done"] = int(run.get("epochs", entry["epochs"]))
        entry["outcome"] = str(run.get("outcome", "finished"))
        result.append(entry)
    return result


def _layer_lines(bundle: ModelBundle) -> tuple[list[str], str]:
    """(lines of ``build_network``'s body after the input, words for its docstring)."""
    preset, spec = bundle.preset, bundle.input
    aug = [
        'x = layers.RandomFlip("horizontal", name="augment_flip")(x)',
        'x = layers.RandomRotation(0.05, fill_mode="nearest", name="augment_rotate")(x)',
        'x = layers.RandomZoom(0.1, fill_mode="nearest", name="augment_zoom")(x)',
        'x = layers.RandomContrast(0.1, name="augment_contrast")(x)',
    ]
    aug = aug if bundle.augment else []
    if preset == PRETRAINED_PRESET:
        return [
            "x = inputs",
            *(["# Augmentation of the raw 0..255 pixels (only when fine-tuning)."] if aug else []),
            *aug,
            "# The backbone's own scaling, (x - 127) / 128.",
            'x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="scale")(x)',
            "# The shipped ImageNet file; None when weights come later.",
            "backbone = efficientnet_lite0(SHAPE, weights)",
            "backbone.trainable = False",
            "x = backbone(x, training=False)  # its batch norm stays in inference mode",
            'x = layers.Dropout(0.5, name="dropout")(x)',
        ], "EfficientNet-Lite0 pretrained on ImageNet, frozen, then dropout and a dense head"
    if is_pretrained(preset):
        return [
            "x = inputs",
            *(["# Augmentation of the raw 0..255 pixels (only when fine-tuning)."] if aug else []),
            *aug,
            "# The backbone's own scaling, to -1..1.",
            'x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(x)',
            "backbone = keras.applications.MobileNetV2(",
            "    input_shape=SHAPE,",
            "    alpha=0.35,",
            "    include_top=False,",
            "    weights=weights,  # the shipped ImageNet file; None when weights come later",
            '    pooling="avg",',
            '    name="backbone",',
            ")",
            "backbone.trainable = False",
            "x = backbone(x, training=False)  # its batch norm stays in inference mode",
            'x = layers.Dropout(0.5, name="dropout")(x)',
        ], "MobileNetV2 (alpha 0.35) pretrained on ImageNet, frozen, then dropout and a dense head"
    lines = ['x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)', *aug]
    if preset == "deeper-bn":
        for block, filters in enumerate((32, 64, 128), start=1):
            for k in (1, 2):
                lines += [
                    f'x = layers.Conv2D({filters}, 3, padding="same", use_bias=False, '
                    f'name="conv{block}{k}")(x)',
                    f'x = layers.BatchNormalization(name="bn{block}{k}")(x)',
                    f'x = layers.ReLU(name="relu{block}{k}")(x)',
                ]
            lines.append(f'x = layers.MaxPooling2D(2, name="pool{block}")(x)')
        lines += [
            'x = layers.GlobalAveragePooling2D(name="gap")(x)',
            'x = layers.Dropout(0.3, name="dropout")(x)',
        ]
        return lines, PRESETS[preset]
    dropout = preset == "article-dropout"
    pool = extra_pooling(spec.size) if preset == "article-pooled" else 1
    lines += [
        'x = layers.Conv2D(64, 3, activation="relu", name="conv1")(x)',
        'x = layers.MaxPooling2D(2, name="pool1")(x)',
        'x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)',
    ]
    if pool > 1:
        lines.append(f'x = layers.MaxPooling2D({pool}, name="pool2")(x)')
    lines.append('x = layers.Flatten(name="flatten")(x)')
    if dropout:
        lines.append('x = layers.Dropout(0.25, name="dropout1")(x)')
    lines.append('x = layers.Dense(128, activation="relu", name="dense")(x)')
    if dropout:
        lines.append('x = layers.Dropout(0.5, name="dropout2")(x)')
    return lines, PRESETS[preset]


def _lite0_lines() -> list[str]:
    """The plain-Keras EfficientNet-Lite0 code, without its lint line, and two blank lines."""
    try:
        text = LITE0_FRAGMENT.read_text(encoding="utf-8")
    except OSError as exc:
        raise CnnStudioError(f"cannot read {LITE0_FRAGMENT} ({exc}); reinstall") from exc
    return [line for line in text.splitlines() if not line.startswith("# ruff:")] + ["", ""]


def architecture_code(bundle: ModelBundle) -> str:
    """``build_network`` for the bundle's preset, input and augmentation, as Python source."""
    body, words = _layer_lines(bundle)
    name = f"cnnstudio_{bundle.preset.replace('-', '_')}"
    lines = _lite0_lines() if bundle.preset == PRETRAINED_PRESET else []
    lines += [
        "SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3 if COLOR else 1)",
        "",
        "",
        "def build_network(weights: str | None = None) -> keras.Model:",
        f'    """The {bundle.preset} preset. {words}.',
        "",
        "    Layers are made in CNN Studio's order, so a seed gives the app's starting weights.",
        '    Takes raw 0..255 pixels; the first layers scale them."""',
        "    layers = keras.layers",
        '    inputs = keras.Input(shape=SHAPE, name="pixels")',
        *(f"    {line}" for line in body),
        "    outputs = layers.Dense(",
        '        len(CLASS_NAMES), activation="softmax", name="classes", dtype="float32"',
        "    )(x)",
        f'    return keras.Model(inputs, outputs, name="{name}")',
        "",
    ]
    return "\n".join(lines)


def _literal(value: Any, indent: str = "") -> str:
    """``value`` as a Python literal (lists of runs one setting a line, for reading)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = []
        for item in value:
            rows.append(f"{indent}    {{")
            rows += [f"{indent}        {k!r}: {v!r}," for k, v in item.items()]
            rows.append(f"{indent}    }},")
        return "[\n" + "\n".join(rows) + f"\n{indent}]"
    return repr(value)


def settings_code(bundle: ModelBundle, model_name: str, weights: str | None) -> str:
    """The settings block: every constant the script trains by, from the model file."""
    accuracy = bundle.metrics.get("accuracy")
    values: list[tuple[str, str, Any]] = [
        ("MODEL_FILE", "The model file these settings come from, and its app version.", model_name),
        ("APP_VERSION", "", bundle.app_version),
        (
            "DATA_FOLDER",
            "The folder with one subfolder per class that the model was trained on "
            "(``--data`` overrides).",
            str(bundle.files.get("root", "")),
        ),
        ("CLASS_NAMES", "Classes in the order of the network's outputs.", list(bundle.class_names)),
        (
            "IMAGE_SIZE",
            "Model input: IMAGE_SIZE x IMAGE_SIZE pixels, colour (RGB) or grey, centre square "
            "or whole.",
            bundle.input.size,
        ),
        ("COLOR", "", bundle.input.color),
        ("CROP", "", bundle.input.crop),
        (
            "PRESET",
            "The architecture preset (the layers are in ``build_network`` below) and augmentation.",
            bundle.preset,
        ),
        ("AUGMENT", "", bundle.augment),
        (
            "PRETRAINED_WEIGHTS",
            "The pretrained preset's ImageNet weights (the file CNN Studio ships); "
            "``--weights`` overrides.",
            weights or "",
        ),
        (
            "RUNS",
            "Each training run of the model, in order (a continued model has several), as "
            "recorded: settings, then the epochs it trained and how it ended.",
            recorded_runs(bundle),
        ),
        (
            "TEMPERATURE",
            "The temperature the app fitted on the validation images after training and folded "
            "into the last layer (1.0: none). Applied here too: it changes how sure the answers "
            "are, never which.",
            float((bundle.calibration or {}).get("temperature", 1.0)),
        ),
        (
            "APP_ACCURACY",
            "The app's validation accuracy for this model (None: not recorded).",
            float(accuracy) if accuracy is not None else None,
        ),
        (
            "APP_TEST_ACCURACY",
            "The app's accuracy on the dataset's test folder (None: it had none).",
            (bundle.metrics.get("test") or {}).get("accuracy"),
        ),
        (
            "FILES_HASH",
            "How the recorded image fingerprints were made.",
            str(bundle.files.get("hash", "")),
        ),
    ]
    lines = []
    for name, comment, value in values:
        if comment:
            lines += _comment(comment)
        annotation = ": list[dict[str, Any]]" if name == "RUNS" else ""
        annotation = ": float | None" if name.startswith("APP_") and "ACC" in name else annotation
        lines.append(f"{name}{annotation} = {_literal(value)}")
    return "\n".join(lines) + "\n"


def _comment(text: str, width: int = 96) -> list[str]:
    words, lines, line = text.split(), [], "#:"
    for word in words:
        if len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "#:"
        line += " " + word
    return [*lines, line]


def _entry(relpath: str, label: int, digest: str) -> str:
    """One recorded image as a line of JSON that is safe inside a raw triple-quoted string."""
    return json.dumps([relpath, label, digest], ensure_ascii=True).replace("'", "\\u0027")


def files_code(bundle: ModelBundle) -> str:
    """``recorded_files``: the recorded images with their class and fingerprint, in order."""
    files, names = bundle.files, list(bundle.class_names)
    parts = {part: list(files.get(part) or []) for part in ("train", "val", "test")}
    split = is_split_layout([p for entries in parts.values() for p, _ in entries], names)
    classes = {name: k for k, name in enumerate(names)}
    blocks = []
    for part, entries in parts.items():
        rows = []
        for relpath, digest in entries:
            label = class_of(relpath, classes, split)
            if label is None:
                raise CnnStudioError(
                    f"the model file lists {relpath!r}, which is in no class folder of the model"
                )
            rows.append(_entry(relpath, label, digest))
        blocks.append(f"{part.upper()}_FILES = r'''\n" + "\n".join(rows) + "\n'''\n")
    return (
        "def recorded_files() -> dict[str, list[list[Any]]]:\n"
        '    """The images as the app recorded them: [path inside the data folder, class index,\n'
        "    fingerprint], training, validation and test (a test folder's), in the app's order.\n"
        '    """\n'
        "    return {\n"
        "        part: [json.loads(line) for line in text.splitlines() if line]\n"
        "        for part, text in (\n"
        '            ("train", TRAIN_FILES), ("val", VAL_FILES), ("test", TEST_FILES)\n'
        "        )\n"
        "    }\n\n\n"
        "def copy_groups() -> list[list[str]]:\n"
        '    """The groups of copies (exact, or near: re-saved, shifted) the app\'s split kept\n'
        '    wholly on one side, as paths; an image in none is a group of its own."""\n'
        "    return [json.loads(line) for line in GROUPS.splitlines() if line]\n\n\n"
        + "\n\n".join(blocks)
        + "\n\n"
        + groups_code(bundle)
    )


def groups_code(bundle: ModelBundle) -> str:
    """``GROUPS``: each recorded group of copies (``files.groups``) as a line of JSON paths."""
    rows = [
        json.dumps(list(group), ensure_ascii=True).replace("'", "\\u0027")
        for group in bundle.files.get("groups") or []
    ]
    return "GROUPS = r'''\n" + "\n".join(rows) + "\n'''\n"


def about_text(bundle: ModelBundle, model_name: str) -> str:
    runs = recorded_runs(bundle)
    epochs = sum(run["epochs_done"] for run in runs)
    text = (
        f"Written by CNN Studio for the model {model_name} (made with CNN Studio "
        f"{bundle.app_version}, saved {bundle.created}): the {bundle.preset} preset, "
        f"{len(bundle.class_names)} classes, {epochs} epochs in {len(runs)} run(s)."
    )
    if is_pretrained(bundle.preset):
        text += (
            " The pretrained backbone's weights come from the file CNN Studio ships "
            "(PRETRAINED_WEIGHTS below, or --weights FILE)."
        )
    return clean(text).replace('"""', "'''").replace("\\", "/")


def _replace_block(source: str, marker: str, text: str) -> str:
    pattern = re.compile(rf"^# <{marker}>\n.*?^# </{marker}>\n", re.DOTALL | re.MULTILINE)
    result, count = pattern.subn(lambda _: text, source)
    if count != 1:
        raise CnnStudioError(f"the reproduce.py template has no {marker} block; reinstall")
    return result


def render_script(bundle: ModelBundle, model_name: str, weights: str | None = None) -> str:
    """The filled-in ``reproduce.py`` for ``bundle`` (``weights``: the pretrained backbone's
    weights file, for that preset)."""
    try:
        source = TEMPLATE.read_text(encoding="utf-8")
    except OSError as exc:
        raise CnnStudioError(f"cannot read the reproduce.py template {TEMPLATE} ({exc})") from exc
    source = _replace_block(source, "about", _wrap(about_text(bundle, model_name)))
    source = _replace_block(source, "settings", settings_code(bundle, model_name, weights))
    source = _replace_block(source, "architecture", architecture_code(bundle))
    return _replace_block(source, "files", files_code(bundle))


def _wrap(text: str, width: int = 96) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line]) + "\n"
