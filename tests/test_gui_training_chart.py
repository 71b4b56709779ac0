"""What the Train tab shows of a run: the smoothed batch line against each epoch's own loss,
the last batch drawn however the engine throttles, and which epoch's weights the model kept
(the chart's marker, the final status line, the Results headline). Against a fake engine,
offscreen; the engine's throttling observer runs on a fake clock (no timed tests)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from gui import style
from gui.engine.training import SignalObserver
from gui.tabs.train import TrainTab
from gui.tabs.train_progress import TrainingProgress
from gui.widgets.loss_chart import LossChart, TrailingMean
from tests.fake_engine import FakeEngine, model_view

EPOCHS, BATCHES = 8, 25


def falling_losses(seed: int = 0) -> np.ndarray:
    """A fast-falling batch loss with 10 % noise, as a first training of ten classes gives it:
    from ln 10 towards 0.3, three quarters of the way down within the first two epochs;
    EPOCHS rows of BATCHES batches."""
    rng = np.random.default_rng(seed)
    t = np.arange(EPOCHS * BATCHES) / BATCHES
    loss = (0.3 + 2.0 * np.exp(-1.5 * t)) * (1 + 0.1 * rng.standard_normal(t.size))
    return loss.reshape(EPOCHS, BATCHES)


def line_at(chart: LossChart, x: float) -> float:
    """The smoothed batch line's height at ``x`` epochs, as drawn (straight between points)."""
    xs, ys = zip(*chart.batch_points, strict=True)
    assert xs[0] <= x <= xs[-1] + 1e-9, "nothing drawn there"
    return float(np.interp(x, xs, ys))


def assert_meets_each_epoch(chart: LossChart, losses: np.ndarray, first: int = 0) -> None:
    """At every epoch's end the line is within 10 % of that epoch's mean batch loss, and its
    last point is the run's last batch."""
    for epoch, row in enumerate(losses, start=first):
        mean = float(row.mean())
        assert line_at(chart, epoch + 1) == pytest.approx(mean, rel=0.10), f"epoch {epoch + 1}"
    assert chart.batch_points[-1][0] == pytest.approx(first + len(losses))
    assert chart.batch_points[-1][1] == pytest.approx(float(losses[-1].mean()), rel=0.10)


@pytest.fixture
def engine(qtbot) -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def progress(qtbot, engine) -> TrainingProgress:
    page = TrainingProgress(engine)
    qtbot.addWidget(page)
    page.begin(EPOCHS)
    return page


def test_the_smoothed_line_meets_each_epochs_loss_when_every_batch_arrives(engine, progress):
    """Regression: 'batches (smoothed)' sat far above a fast-falling loss (an average that
    remembered the first epochs' high losses)."""
    losses = falling_losses()
    engine.training_started.emit(EPOCHS, BATCHES)
    for epoch, row in enumerate(losses):
        for batch, loss in enumerate(row):
            engine.batch_ended.emit(epoch, batch, float(loss))
        engine.epoch_ended.emit(epoch, {"loss": float(row.mean())}, 1.0)
    assert_meets_each_epoch(progress.chart, losses)


class FakeClock:
    """time.monotonic for the engine's throttle: ``step`` seconds pass per batch."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 1000.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize(
    ("seconds_per_batch", "steps_per_call"),
    [
        (0.03, 1),  # about every fourth batch reaches the GUI
        (0.002, 1),  # fewer than two signals an epoch
        (0.004, BATCHES),  # the pretrained head: one call runs the whole epoch
    ],
)
def test_the_throttled_line_meets_each_epochs_loss_and_draws_the_last_batch(
    engine, progress, monkeypatch, seconds_per_batch, steps_per_call
):
    """Regression: the engine dropped the batches not yet sent when an epoch ended, so the
    line lagged by epochs on fast runs and stopped before the last epoch."""
    monkeypatch.setattr("gui.engine.training.time.monotonic", FakeClock(seconds_per_batch))
    losses = falling_losses(1)
    observer = SignalObserver(engine)
    observer.run_started(EPOCHS, BATCHES)
    for epoch, row in enumerate(losses):
        for end in range(steps_per_call - 1, BATCHES, steps_per_call):
            # As the Keras bridge reports it: the mean loss of the steps of one call.
            observer.batch_ended(epoch, end, float(row[end - steps_per_call + 1 : end + 1].mean()))
        observer.epoch_ended(epoch, {"loss": float(row.mean())}, 0.1)
    assert_meets_each_epoch(progress.chart, losses)


def test_a_stopped_runs_last_batches_are_drawn(engine, progress, monkeypatch):
    """A run stopped mid-epoch: the batches since the last signal arrive before 'finished'."""
    monkeypatch.setattr("gui.engine.training.time.monotonic", FakeClock(0.03))
    observer = SignalObserver(engine)
    observer.run_started(EPOCHS, BATCHES)
    for batch in range(7):
        observer.batch_ended(0, batch, 2.0 - batch * 0.1)
    observer.flush()  # the engine's job does this once the run returns
    assert progress.chart.batch_points[-1][0] == pytest.approx(7 / BATCHES)
    assert progress.chart.batch_points[-1][1] == pytest.approx(np.mean(2.0 - np.arange(7) * 0.1))


def test_continue_smooths_its_batches_afresh(engine, progress):
    """Continue starts a new run: its line starts at its own losses, not the last run's."""
    engine.training_started.emit(2, 4)
    for epoch in range(2):
        for batch in range(4):
            engine.batch_ended.emit(epoch, batch, 2.0)
    progress.begin(2)  # Continue: two more epochs
    engine.training_started.emit(4, 4)
    engine.batch_ended.emit(2, 0, 0.5)
    assert progress.chart.batch_points[-1] == pytest.approx((2.25, 0.5))


