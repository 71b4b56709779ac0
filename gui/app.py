"""Starting the desktop app: logging, the crash handler, the window, then the engine.

The window is shown before TensorFlow is imported; the import runs on the engine's worker
thread while the user looks around (the status bar says when it is ready).
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from core.data.demo import default_data_dir
from core.modelfile.bundle import SUFFIX
from gui import style
from gui.engine_adapter import Engine
from gui.main_window import MainWindow
from gui.resources import asset_path
from gui.settings import Preferences, QSettingsStore, SettingsStore

log = logging.getLogger("cnnstudio")


def log_file() -> Path:
    return default_data_dir() / "logs" / "cnn-studio.log"


#: The log file is rotated at this size, keeping this many older files beside it
#: (cnn-studio.log.1 …): a year of daily use cannot fill the disk.
LOG_MAX_BYTES = 2 * 1024 * 1024
LOG_BACKUPS = 3


def setup_logging() -> Path:
    """Log to a rotating file in the user's data folder (windowed builds have no console)."""
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def install_crash_handler() -> None:
    """Unexpected exceptions on the GUI thread: log them and show a dialog; keep running."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        log.error("Unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        if QApplication.instance() is not None:
            QMessageBox.critical(
                None, "Unexpected error", f"{kind.__name__}: {value}\n\nDetails: {log_file()}"
            )

    sys.excepthook = hook


def build_window(store: SettingsStore | None = None) -> tuple[MainWindow, Engine]:
    """The main window and its engine (the engine is not started yet)."""
    engine = Engine()
    window = MainWindow(engine, Preferences(store or QSettingsStore()))
    return window, engine


def open_initial(window: MainWindow, path: str | None, demo: bool) -> None:
    if demo:
        window.open_demo()
    elif path and path.endswith(SUFFIX):
        window.open_model_file(path)
    elif path:
        window.open_dataset(path)


def run_app(argv: Sequence[str]) -> int:
    """Open the main window and run the Qt event loop until it closes."""
    parser = argparse.ArgumentParser(prog="cnn-studio")
    parser.add_argument("path", nargs="?", help="dataset folder or .cnnmodel file to open")
    parser.add_argument("--demo", action="store_true", help="open the built-in demo dataset")
    args = parser.parse_args(list(argv))
    setup_logging()
    install_crash_handler()
    app = QApplication.instance() or QApplication(["cnn-studio"])
    app.setApplicationName("CNN Studio")  # X11 window class "CNN Studio" (StartupWMClass)
    app.setDesktopFileName("cnn-studio")  # Wayland app id: the installed cnn-studio.desktop
    preferences = Preferences(QSettingsStore())
    style.apply(app, preferences.theme())
    icon = asset_path("icon.png")
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    window, engine = build_window(preferences.store)
    app.aboutToQuit.connect(engine.shutdown)  # however the app ends, the worker ends first
    window.show()
    log.info("Main window shown")
    # Start the engine and open the first dataset once the window has been painted.
    QTimer.singleShot(0, lambda: engine.start(preferences.threads()))
    QTimer.singleShot(0, lambda: open_initial(window, args.path, args.demo))
    return app.exec()
