"""Each tab and the main window against a fake engine (no TensorFlow), offscreen."""

from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from gui.main_window import MainWindow
from gui.settings import MemoryStore, Preferences
from gui.tabs.classify import ClassifyTab
from gui.tabs.data import DataTab
from gui.tabs.train import TrainTab
from gui.widgets.loss_chart import MAX_BATCH_POINTS, LossChart
from tests.fake_engine import FakeEngine, model_view


@pytest.fixture
def engine(qtbot) -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def window(qtbot, engine, dialogs) -> MainWindow:
    win = MainWindow(engine, Preferences(MemoryStore()))
    qtbot.addWidget(win)
    win.show()
    return win


def evaluation_for(names: list[str]) -> dict:
    return {
        "accuracy": 0.75,
        "per_class": {n: {"precision": 0.7, "recall": 0.7, "f1": 0.7, "support": 4} for n in names},
        "confusion_matrix": [[3, 1, 0], [0, 4, 0], [1, 1, 2]],
        "misclassified": [
            {
                "path": "blob/blob_000.png",
                "true": names[0],
                "predicted": names[1],
                "probability": 0.8,
                "probabilities": dict.fromkeys(names, 0.1),
            },
        ],
    }


def test_data_tab_shows_classes_thumbnails_warnings_and_skipped(
    qtbot, engine, pattern_dir, tmp_path
):
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec
    from tests.conftest import make_dataset

    tab = DataTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    tab.load(str(pattern_dir))
    assert engine.called("load_dataset")[0][1] == str(pattern_dir)
    engine.set_state(activity="loading")
    assert tab.progress.isVisible() and tab.cancel_button.isVisible()
    engine.dataset_progress.emit(0.5, "Decoded 36 of 72 images")
    assert tab.progress.value() == 50
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert engine.called("cancel_loading")
    root = make_dataset(tmp_path / "d", {"a": 6, "b": 1})
    (root / "a" / "bad.jpg").write_text("not an image")
    engine.load(load_dataset(root, InputSpec(16)))
    assert not tab.progress.isVisible() and not tab.cancel_button.isVisible()
    assert tab.class_table.rowCount() == 2
    assert tab.class_table.item(0, 0).text() == "a"
    assert tab.class_table.item(0, 1).text() == "6"
    assert tab.thumbnails.count() == 6
    assert "only 1 image" in tab.notes.text()
    assert tab.skipped_table.item(0, 0).text() == "a/bad.jpg"
    assert "text file" in tab.skipped_table.item(0, 1).text()
    tab.class_table.selectRow(1)
    assert tab.thumbnails.count() == 1


def test_data_tab_grid_shows_the_new_dataset_size_and_colour_at_once(qtbot, engine, tmp_path):
    """Regression: the grid kept the previous dataset until another class was clicked."""
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec
    from tests.conftest import make_dataset

    tab = DataTab(engine)
    qtbot.addWidget(tab)
    first = make_dataset(tmp_path / "first", {"a": 3, "b": 3})
    second = make_dataset(tmp_path / "second", {"x": 5, "y": 2})
    for path in (second / "x").glob("*.png"):
        path.rename(path.with_name("other_" + path.name))
    engine.load(load_dataset(first, InputSpec(16)))
    assert "16x16 grayscale" in tab.thumb_title.text()
    view = engine.load(load_dataset(second, InputSpec(24, color=True)))
    model = tab.thumbnails.model()
    shown = {model.index(i).data(Qt.ItemDataRole.ToolTipRole) for i in range(model.rowCount())}
    assert shown == {p for p, label in zip(view.paths, view.labels, strict=True) if label == 0}
    assert "'x'" in tab.thumb_title.text() and "24x24 colour" in tab.thumb_title.text()
    assert tab.size_spin.value() == 24 and tab.color_check.isChecked()
    assert not engine.called("load_dataset")  # showing a size is not asking for a reload


def test_data_tab_reloads_with_a_new_size(qtbot, engine, pattern_dataset):
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    engine.load(pattern_dataset)
    tab.size_spin.setValue(20)
    qtbot.waitUntil(lambda: bool(engine.called("load_dataset")), timeout=3000)
    folder, spec = engine.called("load_dataset")[-1][1:]
    assert folder == str(pattern_dataset.root.resolve()) and spec.size == 20


