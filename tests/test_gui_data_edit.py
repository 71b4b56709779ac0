"""Fixing the data from the Data tab, with real Qt events and the real engine adapter (no
TensorFlow is needed to load or edit a folder): move an image with the keyboard, undo, exclude,
drop files onto a class, new and renamed classes — checking the disk and the view each time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication, QInputDialog, QLabel, QMenu, QMessageBox

from core.data.edit import EXCLUDED
from core.data.images import InputSpec
from gui.engine_adapter import Engine
from gui.tabs.data import DataTab
from gui.tabs.data_actions import comparison_line
from tests.conftest import make_dataset
from tests.test_dataset_edit import snapshot
from tests.test_gui_widgets import drop

OK = QMessageBox.StandardButton.Ok
CANCEL = QMessageBox.StandardButton.Cancel


@pytest.fixture
def engine(qtbot):
    engine = Engine()
    yield engine
    engine.shutdown()


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "pets", {"cat": 3, "dog": 3})


@pytest.fixture
def tab(qtbot, engine: Engine, pets: Path, dialogs) -> DataTab:
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    engine.load_dataset(pets, InputSpec(16))
    qtbot.waitUntil(lambda: tab.dataset is not None and not engine.state.queued, timeout=30_000)
    return tab


def counts(tab: DataTab) -> dict[str, int]:
    """Images per class as the class table shows them."""
    table = tab.class_table
    return {table.item(r, 0).text(): int(table.item(r, 1).text()) for r in range(table.rowCount())}


def grid(tab: DataTab, role: Qt.ItemDataRole = Qt.ItemDataRole.UserRole) -> list:
    """What the grid shows of each image: its path, or its caption or tooltip (``role``)."""
    model = tab.thumbnails.model()
    return [model.index(i).data(role) for i in range(model.rowCount())]


def settle(qtbot, engine: Engine) -> None:
    qtbot.waitUntil(lambda: not engine.state.queued, timeout=30_000)
    QApplication.processEvents()


def test_move_with_the_keyboard_then_undo(qtbot, engine, tab, pets, dialogs) -> None:
    before = snapshot(pets)
    assert tab.chosen_class() == "cat" and grid(tab)[0] == "cat/img000.png"
    tab.thumbnails.setFocus()
    tab.thumbnails.setCurrentRow(0)
    qtbot.keyClick(tab.thumbnails, Qt.Key.Key_M)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    (dog,) = [a for a in menu.actions() if a.text() == "dog"]  # every other class
    menu.setActiveAction(dog)
    dialogs.answers.append(OK)
    edited = []
    engine.dataset_edited.connect(edited.append)
    qtbot.keyClick(menu, Qt.Key.Key_Return)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: counts(tab) == {"cat": 2, "dog": 4}, timeout=10_000)
    (question,) = dialogs.shown
    assert f"Move cat/img000.png to dog/img000-2.png inside {pets}" in question[1]
    assert "dog/img000.png exists already and is kept" in question[1]
    assert not (pets / "cat/img000.png").exists()
    assert (pets / "dog/img000-2.png").read_bytes() == before["cat/img000.png"]
    assert tab.chosen_class() == "cat" and "cat/img000.png" not in grid(tab)
    assert grid(tab)[tab.thumbnails.currentRow()] == "cat/img001.png"  # M and Delete go on
    assert edited and edited[0].startswith("Moved cat/img000.png to dog/img000-2.png")
    assert tab.edit_label.isVisible()

    tab.activateWindow()  # offscreen, the closed popup leaves no window active
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab)
    tab.class_table.setFocus()  # Ctrl+Z works anywhere in the tab
    qtbot.keyClick(tab.class_table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: counts(tab) == {"cat": 3, "dog": 3}, timeout=10_000)
    assert snapshot(pets) == before
    assert "cat/img000.png" in grid(tab)
    assert engine.state.dataset.undo is None
    assert tab.edit_label.text().startswith("Undone: ")
    assert "Ctrl+Z" not in tab.edit_label.text()  # nothing more to undo


def test_delete_excludes_after_asking(qtbot, engine, tab, pets, dialogs) -> None:
    before = snapshot(pets)
    tab.thumbnails.setFocus()
    tab.thumbnails.setCurrentRow(1)
    dialogs.answers.append(CANCEL)
    qtbot.keyClick(tab.thumbnails, Qt.Key.Key_Delete)
    settle(qtbot, engine)
    assert snapshot(pets) == before and counts(tab) == {"cat": 3, "dog": 3}
    assert f"Move cat/img001.png to {EXCLUDED}/cat/img001.png inside {pets}" in dialogs.shown[0][1]

    dialogs.answers.append(OK)
    qtbot.keyClick(tab.thumbnails, Qt.Key.Key_Delete)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: counts(tab) == {"cat": 2, "dog": 3}, timeout=10_000)
    assert (pets / EXCLUDED / "cat/img001.png").read_bytes() == before["cat/img001.png"]
    assert grid(tab) == ["cat/img000.png", "cat/img002.png"]
    assert any(path == EXCLUDED for path, _ in engine.state.dataset.skipped)


def test_a_file_that_vanished_is_reported_and_nothing_changes(
    qtbot, engine, tab, pets, dialogs
) -> None:
    failures = []
    engine.operation_failed.connect(lambda what, message: failures.append(message))
    (pets / "cat/img000.png").unlink()  # another program removed it after the load
    before = snapshot(pets)
    tab.thumbnails.setCurrentRow(0)
    dialogs.answers.append(OK)
    tab.image_actions.move_current("dog")
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: bool(failures), timeout=10_000)
    assert "cat/img000.png: the file is no longer there" in failures[0]
    assert snapshot(pets) == before and counts(tab) == {"cat": 3, "dog": 3}


def test_dropping_files_on_a_class_copies_them_without_overwriting(
    qtbot, engine, tab, pets, tmp_path, dialogs
) -> None:
    outside = make_dataset(tmp_path / "more", {"x": 2})
    before = snapshot(pets)
    dialogs.answers.append(OK)
    files = [QUrl.fromLocalFile(str(p)) for p in sorted((outside / "x").iterdir())]
    row_top = tab.class_table.visualItemRect(tab.class_table.item(0, 0)).top()
    assert row_top < 10  # the helper drops at (10, 10): on the first row, 'cat'
    drop(tab.class_table.viewport(), files)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: counts(tab) == {"cat": 5, "dog": 3}, timeout=10_000)
    assert "Copy 2 file(s) (img000.png, img001.png) into cat/" in dialogs.shown[0][1]
    after = snapshot(pets)
    assert {k: after[k] for k in before} == before  # nothing overwritten
    assert after["cat/img000-2.png"] == (outside / "x/img000.png").read_bytes()
    assert (outside / "x/img000.png").exists()  # copied, not moved


def test_new_removed_and_renamed_classes(qtbot, engine, tab, pets, monkeypatch, dialogs) -> None:
    answers = iter([("bird", True), ("kitten", True)])
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: next(answers)))
    qtbot.mouseClick(tab.new_class_button, Qt.MouseButton.LeftButton)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: "bird" in counts(tab), timeout=10_000)
    assert (pets / "bird").is_dir() and counts(tab)["bird"] == 0
    assert tab.chosen_class() == "cat"  # still on show, though 'bird' took its row
    assert not tab.remove_class_button.isEnabled()  # cat holds images
    tab.class_table.selectRow(0)  # bird: empty, so it can go
    assert tab.remove_class_button.isEnabled()
    dialogs.answers.append(OK)
    qtbot.mouseClick(tab.remove_class_button, Qt.MouseButton.LeftButton)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: "bird" not in counts(tab), timeout=10_000)
    assert "Remove the class bird: its empty folder(s) bird inside" in dialogs.shown[-1][1]
    assert not (pets / "bird").exists()
    undo_key = Qt.KeyboardModifier.ControlModifier
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab)
    qtbot.keyClick(tab.class_table, Qt.Key.Key_Z, undo_key)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: "bird" in counts(tab), timeout=10_000)
    tab.class_table.selectRow(1)  # cat
    qtbot.mouseClick(tab.rename_class_button, Qt.MouseButton.LeftButton)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: "kitten" in counts(tab), timeout=10_000)
    assert (pets / "kitten/img000.png").is_file() and not (pets / "cat").exists()
    assert counts(tab) == {"bird": 0, "dog": 3, "kitten": 3}
    assert tab.chosen_class() == "kitten" and grid(tab)[0] == "kitten/img000.png"


def test_each_folder_shows_its_own_last_change(qtbot, engine, tab, pets, dialogs, tmp_path):
    """The line under the grid follows the folder shown; a folder's history outlives the app
    (the engine's session keeps it), so opening it again offers its last change."""
    tab.thumbnails.setFocus()
    tab.thumbnails.setCurrentRow(0)
    dialogs.answers.append(OK)
    qtbot.keyClick(tab.thumbnails, Qt.Key.Key_Delete)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: counts(tab) == {"cat": 2, "dog": 3}, timeout=10_000)
    assert tab.edit_label.isVisible() and "Moved cat/img000.png" in tab.edit_label.text()
    other = make_dataset(tmp_path / "birds", {"owl": 2, "tit": 2})
    engine.load_dataset(other, InputSpec(16))
    qtbot.waitUntil(lambda: "owl" in tab.dataset.class_names, timeout=30_000)  # loaded
    assert not tab.edit_label.isVisible()  # not the last folder's change
    engine.load_dataset(pets, InputSpec(16))
    qtbot.waitUntil(lambda: "cat" in tab.dataset.class_names, timeout=30_000)  # loaded
    assert tab.edit_label.isVisible()
    assert tab.edit_label.text().startswith("Last change to this folder: Moved cat/img000.png")
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab)
    qtbot.keyClick(tab.class_table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, engine)
    qtbot.waitUntil(lambda: counts(tab) == {"cat": 3, "dog": 3}, timeout=10_000)
    assert (pets / "cat/img000.png").is_file()


