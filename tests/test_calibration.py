"""Calibrated confidence and "unsure": the temperature fit, its folding into the network, what
the model file keeps, ``predict --min-confidence``, and the Classify tab's slider."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelFileError
from core.learn.calibration import (
    MAX_TEMPERATURE,
    MIN_CALIBRATION_IMAGES,
    Calibration,
    ReliabilityBin,
    ThresholdCost,
    apply_temperature,
    calibrate,
    cost_at,
    expected_calibration_error,
    fit_temperature,
    fold_temperature,
    output_layer_problem,
    reliability_bins,
    softmax,
    threshold_costs,
    uncalibrate,
)
from core.use.predictions import UNSURE, Prediction, write_csv
from tests.conftest import make_pattern_dataset, shared_path

# --- the numbers (NumPy only) ---------------------------------------------------------------


def synthetic(n: int = 4000, classes: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from ``softmax(logits)``: calibrated at temperature 1 exactly."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, (n, classes))
    p = softmax(logits)
    labels = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, labels


@pytest.mark.parametrize("temperature", [0.4, 1.0, 2.5])
def test_a_known_temperature_is_recovered_from_logits_and_from_probabilities(temperature):
    logits, labels = synthetic()
    # The network's logits are the true ones times T: over-confident for T > 1.
    shown = logits * temperature
    assert fit_temperature(shown, labels, probabilities=False) == pytest.approx(
        temperature, rel=0.06
    )
    assert fit_temperature(softmax(shown), labels) == pytest.approx(temperature, rel=0.06)


@pytest.mark.parametrize("temperature", [0.5, 2.0])  # under- and over-confident
def test_fitting_the_temperature_lowers_the_calibration_error(temperature):
    logits, labels = synthetic(seed=1)
    probs = softmax(logits / temperature)
    before = expected_calibration_error(probs, labels)
    fitted = fit_temperature(probs, labels)
    after = expected_calibration_error(apply_temperature(probs, fitted), labels)
    assert before > 0.1
    assert after < 0.03
    assert np.array_equal(apply_temperature(probs, fitted).argmax(1), probs.argmax(1))


def test_the_fit_is_deterministic_and_stays_in_its_range():
    logits, labels = synthetic(n=500, seed=2)
    assert fit_temperature(logits, labels) == fit_temperature(logits, labels)
    # Always wrong and very sure: the best it can do is as soft as allowed.
    wrong = (labels + 1) % 10
    sure = np.eye(10)[labels] * 20
    assert fit_temperature(sure, wrong, probabilities=False) == pytest.approx(
        MAX_TEMPERATURE, rel=1e-3
    )
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, int)) == 1.0
    with pytest.raises(ValueError, match="scores"):
        fit_temperature(np.zeros((3, 2)), np.zeros(4, int))


def test_expected_calibration_error_and_reliability_bins_on_a_worked_example():
    # Ten images at 90 % confidence, five right: off by 0.4. Ten at 60 %, six right: exact.
    sure = np.tile([0.9, 0.1], (10, 1))
    unsure = np.tile([0.6, 0.4], (10, 1))
    probs = np.vstack([sure, unsure])
    labels = np.array([0] * 5 + [1] * 5 + [0] * 6 + [1] * 4)
    assert expected_calibration_error(probs, labels) == pytest.approx(0.5 * 0.4)
    bins = reliability_bins(probs, labels)
    assert [(b.count, round(b.confidence, 6), b.accuracy) for b in bins] == [
        (10, 0.6, 0.6),
        (10, 0.9, 0.5),
    ]
    assert all(b.lower < b.confidence <= b.upper for b in bins)
    assert expected_calibration_error(np.zeros((0, 2)), np.zeros(0, int)) == 0.0


def test_threshold_costs_count_the_answered_and_their_accuracy():
    probs = np.array([[0.95, 0.05], [0.8, 0.2], [0.3, 0.7], [0.55, 0.45]])
    labels = np.array([0, 1, 1, 0])
    costs = threshold_costs(probs, labels, [0.0, 0.6, 0.9, 0.99])
    assert [(c.answered, c.accuracy) for c in costs] == [
        (1.0, 0.75),
        (0.75, pytest.approx(2 / 3)),
        (0.25, 1.0),
        (0.0, None),
    ]
    assert cost_at(costs, 0.75) is costs[1]  # never promises more than was measured
    assert cost_at(costs[1:], 0.5) is None


def test_a_calibration_round_trips_through_its_plain_form():
    logits, labels = synthetic(n=300)
    probs = softmax(logits * 2)
    found = Calibration(
        temperature=1.7,
        ece_before=0.1,
        ece_after=0.01,
        images=300,
        bins=tuple(reliability_bins(probs, labels)),
        costs=tuple(threshold_costs(probs, labels)),
    )
    again = Calibration.from_dict(json.loads(json.dumps(found.to_dict())))
    assert again.temperature == 1.7 and again.images == 300
    assert [b.count for b in again.bins] == [b.count for b in found.bins]
    assert len(again.costs) == 100 and again.costs[0] == ThresholdCost(
        0.0, 1.0, again.costs[0].accuracy
    )
    old = Calibration.from_dict({})  # a file from before calibration
    assert old.temperature == 1.0 and not old.calibrated and old.note


def test_unsure_answers_and_the_csv_column():
    sure, unsure = (
        Prediction("a.png", [("cat", 0.9), ("dog", 0.1)]),
        Prediction("b.png", [("dog", 0.55), ("cat", 0.45)]),
    )
    assert sure.answer(0.7) == "cat" and unsure.answer(0.7) == UNSURE
    assert unsure.answer() == "dog"  # 0: always answers


def test_the_csv_gains_an_answer_column_only_with_a_minimum_confidence(tmp_path):
    rows = [Prediction("a.png", [("cat", 0.9), ("dog", 0.1)]), Prediction("b.png", [("dog", 0.55)])]
    plain = list(csv.reader(write_csv(rows, tmp_path / "p.csv").open(encoding="utf-8")))
    assert plain[0] == ["path", "label", "probability", "top_k"]
    marked = write_csv(rows, tmp_path / "m.csv", min_confidence=0.7)
    table = list(csv.DictReader(marked.open(encoding="utf-8")))
    assert [r["answer"] for r in table] == ["cat", UNSURE]
    assert [r["label"] for r in table] == ["cat", "dog"]  # the best guess stays


# --- the model file -------------------------------------------------------------------------


def _bundle_meta(calibration: dict) -> dict:
    from core.data.images import InputSpec
    from core.modelfile.bundle import ModelBundle

    bundle = ModelBundle(
        "article",
        InputSpec(16),
        ["a", "b"],
        False,
        [np.zeros(2, np.float32)],
        calibration=calibration,
    )
    return bundle.metadata()


def test_the_model_file_schema_checks_the_calibration_block():
    from core.modelfile.schema import check_meta

    logits, labels = synthetic(n=200, classes=2)
    probs = softmax(logits)
    good = Calibration(
        0.7,
        0.08,
        0.01,
        200,
        tuple(reliability_bins(probs, labels)),
        tuple(threshold_costs(probs, labels)),
    )
    check_meta(_bundle_meta(good.to_dict()))
    meta = _bundle_meta({})
    assert "calibration" not in meta  # as in files from before calibration
    check_meta(meta)
    for bad, where in [
        ({"temperature": 0.0}, "calibration.temperature"),
        ({"temperature": 1e9}, "calibration.temperature"),
        ({"ece_after": -0.1}, "calibration.ece_after"),
        ({"costs": [{"threshold": 2, "answered": 1, "accuracy": None}]}, "calibration.costs[0]"),
        ({"bins": [{"lower": 0, "upper": 1, "confidence": 0.5, "accuracy": 0.5}]}, "count"),
        ({"code": "import os"}, "unknown fields"),
    ]:
        with pytest.raises(ModelFileError, match=where.replace("[", r"\[")):
            check_meta(_bundle_meta(bad))


# --- folding into a real network ------------------------------------------------------------


@pytest.mark.parametrize("preset", ["article", "article-dropout", "article-pooled", "deeper-bn"])
def test_folding_the_temperature_into_a_network_gives_the_calibrated_probabilities(preset):
    from core.data.images import InputSpec
    from core.nets.models import ModelSpec, build_model
    from core.nets.runtime import keras

    keras.utils.set_random_seed(0)
    model = build_model(ModelSpec(preset, InputSpec(16), 4))
    assert output_layer_problem(model) is None
    rng = np.random.default_rng(0)
    kernel, bias = model.layers[-1].get_weights()
    # Big enough weights that the probabilities are far from uniform.
    model.layers[-1].set_weights([kernel * 40, rng.normal(0, 1, bias.shape).astype(np.float32)])
    images = rng.integers(0, 256, (8, 16, 16, 1)).astype(np.float32)
    raw = model(images, training=False).numpy()
    before = [w.copy() for w in model.get_weights()]
    fold_temperature(model, 0.5)
    folded = model(images, training=False).numpy()
    np.testing.assert_allclose(folded, apply_temperature(raw, 0.5), atol=2e-5)
    # it really changed something (in log space: a random network may saturate one class)
    assert np.abs(np.log(folded + 1e-30) - np.log(raw + 1e-30)).max() > 0.01
    uncalibrate(model, Calibration(temperature=0.5))
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_the_pretrained_presets_last_layer_folds_too():
    from core.data.images import InputSpec
    from core.nets.models import ModelSpec, build_model

    model = build_model(ModelSpec("photos-pretrained", InputSpec(32, color=True), 3))
    assert output_layer_problem(model) is None


def test_a_network_without_a_softmax_dense_layer_is_left_alone():
    from core.nets.runtime import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    weights = [w.copy() for w in model.get_weights()]
    probs = softmax(np.random.default_rng(0).normal(size=(50, 3)))
    labels = np.arange(50) % 3
    found, returned = calibrate(model, probs, labels)
    assert found.temperature == 1.0 and "no softmax" in found.note
    assert found.ece_after is None and found.ece_before is not None
    np.testing.assert_array_equal(returned, probs.astype(np.float32))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights, strict=True))
    with pytest.raises(ValueError, match="no softmax"):
        fold_temperature(model, 2.0)


def test_too_few_or_faultless_validation_images_fit_no_temperature():
    from core.nets.runtime import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    few = np.tile([0.8, 0.2], (MIN_CALIBRATION_IMAGES - 1, 1))
    found, _ = calibrate(model, few, np.zeros(len(few), int))
    assert found.temperature == 1.0 and "too few" in found.note
    right = np.tile([0.8, 0.2], (50, 1))
    found, _ = calibrate(model, right, np.zeros(50, int))
    assert found.temperature == 1.0 and "every validation image" in found.note
    assert found.costs and found.bins  # what it costs is still known


# --- training, saving, continuing (real Keras, small data) ----------------------------------


@pytest.fixture(scope="module")
def noisy_dir(tmp_path_factory) -> Path:
    """The pattern classes with every sixth image filed under the wrong class, so a model makes
    mistakes on its validation images (a temperature needs some to be fitted)."""
    root = make_pattern_dataset(tmp_path_factory.mktemp("noisy"), per_class=40)
    names = ["blob", "horizontal", "vertical"]
    for k, name in enumerate(names):
        for f in sorted((root / name).glob("*.png"))[::6]:
            f.rename(root / names[(k + 1) % 3] / f"moved_{f.name}")
    return root


SMALL_RUN = {"batch_size": 16, "seed": 1, "early_stopping": False}


@pytest.fixture(scope="module")
def calibrated_model(noisy_dir, tmp_path_factory) -> Path:
    from core.data.images import InputSpec
    from core.learn.config import TrainConfig
    from core.session import Session

    session = Session(use_cache=False)
    session.load_dataset(noisy_dir, InputSpec(16))
    session.train(TrainConfig(epochs=5, **SMALL_RUN), "article")
    return session.save(tmp_path_factory.mktemp("calibrated") / "noisy.cnnmodel")


@pytest.mark.slow
def test_a_trained_model_is_calibrated_and_its_file_keeps_the_temperature(
    calibrated_model, noisy_dir
):
    from core.modelfile.bundle import read_bundle
    from core.session import Session
    from core.use.classify import Classifier

    bundle = read_bundle(calibrated_model)
    found = Calibration.from_dict(bundle.calibration)
    assert found.temperature != 1.0 and not found.note
    assert found.images >= MIN_CALIBRATION_IMAGES
    assert found.ece_after < found.ece_before
    assert len(found.costs) == 100 and sum(b.count for b in found.bins) == found.images
    assert bundle.metrics["calibration_error"] == pytest.approx(found.ece_after, abs=1e-6)
    # Reopened, the model shows what it was calibrated to show (the weights hold T).
    session = Session(use_cache=False)
    view = session.open(calibrated_model)
    assert view.calibration == found
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec

    data = load_dataset(noisy_dir, InputSpec(16))
    rows = [data.paths.index(p) for p, _ in bundle.files["val"]]
    probs = Classifier.from_file(calibrated_model).probabilities(data.images[rows])
    assert expected_calibration_error(probs, data.labels[rows]) == pytest.approx(
        found.ece_after, abs=1e-4
    )


@pytest.mark.slow
def test_continuing_trains_the_unfolded_weights_and_calibrates_afresh(
    calibrated_model, noisy_dir, tmp_path, monkeypatch
):
    from core.data.images import InputSpec
    from core.errors import Cancelled
    from core.learn.config import TrainConfig
    from core.learn.training import Trainer
    from core.modelfile.bundle import read_bundle
    from core.session import Session

    bundle = read_bundle(calibrated_model)
    temperature = bundle.calibration["temperature"]
    folded_kernel, folded_bias = bundle.weights[-2], bundle.weights[-1]
    session = Session(use_cache=False)
    session.open(calibrated_model)
    session.load_dataset(noisy_dir, InputSpec(16))
    seen: list[list[np.ndarray]] = []
    original = Trainer.run

    def spy(self, spec=None, model=None, *args, **kwargs):
        seen.append([w.copy() for w in model.layers[-1].get_weights()])
        if len(seen) == 1:
            raise Cancelled("cancelled by the test")
        return original(self, spec, model, *args, **kwargs)

    monkeypatch.setattr(Trainer, "run", spy)
    config = TrainConfig(epochs=1, **SMALL_RUN)
    with pytest.raises(Cancelled):
        session.continue_training(config)
    # Training started from the weights before folding...
    np.testing.assert_allclose(seen[0][0], folded_kernel * temperature, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(seen[0][1], folded_bias * temperature, rtol=1e-5, atol=1e-7)
    # ...and a cancelled run leaves the calibrated model exactly as it was.
    kept = read_bundle(session.save(tmp_path / "kept.cnnmodel"))
    np.testing.assert_array_equal(kept.weights[-2], folded_kernel)
    assert kept.calibration["temperature"] == temperature
    session.continue_training(config)
    np.testing.assert_allclose(seen[1][0], folded_kernel * temperature, rtol=1e-5, atol=1e-7)
    again = session.state().model.calibration
    assert again.temperature != 1.0 and again.ece_after is not None and not again.note
    assert again.ece_after <= again.ece_before


@pytest.mark.slow
def test_predict_answers_unsure_below_the_minimum_confidence(
    calibrated_model, noisy_dir, capsys, tmp_path
):
    from core.cli.main import main

    folder = noisy_dir / "blob"
    results = tmp_path / "out.csv"
    argv = ["predict", str(calibrated_model), str(folder), "--json", "--csv", str(results)]
    assert main([*argv, "--min-confidence", "0.999999"]) == 0
    data = json.loads(capsys.readouterr().out)
    top = [p["predictions"][0]["probability"] for p in data]
    assert [p["answer"] for p in data] == [
        UNSURE if t < 0.999999 else p["predictions"][0]["label"]
        for p, t in zip(data, top, strict=True)
    ]
    assert UNSURE in [p["answer"] for p in data]
    rows = list(csv.DictReader(results.open(encoding="utf-8")))
    assert [r["answer"] for r in rows] == [p["answer"] for p in data]
    assert main([*argv[:3], "--min-confidence", "0"]) == 0
    text = capsys.readouterr().out
    assert UNSURE not in text and text.count("blob") >= 40
    assert main([*argv[:3], "--min-confidence", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(": unsure (under 100%): " in line for line in lines)
    with pytest.raises(SystemExit) as exc:
        main([*argv[:3], "--min-confidence", "1.5"])
    assert exc.value.code == 2
    assert "must be from 0 to 1" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_reports_the_calibration_error(calibrated_model, noisy_dir, capsys):
    from core.cli.main import main

    assert main(["evaluate", str(calibrated_model), str(noisy_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0 <= report["calibration_error"] <= 1
    assert main(["evaluate", str(calibrated_model), str(noisy_dir)]) == 0
    text = capsys.readouterr().out
    line = next(line for line in text.splitlines() if line.startswith("Confidence:"))
    # The words lead; the figure follows in parentheses.
    assert line.startswith("Confidence: when it says it is ") and " sure, it is right " in line
    assert line.endswith(f" (expected calibration error {report['calibration_error']:.3f}).")


@pytest.mark.slow
def test_calibration_lowers_the_error_on_a_real_fashion_mnist_split(tmp_path):
    """Label smoothing leaves the network under-confident; the temperature fitted on the
    validation images brings the error down on the test images, which it never saw."""
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec
    from core.learn.config import TrainConfig
    from core.modelfile.bundle import read_bundle
    from core.session import Session
    from core.use.classify import Classifier

    source = shared_path("fashion-mnist")
    subset = {}
    for part, count in (("train", 200), ("test", 100)):
        subset[part] = tmp_path / part
        for folder in sorted((source / part).iterdir()):
            (subset[part] / folder.name).mkdir(parents=True)
            for image in sorted(folder.iterdir())[:count]:
                shutil.copy(image, subset[part] / folder.name / image.name)
    session = Session(use_cache=False)
    session.load_dataset(subset["train"], InputSpec(28))
    session.train(TrainConfig(epochs=5, seed=0, early_stopping=False), "article")
    saved = session.save(tmp_path / "fashion.cnnmodel")
    found = Calibration.from_dict(read_bundle(saved).calibration)
    assert found.images == 400
    assert found.temperature < 1  # under-confident: sharpened
    assert found.ece_after < found.ece_before  # on the images it was fitted on
    test = load_dataset(subset["test"], InputSpec(28))
    calibrated = Classifier.from_file(saved).probabilities_in_batches(test.images)
    raw = apply_temperature(calibrated, 1 / found.temperature)  # as before the folding
    before = expected_calibration_error(raw, test.labels)
    after = expected_calibration_error(calibrated, test.labels)
    assert after < before - 0.03, (before, after)
    assert after < 0.06


# --- the app --------------------------------------------------------------------------------


def _costs() -> tuple[ThresholdCost, ...]:
    # Made-up validation results: answering only when 70 % sure keeps 83 %, 97 % of them right.
    return tuple(
        ThresholdCost(t / 100, 0.83 if t >= 70 else 1.0, 0.97 if t >= 70 else 0.9)
        for t in range(100)
    )


def test_the_classify_tab_slider_marks_unsure_answers_and_says_what_it_costs(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from gui.settings import MemoryStore, Preferences
    from gui.tabs.classify import ANSWER_COLUMN, ClassifyTab
    from tests.fake_engine import FakeEngine, model_view

    engine = FakeEngine()
    preferences = Preferences(MemoryStore())
    tab = ClassifyTab(engine, preferences)
    qtbot.addWidget(tab)
    tab.show()
    model = dataclasses.replace(model_view(["cat", "dog"]), calibration=Calibration(costs=_costs()))
    engine.set_state(model=model)
    engine.classified.emit(
        [
            {"path": "/x/sure.png", "predictions": [{"label": "cat", "probability": 0.9}]},
            {"path": "/x/unsure.png", "predictions": [{"label": "dog", "probability": 0.55}]},
        ],
        [],
    )
    assert tab.table.isColumnHidden(ANSWER_COLUMN)  # 0 %: every image is answered
    assert "answers every image" in tab.confidence_cost.text()
    tab.confidence.setFocus()
    for _ in range(7):
        qtbot.keyClick(tab.confidence, Qt.Key.Key_PageUp)  # 10 % a step, as a user would
    assert tab.confidence.value() == 70
    assert "at least 70% sure" in tab.confidence_label.text()
    assert tab.confidence_cost.text() == (
        "At 70%: answers 83% of the validation images, 97% of those right."
    )
    assert not tab.table.isColumnHidden(ANSWER_COLUMN)
    answers = [tab.table.text(r, ANSWER_COLUMN) for r in range(2)]
    assert answers == ["cat", UNSURE]
    assert "dog at 55%" in tab.table.tool_tip(1, ANSWER_COLUMN)
    assert preferences.min_confidence() == 70  # remembered
    tab.write_csv(tmp_path / "out.csv")
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert [r["answer"] for r in rows] == ["cat", UNSURE]
    qtbot.keyClick(tab.confidence, Qt.Key.Key_Home)
    assert tab.table.isColumnHidden(ANSWER_COLUMN) and preferences.min_confidence() == 0
    # The setting outlives the tab, and a model without validation results says so.
    preferences.set_min_confidence(40)
    again = ClassifyTab(engine, preferences)
    qtbot.addWidget(again)
    assert again.confidence.value() == 40
    engine.set_state(model=model_view(["cat", "dog"]))
    assert "no validation results" in again.confidence_cost.text()


def test_the_results_page_shows_the_calibration_in_words_and_a_reliability_diagram(qtbot):
    from gui.tabs.results import ResultsPage
    from tests.fake_engine import model_view
    from tests.test_gui_widgets import evaluation_for

    bins = (
        ReliabilityBin(0.6, 2 / 3, 0.64, 0.62, 40),
        ReliabilityBin(14 / 15, 1.0, 0.97, 0.98, 300),
    )
    calibration = Calibration(0.69, 0.087, 0.016, 340, bins, _costs())
    model = dataclasses.replace(
        model_view(["a", "b", "c"], evaluation=evaluation_for(["a", "b", "c"])),
        calibration=calibration,
    )
    page = ResultsPage()
    qtbot.addWidget(page)
    page.resize(900, 500)
    page.show()
    page.show_model(model)
    text = page.confidence_label.text()
    # The plain sentence leads, its example the filled bin nearest 80 % sure; what calibration
    # did is said in words.
    assert "When it says it is 64% sure, it is right about 6 times in 10" in text
    assert "its confidence can be taken at its word" in text
    assert "Measured on the 340 validation images." in text
    assert "right more often than it said (off by 8.7 points on average)" in text
    assert "made its probabilities surer" in text
    # The figures are kept for those who hover, not shown as jargon.
    assert "calibration error" not in text and "temperature" not in text.lower()
    assert "0.016" not in text and "0.69" not in text
    figures = page.confidence_label.toolTip()
    assert "Expected calibration error 0.016" in figures and "Before calibration: 0.087" in figures
    assert "Temperature 0.69" in figures
    assert page.reliability.bins == bins
    assert "93%–100% sure: 98% right (300 images)" in page.reliability.accessibleDescription()
    page.details.setCurrentWidget(page.confidence_panel)
    qtbot.waitExposed(page.reliability)
    image = page.reliability.grab().toImage()
    plot = page.reliability.plot_rect()
    # The tall bar of the last bin is painted in the accent colour, the empty middle is not.
    inside = image.pixelColor(int(plot.right() - 3), int(plot.bottom() - plot.height() * 0.5))
    empty = image.pixelColor(int(plot.left() + plot.width() * 0.3), int(plot.top() + 4))
    assert inside.blue() > inside.red() + 40
    assert empty != inside
    opened = dataclasses.replace(model, calibration=Calibration.from_dict({}))
    page.show_model(opened)
    assert "made before calibration" in page.confidence_label.text()
    # An over-confident model's probabilities were made less sure; it errs that way in words.
    over = Calibration(
        1.4, 0.12, 0.093, 200, (ReliabilityBin(0.8, 13 / 15, 0.83, 0.62, 200),), _costs()
    )
    page.show_model(dataclasses.replace(model, calibration=over))
    text = page.confidence_label.text()
    assert "When it says it is 83% sure, it is right only 62 times in 100" in text
    assert "usually right less often than it says" in text and "less sure to match" in text
    assert "Temperature 1.40" in page.confidence_label.toolTip()


def test_the_confidence_words_go_above_the_diagram_when_the_tab_is_narrow(qtbot):
    """Ten classes' matrix at 1024x640 leaves the tab about 170 px: side by side, the words
    were drawn over the diagram."""
    from PySide6.QtCore import QRect

    from gui.widgets.reliability import ConfidencePanel

    panel = ConfidencePanel()
    qtbot.addWidget(panel)
    panel.words.setText("When it says it is 83% sure, it is right only 62 times in 100. " * 4)
    panel.resize(700, 400)
    panel.show()
    qtbot.waitExposed(panel)

    def placed() -> tuple[QRect, QRect]:
        return panel.words.geometry(), panel.diagram.geometry()

    words, diagram = placed()
    assert panel.side_by_side and diagram.right() < words.left()
    panel.resize(170, 400)
    qtbot.waitUntil(lambda: not panel.side_by_side)
    qtbot.waitUntil(lambda: placed()[0].bottom() < placed()[1].top())  # the words on top
    words, diagram = placed()
    assert not words.intersects(diagram) and diagram.height() >= panel.diagram.minimumHeight()
    # With height to spare, the words take what they need and the diagram the rest.
    panel.resize(300, 900)
    qtbot.waitUntil(lambda: placed()[1].height() > 600)
    words, diagram = placed()
    assert 0 <= diagram.top() - words.bottom() < 2 * panel.box.spacing() + 2
    assert words.width() <= panel.viewport().width()  # wrapped, nothing cut off at the side