def test_data_tab_settings_return_to_the_shown_dataset_after_a_cancelled_reload(
    qtbot, engine, pattern_dataset
):
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    engine.load(pattern_dataset)
    tab.load("/missing/folder")
    engine.dataset_failed.emit("/missing/folder is not a folder")
    tab.size_spin.setValue(64)
    engine.dataset_cancelled.emit()
    assert tab.size_spin.value() == 16  # what the shown dataset (and training) really uses
    tab.size_spin.setValue(20)
    qtbot.waitUntil(lambda: len(engine.called("load_dataset")) == 2, timeout=3000)
    folder = engine.called("load_dataset")[-1][1]
    assert folder == str(pattern_dataset.root.resolve())  # not the folder that failed


def test_data_tab_reports_failure_and_cancel(qtbot, engine, pattern_dataset):
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    tab.load("/nowhere")
    engine.dataset_failed.emit("/nowhere is not a folder")
    assert "not a folder" in tab.folder_label.text()
    assert tab.choose_button.isEnabled()
    engine.load(pattern_dataset)
    tab.load("/elsewhere")
    engine.dataset_cancelled.emit()
    assert "cancelled" in tab.folder_label.text()
    assert pattern_dataset.root.name in tab.folder_label.text()  # what is still shown


def finished(engine, dataset_view, names, **extra) -> None:
    """Make the fake engine report a finished run whose model belongs to ``dataset_view``."""
    engine.set_state(
        model=model_view(
            names,
            dataset_view.spec,
            source_root=dataset_view.root,
            evaluation=evaluation_for(names),
            history=[{"loss": 0.8, "val_loss": 0.9}],
            **extra,
        ),
        activity=None,
        queued=(),
    )


def test_train_tab_controls_follow_the_state(qtbot, engine, pattern_dataset):
    tab = TrainTab(engine, lambda: 0.25)
    qtbot.addWidget(tab)
    assert not tab.start_button.isEnabled()
    view = engine.load(pattern_dataset)
    assert tab.start_button.isEnabled()
    assert not tab.stop_button.isEnabled() and not tab.continue_button.isEnabled()
    assert engine.called("describe_model")
    tab.epochs_spin.setValue(3)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    (_, config, preset, augment) = engine.called("train")[0]
    assert config.epochs == 3 and config.val_split == 0.25
    assert (preset, augment) == ("article", False)
    engine.set_state(queued=("training",))
    assert not tab.start_button.isEnabled() and not tab.epochs_spin.isEnabled()
    assert not tab.stop_button.isEnabled()  # queued behind other work: nothing to stop yet
    engine.set_state(activity="training")
    assert tab.stop_button.isEnabled() and tab.cancel_button.isEnabled()
    engine.training_started.emit(3, 10)
    for batch in range(10):
        engine.batch_ended.emit(0, batch, 1.0 - batch * 0.05)
    engine.epoch_ended.emit(
        0, {"loss": 0.8, "accuracy": 0.6, "val_loss": 0.9, "val_accuracy": 0.5}, 1.5
    )
    assert len(tab.chart.batch_points) == 10
    assert tab.progress.value() == 10
    assert "Epoch 1/3" in tab.progress.format()
    qtbot.mouseClick(tab.stop_button, Qt.MouseButton.LeftButton)
    assert engine.called("stop_training")
    names = pattern_dataset.class_names
    engine.training_finished.emit({"outcome": "stopped", "history": [{"loss": 0.8}]})
    finished(engine, view, names)
    assert len(tab.chart.batch_points) == 10  # the live curve stays after the run
    assert tab.results.isVisibleTo(tab)
    assert tab.progress.format().startswith("Stopped")
    assert tab.continue_button.isEnabled() and tab.save_button.isEnabled()
    assert tab.confusion.item(0, 1).text() == "1"
    assert "75.0%" in tab.metrics_label.text()
    tab.confusion.cellClicked.emit(0, 1)
    assert tab.mistakes.count() == 1
    assert "blob_000.png" in tab.mistakes.item(0).text()
    assert tab.mistakes.item(0).toolTip() == "blob/blob_000.png"  # the whole path on hover
    assert not tab.mistakes.item(0).icon().isNull()  # the image as the model saw it
    tab.more_spin.setValue(2)
    qtbot.mouseClick(tab.continue_button, Qt.MouseButton.LeftButton)
    (_, config) = engine.called("continue_training")[0]
    assert config.epochs == 2