# --- with the fake engine: sorting by loss, Retrain and its comparison, the Results list -------


@pytest.fixture
def fake(qtbot):
    from tests.fake_engine import FakeEngine

    return FakeEngine()


@pytest.fixture
def fake_tab(qtbot, fake, pets: Path) -> DataTab:
    from core.data.dataset import load_dataset

    tab = DataTab(fake)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    fake.load(load_dataset(pets, InputSpec(16), workers=1))
    QApplication.processEvents()
    return tab


def test_most_surprising_first_sorts_by_the_models_loss(qtbot, fake, fake_tab) -> None:
    from tests.fake_engine import model_view

    view = fake.state.dataset
    assert not fake_tab.surprise_check.isEnabled()  # no model yet
    fake.set_state(model=model_view(["cat", "dog"], view.spec))
    assert fake_tab.surprise_check.isEnabled()
    qtbot.mouseClick(fake_tab.surprise_check, Qt.MouseButton.LeftButton)
    assert fake.called("compute_losses") == [("compute_losses",)]
    losses = np.array([0.1, 2.5, 0.7, 0.2, 0.3, 0.4], np.float32)
    fake.losses_computed.emit(view.generation, view.paths, losses)
    assert grid(fake_tab) == ["cat/img001.png", "cat/img002.png", "cat/img000.png"]
    assert "loss 2.5" in grid(fake_tab, Qt.ItemDataRole.ToolTipRole)[0]
    # A new model (trained again): the box stays ticked and the new model scores the images;
    # until its scores arrive, the folder order shows, not the old model's.
    fake.set_state(activity="training")
    fake.set_state(activity=None, model=model_view(["cat", "dog"], view.spec))
    assert fake.called("compute_losses") == [("compute_losses",)] * 2
    assert "Scoring each image with the new model" in fake_tab.thumb_title.text()
    assert grid(fake_tab) == ["cat/img000.png", "cat/img001.png", "cat/img002.png"]
    assert "loss" not in grid(fake_tab, Qt.ItemDataRole.ToolTipRole)[0]  # not the old model's
    newer = np.array([0.1, 0.2, 3.0, 0.2, 0.3, 0.4], np.float32)
    fake.losses_computed.emit(view.generation, view.paths, newer)
    assert grid(fake_tab) == ["cat/img002.png", "cat/img001.png", "cat/img000.png"]
    assert "loss 3" in grid(fake_tab, Qt.ItemDataRole.ToolTipRole)[0]
    qtbot.mouseClick(fake_tab.surprise_check, Qt.MouseButton.LeftButton)  # off: folder order
    assert grid(fake_tab) == ["cat/img000.png", "cat/img001.png", "cat/img002.png"]


