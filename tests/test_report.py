"""The model card (``model_card.html``) and ``reproduce.py``: what the card holds, that it is
safe and self-contained, and that the script is plain Keras that repeats the app's training."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from core.data.images import InputSpec, load_input
from core.modelfile.bundle import ModelBundle, read_bundle
from core.share.card import CARD_NAME, SCRIPT_NAME, render_card, write_report
from core.share.script import extra_pooling, render_script
from tests.imagegen import (
    animated_gif,
    encode,
    gradient,
    png16_gray,
    png16_rgb,
    with_exif_orientation,
)

#: Modules reproduce.py may import: the standard library's and Keras, TensorFlow, NumPy, Pillow.
ALLOWED_IMPORTS = {
    "__future__",
    "argparse",
    "hashlib",
    "io",
    "json",
    "math",
    "os",
    "sys",
    "pathlib",
    "typing",
    "keras",
    "numpy",
    "tensorflow",
    "PIL",
}
HOSTILE = ["<script>alert(1)", 'a & b "c"', "it's <b>"]


def imported_modules(source: str) -> set[str]:
    """The top-level names of every module ``source`` imports (anywhere in it)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def constants(source: str) -> dict[str, object]:
    """The script's top-level constants whose values are literals."""
    values = {}
    for node in ast.parse(source).body:
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name):
            with contextlib.suppress(ValueError):
                values[target.id] = ast.literal_eval(value)
    return values