def test_train_tab_does_not_show_a_model_next_to_another_dataset(
    qtbot, engine, pattern_dataset, tmp_path
):
    """Regression: the chart, matrix and accuracy of the previous dataset stayed on show."""
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec
    from tests.conftest import make_dataset

    tab = TrainTab(engine, lambda: 0.2)
    qtbot.addWidget(tab)
    view = engine.load(pattern_dataset)
    finished(engine, view, pattern_dataset.class_names)
    assert tab.results.isVisibleTo(tab) and tab.chart.epochs
    other = load_dataset(make_dataset(tmp_path / "fruit", {"apple": 4, "pear": 4}), InputSpec(16))
    engine.load(other)
    assert not tab.results.isVisibleTo(tab)
    assert not tab.chart.epochs and not tab.chart.batch_points
    assert "fruit" in tab.model_note.text() and pattern_dataset.root.name in tab.model_note.text()
    assert not tab.continue_button.isEnabled()  # other classes: only a new model can train
    engine.load(pattern_dataset)  # back to the model's own data: its results return
    assert tab.results.isVisibleTo(tab) and not tab.model_note.isVisibleTo(tab)


def test_train_tab_shows_failures(qtbot, engine, pattern_dataset):
    tab = TrainTab(engine, lambda: 0.2)
    qtbot.addWidget(tab)
    engine.load(pattern_dataset)
    tab.start()
    engine.training_failed.emit("training diverged (the loss became too large)")
    engine.set_state(queued=())
    assert "diverged" in tab.status.text()
    assert tab.start_button.isEnabled()
    tab.start()
    engine.training_cancelled.emit()
    assert "as it was" in tab.status.text()


