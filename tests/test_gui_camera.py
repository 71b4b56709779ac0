"""The camera in the GUI, without a camera: a video file through the real decoding path (Qt
Multimedia's FFmpeg, as a webcam's frames) and hand-fed fakes.

- capture 20 frames of a video into a new class, undo, redo (real engine, real disk);
- live classification of a video whose frames show known classes gives those answers, and a
  wrong one can be filed under the right class;
- the no-camera and camera-lost states (what was taken is kept), frames dropped not queued.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.edit import EXCLUDED
from core.data.images import InputSpec
from gui.camera.frames import LIVE, LOST, NO_CAMERA, CameraInfo, ManualSource, open_source
from gui.engine_adapter import Engine
from tests.conftest import make_dataset
from tests.videogen import write_mjpeg_avi

pytest.importorskip("PySide6.QtMultimedia")


@pytest.fixture
def engine(qtbot):
    engine = Engine()
    yield engine
    engine.shutdown()


def pattern_frame(kind: str, size: int = 240) -> np.ndarray:
    """A camera-sized frame of the pattern dataset's classes (tests.conftest), in colour."""
    rng = np.random.default_rng(len(kind))
    pixels = rng.integers(0, 60, (size, size)).astype(np.uint8)
    step = size // 5  # stripes 4 px apart at the model's 16 px, as in training
    if kind == "horizontal":
        for row in range(0, size, step):
            pixels[row : row + step // 4] = 230
    elif kind == "vertical":
        for column in range(0, size, step):
            pixels[:, column : column + step // 4] = 230
    else:
        c = size // 2
        pixels[c - size // 5 : c + size // 5, c - size // 5 : c + size // 5] = 240
    return np.repeat(pixels[:, :, None], 3, axis=2)


def video_source(path: Path, loop: bool = False):
    from gui.camera.qt_source import VideoFileSource

    return VideoFileSource(str(path), loop=loop)


def load(qtbot, engine: Engine, folder: Path) -> None:
    with qtbot.waitSignal(engine.dataset_loaded, timeout=60_000):
        engine.load_dataset(folder, InputSpec(16))


def test_capture_twenty_video_frames_into_a_new_class_then_undo_and_redo(
    qtbot, engine, tmp_path
) -> None:
    from gui.dialogs.capture import CaptureDialog

    frames = [np.full((120, 160, 3), (k * 9) % 256, np.uint8) for k in range(60)]
    video = write_mjpeg_avi(tmp_path / "clip.avi", frames, fps=30)
    data = make_dataset(tmp_path / "pets", {"cat": 3, "dog": 3})
    load(qtbot, engine, data)
    dialog = CaptureDialog(engine, None, None, lambda _camera: video_source(video), list)
    qtbot.addWidget(dialog)
    dialog.class_box.setCurrentText("bird")
    dialog.rate.setValue(15)
    assert "a new class" in dialog.counter.text()
    qtbot.waitUntil(lambda: dialog.feed.live, timeout=20_000)
    dialog.start_recording()
    qtbot.waitUntil(lambda: dialog.taken >= 20, timeout=20_000)
    dialog.stop_recording()
    taken = dialog.taken
    qtbot.waitUntil(
        lambda: engine.state.dataset is not None and "bird" in engine.state.dataset.class_names,
        timeout=30_000,
    )
    qtbot.waitUntil(lambda: not engine.state.queued, timeout=30_000)
    files = sorted((data / "bird").glob("*.jpg"))
    assert len(files) == taken >= 20
    assert Image.open(files[0]).size == (160, 120)  # saved at the camera's size
    assert engine.state.dataset.counts[list(engine.state.dataset.class_names).index("bird")] == (
        taken
    )
    assert "Captured" in engine.state.dataset.undo  # all batches: one undo step
    dialog.close()
    engine.undo_edit()
    qtbot.waitUntil(lambda: "bird" not in engine.state.dataset.class_names, timeout=30_000)
    assert len(list((data / EXCLUDED / "bird").glob("*.jpg"))) == taken  # kept aside
    engine.redo_edit()
    qtbot.waitUntil(lambda: "bird" in engine.state.dataset.class_names, timeout=30_000)
    assert len(list((data / "bird").glob("*.jpg"))) == taken


@pytest.mark.slow
def test_live_classification_of_a_video_gives_the_known_classes(
    qtbot, engine, tmp_path, pattern_dir
) -> None:
    from gui.tabs.classify_live import LivePanel

    load(qtbot, engine, pattern_dir)
    with qtbot.waitSignal(engine.training_finished, timeout=240_000):
        from core.learn.config import TrainConfig

        engine.train(
            TrainConfig(epochs=6, batch_size=16, seed=1, early_stopping=False), "article", False
        )
    order = ["horizontal"] * 30 + ["vertical"] * 30 + ["blob"] * 30
    video = write_mjpeg_avi(tmp_path / "known.avi", [pattern_frame(k) for k in order], fps=30)
    panel = LivePanel(engine, lambda: 0.0, None, lambda _c: video_source(video), list)
    qtbot.addWidget(panel)
    answers: list[str] = []
    engine.frame_classified.connect(lambda ranked, _s: answers.append(ranked[0][0]))
    panel.start()
    qtbot.waitUntil(lambda: panel.feed.source.state == "ended", timeout=30_000)
    qtbot.waitUntil(lambda: not engine._frame_busy, timeout=10_000)
    assert len(answers) >= 15
    # the answers follow the video: mostly horizontal, then vertical, then blob, in that order
    firsts = [answers.index(k) for k in ("horizontal", "vertical", "blob")]
    assert firsts == sorted(firsts)
    assert answers[0] == "horizontal" and answers[-1] == "blob"
    assert panel.bars.labels and panel.answer.text().startswith("blob")
    # "Wrong? Add it to…": the frame on show goes into the class named
    panel.class_box.setCurrentText("vertical")
    with qtbot.waitSignal(engine.dataset_edited, timeout=30_000):
        panel.add_frame()
    assert len(list((pattern_dir / "vertical").glob("capture-*.jpg"))) == 1
    engine.undo_edit()
    qtbot.waitUntil(lambda: not list((pattern_dir / "vertical").glob("capture-*.jpg")))


def test_no_camera_says_so_and_nothing_can_be_recorded(qtbot, engine, tmp_path) -> None:
    from gui.dialogs.capture import CaptureDialog

    load(qtbot, engine, make_dataset(tmp_path / "pets", {"cat": 3, "dog": 3}))
    dialog = CaptureDialog(engine, "cat", None, None, list)  # the system lists no camera
    qtbot.addWidget(dialog)
    assert dialog.feed.source.state == NO_CAMERA
    assert "No camera was found" in dialog.feed.view.message
    assert not dialog.hold.isEnabled() and not dialog.one.isEnabled()
    assert dialog.feed.camera_box.currentText() == "No camera found"


def test_the_real_camera_list_on_this_machine_opens_cleanly(qtbot) -> None:
    """This machine's cameras (none on CI): the real backend answers, and with none the
    source says so instead of failing."""
    from gui.camera.qt_source import backend_check, cameras

    found = cameras()
    assert "Qt Multimedia's FFmpeg backend loaded" in backend_check()
    source = open_source(found[0] if found else None)
    if not found:
        assert source.state == NO_CAMERA


def test_a_camera_lost_mid_recording_keeps_what_was_taken(qtbot, engine, tmp_path) -> None:
    from gui.dialogs.capture import CaptureDialog

    data = make_dataset(tmp_path / "pets", {"cat": 3, "dog": 3})
    load(qtbot, engine, data)
    fake = ManualSource("Fake Cam")
    dialog = CaptureDialog(
        engine, "cat", None, lambda _c: fake, lambda: [CameraInfo("1", "Fake Cam", True)]
    )
    qtbot.addWidget(dialog)
    assert dialog.feed.camera_box.currentText() == "Fake Cam"
    fake.push(np.zeros((48, 64, 3), np.uint8))
    assert fake.state == LIVE
    dialog.rate.setValue(15)
    dialog.start_recording()
    for k in range(3):
        dialog._last_shot = 0.0  # as if the interval had passed
        fake.push(np.full((48, 64, 3), 40 * k, np.uint8))
    assert dialog.taken == 3 and len(dialog.pending) == 3  # not written yet
    fake.fail(LOST, "Fake Cam was unplugged; the pictures taken are kept.")
    assert not dialog.recording and not dialog.pending
    assert "unplugged" in dialog.note.text() and "unplugged" in dialog.feed.view.message
    qtbot.waitUntil(lambda: len(list((data / "cat").glob("capture-*.jpg"))) == 3, timeout=30_000)


def test_frames_are_dropped_not_queued_while_the_model_is_busy(qtbot, engine) -> None:
    sent = []
    engine._send_frame = lambda pixels, top_k: (
        sent.append(pixels),
        setattr(engine, "_frame_busy", True),
    )
    frames = [np.full((4, 4, 3), k, np.uint8) for k in range(10)]
    for frame in frames:
        engine.classify_frame(frame)
    assert len(sent) == 1 and sent[0] is frames[0]  # one in flight
    assert engine._frame_waiting[0] is frames[-1] and engine.frames_dropped == 8
    engine._on_frame_done((("a", 1.0),), 0.01)  # the answer comes: the newest waiting is sent
    assert len(sent) == 2 and sent[1] is frames[-1] and engine._frame_waiting is None


def test_camera_support_missing_is_said_not_raised(qtbot, monkeypatch) -> None:
    """Qt Multimedia needs libpulse on Linux (a system library the build leaves to the user's
    system): without it the camera says what is missing instead of failing."""
    import sys

    from gui.camera.frames import FAILED, list_cameras

    monkeypatch.setitem(sys.modules, "gui.camera.qt_source", None)  # import fails
    assert list_cameras() == []
    source = open_source(CameraInfo("x", "Cam"))
    assert source.state == FAILED and "Camera support could not be loaded" in source.message


def test_capture_from_the_data_tab_then_undo_and_redo_with_the_keys(
    qtbot, engine, tmp_path
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from gui.tabs.data import DataTab

    data = make_dataset(tmp_path / "pets", {"cat": 3, "dog": 3})
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    load(qtbot, engine, data)
    qtbot.waitUntil(lambda: tab.classes.capture_button.isEnabled())
    fake = ManualSource("Fake Cam")
    tab.classes.camera_factory = lambda _camera: fake
    tab.class_table.selectRow(1)  # dog
    qtbot.mouseClick(tab.classes.capture_button, Qt.MouseButton.LeftButton)
    dialog = tab.classes.capture_dialog
    assert dialog.class_name() == "dog"
    fake.push(np.zeros((48, 64, 3), np.uint8))
    qtbot.keyClick(dialog, Qt.Key.Key_P)  # one picture: the next frame
    fake.push(np.full((48, 64, 3), 200, np.uint8))
    assert dialog.taken == 1
    dialog.close()
    qtbot.waitUntil(lambda: engine.state.dataset.counts[1] == 4, timeout=30_000)
    qtbot.waitUntil(lambda: not engine.state.queued, timeout=30_000)
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab)
    qtbot.keyClick(tab.class_table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: engine.state.dataset.counts[1] == 3, timeout=30_000)
    assert engine.state.dataset.redo
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(tab.class_table, Qt.Key.Key_Z, shift_ctrl)
    qtbot.waitUntil(lambda: engine.state.dataset.counts[1] == 4, timeout=30_000)
    assert len(list((data / "dog").glob("capture-*.jpg"))) == 1


def test_the_window_starts_without_the_camera_backend() -> None:
    """Qt Multimedia (and FFmpeg) load when a camera is first opened, not with the window."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from gui.app import build_window\n"
        "from gui.settings import MemoryStore\n"
        "app = QApplication([])\n"
        "window, engine = build_window(MemoryStore())\n"
        "window.show(); app.processEvents()\n"
        "print('multimedia', 'PySide6.QtMultimedia' in sys.modules)\n"
        "window.tabs.setCurrentWidget(window.classify_tab)\n"
        "window.classify_tab.show_camera(True); app.processEvents()\n"
        "print('multimedia', 'PySide6.QtMultimedia' in sys.modules)\n"
        "window.classify_tab.show_camera(False); engine.shutdown()\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, timeout=180, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-3:-1] == ["multimedia False", "multimedia True"]
