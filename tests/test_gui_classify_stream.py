"""The Classify tab with a folder of many images (issue 26): rows arrive in chunks as they are
classified, a progress bar with a Cancel button shows while the engine works, and the table
stays a model and a view however many rows it holds."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

import core.use.classify as classify_module
from gui.tabs.classify import ClassifyTab
from gui.tabs.classify_table import CACHE, ClassifyProgress
from tests.fake_engine import FakeEngine, model_view


def rows(first: int, count: int, thumbnail: np.ndarray | None = None) -> list[dict]:
    """``count`` result rows as the adapter sends them, numbered from ``first``."""
    return [
        {
            "path": f"/photos/{n:05d}.jpg",
            "predictions": [{"label": "a", "probability": 0.8}, {"label": "b", "probability": 0.2}],
            "thumbnail": thumbnail,
        }
        for n in range(first, first + count)
    ]


@pytest.fixture
def tab(qtbot) -> ClassifyTab:
    engine = FakeEngine()
    tab = ClassifyTab(engine)
    qtbot.addWidget(tab)
    tab.resize(1000, 700)
    tab.show()
    qtbot.waitExposed(tab)
    engine.set_state(model=model_view(["a", "b"], saved_path="/m/x.cnnmodel", origin="opened"))
    return tab


def test_chunks_fill_the_table_under_a_progress_bar_with_cancel(qtbot, tab):
    engine = tab.engine
    tab.classify(["/photos"])
    engine.set_state(queued=("classifying",))  # as the adapter publishes a queued request
    assert tab.progress.isVisible() and tab.progress.bar.value() == 0
    for chunk in range(3):
        engine.classify_progress.emit((chunk + 1) / 4, f"{(chunk + 1) * 32} of 128 images")
        engine.classified.emit(rows(chunk * 32, 32), [])
    assert tab.table.rowCount() == 96 and tab.table.isVisible()
    assert tab.progress.bar.value() == 3 * ClassifyProgress.STEPS // 4
    assert "96 of 128 images" in tab.progress.bar.text()
    qtbot.mouseClick(tab.progress.cancel_button, Qt.MouseButton.LeftButton)
    assert engine.called("cancel_classifying")
    assert "Cancelled: 96 images classified" in tab.message.text()
    assert tab.table.rowCount() == 96  # what arrived stays
    engine.set_state(queued=())  # the cancelled job ended
    assert not tab.progress.isVisible()
    tab.classify(["/more"])  # a new request starts from zero
    engine.set_state(queued=("classifying",))
    assert tab.progress.isVisible() and tab.progress.bar.value() == 0


def test_failures_of_every_chunk_are_named(tab):
    tab.classify(["/photos"])
    tab.engine.classified.emit(rows(0, 2), [("/photos/a.jpg", "empty file (0 bytes)")])
    tab.engine.classified.emit(rows(2, 2), [("/photos/b.jpg", "not an image")])
    assert "a.jpg: empty file" in tab.message.text() and "b.jpg: not an image" in tab.message.text()


def test_ten_thousand_rows_keep_a_bounded_number_of_pictures(qtbot, tab):
    thumb = np.full((72, 96, 3), 128, np.uint8)
    for first in range(0, 10_000, 250):
        tab.engine.classified.emit(rows(first, 250, thumb), [])
    assert tab.table.rowCount() == 10_000
    qtbot.wait(10)  # let the view paint what is on screen
    assert 0 < tab.table.results.kept() <= CACHE  # pictures only of rows painted
    assert tab.table.text(9_999, 1) == "/photos/09999.jpg"
    tab.table.scrollToTop()
    tab.table.viewport().repaint()
    assert tab.table.results.kept() <= CACHE


@pytest.mark.slow
def test_a_folder_streams_into_the_table_with_the_real_engine(
    qtbot, saved_model, pattern_dir, monkeypatch
):
    from core.data.scan import image_files
    from gui.engine_adapter import Engine

    monkeypatch.setattr(classify_module, "batch_for", lambda spec: 8)
    total = len(image_files([pattern_dir])[0])
    engine = Engine()
    tab = ClassifyTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    chunks: list[int] = []
    progress: list[float] = []
    engine.classified.connect(lambda predictions, _failures: chunks.append(len(predictions)))
    engine.classify_progress.connect(lambda fraction, _message: progress.append(fraction))
    try:
        with qtbot.waitSignal(engine.ready, timeout=120_000):
            engine.start()
        with qtbot.waitSignal(engine.model_opened, timeout=60_000):
            engine.open_model(str(saved_model))
        tab.classify([str(pattern_dir)])
        qtbot.waitUntil(tab.progress.isVisible, timeout=10_000)
        qtbot.waitUntil(lambda: tab.table.rowCount() == total, timeout=60_000)
        whole, rest = divmod(total, 8)  # other tests may have added files to the folder
        assert chunks == [8] * whole + [rest] * bool(rest)  # a chunk a batch, shown as it came
        assert progress[-1] == 1.0 and progress == sorted(progress)
        assert tab.progress.bar.value() == tab.progress.bar.maximum()
        qtbot.waitUntil(lambda: not tab.progress.isVisible(), timeout=10_000)
        assert all(p.get("thumbnail") is not None for p in tab.predictions)
    finally:
        engine.shutdown()
