"""Benchmark: the two candidate camera libraries, Qt Multimedia (PySide6-Addons) and OpenCV
(opencv-python-headless), measured as the README's camera section compares them.

Run on demand (half a minute; OpenCV's rows need ``pip install opencv-python-headless``, which
the app does not depend on):

    QT_QPA_PLATFORM=offscreen python3 -m tests.benchmarks.bench_camera_libs

For each: the installed size (the files its wheel installed, from its RECORD), the size of the
shared libraries a PyInstaller build would carry for it (Qt: the multimedia module, its FFmpeg
plugin and the Qt and FFmpeg libraries they link that the app did not carry before; OpenCV:
``cv2`` and its vendored libraries), the import time on top of an already running Qt widgets
app (median of 5 fresh processes), and the time from opening an MJPEG video file to its first
decoded frame (median of 5). Ratios are to Qt Multimedia.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from tests.benchmarks.table import print_table
from tests.videogen import write_mjpeg_avi

#: Qt libraries the camera brings that the app did not carry before (ldd of the FFmpeg plugin).
QT_NEW = ("Qt6Multimedia.", "Qt6Quick.", "Qt6Qml.", "Qt6QmlModels.", "Qt6QmlMeta.",
          "Qt6QmlWorkerScript.", "Qt6Network.", "Qt6OpenGL.", "FFmpegStub", "libavcodec.so.",
          "libavformat.so.", "libavutil.so.", "libswscale.so.", "libswresample.so.")  # fmt: skip

IMPORT = {
    "Qt Multimedia": "from PySide6 import QtMultimedia; QtMultimedia.QMediaDevices.videoInputs()",
    "OpenCV": "import cv2",
}
FIRST_FRAME = {
    "Qt Multimedia": """
import sys, time
from PySide6.QtCore import QUrl, QCoreApplication
from PySide6.QtMultimedia import QMediaPlayer, QVideoSink
app = QCoreApplication([])
start = time.perf_counter()
player = QMediaPlayer(); sink = QVideoSink(); player.setVideoSink(sink)
sink.videoFrameChanged.connect(lambda f: (print(time.perf_counter() - start), app.quit()))
player.setSource(QUrl.fromLocalFile(sys.argv[1])); player.play(); app.exec()
""",
    "OpenCV": """
import sys, time, cv2
start = time.perf_counter()
ok, frame = cv2.VideoCapture(sys.argv[1]).read()
print(time.perf_counter() - start)
""",
}


def installed_mb(distribution: str) -> float | None:
    try:
        files = metadata.files(distribution) or []
    except metadata.PackageNotFoundError:
        return None
    return sum(Path(f.locate()).stat().st_size for f in files if Path(f.locate()).is_file()) / 2**20


def carried_mb(name: str) -> float | None:
    import importlib.util

    if name == "Qt Multimedia":
        spec = importlib.util.find_spec("PySide6.QtMultimedia")
        if spec is None:
            return None
        qt = Path(spec.origin).parent / "Qt"
        files = [p for p in (qt / "lib").iterdir() if any(k in p.name for k in QT_NEW)]
        files = [p for p in files if re.fullmatch(r".*\.so\.\d+", p.name)]  # the sonames
        files += [*(qt / "plugins" / "multimedia").iterdir(), Path(spec.origin)]
    else:
        spec = importlib.util.find_spec("cv2")
        if spec is None:
            return None
        root = Path(spec.origin).parent
        files = [*root.glob("*.so"), *(root.parent / "opencv_python_headless.libs").iterdir()]
    return sum(p.stat().st_size for p in files) / 2**20


def median_seconds(code: str, *args: str) -> float:
    runs = []
    for _ in range(5):
        if args:
            out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                                 text=True, check=True)  # fmt: skip
            runs.append(float(out.stdout.split()[-1]))
        else:
            timed = ("import time; from PySide6 import QtWidgets; t = time.perf_counter(); "
                     f"{code}; print(time.perf_counter() - t)")  # fmt: skip
            out = subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True,
                                 check=True)  # fmt: skip
            runs.append(float(out.stdout.split()[-1]))
    return statistics.median(runs)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        frames = [np.full((480, 640, 3), k * 8, np.uint8) for k in range(30)]
        video = str(write_mjpeg_avi(Path(tmp) / "v.avi", frames, 30))
        base: dict[str, float] = {}
        for name, dist in (("Qt Multimedia", "PySide6-Addons"),
                           ("OpenCV", "opencv-python-headless")):  # fmt: skip
            size = installed_mb(dist)
            if size is None:
                rows.append([name, "not installed", "", "", ""])
                continue
            values = {
                "installed": size,
                "carried": carried_mb(name) or 0.0,
                "import": median_seconds(IMPORT[name]) * 1000,
                "first": median_seconds(FIRST_FRAME[name], video) * 1000,
            }
            base = base or values
            rows.append([
                f"{name} ({dist} {metadata.version(dist)})",
                *(f"{values[k]:.0f} {unit} ({values[k] / base[k]:.2f})"
                  for k, unit in (("installed", "MB"), ("carried", "MB"), ("import", "ms"),
                                  ("first", "ms")))
            ])  # fmt: skip
    header = ["library", "installed", "carried by the build", "import (after Qt widgets)",
              "open a video to first frame"]  # fmt: skip
    print_table(header, rows)


if __name__ == "__main__":
    main()
