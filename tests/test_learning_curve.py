"""How much would more photos help: the learning curve a pretrained head's run measures, its
plain sentence, where it is stored (the model file, checked by the schema) and where it is
shown (train's summary, the model card, the Results page)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json

import numpy as np
import pytest

from core.data.images import InputSpec
from core.errors import Cancelled, ModelFileError
from core.learn.config import TrainConfig
from core.learn.learning_curve import FRACTIONS, nested_subsets
from core.modelfile.bundle import read_bundle
from core.modelfile.schema import check_meta
from core.plain import learning_curve_figures, learning_curve_in_words, points_per_doubling
from core.progress import TrainingControl
from core.session import Session
from core.share.card import render_card
from core.share.charts import learning_curve_svg
from tests.conftest import shared_path
from tests.test_bundle import members_of
from tests.test_pretrained import colour_photos

HEAD = TrainConfig(epochs=20, batch_size=8, patience=5, seed=0)
SECTION = "How much would more photos help?"


# --- the subsets and the sentence ----------------------------------------------------------


def test_subsets_are_stratified_nested_and_keep_every_class():
    labels = np.repeat([0, 1, 2], [40, 20, 4])
    subsets = nested_subsets(labels, FRACTIONS, seed=3)
    assert [len(s) for s in subsets] == [10 + 5 + 1, 20 + 10 + 2, 30 + 15 + 3, 64]
    for fraction, rows in zip(FRACTIONS, subsets, strict=True):
        counts = np.bincount(labels[rows], minlength=3)
        assert counts.tolist() == [round(fraction * n) or 1 for n in (40, 20, 4)]
        assert len(set(rows.tolist())) == len(rows)
    for smaller, larger in itertools.pairwise(subsets):
        assert set(smaller.tolist()) < set(larger.tolist())
    assert not np.array_equal(subsets[0], nested_subsets(labels, FRACTIONS, seed=4)[0])


def test_points_per_doubling_is_the_slope_against_the_logarithm_of_the_images():
    assert points_per_doubling([(80, 0.60), (160, 0.66), (240, 0.695), (320, 0.72)]) == (
        pytest.approx(6.0, abs=0.1)
    )
    assert points_per_doubling([(100, 0.5), (200, 0.5)]) == 0
    assert points_per_doubling([(100, 0.5)]) is None
    assert points_per_doubling([]) is None


@pytest.mark.parametrize(
    ("points", "sentence"),
    [
        (
            [(80, 0.60), (160, 0.66), (240, 0.695), (320, 0.72)],
            "Each doubling of the photos added about 6 points; more photos will likely help.",
        ),
        (
            [(80, 0.70), (160, 0.71), (240, 0.716), (320, 0.72)],
            "Each doubling of the photos added about 1 point; more photos of the same kind will "
            "likely help only a little.",
        ),
        (
            [(80, 0.70), (160, 0.702), (320, 0.704)],
            "Doubling the photos added less than a point; more photos of the same kind will "
            "likely help little.",
        ),
        (
            [(80, 0.75), (160, 0.72), (320, 0.70)],
            "Doubling the photos added nothing; more photos of the same kind will likely help "
            "little.",
        ),
        (
            [(80, 0.97), (160, 0.98), (320, 0.99)],
            "Each doubling of the photos added about 1 point; it already gets almost every image "
            "right, so more photos can add little.",
        ),
        (
            [(80, 0.80), (160, 0.90), (320, 0.99)],
            "Each doubling of the photos added about 10 points; more photos will likely help.",
        ),
    ],
)
def test_the_sentence_says_what_doubling_added_and_what_more_would_do(points, sentence):
    assert learning_curve_in_words(points) == sentence


def test_no_curve_no_sentence_and_figures_in_a_line():
    assert learning_curve_in_words([]) is None
    assert learning_curve_in_words([(100, 0.5)]) is None
    assert learning_curve_figures([(80, 0.65), (160, 0.7375)]) == (
        "65.0% with 80 photos, 73.8% with 160"
    )


def test_the_card_chart_draws_one_dot_a_point():
    svg = learning_curve_svg([(80, 0.65), (160, 0.7375), (240, 0.75), (320, 0.75)])
    assert svg.count("<circle") == 4 and "73.8% with 160 training images" in svg
    assert "training images" in svg and "not recorded" not in svg
    assert "not recorded" in learning_curve_svg([])


# --- a real run ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def curve_run(tmp_path_factory):
    """A pretrained head trained on 60 generated photos, saved: (session, summary, file)."""
    root = colour_photos(tmp_path_factory.mktemp("photos") / "photos", per_class=20)
    session = Session(use_cache=False)
    session.load_dataset(root, InputSpec(64, color=True))
    summary = session.train(HEAD, "photos-pretrained")
    path = session.save(tmp_path_factory.mktemp("models") / "photos.cnnmodel")
    return session, summary, path


def test_a_pretrained_head_run_measures_its_learning_curve(curve_run):
    session, summary, path = curve_run
    curve = summary.learning_curve
    bundle = read_bundle(path)
    train = bundle.files["train"]
    assert len(curve) == 4
    counts = [n for n, _ in curve]
    # Stratified: each class keeps its share, so the counts are the shares of each class.
    per_class = np.bincount([bundle.class_names.index(p.split("/")[0]) for p, _ in train])
    assert counts == [sum(max(1, round(f * n)) for n in per_class) for f in FRACTIONS]
    assert counts[-1] == len(train)
    shares = zip(counts, FRACTIONS, strict=True)
    assert all(abs(n - f * len(train)) <= len(per_class) for n, f in shares)
    assert all(0 <= a <= 1 for _, a in curve)
    assert curve[-1][1] > 0.5  # chance is 1/3: the whole set's head learnt the colours
    # Stored in the run's record, read back from the file and published to the front ends.
    assert bundle.training["runs"][-1]["learning_curve"] == [list(p) for p in curve]
    assert session.state().model.learning_curve == curve
    reopened = Session(use_cache=False)
    reopened.open(path)
    assert reopened.state().model.learning_curve == curve
    assert summary.to_dict()["learning_curve"] == [list(p) for p in curve]


def test_the_model_card_shows_the_curve_and_its_sentence(curve_run):
    _, summary, path = curve_run
    html = render_card(read_bundle(path), "photos", scan_folder=False)
    assert SECTION in html
    assert learning_curve_in_words(summary.learning_curve).split(";")[0] in html
    assert 'aria-label="learning curve"' in html
    assert learning_curve_figures(summary.learning_curve) in html


def test_fine_tuning_and_networks_from_scratch_have_no_curve(curve_run, saved_model, tmp_path):
    session, _, _ = curve_run
    summary = session.continue_training(dataclasses.replace(HEAD, epochs=1, fine_tune=True))
    assert summary.learning_curve == () and "learning_curve" not in summary.to_dict()
    assert session.state().model.learning_curve == ()
    fine = read_bundle(session.save(tmp_path / "fine.cnnmodel"))
    assert "learning_curve" in fine.training["runs"][0]  # the head's run keeps its own
    assert "learning_curve" not in fine.training["runs"][-1]
    assert SECTION not in render_card(fine, "fine", scan_folder=False)
    scratch = read_bundle(saved_model)  # the article CNN
    assert all("learning_curve" not in run for run in scratch.training["runs"])
    assert SECTION not in render_card(scratch, "scratch", scan_folder=False)


class _Asks:
    """A training observer that stops or cancels as soon as the learning curve starts."""

    def __init__(self, control: TrainingControl, cancel: bool) -> None:
        self.control, self.cancel, self.calls = control, cancel, []

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None:
        pass

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        pass

    def epoch_ended(self, epoch: int, metrics: dict, seconds: float) -> None:
        pass

    def curve_progress(self, fraction: float, message: str) -> None:
        self.calls.append((fraction, message))
        (self.control.cancel if self.cancel else self.control.stop)()


def test_stop_while_measuring_keeps_the_model_without_a_curve_and_cancel_discards_it(tmp_path):
    root = colour_photos(tmp_path / "photos", per_class=8)
    session = Session(use_cache=False)
    session.load_dataset(root, InputSpec(48, color=True))
    control = TrainingControl()
    asks = _Asks(control, cancel=False)
    summary = session.train(HEAD, "photos-pretrained", observer=asks, control=control)
    assert asks.calls[0][0] == 0 and "training images" in asks.calls[0][1]
    assert len(asks.calls) == 1  # the first fit was left at once
    assert summary.outcome != "stopped" and summary.learning_curve == ()
    kept = session.state().model
    assert kept is not None and kept.learning_curve == ()
    control = TrainingControl()
    with pytest.raises(Cancelled):
        session.train(HEAD, "photos-pretrained", observer=_Asks(control, True), control=control)
    assert session.state().model.generation == kept.generation  # the cancelled one is gone


def test_the_curve_on_the_real_clothing_photos():
    folder = shared_path("photos", "clothing-dataset-small")
    session = Session(use_cache=False)
    session.load_dataset(folder, InputSpec(224, color=True, crop=True))
    advice = session.state().dataset.advice
    summary = session.train(advice.config(seed=0), "photos-pretrained")
    counts = [n for n, _ in summary.learning_curve]
    assert counts == [80, 160, 240, 320]  # 10 classes of 32 training photos each
    assert all(0.3 < a <= 1 for _, a in summary.learning_curve)  # chance is 0.1
    assert "doubling" in learning_curve_in_words(summary.learning_curve).lower()


def test_train_prints_the_curve_and_its_sentence(tmp_path):
    from tests.test_cli_train_target import cli

    colour_photos(tmp_path / "photos", per_class=12)
    args = ("--preset", "photos-pretrained", "--image-size", "48", "--epochs", "10")
    result = cli(tmp_path, "train", "photos", *args, "--batch-size", "8", "--seed", "0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    curve = next(line for line in lines if line.startswith("Learning curve: "))
    assert curve.count("% with ") == 4 and " photos, " in curve
    said = [line for line in lines if "doubling" in line.lower() and "photos" in line]
    assert len(said) == 1 and said[0].endswith(("help.", "little.", "only a little."))
    # --json gives TrainingSummary.to_dict(), whose "learning_curve" the session test checks.


# --- the model file --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def curve_meta(curve_run) -> dict:
    return json.loads(members_of(curve_run[2])["meta.json"])


def test_the_schema_accepts_the_stored_curve_and_files_without_one(curve_meta, saved_model):
    assert check_meta(copy.deepcopy(curve_meta)) == curve_meta
    old = json.loads(members_of(saved_model)["meta.json"])
    assert all("learning_curve" not in run for run in old["training"]["runs"])
    check_meta(old)


@pytest.mark.parametrize(
    "curve",
    [
        "80:0.5",
        [],
        [[80, 0.5, 1]],
        [[80]],
        [[0, 0.5]],
        [[80, 0.5], [80, 0.6]],
        [[160, 0.5], [80, 0.6]],
        [[True, 0.5]],
        [[80.5, 0.5]],
        [[80, 1.5]],
        [[80, -0.1]],
        [[80, "0.5"]],
        [[80, None]],
        [[n, 0.5] for n in range(1, 200)],
    ],
)
def test_the_schema_refuses_a_malformed_curve(curve_meta, curve):
    meta = copy.deepcopy(curve_meta)
    meta["training"]["runs"][-1]["learning_curve"] = curve
    with pytest.raises(ModelFileError, match="learning_curve"):
        check_meta(meta)


# --- the app -------------------------------------------------------------------------------


def test_the_results_page_shows_the_curve_only_when_the_model_has_one(qtbot):
    from gui.tabs.results import ResultsPage
    from tests.fake_engine import model_view
    from tests.test_gui_widgets import evaluation_for

    names = ["a", "b", "c"]
    curve = ((80, 0.60), (160, 0.66), (240, 0.695), (320, 0.72))
    plain = model_view(names, evaluation=evaluation_for(names))
    page = ResultsPage()
    qtbot.addWidget(page)
    page.resize(900, 500)
    page.show()
    page.show_model(dataclasses.replace(plain, learning_curve=curve))
    assert page.details.isTabVisible(page.curve_tab)
    assert page.curve_panel.chart.points == curve
    words = page.curve_panel.words.text()
    assert "added about 6 points; more photos will likely help." in words
    assert "60.0% with 80 photos" in words
    assert "72.0% with 320" in page.curve_panel.chart.accessibleDescription()
    page.details.setCurrentWidget(page.curve_panel)
    qtbot.waitExposed(page.curve_panel.chart)
    image = page.curve_panel.chart.grab().toImage()
    assert not image.isNull()
    page.show_model(plain)
    assert not page.details.isTabVisible(page.curve_tab)
    assert page.curve_panel.chart.points == ()


def test_the_progress_bar_says_the_curve_is_being_measured(qtbot):
    from gui.tabs.train_progress import TrainingProgress
    from tests.fake_engine import FakeEngine

    engine = FakeEngine()
    progress = TrainingProgress(engine)
    qtbot.addWidget(progress)
    engine.curve_progress.emit(0.5, "fitting on 160 of 320 training images")
    assert "Measuring how more photos would help" in progress.progress.format()
    assert "160 of 320" in progress.status.text()
