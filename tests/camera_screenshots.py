"""Screenshots of the camera's two modes for the README, fed by a video file (no camera needed).

Run under Xvfb (or with ``QT_QPA_PLATFORM=offscreen``)::

    xvfb-run -s "-screen 0 1600x1000x24" python3 -m tests.camera_screenshots

Copies 10 photos of three classes of ../shared/data/photos into a temporary dataset, trains the
photos network on them (a minute), makes a video of other photos of those classes, sets
``CNN_STUDIO_CAMERA_VIDEO`` so the app's camera plays it, and grabs the capture dialog
(recording into a new class) and the Classify tab's camera mode:
``assets/screenshots/camera-capture.png`` and ``camera-live.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    out = Path("assets/screenshots")
    scratch = Path(tempfile.mkdtemp(prefix="cnn-studio-camera-shots-"))
    os.environ["XDG_DATA_HOME"] = str(scratch / "data")
    os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")

    from tests.benchmarks.bench_camera import make_data

    data, video = make_data(scratch)
    os.environ["CNN_STUDIO_CAMERA_VIDEO"] = str(video)

    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from gui import style
    from gui.app import build_window
    from gui.settings import MemoryStore

    app = QApplication(sys.argv[:1])
    style.apply(app, "light")
    window, engine = build_window(MemoryStore())
    window.resize(1280, 800)
    window.show()
    seen: dict[str, object] = {}
    for name in ("ready", "dataset_loaded", "training_finished", "frame_classified"):
        getattr(engine, name).connect(lambda *a, n=name: seen.__setitem__(n, a))

    def wait(name: str, seconds: float = 600) -> None:
        deadline = time.monotonic() + seconds
        while name not in seen:
            if time.monotonic() > deadline:
                sys.exit(f"gave up waiting for {name}")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 100)

    def pause(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 20)

    engine.start()
    wait("ready")
    window.open_dataset(str(data))
    wait("dataset_loaded")
    presets = window.train_tab.settings.preset_combo
    presets.setCurrentIndex(presets.findData("photos-pretrained"))
    window.start_training()
    wait("training_finished")
    pause(1)

    # the capture dialog, recording into a new class
    window.tabs.setCurrentWidget(window.data_tab)
    window.data_tab.classes.capture(None)
    dialog = window.data_tab.classes.capture_dialog
    dialog.class_box.setCurrentText("scarf")
    pause(3)
    dialog.start_recording()
    pause(2.2)
    out.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(out / "camera-capture.png"))
    dialog.stop_recording()
    dialog.reject()
    pause(1)

    # live classification
    window.tabs.setCurrentWidget(window.classify_tab)
    window.classify_tab.show_camera(True)
    wait("frame_classified")
    pause(4)
    window.grab().save(str(out / "camera-live.png"))
    print(out / "camera-capture.png", out / "camera-live.png")
    window.classify_tab.show_camera(False)
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