def load_script(path: Path) -> ModuleType:
    """reproduce.py as a module (its ``main`` is not run)."""
    spec = importlib.util.spec_from_file_location("reproduce_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def renamed(bundle: ModelBundle, names: list[str]) -> ModelBundle:
    """``bundle`` with its classes renamed to ``names`` everywhere the metadata names them."""
    old = list(bundle.class_names)
    rename = dict(zip(old, names, strict=True))
    metrics = dict(bundle.metrics)
    metrics["class_names"] = names
    metrics["per_class"] = {rename[k]: v for k, v in metrics["per_class"].items()}
    metrics["misclassified"] = [
        {
            **m,
            "true": rename[m["true"]],
            "predicted": rename[m["predicted"]],
            "probabilities": {rename[k]: v for k, v in m["probabilities"].items()},
        }
        for m in metrics.get("misclassified", [])
    ]

    def moved(relpath: str) -> str:
        first, rest = relpath.split("/", 1)
        return f"{rename[first]}/{rest}"

    files = dict(bundle.files)
    for part in ("train", "val"):
        files[part] = [[moved(p), h] for p, h in bundle.files[part]]
    return dataclasses.replace(bundle, class_names=names, metrics=metrics, files=files)


@pytest.fixture(scope="module")
def bundle(saved_model: Path) -> ModelBundle:
    return read_bundle(saved_model)


@pytest.fixture(scope="module")
def report(bundle: ModelBundle, saved_model: Path, tmp_path_factory) -> tuple[str, str]:
    """(card, script) written for the pattern model."""
    written = write_report(bundle, tmp_path_factory.mktemp("report"), saved_model)
    return written.card.read_text(encoding="utf-8"), written.script.read_text(encoding="utf-8")


def test_the_card_holds_the_data_settings_scores_versions_and_hashes(bundle, report):
    card, _ = report
    text = html.unescape(re.sub(r"<[^>]+>", " ", card))
    for name in bundle.class_names:
        assert name in text
    train, val = bundle.files["train"], bundle.files["val"]
    blob_train = sum(p.startswith("blob/") for p, _ in train)
    blob_val = sum(p.startswith("blob/") for p, _ in val)
    assert re.search(rf"blob\s+{blob_train}\s+{blob_val}\s+{blob_train + blob_val}\b", text)
    assert re.search(rf"all\s+{len(train)}\s+{len(val)}\s+{len(train) + len(val)}\b", text)
    assert "precision" in text and "recall" in text and "F1" in text
    scores = bundle.metrics["per_class"]["vertical"]
    assert re.search(
        rf"vertical\s+{scores['precision']:.3f}\s+{scores['recall']:.3f}\s+{scores['f1']:.3f}"
        rf"\s+{scores['support']}",
        text,
    )
    assert card.count("<svg") >= 3  # loss, accuracy, confusion matrix
    assert "<polyline" in card
    config = bundle.training["config"]
    assert re.search(rf"Batch size\s+{config['batch_size']}\b", text)
    assert re.search(rf"Random seed\s+{config['seed']}\b", text)
    for library in ("Python", "Operating system", "CPU", "TensorFlow", "Keras", "NumPy"):
        assert re.search(rf"{library}\s+\S", text), library
    assert bundle.versions["tensorflow"] in text
    # the model file records Python, the OS and the CPU when it is saved, so all come from it
    assert "model file (when it was saved)" in text and "this computer, now" not in text
    assert bundle.versions["python"] in text and bundle.versions["cpu"] in text
    first_path, first_hash = train[0]
    assert f"{first_hash}  {first_path}" in text
    assert "<details>" in card
    assert re.search(r"SHA-256\)\s+[0-9a-f]{64}", text)


def test_the_card_is_self_contained(report):
    card, _ = report
    assert not re.search(r"https?:|ftp:|//[a-z]", card, re.IGNORECASE)
    assert "<script" not in card.lower()
    assert not re.search(r"\b(src|href)\s*=", card, re.IGNORECASE)
    assert "url(" not in card and "@import" not in card
    assert "default-src 'none'" in card  # the page itself forbids loading anything


def test_hostile_class_names_are_escaped(bundle, tmp_path):
    hostile = renamed(bundle, HOSTILE)
    written = write_report(hostile, tmp_path, "a <b>&model.cnnmodel")
    card = written.card.read_text(encoding="utf-8")
    assert "<script" not in card.lower()
    for name in HOSTILE:
        assert html.escape(name, quote=True) in card
        assert name not in card  # never raw: each has <, & or a quote
    assert "a &lt;b&gt;&amp;model.cnnmodel" in card
    script = written.script.read_text(encoding="utf-8")
    values = constants(script)
    assert values["CLASS_NAMES"] == HOSTILE
    assert values["MODEL_FILE"] == "a <b>&model.cnnmodel"
    rows = [json.loads(line) for line in values["TRAIN_FILES"].splitlines() if line]
    assert [r[0] for r in rows] == [p for p, _ in hostile.files["train"]]
    assert [HOSTILE[r[1]] for r in rows] == [p.split("/")[0] for p, _ in hostile.files["train"]]


def test_a_file_name_that_is_not_utf8_is_written_readably(bundle, tmp_path):
    odd = "blob/caf\udce9.png"  # how Python holds the bytes b"caf\xe9.png"
    files = dict(bundle.files, train=[[odd, "0" * 40], *bundle.files["train"]])
    written = write_report(dataclasses.replace(bundle, files=files), tmp_path)
    assert "caf\ufffd.png" in written.card.read_text(encoding="utf-8")
    rows = constants(written.script.read_text(encoding="utf-8"))["TRAIN_FILES"].splitlines()
    assert json.loads(rows[1])[0] == odd  # the script still opens the real file


def test_reproduce_imports_nothing_of_cnn_studio(report):
    _, script = report
    modules = imported_modules(script)
    assert modules <= ALLOWED_IMPORTS, modules - ALLOWED_IMPORTS
    assert not {"core", "gui", "cnn_studio"} & modules


def test_reproduce_records_the_settings(bundle, report):
    _, script = report
    values = constants(script)
    config = bundle.training["config"]
    (run,) = values["RUNS"]
    for key in ("epochs", "batch_size", "learning_rate", "optimizer", "seed", "patience"):
        assert run[key] == config[key], key
    assert run["label_smoothing"] == config["label_smoothing"] == 0.1
    assert run["precision"] == config["precision"]
    assert values["CLASS_NAMES"] == bundle.class_names
    assert values["IMAGE_SIZE"] == bundle.input.size and values["COLOR"] is bundle.input.color
    assert values["PRESET"] == "article"
    assert values["DATA_FOLDER"] == bundle.files["root"]
    assert values["APP_ACCURACY"] == bundle.metrics["accuracy"]
    val = [json.loads(line) for line in values["VAL_FILES"].splitlines() if line]
    assert [[p, h] for p, _, h in val] == bundle.files["val"]


def test_the_pooling_rule_matches_the_app():
    from core.nets.models import extra_pooling as app_rule

    assert all(extra_pooling(size) == app_rule(size) for size in range(8, 513))


@pytest.mark.parametrize(
    ("preset", "spec", "augment"),
    [
        ("article", InputSpec(16), False),
        ("article-dropout", InputSpec(20), True),
        ("article-pooled", InputSpec(48, True), True),
        ("deeper-bn", InputSpec(24), True),
        ("photos-pretrained", InputSpec(32, True), True),
        ("photos", InputSpec(32, True), True),
    ],
)
def test_the_script_builds_the_apps_network_with_its_starting_weights(
    preset, spec, augment, tmp_path
):
    """Layers made in the same order: under one seed both start from the same weights."""
    from core.nets.models import ModelSpec, build_model
    from core.nets.runtime import keras

    classes = ["a", "b", "c"]
    bundle = ModelBundle(preset, spec, classes, augment, weights=[])
    path = tmp_path / "reproduce.py"
    path.write_text(render_script(bundle, "x.cnnmodel"), encoding="utf-8")
    script = load_script(path)
    keras.utils.set_random_seed(7)
    app = build_model(ModelSpec(preset, spec, len(classes), augment))
    keras.utils.set_random_seed(7)
    mine = script.build_network(None)
    assert [layer.name for layer in mine.layers] == [layer.name for layer in app.layers]
    assert mine.count_params() == app.count_params()
    for ours, theirs in zip(mine.get_weights(), app.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_the_scripts_efficientnet_lite0_holds_the_apps_imagenet_weights(tmp_path):
    """The plain-Keras Lite0 of a photos model's script reads the shipped .npz itself and
    gives the app's features: the same network and the same weights, by name."""
    from core.assets import EFFICIENTNET_LITE0_WEIGHTS, asset_path
    from core.nets.models import ModelSpec, build_model

    spec = InputSpec(64, True)
    weights = str(asset_path(EFFICIENTNET_LITE0_WEIGHTS))
    bundle = ModelBundle("photos", spec, ["a", "b"], False, weights=[])
    path = tmp_path / "reproduce.py"
    path.write_text(render_script(bundle, "x.cnnmodel", weights), encoding="utf-8")
    script = load_script(path)
    assert weights == script.PRETRAINED_WEIGHTS
    mine = script.build_network(weights).get_layer("backbone")
    app = build_model(ModelSpec("photos", spec, 2), pretrained=True).get_layer("backbone")
    for ours, theirs in zip(mine.get_weights(), app.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    image = np.random.default_rng(0).uniform(-1, 1, (2, *spec.shape)).astype(np.float32)
    np.testing.assert_allclose(mine(image), app(image), atol=1e-5)


def odd_images(folder: Path) -> list[Path]:
    """Files that exercise each step of the decoding recipe."""
    big = gradient((300, 200))
    rgba = gradient((30, 40), "RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.arange(30, dtype=np.uint8) * 8, (40, 1))))
    files = {
        "exif.jpg": with_exif_orientation(gradient((40, 30)), 6),
        "big.jpg": encode(big, "JPEG", quality=90),  # decoded at reduced scale (draft)
        "grey.jpg": encode(big.convert("L"), "JPEG"),
        "cmyk.jpg": encode(gradient((33, 21)).convert("CMYK"), "JPEG"),
        "grey16.png": png16_gray(23, 17, 40000),
        "rgb16.png": png16_rgb(19, 25, 1000),
        "alpha.png": encode(rgba, "PNG"),
        "la.png": encode(rgba.convert("LA"), "PNG"),
        "palette.gif": animated_gif(frames=3),
        "plain.bmp": encode(gradient((17, 29)), "BMP"),
        "photo.tif": encode(gradient((26, 18)), "TIFF"),
        "photo.webp": encode(gradient((26, 18)), "WEBP"),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def test_the_script_decodes_files_exactly_as_the_app(bundle, report, tmp_path, monkeypatch):
    _, source = report
    path = tmp_path / "reproduce.py"
    path.write_text(source, encoding="utf-8")
    script = load_script(path)
    images = odd_images(tmp_path)
    for spec in (InputSpec(16), InputSpec(24, True, crop=True), InputSpec(20, True)):
        monkeypatch.setattr(script, "IMAGE_SIZE", spec.size)
        monkeypatch.setattr(script, "COLOR", spec.color)
        monkeypatch.setattr(script, "CROP", spec.crop)
        for image in images:
            np.testing.assert_array_equal(
                script.load_image(image), load_input(image, spec), err_msg=f"{image.name} {spec}"
            )


def test_the_card_compares_the_folder_now_with_the_lists(bundle, pattern_dir, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(pattern_dir, folder)
    (folder / ".DS_Store").write_bytes(b"junk")
    shutil.copy(folder / bundle.files["train"][0][0], folder / "blob" / "added.png")
    (folder / bundle.files["val"][0][0]).unlink()
    moved = dataclasses.replace(bundle, files=dict(bundle.files, root=str(folder)))
    text = html.unescape(render_card(moved, "m.cnnmodel"))
    assert ".DS_Store</code>: ignored: macOS folder settings file" in text
    assert "does not list" in text and "blob/added.png" in text
    assert "no longer in the folder" in text and bundle.files["val"][0][0] in text
    gone = dataclasses.replace(bundle, files=dict(bundle.files, root=str(tmp_path / "gone")))
    assert "not on this computer now" in render_card(gone, "m.cnnmodel")


def test_calibration_is_shown_when_recorded_and_labelled_when_not(bundle):
    plain = dataclasses.replace(bundle, calibration={}, metrics=dict(bundle.metrics))
    plain.metrics.pop("calibration_error", None)
    assert "Not recorded: the model file holds no calibration" in render_card(plain, "m", False)
    bins = [
        {"lower": 0.8, "upper": 0.9, "confidence": 0.85, "accuracy": 0.8, "count": 5},
        {"lower": 0.9, "upper": 1.0, "confidence": 0.95, "accuracy": 1.0, "count": 19},
    ]
    calibrated = dataclasses.replace(
        bundle,
        calibration={"temperature": 1.75, "ece_before": 0.082, "ece_after": 0.021, "bins": bins},
    )
    text = html.unescape(re.sub(r"<[^>]+>", " ", render_card(calibrated, "m", False)))
    assert re.search(r"Temperature\s+1.75", text)
    assert re.search(r"before\s+8.20%", text) and re.search(r"after\s+2.10%", text)
    card = render_card(calibrated, "m", False)
    assert 'aria-label="reliability diagram"' in card
    assert card.count('class="bar"') == 2


def test_the_report_refuses_a_file_as_its_folder(bundle, tmp_path):
    from core.errors import SaveError

    target = tmp_path / "taken"
    target.write_text("mine")
    with pytest.raises(SaveError, match="is a file, not a folder"):
        write_report(bundle, target)
    assert target.read_text() == "mine"


def test_cli_report_writes_the_card_and_the_script(saved_model, tmp_path, capsys):
    from core.cli.main import main

    out = tmp_path / "new" / "report"
    assert main(["report", str(saved_model), "--out", str(out)]) == 0
    assert (out / CARD_NAME).is_file() and (out / SCRIPT_NAME).is_file()
    assert str(out / CARD_NAME) in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing.cnnmodel"), "--out", str(out)]) == 1
    assert "missing.cnnmodel" in capsys.readouterr().err


def test_the_session_reports_its_current_model(trained_session, tmp_path):
    written = trained_session.write_report(tmp_path)
    card = written.card.read_text(encoding="utf-8")
    assert all(name in card for name in trained_session.state().model.class_names)
    assert written.script.is_file()


def test_the_window_writes_the_report_and_offers_to_open_it(qtbot, dialogs, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from gui.main_window import MainWindow
    from gui.settings import MemoryStore, Preferences
    from tests.fake_engine import FakeEngine, model_view

    engine = FakeEngine()
    window = MainWindow(engine, Preferences(MemoryStore()))
    qtbot.addWidget(window)
    assert not window.report_action.isEnabled()
    engine.set_state(model=model_view(["a", "b"], saved_path=str(tmp_path / "m.cnnmodel")))
    assert window.report_action.isEnabled()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    window.report_action.trigger()
    assert engine.called("write_report") == [("write_report", str(tmp_path))]
    (tmp_path / CARD_NAME).write_text("an older card")
    window.report_action.trigger()  # asks before replacing; the default answer is Cancel
    assert len(engine.called("write_report")) == 1
    assert dialogs.kinds() == ["question"]
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url))
    dialogs.answers.append(QMessageBox.StandardButton.Yes)
    engine.report_written.emit(str(tmp_path / CARD_NAME))
    assert [url.toLocalFile() for url in opened] == [str(tmp_path / CARD_NAME)]


def pattern_files(root: Path, names: list[str], per_class: int = 30, size: int = 20) -> Path:
    """Three learnable classes in folders named ``names``, as PNG and JPEG files (JPEG goes
    through the app's reduced-scale decoding), plus a file that is not an image."""
    rng = np.random.default_rng(4)
    for k, name in enumerate(names):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 60, (size * 3, size * 3)).astype(np.uint8)
            offset = int(rng.integers(0, 6))
            if k == 0:
                pixels[offset::6] = 230
            elif k == 1:
                pixels[:, offset::6] = 230
            else:
                c = int(rng.integers(12, size * 3 - 12))
                pixels[c - 10 : c + 10, c - 10 : c + 10] = 240
            image = Image.fromarray(pixels, "L")
            fmt = "JPEG" if i % 3 == 0 else "PNG"
            (folder / f"{i:03d}.{fmt.lower()}").write_bytes(encode(image, fmt))
        (folder / "notes.png").write_text("not an image")  # skipped by the app
    return root


@pytest.mark.slow
def test_reproduce_py_repeats_the_apps_training_in_a_fresh_process(tmp_path):
    """The acceptance check: run reproduce.py on its own and compare with the app.

    On the same computer and libraries the script repeats the app's run step by step (same
    images, order, starting weights, augmentation and dropout draws), so its model should
    answer exactly like the app's. The validation set here is small (18 images: one image is
    5.6 points), so "within a point" of accuracy would demand identical answers anyway; the
    test allows one validation image to differ, for arithmetic that rounds differently on
    another CPU, and requires the accuracy to be within that one image.
    """
    from core.learn.config import TrainConfig
    from core.nets.runtime import keras
    from core.session import Session
    from core.use.classify import Classifier

    names = ['a & b "c"', "<i>", "it's"]
    data = pattern_files(tmp_path / "data", names)
    session = Session(use_cache=False)
    session.load_dataset(data, InputSpec(20))
    config = TrainConfig(epochs=6, batch_size=16, seed=11)
    summary = session.train(config, "article-dropout", augment=True)
    model_path = session.save(tmp_path / "model.cnnmodel")
    written = session.write_report(tmp_path / "report")
    # A fresh Python that cannot import CNN Studio, even if it is installed.
    guard = (
        "import runpy, sys; sys.modules.update(core=None, gui=None); "
        f"sys.argv = ['reproduce.py']; runpy.run_path({str(written.script)!r}, run_name='__main__')"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", guard],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stdout, done.stdout  # every image decoded as the app did
    assert re.search(r"Read 90 of 90 images", done.stdout)
    figures = json.loads((written.folder / "reproduced.json").read_text())
    val = read_bundle(model_path).files["val"]
    assert figures["val_images"] == len(val) == 18
    assert figures["app_accuracy"] == summary.evaluation["accuracy"]
    assert abs(figures["accuracy"] - figures["app_accuracy"]) <= 1 / len(val) + 1e-9
    reproduced = keras.models.load_model(written.folder / "reproduced.keras")
    rows = [session.dataset.paths.index(p) for p, _ in val]
    images = session.dataset.images[rows]
    ours = np.argmax(reproduced.predict(images.astype(np.float32), verbose=0), axis=1)
    theirs = np.argmax(Classifier.from_file(model_path).probabilities(images), axis=1)
    assert (ours != theirs).sum() <= 1