def test_loss_chart_stays_bounded_and_throttles_repaints(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    before = chart.paint_count
    for i in range(10 * MAX_BATCH_POINTS):
        chart.add_batch(i / 100, 1.0 / (1 + i))
    for epoch in range(300):
        chart.add_epoch(
            {
                "loss": 1 / (1 + epoch),
                "val_loss": 1.2 / (1 + epoch),
                "accuracy": 0.5,
                "val_accuracy": 0.4,
            }
        )
    assert len(chart.batch_points) <= MAX_BATCH_POINTS
    qtbot.wait(450)
    assert 1 <= chart.paint_count - before <= 4
    assert not chart.grab().isNull()


def prediction_rows(files: list[str]) -> list[dict]:
    return [
        {
            "path": f,
            "predictions": [{"label": "a", "probability": 0.9}, {"label": "b", "probability": 0.1}],
        }
        for f in files
    ]


def test_classify_tab_lists_predictions_and_writes_csv(
    qtbot, engine, pattern_dir, tmp_path, dialogs
):
    tab = ClassifyTab(engine)
    qtbot.addWidget(tab)
    assert not tab.open_button.isEnabled()
    tab.classify([str(pattern_dir)])
    assert "Train a model" in tab.message.text() and not engine.called("classify")
    engine.set_state(model=model_view(["a", "b"], saved_path="/m/x.cnnmodel", origin="opened"))
    assert "x.cnnmodel" in tab.model_label.text() and tab.open_button.isEnabled()
    tab.classify([str(pattern_dir / "blob")])
    assert engine.called("classify")[0][1] == [str(pattern_dir / "blob")]
    files = sorted(str(p) for p in (pattern_dir / "blob").glob("*.png"))
    engine.classified.emit(prediction_rows(files[:3]), [("/x/empty.png", "empty file (0 bytes)")])
    assert tab.table.rowCount() == 3
    assert "empty.png: empty file" in tab.message.text()
    tab.write_csv(tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "path,label,probability,top_k"
    assert lines[1].startswith(files[0])


def test_classify_tab_follows_the_model_and_clears_a_replaced_models_results(qtbot, engine):
    """Regression: results of the previous model stayed, and "trained just now" after saving."""
    tab = ClassifyTab(engine)
    qtbot.addWidget(tab)
    trained = model_view(["a", "b"], source_root="/data/shapes")
    engine.set_state(model=trained)
    assert "trained on 'shapes'" in tab.model_label.text()
    assert "not saved" in tab.model_label.text()
    engine.classified.emit(prediction_rows(["/x/1.png", "/x/2.png"]), [])
    assert tab.table.rowCount() == 2
    engine.set_state(model=dataclasses.replace(trained, saved=True, saved_path="/m/s.cnnmodel"))
    assert "s.cnnmodel" in tab.model_label.text() and "not saved" not in tab.model_label.text()
    assert tab.table.rowCount() == 2  # saving keeps the model, and so its results
    engine.set_state(model=model_view(["c", "d"], saved_path="/m/o.cnnmodel", origin="opened"))
    assert tab.table.rowCount() == 0 and not tab.predictions
    assert engine.called("cancel_classifying")  # Clear also drops work still queued
    assert "previous model" in tab.message.text()
    assert "o.cnnmodel" in tab.model_label.text()


def drop(widget, urls: list[QUrl] | None = None, text: str | None = None) -> None:
    mime = QMimeData()
    if urls is not None:
        mime.setUrls(urls)
    if text is not None:
        mime.setText(text)
    with warnings.catch_warnings():  # PySide6 flags this constructor, the only one Qt has
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(
            QPoint(10, 10),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def test_dropping_a_folder_opens_it_as_a_dataset(window, engine, pattern_dir):
    drop(window, [QUrl.fromLocalFile(str(pattern_dir))])
    assert engine.called("load_dataset")[0][1] == str(pattern_dir)
    assert window.tabs.currentWidget() is window.data_tab


def test_dropping_images_classifies_them_and_odd_drops_get_messages(
    window, engine, pattern_dir, tmp_path
):
    engine.set_state(model=model_view(["a", "b"], saved_path="/m/x.cnnmodel", origin="opened"))
    images = sorted((pattern_dir / "blob").glob("*.png"))[:2]
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    drop(window.classify_tab, [QUrl.fromLocalFile(str(p)) for p in [*images, empty]])
    assert window.tabs.currentWidget() is window.classify_tab
    assert engine.called("classify")[0][1] == [str(p) for p in images]
    assert "empty.png: the file is empty" in window.classify_tab.message.text()
    huge = tmp_path / "huge.png"
    with huge.open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    cases = [
        ([QUrl("https://example.com/cat.jpg")], None, "does not download"),
        ([QUrl.fromLocalFile(str(empty))], None, "the file is empty"),
        ([QUrl.fromLocalFile(str(huge))], None, "too large"),
        (None, "some text", "not text"),
        (
            [QUrl.fromLocalFile(str(pattern_dir)), QUrl.fromLocalFile(str(tmp_path))],
            None,
            "one dataset folder",
        ),
    ]
    for urls, text, expected in cases:
        drop(window, urls, text)
        assert expected in window.statusBar().currentMessage(), expected
    assert len(engine.called("classify")) == 1


def test_dropping_a_model_file_opens_it(window, engine, tmp_path):
    model = tmp_path / "m.cnnmodel"
    model.write_bytes(b"zip")
    drop(window, [QUrl.fromLocalFile(str(model))])
    assert engine.called("open_model")[0][1] == str(model)


def unsaved(engine, pattern_dataset) -> None:
    view = engine.load(pattern_dataset)
    engine.set_state(
        model=model_view(pattern_dataset.class_names, view.spec, source_root=view.root)
    )


def save_dialog(monkeypatch, answer: str) -> list[str]:
    """Answer the save dialog with ``answer``; returns the start paths it was shown with."""
    from PySide6.QtWidgets import QFileDialog

    offered: list[str] = []

    def choose(parent, title, start, *args, **kwargs):
        offered.append(start)
        return answer, ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    return offered


def test_closing_with_an_unsaved_model_asks_first(window, engine, dialogs, pattern_dataset):
    unsaved(engine, pattern_dataset)
    assert window.save_action.isEnabled()
    dialogs.answers.append(QMessageBox.StandardButton.Cancel)
    assert window.close() is False
    assert dialogs.kinds() == ["question"]
    dialogs.answers.append(QMessageBox.StandardButton.Discard)
    assert window.close() is True
    assert engine.called("shutdown")


def test_save_on_close_closes_only_after_the_model_is_saved(
    window, engine, dialogs, pattern_dataset, monkeypatch
):
    save_dialog(monkeypatch, "/tmp/kept.cnnmodel")
    unsaved(engine, pattern_dataset)
    dialogs.answers.append(QMessageBox.StandardButton.Save)
    assert window.close() is False
    assert engine.called("save_model")[0][1] == "/tmp/kept.cnnmodel"
    assert window.isVisible() and not engine.called("shutdown")
    model = engine.state.model
    engine.set_state(model=dataclasses.replace(model, saved=True, saved_path="/tmp/kept.cnnmodel"))
    engine.model_saved.emit("/tmp/kept.cnnmodel")
    assert not window.isVisible()
    assert engine.called("shutdown")


def test_save_before_opening_another_model_then_opens_it(
    window, engine, dialogs, pattern_dataset, monkeypatch
):
    """Regression: "Save" in the unsaved-model question saved and never opened the model."""
    save_dialog(monkeypatch, "/tmp/first.cnnmodel")
    unsaved(engine, pattern_dataset)
    dialogs.answers.append(QMessageBox.StandardButton.Save)
    window.open_model_file("/m/other.cnnmodel")
    assert engine.called("save_model")[0][1] == "/tmp/first.cnnmodel"
    assert not engine.called("open_model")  # not before the save has succeeded
    engine.model_saved.emit("/tmp/first.cnnmodel")
    assert engine.called("open_model")[0][1] == "/m/other.cnnmodel"


def test_no_model_is_opened_while_training_runs(window, engine, dialogs, pattern_dataset):
    """The run would end after the open and replace the opened model without asking."""
    unsaved(engine, pattern_dataset)
    engine.set_state(activity="training")
    window.open_model_file("/m/other.cnnmodel")
    assert not engine.called("open_model")
    assert "training" in window.statusBar().currentMessage().lower()


def test_a_failed_save_does_not_open_the_other_model(
    window, engine, dialogs, pattern_dataset, monkeypatch
):
    save_dialog(monkeypatch, "/tmp/first.cnnmodel")
    unsaved(engine, pattern_dataset)
    dialogs.answers.append(QMessageBox.StandardButton.Save)
    window.open_model_file("/m/other.cnnmodel")
    engine.operation_failed.emit("Saving the model", "disk full")
    engine.model_saved.emit("/tmp/elsewhere.cnnmodel")  # a later, unrelated save
    assert not engine.called("open_model")


def test_save_follows_the_model_and_proposes_its_own_name(
    window, engine, dialogs, pattern_dataset, monkeypatch, tmp_path
):
    """Regression: Save stayed enabled after opening a model and then failed; the dialog
    proposed the previous dataset's name."""
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec
    from tests.conftest import make_dataset

    offered = save_dialog(monkeypatch, "")
    assert not window.save_action.isEnabled()
    engine.set_state(model=model_view(["a", "b"], saved_path="/m/opened.cnnmodel"))
    assert window.save_action.isEnabled()  # an opened model can be saved under a new name
    window.save_model()
    assert offered[-1] == "/m/opened.cnnmodel"
    unsaved(engine, pattern_dataset)
    engine.load(load_dataset(make_dataset(tmp_path / "fruit", {"a": 3, "b": 3}), InputSpec(16)))
    window.save_model()
    assert offered[-1].endswith(f"{pattern_dataset.root.name}.cnnmodel")  # the model's data
    engine.set_state(queued=("training",))
    assert not window.save_action.isEnabled()


def test_recent_items_are_remembered_in_the_injected_store(window, engine, pattern_dataset):
    engine.load(pattern_dataset)
    engine.model_saved.emit("/tmp/a.cnnmodel")
    assert window.preferences.recent("datasets") == [str(pattern_dataset.root.resolve())]
    assert window.preferences.recent("models") == ["/tmp/a.cnnmodel"]
    assert [a.text() for a in window.recent_models.actions()] == ["/tmp/a.cnnmodel"]


def test_status_bar_shows_what_the_engine_is_doing(window, engine):
    engine.set_state(activity="training")
    assert window.busy_label.text() == "Working: training…"
    engine.set_state(activity=None, queued=("exporting",))
    assert window.busy_label.text() == "Working: exporting…"
    engine.set_state(activity=None, queued=())
    assert window.busy_label.text() == ""


def test_thread_setting_is_kept_for_the_next_start(window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (1, True)))
    window.choose_threads()
    assert window.preferences.threads() == 1
    assert "restart" in window.statusBar().currentMessage()


def test_engine_errors_become_dialogs_not_crashes(window, engine, dialogs):
    engine.operation_failed.emit("Opening the model", "x.cnnmodel: not a CNN Studio model file")
    engine.error.emit("Training", "RuntimeError: boom")
    assert dialogs.kinds() == ["warning", "critical"]
    assert "not a CNN Studio model file" in dialogs.shown[0][1]


def test_the_fake_engine_has_the_real_signatures(engine):
    with pytest.raises(TypeError):
        engine.train("not enough arguments")
    with pytest.raises(AttributeError):
        engine.no_such_method()


def test_array_thumbnails_are_what_the_model_sees():
    from gui.widgets.images import array_to_qimage

    pixels = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    image = array_to_qimage(pixels)
    assert (image.width(), image.height()) == (16, 16)
    assert image.pixelColor(1, 0).red() == pixels[0, 1, 0]


def test_names_that_are_not_utf8_reach_the_classify_tab_readable(qtbot, engine, tmp_path):
    """Regression: Qt list signals dropped the escaped bytes ('caf\\udce9' arrived as 'caf')."""
    tab = ClassifyTab(engine)
    qtbot.addWidget(tab)
    name = os.fsdecode(b"caf\xe9")
    engine.set_state(model=model_view([name, "tea"], saved_path="/m/x.cnnmodel", origin="opened"))
    assert "café, tea" in tab.model_label.text()
    row = {
        "path": f"/data/{name}/img.png",
        "predictions": [{"label": name, "probability": 0.9}, {"label": "tea", "probability": 0.1}],
    }
    engine.classified.emit([row], [(f"/data/{name}/bad.png", "empty file (0 bytes)")])
    assert tab.table.text(0, 1) == "/data/café/img.png"
    assert tab.table.results.ranked(0)[0][0] == "café"
    assert tab.table.tool_tip(0, 2).startswith("café: 90.0%")
    assert "café/bad.png" not in tab.message.text() and "bad.png: empty file" in tab.message.text()
    assert tab.predictions[0]["path"] == row["path"]  # kept exactly for the CSV and later use
    tab.write_csv(tmp_path / "out.csv")
    assert "/data/café/img.png,café," in (tmp_path / "out.csv").read_text(encoding="utf-8")


def test_clear_cache_asks_with_the_size_and_runs_on_the_engine(qtbot, window, engine, dialogs):
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMessageBox

    from core.data.cache import cache_root

    held = cache_root() / "datasets" / "x.npz"
    held.parent.mkdir(parents=True)
    held.write_bytes(b"\0" * 1_500_000)
    action = next(a for a in window.findChildren(QAction) if a.text() == "Clear cache…")
    action.trigger()  # answered Cancel: nothing happens
    assert "1 file(s), 1.5 MB" in dialogs.shown[-1][1]
    assert not engine.called("clear_cache")
    dialogs.answers.append(QMessageBox.StandardButton.Yes)
    action.trigger()
    assert engine.called("clear_cache")
    engine.cache_cleared.emit(1, 1_500_000)
    assert "Cache cleared: 1 file(s), 1.5 MB freed" in window.statusBar().currentMessage()


def test_the_precision_setting_reaches_the_config_and_the_results_say_what_was_used(
    qtbot, engine, pattern_dataset
):
    tab = TrainTab(engine, lambda: 0.25)
    qtbot.addWidget(tab)
    view = engine.load(pattern_dataset)
    assert tab.config().precision == "auto"
    assert tab.precision_combo.currentText().startswith("Automatic (")
    tab.precision_combo.setCurrentIndex(tab.precision_combo.findData("float32"))
    assert tab.config().precision == "float32"
    names = list(view.class_names)
    finished(engine, view, names, config={"precision": "bfloat16"})
    assert "Trained in bfloat16" in tab.metrics_label.text()
    finished(engine, view, names, config={"precision": "auto"})  # a file from before
    assert "Trained in" not in tab.metrics_label.text()
