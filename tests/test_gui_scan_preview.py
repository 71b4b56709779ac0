"""Issue 26: the Data tab shows a folder's classes, their files and the counts' warnings as
soon as the folder is scanned, while its images are read; the loaded dataset replaces that,
and a cancelled or failed load brings the previous dataset's view back."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.dataset import load_dataset
from core.data.images import InputSpec
from core.data.scan import scan_folder
from core.state import ScanPreview
from gui.tabs.data import DataTab
from tests.conftest import make_dataset
from tests.fake_engine import FakeEngine


@pytest.fixture
def engine(qtbot) -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def tab(qtbot, engine: FakeEngine, tmp_path: Path) -> DataTab:
    """The tab showing the folder 'first' (classes a and b), loading 'second' (x, y, z)."""
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    engine.load(load_dataset(make_dataset(tmp_path / "first", {"a": 4, "b": 4}), InputSpec(16)))
    second = make_dataset(tmp_path / "second", {"x": 6, "y": 1, "z": 3})
    (second / "notes.txt").write_text("not in a class folder")
    tab.load(str(second))
    engine.set_state(activity="loading")
    return tab


def table(tab: DataTab) -> list[tuple[str, str]]:
    """The class list's rows: (class, count as shown), after its count column's title."""
    t = tab.class_table
    rows = [(t.item(r, 0).text(), t.item(r, 1).text()) for r in range(t.rowCount())]
    return [("", t.horizontalHeaderItem(1).text()), *rows]


def scanned(engine: FakeEngine, tab: DataTab) -> ScanPreview:
    """Emit what the scan of the folder being loaded found, as the engine would."""
    preview = ScanPreview.of(scan_folder(tab._requested))
    engine.dataset_scanned.emit(preview)
    return preview


def test_the_classes_show_while_the_images_are_read_then_the_loaded_dataset(tab, engine):
    first = engine.state.dataset
    scanned(engine, tab)
    assert table(tab) == [("", "Files"), ("x", "6"), ("y", "1"), ("z", "3")]
    assert not tab.class_table.isEnabled()  # greyed: still being read, nothing to choose
    assert tab.chosen_class() is None and tab.thumbnails.count() == 0
    assert "reading the images" in tab.folder_label.text() and "10 files" in tab.folder_label.text()
    assert "only 1 image" in tab.notes.text() and tab.notes.isVisible()
    assert "Skipped so far: 1" in tab.details.skipped_title.text()
    assert not tab.new_class_button.isEnabled() and not tab.rename_class_button.isEnabled()
    assert tab.dataset is first and tab.progress.isVisible()  # the session's dataset: unchanged

    view = engine.load(load_dataset(Path(tab._requested), InputSpec(16)))
    assert tab.dataset is view and tab.class_table.isEnabled()
    assert table(tab) == [("", "Images"), ("x", "6"), ("y", "1"), ("z", "3")]
    assert tab.chosen_class() == "x" and tab.thumbnails.count() == 6
    assert "reading" not in tab.folder_label.text() and not tab.progress.isVisible()


@pytest.mark.parametrize("ending", ["cancelled", "failed"])
def test_a_load_that_ends_without_a_dataset_brings_the_previous_view_back(tab, engine, ending):
    scanned(engine, tab)
    if ending == "cancelled":
        engine.dataset_cancelled.emit()
        assert "Loading cancelled; still showing first" in tab.folder_label.text()
    else:
        engine.dataset_failed.emit("the disk went away")
        assert "Could not load: the disk went away" in tab.folder_label.text()
    engine.set_state(activity=None)
    assert table(tab) == [("", "Images"), ("a", "4"), ("b", "4")] and tab.class_table.isEnabled()
    assert tab.chosen_class() == "a" and tab.thumbnails.count() == 4
    assert "only 1 image" not in tab.notes.text() and tab.new_class_button.isEnabled()


def test_a_first_load_cancelled_after_its_scan_shows_the_start_again(qtbot, engine, tmp_path):
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    tab.load(str(make_dataset(tmp_path / "only", {"a": 2, "b": 2})))
    scanned(engine, tab)
    assert tab.content.isVisible() and not tab.empty_hint.isVisible()
    engine.dataset_cancelled.emit()
    assert tab.empty_hint.isVisible() and not tab.content.isVisible()
    assert tab.folder_label.text() == "Loading cancelled."


def test_with_the_real_engine_the_classes_show_before_the_load_lands(qtbot, tmp_path):
    """The whole path: Session.load_dataset's callback on the engine thread, the adapter's
    signal, the tab. When the preview arrives (the tab's slot runs first, it was connected
    first) the table already lists the classes and nothing is loaded yet."""
    from gui.engine_adapter import Engine

    engine = Engine()
    try:
        tab = DataTab(engine)
        qtbot.addWidget(tab)
        seen: list[tuple[list[tuple[str, str]], object]] = []
        engine.dataset_scanned.connect(lambda _p: seen.append((table(tab), engine.state.dataset)))
        with qtbot.waitSignal(engine.dataset_loaded, timeout=30_000):
            tab.load(str(make_dataset(tmp_path / "d", {"cat": 5, "dog": 2})))
        assert seen == [([("", "Files"), ("cat", "5"), ("dog", "2")], None)]
        qtbot.waitUntil(
            lambda: table(tab) == [("", "Images"), ("cat", "5"), ("dog", "2")], timeout=10_000
        )
    finally:
        engine.shutdown()
