"""Training with real Keras on small data: events, stop/cancel, divergence, reproducibility."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from core.errors import Cancelled, DatasetError, TrainingError
from core.learn.config import TrainConfig
from core.learn.optimizer import make_schedule
from core.learn.training import Trainer, TrainingControl
from core.nets.runtime import keras


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None:
        self.events.append(("started", total_epochs, batches_per_epoch))

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        self.events.append(("batch", epoch, batch, loss))

    def epoch_ended(self, epoch: int, metrics: dict[str, float], seconds: float) -> None:
        self.events.append(("epoch", epoch, metrics, seconds))


def test_observer_events_arrive_in_order_with_plain_values(pattern_dataset):
    recorder = Recorder()
    config = TrainConfig(epochs=2, batch_size=16, seed=0, early_stopping=False)
    result = Trainer(pattern_dataset, config, recorder).run()
    kinds = [e[0] for e in recorder.events]
    started = recorder.events[0]
    assert started[0] == "started" and started[1] == 2
    batches = started[2]
    assert kinds == ["started"] + (["batch"] * batches + ["epoch"]) * 2
    for event in recorder.events:
        if event[0] == "batch":
            assert type(event[3]) is float and np.isfinite(event[3])
        if event[0] == "epoch":
            assert set(event[2]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
            assert all(type(v) is float for v in event[2].values())
    assert result.outcome == "finished"
    assert result.epochs_done == 2
    assert set(result.train_paths).isdisjoint(result.val_paths)


def test_trained_model_learns_the_patterns(trained):
    assert trained.history[-1]["val_accuracy"] >= 0.9


def run_in_thread(trainer: Trainer) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["result"] = trainer.run()
        except BaseException as exc:
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


class StopAfterFirstBatch(Recorder):
    def __init__(self, action) -> None:
        super().__init__()
        self.action = action
        self.asked = threading.Event()

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        super().batch_ended(epoch, batch, loss)
        self.asked.set()


@pytest.mark.parametrize("action", ["stop", "cancel"])
def test_stop_keeps_the_model_and_cancel_discards_it_within_two_seconds(pattern_dataset, action):
    control = TrainingControl()
    observer = StopAfterFirstBatch(action)
    config = TrainConfig(epochs=500, batch_size=4, seed=0, early_stopping=False)
    thread, outcome = run_in_thread(Trainer(pattern_dataset, config, observer, control))
    assert observer.asked.wait(60)
    asked_at = time.monotonic()
    getattr(control, action)()
    thread.join(10)
    assert not thread.is_alive()
    assert outcome["ended"] - asked_at < 2.0
    if action == "stop":
        result = outcome["result"]
        assert result.outcome == "stopped"
        assert result.model is not None
    else:
        assert isinstance(outcome["error"], Cancelled)


class CountingControl(TrainingControl):
    """Requests a stop at the n-th check, which falls in the first validation pass."""

    def __init__(self, stop_at: int) -> None:
        super().__init__()
        self.checks = 0
        self.stop_at = stop_at

    @property
    def stop_requested(self) -> bool:
        self.checks += 1
        return self.checks >= self.stop_at


def test_stop_is_honoured_during_validation(pattern_dataset):
    config = TrainConfig(epochs=3, batch_size=8, val_split=0.5, seed=0, early_stopping=False)
    train_batches = int(np.ceil(len(pattern_dataset) * 0.5 / 8))
    control = CountingControl(stop_at=train_batches + 1)
    recorder = Recorder()
    result = Trainer(pattern_dataset, config, recorder, control).run()
    assert result.outcome == "stopped"
    assert [e for e in recorder.events if e[0] == "epoch"] == []  # validation never finished
    assert control.checks == train_batches + 1


def test_divergence_stops_training_with_a_clear_message(pattern_dataset):
    config = TrainConfig(
        epochs=20, batch_size=4, learning_rate=9.0, optimizer="adam", early_stopping=False
    )
    recorder = Recorder()
    with pytest.raises(TrainingError, match="diverged"):
        Trainer(pattern_dataset, config, recorder).run()
    assert len([e for e in recorder.events if e[0] == "epoch"]) < 20


@pytest.fixture(scope="module")
def one_batch_an_epoch(tmp_path_factory):
    """36 images at batch size 128: one batch an epoch, so three epochs are three batches,
    fewer than the divergence window."""
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec
    from tests.conftest import make_pattern_dataset

    root = make_pattern_dataset(tmp_path_factory.mktemp("one-batch") / "patterns", per_class=12)
    return root, load_dataset(root, InputSpec(16))


def test_a_run_shorter_than_the_window_that_blows_up_is_stopped(one_batch_an_epoch):
    """Three batches never filled the five-batch window: the loss reached 1e10 and the run
    finished with a model 'no better than guessing'."""
    config = TrainConfig(epochs=3, learning_rate=9.9, early_stopping=False)
    recorder = Recorder()
    with pytest.raises(TrainingError, match="training diverged"):
        Trainer(one_batch_an_epoch[1], config, recorder).run()
    assert [e for e in recorder.events if e[0] == "epoch"] == []  # stopped within the first


@pytest.mark.parametrize(
    ("optimizer", "rate", "batch_size"),
    [("adam", 0.01, 4), ("adam", 0.01, 128), ("adam", 0.03, 128), ("rmsprop", 0.01, 4)],
)
def test_a_high_but_fine_learning_rate_is_not_called_diverged(
    pattern_dataset, optimizer, rate, batch_size
):
    """Healthy runs spike in their first batches (up to 7 times chance measured, at these
    settings); that is no divergence, from the first batch on."""
    config = TrainConfig(
        epochs=3,
        batch_size=batch_size,
        learning_rate=rate,
        optimizer=optimizer,
        early_stopping=False,
        seed=1,
    )
    result = Trainer(pattern_dataset, config).run()
    assert result.outcome == "finished" and result.epochs_done == 3


def test_one_blown_up_loss_stops_at_once_and_a_healthy_spike_does_not():
    from core.learn.monitor import Bridge, Diverged

    bridge = Bridge(Recorder(), TrainingControl(), total=3, batches=1, num_classes=2)
    for epoch, loss in enumerate([0.65, 4.73, 0.88]):  # measured: adam 0.03, two classes
        bridge.on_epoch_begin(epoch)
        bridge.on_train_batch_end(0, {"loss": loss})
        bridge.on_epoch_end(epoch, {"loss": loss, "val_loss": 3.11})
    bridge.on_epoch_begin(3)
    with pytest.raises(Diverged, match="epoch 4, batch 1"):
        bridge.on_train_batch_end(0, {"loss": 1.06e9})


@pytest.mark.parametrize("val_loss", [1.08e9, float("nan"), float("inf")])
def test_a_blown_up_validation_loss_stops_training(val_loss):
    """A batch's loss is measured before its update: only the validation loss sees what the
    last update of a run did."""
    from core.learn.monitor import Bridge, Diverged

    bridge = Bridge(Recorder(), TrainingControl(), total=1, batches=1, num_classes=3)
    bridge.on_epoch_begin(0)
    bridge.on_train_batch_end(0, {"loss": 1.1})
    with pytest.raises(Diverged, match="epoch 1, validation"):
        bridge.on_epoch_end(0, {"loss": 1.1, "val_loss": val_loss})
    assert bridge.history == []


def test_the_command_line_says_diverged_exits_1_and_saves_nothing(one_batch_an_epoch, tmp_path):
    """As the README says: one line on stderr, exit code 1, no model file anywhere."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    source = Path(__file__).resolve().parents[1]
    out = tmp_path / "out" / "diverged.cnnmodel"
    out.parent.mkdir()
    home = tmp_path / "home"  # where a model that could not be saved would be recovered
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    args = ["train", one_batch_an_epoch[0], "--out", out, "--epochs", "3", "--image-size", "16"]
    args += ["--learning-rate", "9.9", "--no-early-stopping"]
    result = subprocess.run(
        [sys.executable, "-m", "core", "-q", *map(str, args)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("cnn-studio: error: training diverged")
    assert result.stderr.count("\n") == 1
    assert list(tmp_path.rglob("*.cnnmodel")) == []


def test_same_seed_gives_same_split_and_weights(pattern_dataset):
    config = TrainConfig(epochs=1, batch_size=16, seed=5, early_stopping=False)
    first = Trainer(pattern_dataset, config).run()
    second = Trainer(pattern_dataset, config).run()
    assert first.train_paths == second.train_paths
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        assert np.array_equal(a, b)
    other = Trainer(pattern_dataset, TrainConfig(epochs=1, batch_size=16, seed=6)).run()
    assert other.train_paths != first.train_paths


def test_untrainable_dataset_is_refused(tmp_path):
    from core.data.dataset import load_dataset
    from tests.conftest import make_dataset

    dataset = load_dataset(make_dataset(tmp_path / "one", {"only": 4}))
    with pytest.raises(DatasetError, match="Only one class"):
        Trainer(dataset, TrainConfig(epochs=1)).run()


def test_continue_training_keeps_history_and_optimizer_state(trained, pattern_dataset):
    state = trained.optimizer_state
    assert state is not None and int(state.variables[0]) > 0  # the step counter
    model = keras.models.clone_model(trained.model)
    model.set_weights(trained.model.get_weights())
    before = [w.copy() for w in model.get_weights()]
    config = TrainConfig(epochs=2, batch_size=16, seed=1, early_stopping=False)
    more = Trainer(pattern_dataset, config).run(trained.spec, model, trained.history, state)
    assert more.epochs_done == trained.epochs_done + 2
    assert more.history[: trained.epochs_done] == trained.history
    assert not more.warnings
    moved = max(
        float(np.abs(a - b).max()) for a, b in zip(before, more.model.get_weights(), strict=True)
    )
    assert moved > 1e-4  # regression: a continued run once changed the weights by exactly 0.0
    after = more.optimizer_state
    assert after is not None and np.abs(after.variables[1]).max() > 0  # momentum
    # The step counter carries on (Adam's bias correction must match its moments); the
    # schedule is offset so the run still warms up from a low learning rate.
    assert after.steps > state.steps > 0
    schedule = make_schedule(config.learning_rate, 20, start_step=state.steps)
    first, peak = float(schedule(state.steps)), float(schedule(state.steps + 2))
    assert 0 < first < config.learning_rate / 2 and peak == pytest.approx(config.learning_rate)


def test_continuing_with_another_optimizer_says_its_state_starts_afresh(trained, pattern_dataset):
    model = keras.models.clone_model(trained.model)
    model.set_weights(trained.model.get_weights())
    config = TrainConfig(epochs=1, batch_size=16, optimizer="sgd", early_stopping=False)
    state = trained.optimizer_state
    more = Trainer(pattern_dataset, config).run(trained.spec, model, trained.history, state)
    assert more.config.optimizer == "sgd"
    assert any("changed from adam to sgd" in w for w in more.warnings)


def test_nan_loss_is_caught_at_the_batch_it_appears():
    from core.learn.monitor import Bridge, Diverged

    bridge = Bridge(Recorder(), TrainingControl(), total=1, batches=10, num_classes=10)
    bridge.on_epoch_begin(0)
    bridge.on_train_batch_end(0, {"loss": 2.3})
    with pytest.raises(Diverged, match="batch 2"):
        bridge.on_train_batch_end(1, {"loss": float("nan")})


def test_the_bridge_recovers_batch_losses_when_a_call_runs_several_steps():
    from core.learn.monitor import Bridge

    recorder = Recorder()
    bridge = Bridge(recorder, TrainingControl(), total=1, batches=8, num_classes=10)
    bridge.on_epoch_begin(0)
    losses = [2.0, 1.0, 1.5, 0.5, 1.0, 1.0, 0.25, 0.75]
    means = np.cumsum(losses) / np.arange(1, 9)
    bridge.on_train_batch_end(3, {"loss": float(means[3])})  # steps 0-3 in one call
    bridge.on_train_batch_end(7, {"loss": float(means[7])})  # steps 4-7
    reported = [e[3] for e in recorder.events if e[0] == "batch"]
    assert reported == pytest.approx([np.mean(losses[:4]), np.mean(losses[4:])])
