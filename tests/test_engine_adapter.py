"""The GUI adapter's tasks: superseded loads are cancelled and their results dropped."""

from __future__ import annotations

import threading

import pytest

from core.data.images import InputSpec
from gui.engine_adapter import Engine
from tests.conftest import make_dataset


@pytest.fixture
def engine(qtbot):
    engine = Engine()
    yield engine
    engine.shutdown()


def record(engine: Engine) -> dict[str, list]:
    seen: dict[str, list] = {"scanned": [], "loaded": [], "cancelled": [], "failed": []}
    engine.dataset_scanned.connect(seen["scanned"].append)
    engine.dataset_loaded.connect(seen["loaded"].append)
    engine.dataset_cancelled.connect(lambda: seen["cancelled"].append(True))
    engine.dataset_failed.connect(seen["failed"].append)
    return seen


def hold_the_worker(engine: Engine) -> threading.Event:
    """Keep the engine thread busy until the returned event is set (jobs queue up)."""
    release = threading.Event()
    engine._worker.submit(lambda: release.wait(30))
    return release


def two_queued_loads(engine: Engine, tmp_path) -> threading.Event:
    """Queue loads of folders 'first' then 'second' behind a busy worker; returns its release."""
    release = hold_the_worker(engine)
    for name, classes in (("first", {"a": 4, "b": 4}), ("second", {"c": 4, "d": 4})):
        engine.load_dataset(make_dataset(tmp_path / name, classes), InputSpec(16))
    return release


def test_cancel_after_a_second_load_cancels_it_and_the_first_never_lands(qtbot, engine, tmp_path):
    """Regression: Cancel hit the queued job and the stale first dataset won."""
    seen = record(engine)
    release = two_queued_loads(engine, tmp_path)
    assert engine.state.loading
    engine.cancel_loading()
    release.set()
    qtbot.waitUntil(lambda: not engine.state.queued, timeout=30_000)
    assert seen["loaded"] == [] and seen["cancelled"] == [True] and seen["scanned"] == []
    assert engine.state.dataset is None


def test_the_newest_load_wins(qtbot, engine, tmp_path):
    seen = record(engine)
    release = two_queued_loads(engine, tmp_path)
    release.set()
    qtbot.waitUntil(lambda: not engine.state.queued, timeout=30_000)
    assert [view.name for view in seen["loaded"]] == ["second"]
    assert [preview.name for preview in seen["scanned"]] == ["second"]  # the first's dropped
    assert engine.state.dataset.class_names == ("c", "d")
    assert seen["cancelled"] == []  # the replaced load is silent, not "cancelled"


def test_the_demo_is_drawn_on_the_engine_thread(qtbot, engine, monkeypatch, pattern_dir):
    """Regression: the demo was generated on the GUI thread (a two-second frozen window)."""
    import core.data.demo

    threads = []

    def fake_demo() -> object:
        threads.append(threading.current_thread().name)
        return pattern_dir

    monkeypatch.setattr(core.data.demo, "demo_dataset", fake_demo)
    with qtbot.waitSignal(engine.dataset_loaded, timeout=30_000):
        engine.load_demo(InputSpec(16))
    assert threads == ["cnnstudio-engine"]


def test_a_load_tells_what_its_scan_found_before_it_lands(qtbot, engine, tmp_path):
    """Issue 26: dataset_scanned (the classes and their files) comes first, on the GUI
    thread."""
    order: list[tuple[str, object, object]] = []
    engine.dataset_scanned.connect(
        lambda p: order.append(("scanned", p, threading.current_thread()))
    )
    engine.dataset_loaded.connect(lambda v: order.append(("loaded", v, None)))
    with qtbot.waitSignal(engine.dataset_loaded, timeout=30_000):
        engine.load_dataset(make_dataset(tmp_path / "d", {"a": 4, "b": 2}), InputSpec(16))
    (_, preview, thread), (last, view, _) = order
    assert last == "loaded" and thread is threading.main_thread()
    assert preview.class_names == view.class_names and preview.counts == (4, 2)


def test_results_arrive_on_the_gui_thread_with_frozen_data(qtbot, engine, pattern_dir):
    states = []
    engine.state_changed.connect(lambda s: states.append((threading.current_thread(), s)))
    with qtbot.waitSignal(engine.dataset_loaded, timeout=30_000) as loaded:
        engine.load_dataset(pattern_dir, InputSpec(16))
    qtbot.waitUntil(lambda: not states[-1][1].queued, timeout=30_000)  # the last one emitted
    assert {thread for thread, _ in states} == {threading.main_thread()}
    assert states[-1][1].dataset is loaded.args[0]
    assert not loaded.args[0].images.flags.writeable


def test_a_diverged_run_is_a_failure_in_the_app_and_keeps_no_model(qtbot, engine, tmp_path):
    """The run the command line refuses (the loss blew up within three one-batch epochs) is
    a failed run in the app too: 'training diverged', no model, nothing finished."""
    from core.learn.config import TrainConfig
    from tests.conftest import make_pattern_dataset

    root = make_pattern_dataset(tmp_path / "patterns", per_class=12)
    with qtbot.waitSignal(engine.dataset_loaded, timeout=60_000):
        engine.load_dataset(root, InputSpec(16))
    finished: list[dict] = []
    engine.training_finished.connect(finished.append)
    config = TrainConfig(epochs=3, learning_rate=9.9, early_stopping=False)
    with qtbot.waitSignal(engine.training_failed, timeout=120_000) as failed:
        engine.train(config, "article", False)
    assert "training diverged" in failed.args[0]
    qtbot.waitUntil(lambda: engine.state.activity is None, timeout=30_000)
    assert finished == [] and engine.state.model is None