def test_retrain_after_edits_and_the_comparison(qtbot, fake, fake_tab) -> None:
    import dataclasses

    from tests.fake_engine import model_view

    view = fake.state.dataset
    before = {"accuracy": 0.912, "confusion_matrix": [[40, 10], [4, 46]]}
    after = {"accuracy": 0.93, "confusion_matrix": [[45, 2], [0, 53]]}
    fake.set_state(model=model_view(["cat", "dog"], view.spec, evaluation=before))
    assert fake_tab.retrain_button.isHidden()  # nothing was edited
    fake.set_state(dataset=dataclasses.replace(view, edits=1, undo="Moved …"))
    assert fake_tab.retrain_button.isHidden()  # the session: the model already saw the edits
    fake.set_state(edited_since_model=True)
    assert not fake_tab.retrain_button.isHidden()
    with qtbot.waitSignal(fake_tab.retrain_requested):
        qtbot.mouseClick(fake_tab.retrain_button, Qt.MouseButton.LeftButton)
    fake.set_state(activity="training")
    fake.set_state(activity=None, model=model_view(["cat", "dog"], view.spec, evaluation=after))
    assert fake_tab.edit_label.text() == (
        "After your changes: validation accuracy 91.2 % → 93.0 %; 12 fewer mistakes."
    )
    fewer = {"accuracy": 0.95, "confusion_matrix": [[45, 2], [0, 48]]}  # 5 images went
    assert comparison_line(after, fewer) == (
        "validation accuracy 93.0 % → 95.0 %; as many mistakes "
        "(checked on 100 and then 95 validation images)"
    )


