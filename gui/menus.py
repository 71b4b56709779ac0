"""The main window's menu bar: File, Model, View and Help, their actions and keyboard shortcuts,
the recent datasets and models, and the small dialogs only a menu opens (CPU threads, clearing
the cache, adding the app to the applications menu, About).

The actions are the window's children (the help dialog lists their keys from the window) and
work from every tab. What is enabled comes from the engine's latest
:class:`~core.state.SessionState`. Built and called on the GUI thread; the engine's results
arrive as Qt signals on that thread.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox

from core.state import SessionState
from gui import style
from gui.resources import asset_path

if TYPE_CHECKING:
    from gui.main_window import MainWindow


class Menus(QObject):
    """The menus of ``window``, calling its commands and those of its file dialogs."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.engine = window.engine
        self.preferences = window.preferences
        self._build_file_menu()
        self._build_model_menu()
        self._build_view_menu()
        self._build_help_menu()
        self.refresh_recent()
        self.engine.cache_cleared.connect(self._on_cache_cleared)

    def _action(
        self,
        text: str,
        slot: object,
        shortcut: str | QKeySequence | None = None,
        icon: str | None = None,
    ) -> QAction:
        action = QAction(text, self._window)
        if icon is not None:
            action.setIcon(style.icon(icon))
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        return action

    # --- building ---------------------------------------------------------------------------

    def _build_file_menu(self) -> None:
        window, files = self._window, self._window.files
        menu = window.menuBar().addMenu("&File")
        menu.addAction(
            self._action(
                "Open dataset folder…",
                window.data_tab.choose_folder,
                QKeySequence.StandardKey.Open,
                "open",
            )
        )
        menu.addAction(self._action("Open demo dataset", window.open_demo, "Ctrl+D", "demo"))
        menu.addAction(self._action("Open model…", files.open_model, "Ctrl+Shift+O", "model"))
        self.recent_datasets: QMenu = menu.addMenu("Recent datasets")
        self.recent_models: QMenu = menu.addMenu("Recent models")
        menu.addSeparator()
        self.save_action = self._action(
            "Save model…", files.save_model, QKeySequence.StandardKey.Save, "save"
        )
        self.export_action = self._action("Export model…", files.export_model, "Ctrl+E", "export")
        menu.addAction(self.save_action)
        menu.addAction(self.export_action)
        menu.addSeparator()
        menu.addAction(self._action("CPU threads…", self.choose_threads))
        menu.addAction(self._action("Clear cache…", self.clear_cache))
        self.desktop_action: QAction | None = None  # Linux only
        if sys.platform.startswith("linux"):
            self.desktop_action = self._action(
                "Add to applications menu", self.add_to_applications_menu
            )
            menu.addAction(self.desktop_action)
        menu.addSeparator()
        menu.addAction(self._action("Quit", window.close, QKeySequence.StandardKey.Quit))

    def _build_model_menu(self) -> None:
        """Model: the main actions, with keys that work from every tab (Ctrl+T, Ctrl+I)."""
        window, files = self._window, self._window.files
        menu = window.menuBar().addMenu("&Model")
        self.train_action = self._action("Start training", window.start_training, "Ctrl+T", "train")
        self.stop_action = self._action(
            "Stop training (keep model)", self.engine.stop_training, None, "stop"
        )
        self.classify_action = self._action(
            "Classify images…", window.classify_images, "Ctrl+I", "classify"
        )
        self.evaluate_action = self._action(
            "Evaluate on a folder…", files.evaluate_folder, "Ctrl+Shift+E"
        )
        self.evaluate_action.setToolTip(
            "Score the model on a folder of labelled images (one subfolder per class)"
        )
        self.report_action = self._action("Write model report…", files.write_report)
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

    def _build_view_menu(self) -> None:
        """View → Theme: follow the system (default), or always light or dark."""
        window = self._window
        menu = window.menuBar().addMenu("&View").addMenu("Theme")
        group = QActionGroup(window)
        self.theme_actions: dict[str, QAction] = {}
        for name, text in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            action = self._action(text, lambda _=False, n=name: window.set_theme(n))
            action.setCheckable(True)
            action.setChecked(self.preferences.theme() == name)
            group.addAction(action)
            menu.addAction(action)
            self.theme_actions[name] = action

    def _build_help_menu(self) -> None:
        window = self._window
        help_menu = window.menuBar().addMenu("&Help")
        from gui.dialogs import help as help_dialog  # made on first use, from the menu

        help_menu.addAction(
            self._action(
                "Getting started",
                lambda: help_dialog.show_getting_started(window),
                QKeySequence.StandardKey.HelpContents,
            )
        )
        help_menu.addAction(
            self._action(
                "Keyboard shortcuts",
                lambda: help_dialog.show_shortcuts(window),
                help_dialog.SHORTCUTS_KEY,
            )
        )
        help_menu.addSeparator()
        help_menu.addAction(self._action("About CNN Studio", self.about))

    # --- following the session --------------------------------------------------------------

    def refresh_recent(self) -> None:
        """Fill the Recent datasets and Recent models menus from the preferences."""
        for menu, kind, opener in (
            (self.recent_datasets, "datasets", self._window.open_dataset),
            (self.recent_models, "models", self._window.files.open_model_file),
        ):
            menu.clear()
            items = self.preferences.recent(kind)
            for path in items:
                menu.addAction(self._action(path, lambda _=False, p=path, o=opener: o(p)))
            menu.setEnabled(bool(items))

    def show_state(self, state: SessionState) -> None:
        """Enable what the session allows now."""
        self.save_action.setEnabled(state.can_save)
        self.train_action.setEnabled(state.can_train)
        self.stop_action.setEnabled(state.activity == "training")
        self.classify_action.setEnabled(state.can_classify)
        self.evaluate_action.setEnabled(state.model is not None and not state.training)
        self.report_action.setEnabled(state.model is not None and not state.training)
        self.export_action.setEnabled(state.can_export)

    # --- dialogs only a menu opens ------------------------------------------------------------

    def add_to_applications_menu(self) -> None:
        """Install the launcher, icon and .cnnmodel type for this user (Linux; GUI thread:
        a few small files, no engine work), after saying exactly what will be written."""
        from gui import desktop

        home = desktop.data_home()
        answer = QMessageBox.question(
            self._window,
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
            QMessageBox.warning(
                self._window, "Add to applications menu", f"Could not add it: {exc}"
            )
            return
        QMessageBox.information(self._window, "Add to applications menu", done.describe())

    def choose_threads(self) -> None:
        """Let the user cap the CPU threads training uses (applies at the next start)."""
        import os

        cores = os.cpu_count() or 1
        value, ok = QInputDialog.getInt(
            self._window,
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
            self._window.statusBar().showMessage(
                f"CPU threads set to {value or 'all'}: restart CNN Studio to apply it.", 10_000
            )

    def clear_cache(self) -> None:
        """Ask, then empty the cache of decoded images and backbone features."""
        from core.data.cache import cache_usage

        files, held = cache_usage()  # a directory walk: quick, and touches no engine state
        answer = QMessageBox.question(
            self._window,
            "Clear cache",
            f"The cache holds {files} file(s), {held / 1e6:.1f} MB: decoded images and "
            "pretrained features that make the next load and training of a folder fast.\n"
            "Clearing it loses nothing you made; folders are decoded again when next "
            "opened.\n\nClear the cache?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.engine.clear_cache()

    def _on_cache_cleared(self, files: int, freed: int) -> None:
        self._window.statusBar().showMessage(
            f"Cache cleared: {files} file(s), {freed / 1e6:.1f} MB freed.", 10_000
        )

    def about(self) -> None:
        from core import __version__

        QMessageBox.about(
            self._window,
            "About CNN Studio",
            f"<h3>CNN Studio {__version__}</h3><p>Train a convolutional neural "
            "network on a folder of images and classify new ones — offline.</p>",
        )
