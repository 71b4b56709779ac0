"""Copies of one picture across a split: the random validation split keeps exact and near copies
on one side, reproduce.py draws the same split, and every score that may hold copies of
training images (`evaluate`, a given test folder) also says how the images the model never saw
did.

The copies are made here from Fashion-MNIST images in ../shared/data: byte-for-byte copies
under another name (exact) and JPEG re-encodes at quality 95 (near: other pixels, a perceptual
hash within :data:`core.data.near_duplicates.NEAR_BITS` bits, which the tests check first).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.dataset import LoadedDataset, load_dataset
from core.data.images import InputSpec, load_input
from core.data.near_duplicates import NEAR_BITS, copy_groups, phash
from core.data.split import stratified_split
from tests.conftest import shared_path

pytestmark = pytest.mark.shared_data

SPEC = InputSpec(28)
CLASSES = ("0", "1", "7")


def fashion(label: str, start: int, count: int) -> list[Path]:
    """``count`` Fashion-MNIST training images of class ``label``, from the ``start``-th."""
    return sorted(shared_path("fashion-mnist", "train", label).glob("*.png"))[start : start + count]


def jpeg_copy(source: Path, target: Path) -> Path:
    """``source`` re-saved as a JPEG at quality 95: other pixels, the same picture."""
    target = target.with_suffix(".jpg")
    Image.open(source).save(target, quality=95)
    return target


def split_with_copies(root: Path, part: str, trained: int, near: bool) -> Path:
    """A train/``part`` folder: ``trained`` training images per class, and in ``part``/ four
    new images per class plus an exact copy of a training image (and a JPEG copy if ``near``)."""
    for label in CLASSES:
        train, other = root / "train" / label, root / part / label
        train.mkdir(parents=True)
        other.mkdir(parents=True)
        sources = fashion(label, 0, trained)
        for source in sources:
            shutil.copy(source, train / source.name)
        shutil.copy(sources[0], other / f"copy_{sources[0].name}")  # exact
        if near:
            jpeg_copy(sources[1], other / f"jpg_{sources[1].name}")
        for source in fashion(label, 600, 4):
            shutil.copy(source, other / source.name)
    return root


def near_and_not_exact(a: Path, b: Path) -> bool:
    """Whether ``b`` is a near copy of ``a`` as the app sees them: other model input, a
    perceptual hash within NEAR_BITS bits."""
    pa, pb = load_input(a, SPEC), load_input(b, SPEC)
    bits = int(np.bitwise_count(phash(pa[None])[0] ^ phash(pb[None])[0]))
    return not np.array_equal(pa, pb) and bits <= NEAR_BITS


def folder_with_copies(root: Path, per_class: int = 30, copied: int = 8) -> dict[str, list[str]]:
    """Class folders of Fashion-MNIST images where the first ``copied`` of each class also
    have an exact copy (``copy_*.png``) and a near copy (``jpg_*.jpg``): {original: [its
    copies]}, as paths relative to ``root``."""
    families: dict[str, list[str]] = {}
    for label in CLASSES:
        (root / label).mkdir(parents=True)
        for i, source in enumerate(fashion(label, 0, per_class)):
            original = root / label / source.name
            shutil.copy(source, original)
            if i < copied:
                exact = root / label / f"copy_{source.name}"
                shutil.copy(source, exact)
                near = jpeg_copy(source, root / label / f"jpg_{source.name}")
                assert near_and_not_exact(original, near), near  # a near copy, checked
                families[f"{label}/{source.name}"] = [
                    f"{label}/{exact.name}",
                    f"{label}/{near.name}",
                ]
    return families


def sides(data: LoadedDataset, val: np.ndarray, family: list[str]) -> set[bool]:
    """For each image of ``family`` (paths), whether it is a validation image."""
    held = {data.paths[i] for i in val}
    return {path in held for path in family}


@pytest.fixture(scope="module")
def copies_dir(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("copies") / "clothes"
    return root, folder_with_copies(root)


# --- the split ----------------------------------------------------------------------------


def test_the_split_keeps_exact_and_near_copies_on_one_side(copies_dir):
    root, families = copies_dir
    data = load_dataset(root, SPEC)
    groups = {tuple(sorted([o, *c])) for o, c in families.items()}
    rows = {path: i for i, path in enumerate(data.paths)}
    for family in groups:  # each original with its two copies is one group
        assert len(set(data.copy_groups(np.array([rows[p] for p in family])).tolist())) == 1
    split_apart_before = 0
    validated = 0
    for seed in range(6):
        train, val, warnings = data.split(0.3, seed)
        assert not warnings  # nothing held back is also trained on
        assert sorted([*train, *val]) == list(range(len(data)))
        for family in groups:
            assert len(sides(data, val, list(family))) == 1, (seed, family)
            validated += sides(data, val, list(family)) == {True}
        train_hashes = {data.hashes[i] for i in train}
        assert not any(data.hashes[i] in train_hashes for i in val)
        exact, near = data.copies_of(val, train)
        assert not exact.any() and not near.any()
        # Drawn without groups (as before), copies landed on both sides.
        order = np.argsort(np.asarray(data.paths, dtype=object), kind="stable")
        _, plain_val = stratified_split(data.labels[order], 0.3, seed)
        split_apart_before += sum(
            len(sides(data, order[plain_val], list(family))) == 2 for family in groups
        )
    assert validated > 0  # groups of copies are validated too, not only trained on
    assert split_apart_before > 0


def test_the_split_is_the_same_whatever_the_order_of_the_images(copies_dir):
    root, _ = copies_dir
    data = load_dataset(root, SPEC)
    again = load_dataset(root, SPEC)
    order = np.random.default_rng(3).permutation(len(data))
    shuffled = LoadedDataset(
        data.root,
        data.spec,
        data.class_names,
        data.images[order],
        data.labels[order],
        [data.paths[i] for i in order],
        [data.hashes[i] for i in order],
    )
    for seed in (0, 42):
        train, val, _ = data.split(0.2, seed)
        same_train, same_val, _ = again.split(0.2, seed)
        assert np.array_equal(train, same_train) and np.array_equal(val, same_val)
        _, moved_val, _ = shuffled.split(0.2, seed)
        assert sorted(shuffled.paths[i] for i in moved_val) == sorted(data.paths[i] for i in val)


def test_a_folder_without_copies_splits_as_before():
    """Every image its own group: the split drawn before groups existed (old models' lists
    of training images stay right). The expected indices are what the earlier code drew."""
    labels = np.repeat(np.arange(3), [5, 7, 9])
    train, val = stratified_split(labels, 0.2, 3)
    assert val.tolist() == [4, 8, 16, 17]
    assert train.tolist() == [i for i in range(21) if i not in (4, 8, 16, 17)]
    assert np.array_equal(stratified_split(labels, 0.2, 3, np.arange(21) * 5)[1], val)
    _, val = stratified_split(np.array(["b", "a", "b", "a", "b", "b", "a"]), 0.5, 7)
    assert val.tolist() == [1, 2, 5, 6]


def test_groups_across_classes_and_tiny_classes_keep_the_guarantees():
    # Image 0 (class 0) and image 5 (class 1) are one picture filed twice; class 2's three
    # images are one picture; class 3 has one image.
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3])
    groups = np.array([0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 9, 9, 12])
    for seed in range(30):
        train, val = stratified_split(labels, 0.5, seed, groups)
        assert {0, 5} <= set(train) or {0, 5} <= set(val)
        assert {9, 10, 11} <= set(train) and 12 in train
        for label in range(4):
            assert (labels[train] == label).any()
        assert len(val) >= 2
        again = stratified_split(labels, 0.5, seed, groups)
        assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        labels = rng.integers(0, 4, n)
        groups = rng.integers(0, max(1, n // 2), n)
        fraction = float(rng.choice([0.1, 0.2, 0.5, 0.9]))
        train, val = stratified_split(labels, fraction, 1, groups)
        assert not set(groups[train]) & set(groups[val])
        assert all((labels[train] == label).any() for label in np.unique(labels))


def test_copy_groups_join_copies_of_copies_and_every_close_pair():
    a = np.uint64(0x0F0F_0F0F_0F0F_0F0F)
    b = a ^ np.uint64(0b11)  # 2 bits from a
    c = b ^ np.uint64(0b1100)  # 2 bits from b, 4 from a
    far = ~a
    hashes = np.array([c, far, a, b, far ^ np.uint64(1 << 40)], dtype=np.uint64)
    assert copy_groups(hashes).tolist() == [0, 1, 0, 0, 1]
    # A content hash joins pictures whatever their perceptual hashes.
    assert copy_groups(hashes, ["x", "y", "z", "w", "x"]).tolist() == [0, 0, 0, 0, 0]
    rng = np.random.default_rng(5)
    base = rng.integers(0, 2**63, 6, dtype=np.uint64)
    many = base[rng.integers(0, 6, 400)] ^ (
        np.uint64(1) << rng.integers(0, 64, 400).astype(np.uint64)
    )
    groups = copy_groups(many)
    distance = np.bitwise_count(many[:, None] ^ many[None, :])
    for i, j in zip(*np.nonzero(distance <= NEAR_BITS), strict=True):
        assert groups[i] == groups[j]
    assert all(groups[g] == g and g <= i for i, g in enumerate(groups.tolist()))


# --- a trained model ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def copies_model(copies_dir, tmp_path_factory) -> tuple[Path, object]:
    """A model trained on the folder with copies: (its file, the session)."""
    from core.learn.config import TrainConfig
    from core.session import Session

    root, _ = copies_dir
    session = Session(use_cache=False)
    session.load_dataset(root, SPEC)
    config = TrainConfig(epochs=2, batch_size=32, seed=1, val_split=0.3)
    session.train(config, "article")
    return session.save(tmp_path_factory.mktemp("models") / "clothes.cnnmodel"), session


@pytest.mark.slow
def test_the_model_file_records_the_groups_and_training_phashes(copies_dir, copies_model):
    from core.modelfile.bundle import read_bundle

    _, families = copies_dir
    bundle = read_bundle(copies_model[0])
    files = bundle.files
    assert len(files["phash"]) == len(files["train"])
    assert all(re.fullmatch(r"[0-9a-f]{16}", h) for h in files["phash"])
    assert sorted(files["groups"]) == sorted(sorted([o, *c]) for o, c in families.items())
    val = {p for p, _ in files["val"]}
    for group in files["groups"]:
        assert len({p in val for p in group}) == 1


@pytest.mark.slow
def test_reproduce_py_draws_the_apps_split_with_its_copies(copies_dir, copies_model, tmp_path):
    from core.modelfile.bundle import read_bundle
    from core.share.card import write_report
    from tests.test_report import load_script

    root, _ = copies_dir
    path, _ = copies_model
    bundle = read_bundle(path)
    written = write_report(bundle, tmp_path / "report", path)
    script = load_script(written.script)
    assert sorted(script.copy_groups()) == sorted(bundle.files["groups"])
    # The script's split is the app's, on any labels and groups.
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(0, 50))
        labels = rng.integers(0, 3, n)
        groups = rng.integers(0, max(1, n), n) if rng.random() < 0.8 else None
        fraction, seed = float(rng.choice([0.0, 0.2, 0.5])), int(rng.integers(0, 50))
        ours = script.stratified_split(labels, fraction, seed, groups)
        theirs = stratified_split(labels, fraction, seed, groups)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
    # Drawn afresh from every recorded image with the recorded groups (as for an earlier run
    # of a continued model), the script's split is exactly the app's recorded one.
    with contextlib.redirect_stdout(io.StringIO()):
        parts = script.read_parts(root)
    train, val = parts["train"], parts["val"]
    everything = (
        np.concatenate([train[0], val[0]]),
        np.concatenate([train[1], val[1]]),
        train[2] + val[2],
    )
    nothing = (val[0][:0], val[1][:0], [])
    ((_, train_y, val_x, val_y),) = script.run_splits(
        {"train": everything, "val": nothing, "test": nothing}
    )
    assert len(val_y) == len(bundle.files["val"]) and len(train_y) == len(bundle.files["train"])
    recorded_val = {p for p, _ in bundle.files["val"]}
    held = sorted(tuple(x.ravel()) for x in val_x)
    app_val = [everything[0][i] for i, p in enumerate(everything[2]) if p in recorded_val]
    assert held == sorted(tuple(x.ravel()) for x in app_val)


def run_cli(*args: object) -> tuple[int, str, str]:
    """``cnn-studio ARGS`` in this process: (exit code, stdout, stderr)."""
    from core.cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([str(a) for a in args])
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def eval_dirs(copies_dir, copies_model, tmp_path_factory) -> tuple[Path, Path]:
    """(a folder of 6 exact and 4 near copies of training images and 15 new images, a folder
    of those 15 new images alone)."""
    from core.modelfile.bundle import read_bundle

    root, _ = copies_dir
    bundle = read_bundle(copies_model[0])
    trained = [p for p, _ in bundle.files["train"] if "/copy_" not in p and "/jpg_" not in p]
    mixed = tmp_path_factory.mktemp("eval") / "mixed"
    fresh = mixed.parent / "fresh"
    for k, relpath in enumerate(trained[:10]):
        (mixed / relpath).parent.mkdir(parents=True, exist_ok=True)
        if k < 6:
            shutil.copy(root / relpath, mixed / relpath)
        else:
            near = jpeg_copy(root / relpath, mixed / relpath)
            assert near_and_not_exact(root / relpath, near)
    for label in CLASSES:
        for target in (mixed, fresh):
            (target / label).mkdir(parents=True, exist_ok=True)
            for source in fashion(label, 500, 5):  # never in the training folder
                shutil.copy(source, target / label / source.name)
    return mixed, fresh


@pytest.mark.slow
def test_evaluate_gives_the_score_on_the_images_it_never_saw(copies_model, eval_dirs):
    path, _ = copies_model
    mixed, fresh = eval_dirs
    code, stdout, _ = run_cli("evaluate", path, fresh, "--json")
    assert code == 0
    fair = json.loads(stdout)
    assert fair["seen_in_training"] == 0
    assert fair["unseen"] == {
        "accuracy": fair["accuracy"],
        "images": 15,
        "exact_copies": 0,
        "near_copies": 0,
    }
    code, stdout, _ = run_cli("evaluate", path, mixed, "--json")
    assert code == 0
    whole = json.loads(stdout)
    assert whole["seen_in_training"] == 10
    assert whole["unseen"]["accuracy"] == pytest.approx(fair["accuracy"])
    assert whole["unseen"]["images"] == 15
    assert (whole["unseen"]["exact_copies"], whole["unseen"]["near_copies"]) == (6, 4)
    code, stdout, _ = run_cli("evaluate", path, mixed)
    assert code == 0
    first = stdout.splitlines()[0]
    assert first == (
        f"Accuracy: {whole['accuracy']:.2%} on 25 images; {fair['accuracy']:.2%} on the 15 it "
        "never saw (6 were in its training set and 4 are near copies of its training images, "
        "which flatters the whole figure)"
    )
    assert "The fair figure: " in stdout and "right on images it never saw" in stdout


@pytest.mark.slow
def test_a_model_file_without_perceptual_hashes_still_counts_exact_copies(copies_model, eval_dirs):
    from core.session import Session

    path, _ = copies_model
    mixed, _ = eval_dirs
    session = Session(use_cache=False)
    session.open(path)
    del session._model.files["phash"]  # as in a file from before copies were kept apart
    evaluation = session.evaluate_folder(mixed)
    assert evaluation.seen_in_training == 6
    assert evaluation.unseen is not None
    assert evaluation.unseen["images"] == 19 and evaluation.unseen["near_copies"] is None


@pytest.mark.slow
def test_a_given_test_folder_with_copies_gets_its_fair_score(tmp_path):
    """A train/test folder is never rearranged: copies of training images in test/ stay
    there, and the test score says how the images it never saw did (CLI, model file, card)."""
    from core.cli.train import _print_test
    from core.learn.config import TrainConfig
    from core.modelfile.bundle import read_bundle
    from core.session import Session
    from core.share.card import render_card

    root = split_with_copies(tmp_path / "split", "test", trained=20, near=True)
    session = Session(use_cache=False)
    session.load_dataset(root, SPEC)
    summary = session.train(TrainConfig(epochs=1, batch_size=32, seed=2), "article")
    session.save(tmp_path / "m.cnnmodel")
    bundle = read_bundle(tmp_path / "m.cnnmodel")  # the schema takes the new fields
    trained = {p for p, _ in bundle.files["train"]}
    # Copies of images drawn for validation were never trained on: they count as unseen.
    exact = sum(f"train/{label}/{fashion(label, 0, 1)[0].name}" in trained for label in CLASSES)
    near = sum(f"train/{label}/{fashion(label, 1, 1)[0].name}" in trained for label in CLASSES)
    assert exact and near
    unseen = summary.test["unseen"]
    assert (unseen["exact_copies"], unseen["near_copies"]) == (exact, near)
    assert unseen["images"] == 18 - exact - near
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print_test(summary.test, "test", 3)
    first = out.getvalue().splitlines()[0]
    assert first.startswith(f"Test set (test/): accuracy {summary.test['accuracy']:.2%} on 18 ")
    assert f"{unseen['accuracy']:.2%} on the {unseen['images']} it never saw (" in first
    assert bundle.metrics["test"]["unseen"] == unseen
    card = render_card(bundle, "m.cnnmodel")
    assert "Test images it never saw" in card
    assert f"on the {unseen['images']} it never saw" in card


@pytest.mark.slow
def test_the_schema_checks_the_new_fields(copies_model):
    import copy

    from core.errors import ModelFileError
    from core.modelfile.schema import check_meta
    from tests.test_bundle import members_of

    meta = json.loads(members_of(copies_model[0])["meta.json"])
    check_meta(copy.deepcopy(meta))
    bad = copy.deepcopy(meta)
    bad["files"]["phash"][0] = "not hex at all!!"
    with pytest.raises(ModelFileError, match=re.escape("'files.phash[0]'")):
        check_meta(bad)
    bad = copy.deepcopy(meta)
    bad["files"]["groups"] = [["a.png", 3]]
    with pytest.raises(ModelFileError, match=re.escape("'files.groups[0][1]'")):
        check_meta(bad)
    bad = copy.deepcopy(meta)
    bad["metrics"]["unseen"] = {"accuracy": 2, "images": 1, "exact_copies": 0}
    with pytest.raises(ModelFileError, match=re.escape("'metrics.unseen.accuracy'")):
        check_meta(bad)


# --- the window ---------------------------------------------------------------------------


def test_the_evaluation_dialog_shows_the_fair_figure_beside_the_whole(qtbot):
    from gui.dialogs.evaluation import EvaluationDialog
    from tests.fake_engine import FakeEngine

    engine = FakeEngine()
    dialog = EvaluationDialog(engine)
    qtbot.addWidget(dialog)
    dialog.start("/data/masks", "masks.cnnmodel")
    per_class = {
        n: {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 250} for n in ("with", "without")
    }
    result = {
        "accuracy": 0.961,
        "per_class": per_class,
        "confusion_matrix": [[240, 10], [10, 240]],
        "class_names": ["with", "without"],
        "folder": "/data/masks",
        "images": 500,
        "seen_in_training": 39,
        "unseen": {"accuracy": 0.88, "images": 461, "exact_copies": 30, "near_copies": 9},
        "model": "masks.cnnmodel",
    }
    engine.folder_evaluated.emit(result)
    summary = dialog.summary.text()
    assert "Accuracy 96.1%</b> on 500 images; <b>88.0%</b> on the 461 it never saw" in summary
    assert "about 9 in 10 right on images it never saw" in summary
    assert dialog.warning.isVisibleTo(dialog)
    warning = dialog.warning.text()
    assert "30 were in its training set and 9 are near copies of its training images" in warning
    assert "The fair figure is 88.0%, on the 461 images it never saw" in warning

    never = {**result, "seen_in_training": 0, "unseen": {**result["unseen"], "images": 500}}
    never["unseen"].update(accuracy=0.961, exact_copies=0, near_copies=0)
    engine.folder_evaluated.emit(never)
    assert not dialog.warning.isVisibleTo(dialog)
    assert "never saw" in dialog.summary.text() and "on the" not in dialog.summary.text()


def test_the_results_page_gives_a_test_folders_fair_figure(qtbot):
    from gui.tabs.results import ResultsPage
    from tests.fake_engine import model_view

    def scores(accuracy: float, support: int) -> dict:
        per_class = {
            n: {"precision": accuracy, "recall": accuracy, "f1": accuracy, "support": support}
            for n in ("a", "b")
        }
        return {
            "accuracy": accuracy,
            "per_class": per_class,
            "confusion_matrix": [[support, 0], [0, support]],
        }

    test = {
        **scores(0.95, 10),
        "unseen": {"accuracy": 0.75, "images": 8, "exact_copies": 12, "near_copies": 0},
    }
    page = ResultsPage()
    qtbot.addWidget(page)
    page.show_model(model_view(["a", "b"], evaluation={**scores(0.5, 3), "test": test}))
    page.set_choice.setCurrentIndex(1)
    text = page.metrics_label.text()
    assert "Test accuracy 95.0%</b> on 20 test images; 75.0% on the 8 it never saw" in text
    assert "12 were in its training set, which flatters the whole figure" in text
    assert "never used in training" not in text


def test_train_gives_a_given_validation_folders_fair_figure(tmp_path, capsys):
    """``cnn-studio train`` on train/valid folders whose valid/ holds copies of training
    images: the last lines give the score on the validation images it never saw."""
    from core.cli.main import main

    root = split_with_copies(tmp_path / "split", "valid", trained=12, near=False)
    code = main(
        ["train", str(root), "--epochs", "1", "--image-size", "28", "-q",
         "--out", str(tmp_path / "m.cnnmodel")]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    line = next(line for line in printed.splitlines() if line.startswith("Validation images:"))
    assert "on the 12 it never saw (3 were in its training set" in line