def test_groups_of_batches_count_by_their_size():
    """The engine sends the mean of the batches since its last signal: a group weighs as many
    batches as it holds, and the window takes only the newest of a group reaching past it."""
    mean = TrailingMean(4)
    assert mean.add(4.0) == 4.0
    assert mean.add(1.0, 3) == pytest.approx(7 / 4)
    assert mean.add(3.0, 2) == pytest.approx((1 + 1 + 3 + 3) / 4)


# --- which epoch's weights were kept ---------------------------------------------------------

HISTORY = [
    {"loss": 1.0 - 0.1 * e, "accuracy": 0.5, "val_loss": [0.9, 0.7, 0.6, 0.65, 0.7][e]}
    | {"val_accuracy": [0.6, 0.7, 0.725, 0.715, 0.712][e]}
    for e in range(5)
]
NAMES = ["blob", "horizontal", "vertical"]
EVALUATION = {
    "accuracy": 0.725,
    "per_class": {n: {"precision": 0.7, "recall": 0.7, "f1": 0.7, "support": 4} for n in NAMES},
    "confusion_matrix": [[3, 1, 0], [0, 4, 0], [1, 1, 2]],
    "misclassified": [],
}


def chart_image(chart: LossChart) -> QImage:
    chart.repaint()
    return chart.grab().toImage()


def marker_pixels(chart: LossChart, epoch: int) -> int:
    """How many pixels of the column at ``epoch`` on the chart differ between the chart with
    its kept epoch marked and without it (as it draws them: frame and margins included)."""
    with_marker = chart_image(chart)
    kept, chart.kept_epoch = chart.kept_epoch, None
    without = chart_image(chart)
    chart.kept_epoch = kept
    left, width = 56, chart.width() - 72  # the plots' frame, as LossChart lays it out
    x = round(left + epoch / len(chart.epochs) * width)
    return sum(
        with_marker.pixel(dx, y) != without.pixel(dx, y)
        for y in range(chart.height())
        for dx in (x - 1, x, x + 1)
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_kept_epoch_is_marked_said_and_its_figure_shown(qtbot, engine, pattern_dataset, theme):
    """Regression: the status line ended with the last epoch's 'validation accuracy 71.2%'
    while the model kept epoch 3's weights (72.5%, what the Results page shows); nothing said
    which epoch's weights were kept."""
    style.apply(QApplication.instance(), theme)
    try:
        tab = TrainTab(engine, lambda: 0.25)
        qtbot.addWidget(tab)
        tab.resize(1000, 700)
        tab.show()
        view = engine.load(pattern_dataset)
        tab.epochs_spin.setValue(5)
        tab.start()
        engine.set_state(activity="training")
        engine.training_started.emit(5, 4)
        for epoch, metrics in enumerate(HISTORY):
            for batch in range(4):
                engine.batch_ended.emit(epoch, batch, metrics["loss"])
            engine.epoch_ended.emit(epoch, metrics, 0.5)
        assert "71.2%" in tab.status.text()  # the last epoch's, while it trains
        summary = {
            "outcome": "early-stopped",
            "epochs": 5,
            "best_epoch": 3,
            "history": HISTORY,
            "validation": EVALUATION,
        }
        engine.training_finished.emit(summary)
        engine.set_state(
            model=model_view(
                NAMES,
                view.spec,
                source_root=view.root,
                evaluation=EVALUATION,
                history=HISTORY,
                best_epoch=3,
            ),
            activity=None,
            queued=(),
        )
        status = tab.status.text()
        assert "kept the weights of epoch 3 of 5" in status
        assert "validation accuracy 72.5%" in status and "71.2%" not in status
        assert "Kept the weights of epoch 3 of 5" in tab.metrics_label.text()
        chart = tab.chart
        assert chart.marked_epoch() == 3
        assert "epoch 3" in chart.toolTip()
        assert marker_pixels(chart, 3) > chart.height() // 3  # a line down both plots
    finally:
        style.apply(QApplication.instance(), "light")


def test_nothing_is_marked_when_the_last_epoch_was_kept(qtbot, engine, pattern_dataset):
    tab = TrainTab(engine, lambda: 0.25)
    qtbot.addWidget(tab)
    view = engine.load(pattern_dataset)
    engine.set_state(
        model=model_view(
            NAMES, view.spec, source_root=view.root, evaluation=EVALUATION, history=HISTORY
        ),
        activity=None,
        queued=(),
    )
    assert tab.chart.marked_epoch() is None
    assert "Kept" not in tab.metrics_label.text() and "72.5%" in tab.metrics_label.text()
    engine.set_state(
        model=model_view(
            NAMES,
            view.spec,
            source_root=view.root,
            evaluation=EVALUATION,
            history=HISTORY,
            best_epoch=5,  # the last: the figures are its own
        )
    )
    assert tab.chart.marked_epoch() is None and "Kept" not in tab.metrics_label.text()
