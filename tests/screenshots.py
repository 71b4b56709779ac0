"""Screenshots of every tab for the README, taken from the real app (real engine, real run).

Run under Xvfb (or with ``QT_QPA_PLATFORM=offscreen``)::

    xvfb-run -s "-screen 0 1600x1000x24" python3 -m tests.screenshots --out assets/screenshots

It opens the demo dataset, trains it with the settings the app chooses, classifies a few
cleanly drawn shapes (a circle, a cross, a square and a triangle in both inks), then grabs the
Data, Train, Classify and Inside-the-network tabs at 1400x900 and 1024x640 in both themes:
``{tab}-{width}x{height}-{theme}.png``. The demo is drawn in a temporary folder, so the user's
own data folder is not touched. Takes about half a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gui.tabs.train import TrainTab

SIZES = ((1400, 900), (1024, 640))
THEMES = ("light", "dark")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.screenshots")
    parser.add_argument("--out", type=Path, default=Path("assets/screenshots"))
    parser.add_argument(
        "--dataset",
        type=Path,
        help="a class-folder dataset to show instead of the demo (files are named after it, "
        "and a few of its own images are classified)",
    )
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="cnn-studio-shots-"))
    os.environ["XDG_DATA_HOME"] = str(scratch / "data")  # the demo is drawn here
    os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")

    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from core.data.demo import SHAPES
    from gui import style
    from gui.app import build_window
    from gui.settings import MemoryStore
    from tests.imagegen import draw_clean

    app = QApplication(sys.argv[:1])
    style.apply(app, "light")
    window, engine = build_window(MemoryStore())
    window.show()
    seen: dict[str, object] = {}
    for name in ("ready", "dataset_loaded", "training_finished", "classified", "network_viewed"):
        getattr(engine, name).connect(lambda *a, n=name: seen.__setitem__(n, a))
    for name in ("dataset_failed", "training_failed", "error"):
        getattr(engine, name).connect(lambda *a, n=name: sys.exit(f"{n}: {a}"))

    def wait(name: str, seconds: float = 600) -> None:
        deadline = time.monotonic() + seconds
        while name not in seen:
            if time.monotonic() > deadline:
                sys.exit(f"gave up waiting for the engine's {name} signal after {seconds:.0f} s")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 100)

    def settle() -> None:
        for _ in range(20):
            app.processEvents()

    engine.start()
    wait("ready")
    if args.dataset:
        window.open_dataset(str(args.dataset))
    else:
        window.open_demo()
    wait("dataset_loaded")
    settle()
    window.tabs.setCurrentWidget(window.train_tab)
    window.train_tab.start()
    wait("training_finished")
    settle()

    if args.dataset:
        classes = sorted(p for p in args.dataset.iterdir() if p.is_dir())
        files = [str(sorted(c.iterdir())[-1]) for c in classes[:8]]
    else:
        drawings = scratch / "drawings"
        drawings.mkdir()
        for shape in SHAPES:
            for dark_ink in (False, True):
                image = draw_clean(shape, (14, 14, 50, 50), filled=False, dark_ink=dark_ink)
                image.save(drawings / f"{shape}-{'dark' if dark_ink else 'light'}-ink.png")
        files = [str(p) for p in sorted(drawings.iterdir())]
    window.classify_tab.classify(files)
    wait("classified")
    settle()
    window.tabs.setCurrentWidget(window.network_tab)  # shows a random image's layers
    wait("network_viewed")
    settle()

    args.out.mkdir(parents=True, exist_ok=True)
    tabs = (
        ("data", window.data_tab),
        ("train", window.train_tab),
        ("classify", window.classify_tab),
        ("network", window.network_tab),
    )
    for theme in THEMES:
        window.set_theme(theme)
        for width, height in SIZES:
            window.resize(width, height)
            for name, tab in tabs:
                window.tabs.setCurrentWidget(tab)
                settle()
                if tab is window.train_tab:
                    _show_worst_cell(tab)
                    settle()
                suffix = f"-{args.dataset.name}" if args.dataset else ""
                path = args.out / f"{name}-{width}x{height}-{theme}{suffix}.png"
                shot = window.grab()
                shot.save(str(path))
                print(path)
                logical = shot.deviceIndependentSize().toSize()  # pixels / the DPI scale
                if (logical.width(), logical.height()) != (width, height):
                    needs = {n: t.minimumSizeHint().toTuple() for n, t in tabs}
                    print(f"  the window would not shrink to {width}x{height}: {needs}")
    engine.shutdown()
    return 0


def _show_worst_cell(tab: TrainTab) -> None:
    """Click the matrix cell with the most mistakes, as a user reviewing errors would."""
    matrix = tab.confusion
    best, where = 0, None
    for row in range(matrix.rowCount()):
        for column in range(matrix.columnCount()):
            item = matrix.item(row, column)
            if row != column and item is not None and int(item.text()) > best:
                best, where = int(item.text()), (row, column)
    if where is not None:
        matrix.setCurrentCell(*where)
        matrix.cellClicked.emit(*where)


if __name__ == "__main__":  # decoding workers re-import this module
    sys.exit(main())
