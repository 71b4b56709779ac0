"""Starting the desktop application (placeholder window until the GUI issue lands)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def run_app(argv: Sequence[str]) -> int:
    """Open the main window and run the Qt event loop until it closes."""
    parser = argparse.ArgumentParser(prog="cnn-studio")
    parser.add_argument("path", nargs="?", help="dataset folder or .cnnmodel file to open")
    parser.add_argument("--demo", action="store_true", help="open the built-in demo dataset")
    args = parser.parse_args(list(argv))
    app = QApplication.instance() or QApplication(["cnn-studio"])
    window = QMainWindow()
    window.setWindowTitle("CNN Studio")
    target = "the built-in demo dataset" if args.demo else (args.path or "no dataset")
    window.setCentralWidget(QLabel(f"CNN Studio: {target}"))
    window.resize(1280, 800)
    window.show()
    return app.exec()
