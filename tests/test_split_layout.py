"""Dataset folders split into train/, valid/ (or val/, validation/) and test/, as Kaggle and
Roboflow export them; and evaluating a model on any folder from the app.

The layout tests need no TensorFlow. The training run (slow) checks that the given validation
images are exactly the ones used and that the test images are scored and stored; the GUI test
drives the real app (real engine, real Qt events) through Model → Evaluate on a folder….
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from core.cli.main import main
from core.data.dataset import load_dataset
from core.data.images import InputSpec
from core.data.layout import detect_layout
from core.data.scan import scan_folder
from core.errors import ModelFileError
from core.modelfile.schema import check_meta
from gui.tabs.results import ResultsPage
from gui.widgets.class_metrics import ClassMetricsTable
from tests.conftest import make_dataset, shared_path
from tests.fake_engine import model_view

CLASSES = ("blob", "horizontal", "vertical")
SPEC = InputSpec(16)


def write_patterns(folder: Path, per_class: dict[str, int], seed: int) -> list[str]:
    """Easily learnt 16x16 images (stripes or a blob on noise), different for every ``seed``;
    returns the written files' paths relative to ``folder``'s parent."""
    rng = np.random.default_rng(seed)
    written = []
    for name, count in per_class.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 60, (16, 16)).astype(np.uint8)
            offset = int(rng.integers(0, 4))
            if name == "horizontal":
                pixels[offset::4] = 230
            elif name == "vertical":
                pixels[:, offset::4] = 230
            else:
                c = int(rng.integers(5, 11))
                pixels[c - 3 : c + 3, c - 3 : c + 3] = 240
            relpath = f"{folder.name}/{name}/{name}_{i:03d}.png"
            Image.fromarray(pixels, "L").save(folder.parent / relpath)
            written.append(relpath)
    return written


def split_folder(root: Path, names: dict[str, str | None], counts: dict[str, int]) -> dict:
    """Write a split dataset: ``names`` maps each part to its folder name (None: absent)."""
    written = {}
    for seed, (role, name) in enumerate(names.items()):
        if name is not None:
            written[role] = write_patterns(root / name, dict.fromkeys(CLASSES, counts[role]), seed)
    return written


COUNTS = {"train": 8, "valid": 3, "test": 2}


@pytest.mark.parametrize(
    "train, valid, test",
    [("train", "valid", "test"), ("train", "val", "test"), ("TRAIN", "Validation", "Test")],
)
def test_the_given_validation_folder_replaces_the_random_split(tmp_path, train, valid, test):
    written = split_folder(tmp_path, {"train": train, "valid": valid, "test": test}, COUNTS)
    data = load_dataset(tmp_path, SPEC)
    assert data.class_names == list(CLASSES)  # the classes inside, not the split folders
    assert data.counts() == dict.fromkeys(CLASSES, 13)
    assert data.can_train and data.warnings == []
    train_rows, val_rows, warnings = data.split(0.5, seed=3)  # the share does not matter
    assert warnings == []
    assert sorted(data.paths[i] for i in val_rows) == sorted(written["valid"])
    assert sorted(data.paths[i] for i in train_rows) == sorted(written["train"])
    assert sorted(data.paths[i] for i in data.part_rows("test")) == sorted(written["test"])
    summary = data.summary()["layout"]
    assert summary["folders"] == {"train": train, "valid": valid, "test": test}
    assert summary["counts"] == {role: [n] * 3 for role, n in COUNTS.items()}
    assert summary["note"].startswith(
        f"Found {train}/{valid}/{test} folders: using the given validation images (9 in {valid}/)"
    )
    assert "the 6 test images" in summary["note"]


def test_without_test_folder_the_validation_folder_is_still_used(tmp_path):
    written = split_folder(tmp_path, {"train": "train", "valid": "valid", "test": None}, COUNTS)
    data = load_dataset(tmp_path, SPEC)
    _, val_rows, _ = data.split(0.2, seed=0)
    assert sorted(data.paths[i] for i in val_rows) == sorted(written["valid"])
    assert len(data.part_rows("test")) == 0
    assert data.layout_summary()["note"] == (
        "Found train/ and valid/ folders: using the given validation images (9 in valid/) "
        "instead of a random split."
    )


def test_without_validation_folder_validation_is_drawn_from_train_only(tmp_path):
    written = split_folder(tmp_path, {"train": "train", "valid": None, "test": "test"}, COUNTS)
    data = load_dataset(tmp_path, SPEC)
    train_rows, val_rows, _ = data.split(0.25, seed=0)
    train_files, val_files = {data.paths[i] for i in train_rows}, {data.paths[i] for i in val_rows}
    assert train_files | val_files == set(written["train"])  # test images are in neither
    assert len(val_files) == 6  # a quarter of each class's 8 training images
    assert "validation images are drawn at random from train/" in data.layout_summary()["note"]
    # A lone train/ folder of class folders is a split layout too, not a class named "train".
    for image in (tmp_path / "test").rglob("*.png"):
        image.unlink()
    assert load_dataset(tmp_path, SPEC).class_names == list(CLASSES)


def test_a_class_missing_from_a_part_is_reported(tmp_path):
    split_folder(tmp_path, {"train": "train", "valid": "valid", "test": "test"}, COUNTS)
    write_patterns(tmp_path / "train", {"extra": 8}, seed=9)  # only in train/
    data = load_dataset(tmp_path, SPEC)
    assert data.class_names == ["blob", "extra", "horizontal", "vertical"]
    assert data.can_train
    assert data.warnings == [
        "Class 'extra' has no images in valid/ or test/: it is trained on but not scored there."
    ]
    write_patterns(tmp_path / "test", {"unknown": 2}, seed=10)  # only in test/
    data = load_dataset(tmp_path, SPEC)
    assert not data.can_train
    assert any(
        "Class 'unknown' has no training images (it is only in test/)" in p for p in data.problems
    )


def test_folders_beside_the_split_folders_are_left_out_and_said_so(tmp_path):
    split_folder(tmp_path, {"train": "train", "valid": "val", "test": None}, COUNTS)
    make_dataset(tmp_path, {"bus": 3})  # looks like a class beside train/
    write_patterns(tmp_path / "validation", {"blob": 2}, seed=7)  # a second validation folder
    index = scan_folder(tmp_path)
    assert index.class_names == list(CLASSES)
    reasons = {s.path: s.reason for s in index.skipped}
    assert "not a train, validation or test folder" in reasons["bus"]
    assert "a second validation folder beside val/" in reasons["validation"]
    warnings = " ".join(load_dataset(index, SPEC).warnings)
    assert "other folders beside them (bus/) were left out" in warnings
    assert "move them into train/" in warnings
    assert "validation/ was left out: val/ already holds the validation images" in warnings


def test_plain_class_folders_named_like_parts_stay_classes(tmp_path):
    make_dataset(tmp_path, {"train": 3, "test": 3})  # images directly inside: two classes
    assert detect_layout([(p.name, str(p)) for p in sorted(tmp_path.iterdir())]) is None
    assert load_dataset(tmp_path, SPEC).class_names == ["test", "train"]


def test_an_image_in_train_and_test_is_a_leakage_warning(tmp_path):
    written = split_folder(tmp_path, {"train": "train", "valid": None, "test": "test"}, COUNTS)
    leaked = tmp_path / written["test"][0]
    leaked.write_bytes((tmp_path / written["train"][0]).read_bytes())  # same class: blob
    warnings = load_dataset(tmp_path, SPEC).warnings
    assert warnings == [
        f"1 image(s) of test/ are also in train/ (identical content), e.g. {written['test'][0]}: "
        "they flatter the test score (leakage), so the score on the test images it never saw "
        "is given beside it."
    ]  # said once, as leakage, not also as a duplicate within the class


def test_the_shared_fashion_mnist_folder_is_read_as_train_and_test():
    """Real data laid out as train/<class>/ and test/<class>/ (and a labels/ folder of IDX
    files beside them): ten classes, not 'labels', 'test' and 'train'."""
    index = scan_folder(shared_path("fashion-mnist"))
    assert index.class_names == [str(k) for k in range(10)]
    assert index.layout is not None and index.layout.folders == (
        ("train", "train"),
        ("test", "test"),
    )
    assert index.file_count == 25_000
    assert [s.path for s in index.skipped] == ["labels"]


def test_inspect_prints_the_layout_and_each_parts_counts(tmp_path, capsys):
    split_folder(tmp_path, {"train": "train", "valid": "valid", "test": "test"}, COUNTS)
    assert main(["inspect", str(tmp_path), "--image-size", "16", "--no-cache"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("Found train/valid/test folders: using the given validation images")
    assert lines[2].split() == ["class", "images", "train/", "valid/", "test/"]
    assert lines[3].split() == ["blob", "13", "8", "3", "2"]


# --- the app --------------------------------------------------------------------------------


def test_the_data_tab_says_how_the_parts_are_used(qtbot, tmp_path):
    from gui.tabs.data import DataTab
    from tests.fake_engine import FakeEngine

    engine = FakeEngine()
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    split_folder(tmp_path / "split", {"train": "train", "valid": "val", "test": "test"}, COUNTS)
    engine.load(load_dataset(tmp_path / "split", SPEC))
    assert "Found train/val/test folders: using the given validation images" in (
        tab.advice_label.text()
    )
    assert not tab.val_spin.isEnabled()  # the folder's own validation images are used
    assert tab.class_table.item(0, 1).text() == "13"
    assert tab.class_table.item(0, 1).toolTip() == "train/: 8, val/: 3, test/: 2"
    engine.load(load_dataset(make_dataset(tmp_path / "plain", {"a": 3, "b": 3}), SPEC))
    assert tab.val_spin.isEnabled() and "Found" not in tab.advice_label.text()


def test_class_metrics_table_sorts_numbers_as_numbers_on_a_header_click(qtbot):
    table = ClassMetricsTable()
    qtbot.addWidget(table)
    table.show()
    scores = {
        name: {"precision": p, "recall": 0.5, "f1": 0.5, "support": n}
        for name, p, n in (("cat", 0.9, 9), ("dog", 0.25, 100), ("eel", 0.5, 10))
    }
    table.show_scores(scores)
    assert table.rows() == [
        ("cat", "0.90", "0.50", "0.50", "9"),
        ("dog", "0.25", "0.50", "0.50", "100"),
        ("eel", "0.50", "0.50", "0.50", "10"),
    ]
    assert table.item(0, 4).textAlignment() & Qt.AlignmentFlag.AlignRight
    header = table.horizontalHeader()
    images = QPoint(header.sectionViewportPosition(4) + header.sectionSize(4) // 2, 5)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=images)
    shown = [row[4] for row in table.rows()]
    assert shown in (["9", "10", "100"], ["100", "10", "9"])  # numeric, not "10" < "100" < "9"
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=images)
    assert [row[4] for row in table.rows()] == shown[::-1]


def test_results_page_switches_between_validation_and_test_scores(qtbot):
    def scores(accuracy: float, support: int) -> dict:
        per_class = {
            n: {"precision": accuracy, "recall": accuracy, "f1": accuracy, "support": support}
            for n in ("a", "b")
        }
        matrix = [[support, 0], [0, support]]
        return {"accuracy": accuracy, "per_class": per_class, "confusion_matrix": matrix}

    page = ResultsPage()
    qtbot.addWidget(page)
    page.show_model(model_view(["a", "b"], evaluation=scores(0.5, 3)))
    assert not page.set_choice.isVisibleTo(page)  # no test results: nothing to choose
    assert "Validation accuracy 50.0%" in page.metrics_label.text()
    page.show_model(model_view(["a", "b"], evaluation={**scores(0.5, 3), "test": scores(1, 7)}))
    assert page.set_choice.isVisibleTo(page)
    page.set_choice.setCurrentIndex(1)
    assert "Test accuracy 100.0%" in page.metrics_label.text()
    assert "14 test images, never used in training" in page.metrics_label.text()
    assert page.scores.rows() == [
        ("a", "1.00", "1.00", "1.00", "7"),
        ("b", "1.00", "1.00", "1.00", "7"),
    ]
    assert page.confusion.item(0, 0).text() == "7"


# --- training and evaluating for real (TensorFlow) ------------------------------------------


@pytest.fixture(scope="module")
def split_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("split") / "shapes"
    counts = {"train": 16, "valid": 4, "test": 5}
    return root, split_folder(root, {"train": "train", "valid": "valid", "test": "test"}, counts)


@pytest.fixture(scope="module")
def split_model(split_data, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A model trained by `cnn-studio train` on the split folder: (file, stdout, stderr)."""
    root, _ = split_data
    out = tmp_path_factory.mktemp("models") / "shapes.cnnmodel"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(
            [
                "train", str(root), "--image-size", "16", "--epochs", "4", "--batch-size", "16",
                "--seed", "1", "--precision", "float32", "--no-cache", "--out", str(out),
            ]
        )  # fmt: skip
    assert code == 0, stderr.getvalue()
    return out, stdout.getvalue(), stderr.getvalue()