def test_the_results_list_offers_the_same_fixes(qtbot, fake, fake_tab, dialogs) -> None:
    import dataclasses

    from gui.tabs.results import ResultsPage
    from tests.fake_engine import model_view

    view = fake.state.dataset
    mistake = {
        "path": "cat/img002.png",
        "true": "cat",
        "predicted": "dog",
        "probability": 0.9,
        "probabilities": {"cat": 0.1, "dog": 0.9},
    }
    evaluation = {"accuracy": 0.8, "confusion_matrix": [[2, 1], [0, 3]], "misclassified": [mistake]}
    model = model_view(["cat", "dog"], view.spec, evaluation=evaluation)
    state = fake.set_state(model=model)
    page = ResultsPage(fake)
    qtbot.addWidget(page)
    page.follow(state)
    page.show_model(model)
    page.show_cell("cat", "dog")
    assert page.mistakes.count() == 1
    page.mistakes.setCurrentRow(0)
    menu = page.image_actions.menu()
    (move,) = [a.menu() for a in menu.actions() if a.menu() is not None]
    assert [a.text() for a in move.actions()] == ["dog"]
    dialogs.answers.append(OK)
    next(a for a in move.actions() if a.text() == "dog").trigger()
    wanted = ("edit_dataset", "move_to_class", "cat/img002.png", "dog")
    assert fake.called("edit_dataset") == [wanted]
    assert "Move cat/img002.png to dog/img002-2.png inside" in dialogs.shown[-1][1]
    menu.deleteLater()

    # The same keys as the Data tab's grid: Delete excludes (asked first), Ctrl+Z undoes.
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page)
    page.mistakes.setFocus()
    dialogs.answers.append(OK)
    qtbot.keyClick(page.mistakes, Qt.Key.Key_Delete)
    assert fake.called("edit_dataset")[-1] == ("edit_dataset", "exclude", "cat/img002.png")
    assert f"Move cat/img002.png to {EXCLUDED}/cat/img002.png" in dialogs.shown[-1][1]
    assert not fake.called("undo_edit")
    page.follow(fake.set_state(dataset=dataclasses.replace(view, edits=1, undo="Moved …")))
    qtbot.keyClick(page.mistakes, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert fake.called("undo_edit") == [("undo_edit",)]


def test_show_larger_and_open_file(qtbot, fake, fake_tab, pets, monkeypatch) -> None:
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opened.append))
    fake_tab.thumbnails.setCurrentRow(1)
    dialog = fake_tab.image_actions.show_larger()
    assert dialog is not None and dialog.windowTitle() == "cat/img001.png"
    picture = dialog.findChildren(QLabel)[0].pixmap()
    assert picture.width() == 20 * (256 // 20)  # a 20 px image, enlarged with sharp pixels
    dialog.close()
    fake_tab.image_actions.open_file()
    assert opened == [QUrl.fromLocalFile(str(pets / "cat/img001.png"))]


def test_enter_or_a_double_click_shows_the_image_larger(qtbot, fake_tab) -> None:
    from PySide6.QtWidgets import QDialog

    def shown() -> list[str]:
        return [w.windowTitle() for w in QApplication.topLevelWidgets() if isinstance(w, QDialog)]

    view = fake_tab.thumbnails
    view.setFocus()
    view.setCurrentRow(1)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert shown() == ["cat/img001.png"]
    where = view.visualRect(view.model().index(2)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)  # a double click's
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)  # two halves
    assert sorted(shown()) == ["cat/img001.png", "cat/img002.png"]
    for dialog in QApplication.topLevelWidgets():
        if isinstance(dialog, QDialog):
            dialog.close()


def test_right_click_opens_the_menu_for_that_image(qtbot, fake, fake_tab, dialogs) -> None:
    from PySide6.QtGui import QContextMenuEvent

    view = fake_tab.thumbnails
    where = view.visualRect(view.model().index(2)).center()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, where, view.mapToGlobal(where))
    QApplication.sendEvent(view.viewport(), event)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu) and view.currentRow() == 2
    texts = [a.text().split("\t")[0] for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Show larger", "Open file", "Move to class", "Exclude from training…", "Undo"]
    undo = menu.actions()[-1]
    assert not undo.isEnabled()  # nothing to undo yet
    exclude = next(a for a in menu.actions() if a.text().startswith("Exclude"))
    dialogs.answers.append(OK)
    exclude.trigger()
    menu.close()
    assert fake.called("edit_dataset") == [("edit_dataset", "exclude", "cat/img002.png")]
