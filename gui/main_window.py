"""The main window: assembles the four tabs, the menus, the status bar, and handles drops and
closing.

The menus and their shortcuts live in :mod:`gui.menus`, the model's file dialogs (open, save,
export, report, evaluate) in :mod:`gui.file_dialogs`. The window keeps no state of its own
about the model or the engine: what is enabled and whether a model would be lost come from the
engine's latest :class:`~core.state.SessionState`. GUI thread only: the engine's results
arrive as Qt signals on it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QIcon,
    QResizeEvent,
)
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QTabWidget

from core.names import readable
from core.state import SessionState
from gui import style
from gui.dialogs.evaluation import EvaluationDialog
from gui.drops import route_drop
from gui.engine_adapter import Engine
from gui.file_dialogs import FileDialogs
from gui.menus import Menus
from gui.resources import asset_path
from gui.settings import Preferences
from gui.tabs.classify import ClassifyTab
from gui.tabs.data import DataTab
from gui.tabs.network import NetworkTab
from gui.tabs.train import TrainTab
from gui.widgets.drop_overlay import DropOverlay, drop_text


class MainWindow(QMainWindow):
    """Only assembly and routing; each tab owns its own behaviour."""

    def __init__(self, engine: Engine, preferences: Preferences) -> None:
        super().__init__()
        self.engine = engine
        self.preferences = preferences
        self.setWindowTitle("CNN Studio")
        icon = asset_path("icon.png")
        if icon is not None:
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)

        self.data_tab = DataTab(engine)
        self.train_tab = TrainTab(engine, lambda: self.data_tab.val_spin.value())
        self.classify_tab = ClassifyTab(engine, preferences)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.data_tab, "1  Data")
        self.tabs.addTab(self.train_tab, "2  Train")
        self.tabs.addTab(self.classify_tab, "3  Classify")
        self.network_tab = NetworkTab(engine)
        self.tabs.addTab(self.network_tab, "4  Inside the network")
        self.setCentralWidget(self.tabs)
        self.drop_overlay = DropOverlay(self)
        self.files = FileDialogs(engine, preferences, self)
        self.menus = Menus(self)
        # What app.py and the tests reach through the window.
        self.open_model_file = self.files.open_model_file
        self.save_model = self.files.save_model
        self.export_model = self.files.export_model
        self.choose_threads = self.menus.choose_threads
        self.save_action = self.menus.save_action
        self.classify_action = self.menus.classify_action
        self.evaluate_action = self.menus.evaluate_action
        self.report_action = self.menus.report_action
        self.desktop_action = self.menus.desktop_action
        self.theme_actions = self.menus.theme_actions
        self.recent_models = self.menus.recent_models
        self.statusBar().showMessage("Starting the engine (TensorFlow)…")
        self.busy_label = QLabel("")
        self.statusBar().addPermanentWidget(self.busy_label)
        self._on_state_changed(engine.state)

        self.data_tab.dataset_requested.connect(self.open_dataset)
        self.data_tab.demo_requested.connect(self.open_demo)
        self.data_tab.retrain_requested.connect(self.start_training)
        self.train_tab.save_requested.connect(self.files.save_model)
        self.train_tab.export_requested.connect(self.files.export_model)
        self.classify_tab.open_model_requested.connect(self.files.open_model)
        self.classify_tab.retrain_requested.connect(self.start_training)
        engine.ready.connect(self._on_engine_ready)
        engine.state_changed.connect(self._on_state_changed)
        engine.dataset_loaded.connect(self._on_dataset_loaded)
        engine.dataset_edited.connect(self._on_dataset_edited)
        engine.training_finished.connect(self._on_training_finished)
        engine.model_saved.connect(self._on_model_saved)
        engine.model_opened.connect(self._on_model_opened)
        engine.operation_failed.connect(self._on_operation_failed)
        engine.error.connect(self._on_error)
        geometry = preferences.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)

    @property
    def evaluation_dialog(self) -> EvaluationDialog | None:
        """Model → Evaluate's dialog, once it was opened."""
        return self.files.evaluation_dialog

    # --- routing to the tabs ----------------------------------------------------------------

    def open_dataset(self, folder: str) -> None:
        self.tabs.setCurrentWidget(self.data_tab)
        self.data_tab.load(folder)

    def open_demo(self) -> None:
        self.tabs.setCurrentWidget(self.data_tab)
        self.data_tab.load_demo()

    def start_training(self) -> None:
        """Turn to the Train tab and start a new run with the settings shown there."""
        self.tabs.setCurrentWidget(self.train_tab)
        self.train_tab.start()

    def classify_images(self) -> None:
        """Turn to the Classify tab and ask which images to classify."""
        self.tabs.setCurrentWidget(self.classify_tab)
        self.classify_tab.choose_images()

    # --- the look ---------------------------------------------------------------------------

    def set_theme(self, name: str) -> None:
        """Switch the look now and remember it (GUI thread)."""
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if isinstance(app, QApplication):
            style.apply(app, name)
        self.preferences.set_theme(name)
        self.menus.theme_actions[name].setChecked(True)
        self._restyle()  # now, not when Qt's palette event comes round

    def changeEvent(self, event: QEvent) -> None:
        """A new palette (the system turning dark or light while the app runs follows here,
        through Qt's palette event)."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._restyle()

    def _restyle(self) -> None:
        """Rich-text messages carry their colours: draw them again in the theme's."""
        if not hasattr(self, "classify_tab"):
            return  # a palette event while the window is still being built
        for tab in (self.data_tab, self.train_tab, self.classify_tab, self.network_tab):
            tab.restyle()

    # --- drops ------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasText():
            event.acceptProposedAction()
            action = route_drop(event.mimeData())
            if action.kind == "images" and self.tabs.currentWidget() is self.network_tab:
                text = f"Drop to look inside the network at {Path(action.paths[0]).name}"
            else:
                text = drop_text(action)
            self.drop_overlay.show_for(text)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_overlay.hide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.drop_overlay.setGeometry(self.rect())

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        action = route_drop(event.mimeData())
        event.acceptProposedAction()
        if action.kind == "dataset":
            self.open_dataset(action.paths[0])
        elif action.kind == "model":
            self.files.open_model_file(action.paths[0])
        elif action.kind == "images" and self.tabs.currentWidget() is self.network_tab:
            self.network_tab.look_at_file(action.paths[0])  # the first, if several
        elif action.kind == "images":
            self.tabs.setCurrentWidget(self.classify_tab)
            self.classify_tab.classify(action.paths, action.message)
        else:
            self.statusBar().showMessage(action.message, 10_000)
            current = self.tabs.currentWidget()
            if current is self.classify_tab:
                self.classify_tab.show_message(action.message)

    # --- engine results (GUI thread) --------------------------------------------------------

    def _on_state_changed(self, state: SessionState) -> None:
        """GUI thread: enable what the session allows now."""
        self.menus.show_state(state)
        busy = state.activity or (state.queued[0] if state.queued else None)
        self.busy_label.setText(f"Working: {busy}…" if busy else "")

    def _on_engine_ready(self, versions: dict) -> None:
        self.statusBar().showMessage(
            f"Engine ready (TensorFlow {versions.get('tensorflow')}, "
            f"Keras {versions.get('keras')})",
            8000,
        )

    def _on_dataset_loaded(self, dataset: object) -> None:
        self.preferences.add_recent("datasets", str(dataset.root))
        self.menus.refresh_recent()
        self.statusBar().showMessage(f"Loaded {dataset.size} images from {dataset.root}", 8000)

    def _on_dataset_edited(self, description: str) -> None:
        """A change to the dataset's files (or its undo) was made (GUI thread): say so on
        every tab, since it may have been asked for from the Results page."""
        self.statusBar().showMessage(readable(description), 10_000)

    def _on_training_finished(self, summary: dict) -> None:
        test = summary.get("test") or {}
        scored = f" (test accuracy {test['accuracy']:.1%})" if "accuracy" in test else ""
        self.statusBar().showMessage(f"Training finished{scored}: save the model to keep it.", 8000)

    def _on_model_saved(self, path: str) -> None:
        self.preferences.add_recent("models", path)
        self.menus.refresh_recent()
        self.statusBar().showMessage(f"Saved {path}", 8000)
        self.files.go_on_after_save()

    def _on_model_opened(self, model: object) -> None:
        self.preferences.add_recent("models", str(model.saved_path))
        self.menus.refresh_recent()
        self.tabs.setCurrentWidget(self.classify_tab)

    def _on_operation_failed(self, what: str, message: str) -> None:
        self.files.forget_after_save()  # a failed save must not close the window or open a model
        self.statusBar().showMessage(f"{what} failed: {message}", 15_000)
        QMessageBox.warning(self, f"{what} failed", message)

    def _on_error(self, what: str, message: str) -> None:
        self.files.forget_after_save()  # whatever failed, a later save must not quit or open
        QMessageBox.critical(
            self, f"{what} failed", f"{message}\n\nDetails were written to the log file."
        )

    # --- closing ----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        state = self.engine.state
        if state.training:
            answer = QMessageBox.question(
                self, "Training is running", "Stop training and quit? The model will be lost."
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        elif not self.files.ask_to_keep_model("quit", self._close_after_save):
            event.ignore()
            return
        self.preferences.set_geometry(self.saveGeometry())
        self.engine.shutdown()
        event.accept()

    def _close_after_save(self) -> None:
        """Close once the model is saved (the state now says it is, so no question)."""
        self.close()