@pytest.mark.slow
def test_training_uses_the_given_validation_images_and_scores_the_test_folder(
    split_data, split_model
):
    from core.modelfile.bundle import read_bundle
    from core.session import Session

    _, written = split_data
    path, stdout, stderr = split_model
    assert "Found train/valid/test folders: using the given validation images (12 in valid/)" in (
        stderr
    )
    bundle = read_bundle(path)
    files = bundle.files
    assert sorted(p for p, _ in files["val"]) == sorted(written["valid"])  # exactly those
    assert sorted(p for p, _ in files["train"]) == sorted(written["train"])
    assert sorted(p for p, _ in files["test"]) == sorted(written["test"])
    test = bundle.metrics["test"]
    assert {n: s["support"] for n, s in test["per_class"].items()} == dict.fromkeys(CLASSES, 5)
    assert sum(map(sum, test["confusion_matrix"])) == 15
    assert sum(map(sum, bundle.metrics["confusion_matrix"])) == 12  # validation: valid/ only
    lines = stdout.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("Test set"))
    assert lines[heading].startswith(
        f"Test set (test/, 15 images never used in training): accuracy {test['accuracy']:.2%}"
    )
    table = [line.split() for line in lines[heading + 2 : heading + 6]]
    assert table[0] == ["class", "precision", "recall", "f1", "images"]
    assert [row[0] for row in table[1:]] == list(CLASSES) and {row[4] for row in table[1:]} == {"5"}
    session = Session(use_cache=False)
    session.open(path)
    assert session.state().model.evaluation["test"]["accuracy"] == test["accuracy"]


