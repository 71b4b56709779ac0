"""The main window: assembles the four tabs, menus, status bar, drops and closing.

It keeps no state of its own about the model or the engine: what is enabled and whether a
model would be lost come from the engine's latest :class:`~core.state.SessionState`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QUrl
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
)

from core.modelfile.bundle import SUFFIX
from core.names import readable
from core.share.formats import FORMATS
from core.state import SessionState
from gui import style
from gui.dialogs.evaluation import EvaluationDialog
from gui.dialogs.export import ExportDialog
from gui.drops import route_drop
from gui.engine_adapter import Engine
from gui.resources import asset_path
from gui.settings import Preferences
from gui.tabs.classify import ClassifyTab
from gui.tabs.data import DataTab
from gui.tabs.network import NetworkTab
from gui.tabs.train import TrainTab
from gui.widgets.drop_overlay import DropOverlay, drop_text

MODEL_FILTER = f"CNN Studio models (*{SUFFIX})"


class MainWindow(QMainWindow):
    """Only assembly and routing; each tab owns its own behaviour."""

    def __init__(self, engine: Engine, preferences: Preferences) -> None:
        super().__init__()
        self.engine = engine
        self.preferences = preferences
        # What to do once the save the user asked for (in an "unsaved model" question) is done.
        self._after_save: Callable[[], None] | None = None
        self.evaluation_dialog: EvaluationDialog | None = None  # Model → Evaluate, on first use
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
        self._build_menus()
        self.statusBar().showMessage("Starting the engine (TensorFlow)…")
        self.busy_label = QLabel("")
        self.statusBar().addPermanentWidget(self.busy_label)
        self._on_state_changed(engine.state)

        self.data_tab.dataset_requested.connect(self.open_dataset)
        self.data_tab.demo_requested.connect(self.open_demo)
        self.data_tab.retrain_requested.connect(self.start_training)
        self.train_tab.save_requested.connect(self.save_model)
        self.train_tab.export_requested.connect(self.export_model)
        self.classify_tab.open_model_requested.connect(self.open_model)
        engine.ready.connect(self._on_engine_ready)
        engine.state_changed.connect(self._on_state_changed)
        engine.dataset_loaded.connect(self._on_dataset_loaded)
        engine.dataset_edited.connect(self._on_dataset_edited)
        engine.training_finished.connect(self._on_training_finished)
        engine.cache_cleared.connect(self._on_cache_cleared)
        engine.model_saved.connect(self._on_model_saved)
        engine.model_exported.connect(self._on_model_exported)
        engine.report_written.connect(self._on_report_written)
        engine.model_opened.connect(self._on_model_opened)
        engine.operation_failed.connect(self._on_operation_failed)
        engine.error.connect(self._on_error)
        geometry = preferences.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)

    # --- menus ------------------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: object,
        shortcut: str | QKeySequence | None = None,
        icon: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(style.icon(icon))
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.addAction(
            self._action(
                "Open dataset folder…",
                self.data_tab.choose_folder,
                QKeySequence.StandardKey.Open,
                "open",
            )
        )
        menu.addAction(self._action("Open demo dataset", self.open_demo, "Ctrl+D", "demo"))
        menu.addAction(self._action("Open model…", self.open_model, "Ctrl+Shift+O", "model"))
        self.recent_datasets = menu.addMenu("Recent datasets")
        self.recent_models = menu.addMenu("Recent models")
        menu.addSeparator()
        self.save_action = self._action(
            "Save model…", self.save_model, QKeySequence.StandardKey.Save, "save"
        )
        self.export_action = self._action("Export model…", self.export_model, "Ctrl+E", "export")
        menu.addAction(self.save_action)
        menu.addAction(self.export_action)
        menu.addSeparator()
        menu.addAction(self._action("CPU threads…", self.choose_threads))
        menu.addAction(self._action("Clear cache…", self.clear_cache))
        if sys.platform.startswith("linux"):
            self.desktop_action = self._action(
                "Add to applications menu", self.add_to_applications_menu
            )
            menu.addAction(self.desktop_action)
        menu.addSeparator()
        menu.addAction(self._action("Quit", self.close, QKeySequence.StandardKey.Quit))
        self._build_model_menu()
        self._build_view_menu()
        help_menu = self.menuBar().addMenu("&Help")
        from gui.dialogs import help as help_dialog  # made on first use, from the menu

        help_menu.addAction(
            self._action(
                "Getting started",
                lambda: help_dialog.show_getting_started(self),
                QKeySequence.StandardKey.HelpContents,
            )
        )
        help_menu.addAction(
            self._action(
                "Keyboard shortcuts",
                lambda: help_dialog.show_shortcuts(self),
                help_dialog.SHORTCUTS_KEY,
            )
        )
        help_menu.addSeparator()
        help_menu.addAction(self._action("About CNN Studio", self.about))
        self._refresh_recent()

    def add_to_applications_menu(self) -> None:
        """Install the launcher, icon and .cnnmodel type for this user (Linux; GUI thread:
        a few small files, no engine work), after saying exactly what will be written."""
        from gui import desktop

        home = desktop.data_home()
        answer = QMessageBox.question(
            self,
            "Add to applications menu",
            "CNN Studio will appear in your applications menu, and double-clicked .cnnmodel "
            f"files will open in it. This writes four small files under {home} (for you "
            "only; File → Add to applications menu again updates them).",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        icon = asset_path("icon.png")
        try:
            if icon is None:
                raise OSError("the app's icon is missing from its folder")
            done = desktop.install(icon)
        except OSError as exc:
            QMessageBox.warning(self, "Add to applications menu", f"Could not add it: {exc}")
            return
        QMessageBox.information(self, "Add to applications menu", done.describe())

    def _build_model_menu(self) -> None:
        """Model: the main actions, with keys that work from every tab (Ctrl+T, Ctrl+I)."""
        menu = self.menuBar().addMenu("&Model")
        self.train_action = self._action("Start training", self.start_training, "Ctrl+T", "train")
        self.stop_action = self._action(
            "Stop training (keep model)", self.engine.stop_training, None, "stop"
        )
        self.classify_action = self._action(
            "Classify images…", self.classify_images, "Ctrl+I", "classify"
        )
        self.evaluate_action = self._action(
            "Evaluate on a folder…", self.evaluate_folder, "Ctrl+Shift+E"
        )
        self.evaluate_action.setToolTip(
            "Score the model on a folder of labelled images (one subfolder per class)"
        )
        self.report_action = self._action("Write model report…", self.write_report)
        self.report_action.setToolTip(
            "Write the model card (a web page: data, settings, curves, scores, versions) and "
            "reproduce.py, a plain Keras script that trains the model again"
        )
        for action in (
            self.train_action,
            self.stop_action,
            self.classify_action,
            self.evaluate_action,
            self.report_action,
        ):
            menu.addAction(action)

    def start_training(self) -> None:
        """Turn to the Train tab and start a new run with the settings shown there."""
        self.tabs.setCurrentWidget(self.train_tab)
        self.train_tab.start()

    def classify_images(self) -> None:
        """Turn to the Classify tab and ask which images to classify."""
        self.tabs.setCurrentWidget(self.classify_tab)
        self.classify_tab.choose_images()

    def evaluate_folder(self) -> None:
        """Ask for a labelled folder and score the current model on it, in a dialog beside
        the window (the engine reads the folder on its thread)."""
        state = self.engine.state
        if state.model is None or state.training:
            return
        folder = QFileDialog.getExistingDirectory(
            self, "Evaluate the model on a folder (one subfolder per class)"
        )
        if not folder:
            return
        if self.evaluation_dialog is None:
            self.evaluation_dialog = EvaluationDialog(self.engine, self)
            self.evaluation_dialog.another_requested.connect(self.evaluate_folder)
        dialog = self.evaluation_dialog
        dialog.start(folder, state.model.display_name)
        dialog.show()
        dialog.raise_()

    def _build_view_menu(self) -> None:
        """View → Theme: follow the system (default), or always light or dark."""
        menu = self.menuBar().addMenu("&View").addMenu("Theme")
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name, text in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            action = self._action(text, lambda _=False, n=name: self.set_theme(n))
            action.setCheckable(True)
            action.setChecked(self.preferences.theme() == name)
            group.addAction(action)
            menu.addAction(action)
            self.theme_actions[name] = action

    def set_theme(self, name: str) -> None:
        """Switch the look now and remember it (GUI thread)."""
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if isinstance(app, QApplication):
            style.apply(app, name)
        self.preferences.set_theme(name)
        self.theme_actions[name].setChecked(True)
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

    def _refresh_recent(self) -> None:
        for menu, kind, opener in (
            (self.recent_datasets, "datasets", self.open_dataset),
            (self.recent_models, "models", self.open_model_file),
        ):
            menu.clear()
            items = self.preferences.recent(kind)
            for path in items:
                menu.addAction(self._action(path, lambda _=False, p=path, o=opener: o(p)))
            menu.setEnabled(bool(items))

    def _on_state_changed(self, state: SessionState) -> None:
        """GUI thread: enable what the session allows now."""
        self.save_action.setEnabled(state.can_save)
        self.train_action.setEnabled(state.can_train)
        self.stop_action.setEnabled(state.activity == "training")
        self.classify_action.setEnabled(state.can_classify)
        self.evaluate_action.setEnabled(state.model is not None and not state.training)
        self.report_action.setEnabled(state.model is not None and not state.training)
        self.export_action.setEnabled(state.can_export)
        busy = state.activity or (state.queued[0] if state.queued else None)
        self.busy_label.setText(f"Working: {busy}…" if busy else "")

    # --- opening and saving -----------------------------------------------------------------

    def open_dataset(self, folder: str) -> None:
        self.tabs.setCurrentWidget(self.data_tab)
        self.data_tab.load(folder)

    def open_demo(self) -> None:
        self.tabs.setCurrentWidget(self.data_tab)
        self.data_tab.load_demo()

    def open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", "", MODEL_FILTER)
        if path:
            self.open_model_file(path)

    def open_model_file(self, path: str) -> None:
        """Open a model, first offering to save an unsaved one (then opening it after)."""
        if self.engine.state.training:
            # The run would end after the open and replace the opened model, unasked.
            message = "Stop or wait for the training before opening another model."
            self.statusBar().showMessage(message, 10_000)
            QMessageBox.information(self, "Training is running", message)
            return
        if self._ask_to_keep_model("open another model", lambda: self.engine.open_model(path)):
            self.engine.open_model(path)

    def save_model(self) -> None:
        state = self.engine.state
        if not state.can_save or state.model is None:
            self._after_save = None
            return
        model = state.model
        if model.saved_path:
            start = model.saved_path
        else:
            recent = self.preferences.recent("models")
            folder = Path(recent[0]).parent if recent else Path.home()
            start = str(folder / model.suggested_filename)
        path, _ = QFileDialog.getSaveFileName(self, "Save model", start, MODEL_FILTER)
        if not path:
            self._after_save = None  # the user changed their mind: do not go on either
            return
        if not path.endswith(SUFFIX):
            path += SUFFIX
        self.engine.save_model(path)

    def export_model(self) -> None:
        """Ask for a format and a folder (:class:`~gui.dialogs.export.ExportDialog`), then let
        the engine export and check on its worker thread."""
        state = self.engine.state
        if not state.can_export or state.model is None:
            return
        recent = self.preferences.recent("exports")
        if recent:
            folder = Path(recent[0]).parent
        elif state.model.saved_path:
            folder = Path(state.model.saved_path).parent
        else:
            folder = Path.home()
        dialog = ExportDialog(Path(state.model.suggested_filename).stem, folder, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        fmt, target = dialog.choice()
        self.preferences.add_recent("exports", str(target))
        self.statusBar().showMessage(f"Exporting to {FORMATS[fmt].title} and checking it…")
        self.engine.export_model(fmt, target)

    def _on_model_exported(self, report: dict) -> None:
        """The export was written and checked: say where, and how it compared with the app."""
        folder, summary = str(report.get("folder", "")), str(report.get("summary", ""))
        self.statusBar().showMessage(f"Exported to {folder}", 15_000)
        QMessageBox.information(
            self, "Model exported", f"Exported to {folder}\n\nChecked: {summary}."
        )

    def write_report(self) -> None:
        """Ask for a folder, then let the engine write the model card and reproduce.py into it
        (on its worker thread: it reads the model's weights)."""
        from core.share.card import CARD_NAME, SCRIPT_NAME

        state = self.engine.state
        if state.model is None or state.training:
            return
        saved = state.model.saved_path
        start = str(Path(saved).parent) if saved else str(Path.home())
        folder = QFileDialog.getExistingDirectory(
            self, f"Folder for the model card and {SCRIPT_NAME}", start
        )
        if not folder:
            return
        existing = [n for n in (CARD_NAME, SCRIPT_NAME) if (Path(folder) / n).exists()]
        if existing:
            answer = QMessageBox.question(
                self,
                "Replace the report?",
                f"{folder} already holds {' and '.join(existing)}. Replace them?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.statusBar().showMessage("Writing the model report…")
        self.engine.write_report(folder)

    def _on_report_written(self, card: str) -> None:
        """GUI thread: the card and reproduce.py are written; offer to open the card."""
        self.statusBar().showMessage(f"Wrote {card}", 15_000)
        answer = QMessageBox.question(
            self,
            "Model report written",
            f"Wrote {card} and reproduce.py beside it.\n\nOpen the model card now?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            QDesktopServices.openUrl(QUrl.fromLocalFile(card))

    def choose_threads(self) -> None:
        """Let the user cap the CPU threads training uses (applies at the next start)."""
        import os

        cores = os.cpu_count() or 1
        value, ok = QInputDialog.getInt(
            self,
            "CPU threads",
            "Use at most this many CPU threads for training and classifying "
            f"(0 = all {cores} cores).\nLower it to keep the computer responsive for other "
            "work.\nTakes effect the next time CNN Studio starts.",
            self.preferences.threads(),
            0,
            cores,
        )
        if ok:
            self.preferences.set_threads(value)
            self.statusBar().showMessage(
                f"CPU threads set to {value or 'all'}: restart CNN Studio to apply it.", 10_000
            )

    def clear_cache(self) -> None:
        """Ask, then empty the cache of decoded images and backbone features."""
        from core.data.cache import cache_usage

        files, held = cache_usage()  # a directory walk: quick, and touches no engine state
        answer = QMessageBox.question(
            self,
            "Clear cache",
            f"The cache holds {files} file(s), {held / 1e6:.1f} MB: decoded images and "
            "pretrained features that make the next load and training of a folder fast.\n"
            "Clearing it loses nothing you made; folders are decoded again when next "
            "opened.\n\nClear the cache?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.engine.clear_cache()

    def _on_cache_cleared(self, files: int, freed: int) -> None:
        self.statusBar().showMessage(
            f"Cache cleared: {files} file(s), {freed / 1e6:.1f} MB freed.", 10_000
        )

    def about(self) -> None:
        from core import __version__

        QMessageBox.about(
            self,
            "About CNN Studio",
            f"<h3>CNN Studio {__version__}</h3><p>Train a convolutional neural "
            "network on a folder of images and classify new ones — offline.</p>",
        )

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
            self.open_model_file(action.paths[0])
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

    def _on_engine_ready(self, versions: dict) -> None:
        self.statusBar().showMessage(
            f"Engine ready (TensorFlow {versions.get('tensorflow')}, "
            f"Keras {versions.get('keras')})",
            8000,
        )

    def _on_dataset_loaded(self, dataset: object) -> None:
        self.preferences.add_recent("datasets", str(dataset.root))
        self._refresh_recent()
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
        self._refresh_recent()
        self.statusBar().showMessage(f"Saved {path}", 8000)
        then, self._after_save = self._after_save, None
        if then is not None:
            then()

    def _on_model_opened(self, model: object) -> None:
        self.preferences.add_recent("models", str(model.saved_path))
        self._refresh_recent()
        self.tabs.setCurrentWidget(self.classify_tab)

    def _on_operation_failed(self, what: str, message: str) -> None:
        self._after_save = None  # a failed save must not close the window or open a model
        self.statusBar().showMessage(f"{what} failed: {message}", 15_000)
        QMessageBox.warning(self, f"{what} failed", message)

    def _on_error(self, what: str, message: str) -> None:
        self._after_save = None  # whatever failed, a later save must not quit or open
        QMessageBox.critical(
            self, f"{what} failed", f"{message}\n\nDetails were written to the log file."
        )

    # --- closing ----------------------------------------------------------------------------

    def _ask_to_keep_model(self, doing: str, then: Callable[[], None]) -> bool:
        """Before ``doing`` something that replaces an unsaved model, ask what to do with it.

        True: go ahead now (nothing to save, or the user discards it). False: do not go on
        now; when the user chose Save, ``then`` runs once the save has succeeded.
        """
        if not self.engine.state.unsaved:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved model",
            f"The trained model has not been saved. Save it before you {doing}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            # Saving runs on the engine thread: go on once it is saved (a failure cancels).
            self._after_save = then
            self.save_model()
            return False
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:
        state = self.engine.state
        if state.training:
            answer = QMessageBox.question(
                self, "Training is running", "Stop training and quit? The model will be lost."
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        elif not self._ask_to_keep_model("quit", self._close_after_save):
            event.ignore()
            return
        self.preferences.set_geometry(self.saveGeometry())
        self.engine.shutdown()
        event.accept()

    def _close_after_save(self) -> None:
        """Close once the model is saved (the state now says it is, so no question)."""
        self.close()