@pytest.mark.slow
def test_the_model_file_check_covers_the_test_results(split_model):
    from tests.test_bundle import members_of

    meta = json.loads(members_of(split_model[0])["meta.json"])
    assert check_meta(copy.deepcopy(meta))["metrics"]["test"]["accuracy"] >= 0
    meta["metrics"]["test"]["accuracy"] = 1.5
    with pytest.raises(ModelFileError, match=re.escape("'metrics.test.accuracy' must be a number")):
        check_meta(meta)
    meta["metrics"]["test"] = {}
    with pytest.raises(ModelFileError, match=re.escape("'metrics.test' must not be empty")):
        check_meta(meta)


@pytest.fixture
def app(qtbot, dialogs):
    from gui.app import build_window
    from gui.settings import MemoryStore

    window, engine = build_window(MemoryStore())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(engine.ready, timeout=120_000):
        engine.start()
    yield window, engine
    engine.shutdown()


@pytest.mark.slow
def test_evaluate_on_a_folder_from_the_model_menu_warns_about_training_images(
    qtbot, app, split_data, split_model, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    window, engine = app
    root, _ = split_data
    assert not window.evaluate_action.isEnabled()  # no model yet
    with qtbot.waitSignal(engine.model_opened, timeout=60_000):
        engine.open_model(str(split_model[0]))
    qtbot.waitUntil(window.evaluate_action.isEnabled)
    chosen = [str(root)]  # the whole folder first: 48 of its 75 images were trained on
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: chosen.pop(0))
    window.activateWindow()
    with qtbot.waitSignal(engine.folder_evaluated, timeout=60_000):
        qtbot.keyClick(
            window,
            Qt.Key.Key_E,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    dialog = window.evaluation_dialog
    assert dialog is not None and dialog.isVisible()
    assert [(row[0], row[4]) for row in dialog.scores.rows()] == [(c, "25") for c in CLASSES]
    assert dialog.warning.isVisible()
    warning = dialog.warning.text()
    assert "Of these 75 images, 48 were in its training set, so the whole figure is" in warning
    assert "on the 27 images it never saw" in warning
    assert "on the 27 it never saw" in dialog.summary.text()
    assert dialog.matrix.rowCount() == 3
    assert sum(int(dialog.matrix.item(r, c).text()) for r in range(3) for c in range(3)) == 75
    assert "Accuracy" in dialog.summary.text() and "on 75 images" in dialog.summary.text()

    chosen.append(str(root / "test"))  # then the test folder alone: a fair score, no warning
    with qtbot.waitSignal(engine.folder_evaluated, timeout=60_000):
        qtbot.mouseClick(dialog.another_button, Qt.MouseButton.LeftButton)
    assert not dialog.warning.isVisible()
    assert [(row[0], row[4]) for row in dialog.scores.rows()] == [(c, "5") for c in CLASSES]
    assert "on images it never saw" in dialog.summary.text()
