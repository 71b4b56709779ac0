"""Capture into a class: the camera's live picture, hold a button (or the space bar) to record a
few pictures a second, or take one at a time, into an existing or a new class.

The pictures go to the engine in small batches (on release, every two seconds while held, and
when the camera stops), which writes them as JPEG files through the dataset's undoable,
never-overwrite edits (:mod:`core.data.capture`); every batch of one opening of this dialog
joins one undo step. The dataset on screen updates from the new state, without a rescan. A
camera unplugged mid-recording keeps what was taken: the batch is written at once.
GUI thread only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.names import readable
from gui.camera.feed import CameraFeed, SourceFactory
from gui.camera.frames import DEAD, CameraInfo
from gui.engine_adapter import Engine

#: Seconds of held recording kept in memory at most before they are written.
FLUSH_SECONDS = 2.0


class CaptureDialog(QDialog):
    """Records pictures from the camera into the class named in ``class_box``.
    ``source_factory`` and ``cameras`` replace the real camera and its list (tests)."""

    def __init__(
        self,
        engine: Engine,
        class_name: str | None = None,
        parent: QWidget | None = None,
        source_factory: SourceFactory | None = None,
        cameras: Callable[[], list[CameraInfo]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Capture pictures into a class")
        self.engine = engine
        self.group = f"capture-{uuid.uuid4().hex[:12]}"  # this session's one undo step
        self.pending: list[np.ndarray] = []
        self.taken = 0
        self.recording = False
        self._last_shot = 0.0
        self._one_wanted = False
        self.feed = CameraFeed(self, source_factory, cameras)
        self.feed.frame_arrived.connect(self._on_frame)
        self.feed.state_changed.connect(self._on_camera_state)

        self.class_box = QComboBox()
        self.class_box.setEditable(True)
        self.class_box.setAccessibleName("Class")
        self.class_box.setToolTip("An existing class, or type a name to make a new class")
        dataset = engine.state.dataset
        names = list(dataset.class_names) if dataset is not None else []
        self.class_box.addItems([readable(n) for n in names])
        self._names = {readable(n): n for n in names}
        if class_name:
            self.class_box.setCurrentText(readable(class_name))
        self.class_box.currentTextChanged.connect(self._show_counter)
        self.rate = QSpinBox(minimum=1, maximum=15, value=4, suffix=" a second")
        self.rate.setToolTip("How many pictures a second holding the button records")
        self.mirror_preview = QCheckBox("Mirror the preview", checked=True)
        self.mirror_preview.toggled.connect(self._on_mirror)
        self.mirror_saved = QCheckBox("Mirror the saved pictures too")
        self.hold = QPushButton("Hold to record (Space)")
        self.hold.setAutoRepeat(False)
        self.hold.pressed.connect(self.start_recording)
        self.hold.released.connect(self.stop_recording)
        self.one = QPushButton("Take one picture (P)")
        self.one.clicked.connect(self.take_one)
        self.counter = QLabel()
        self.counter.setAccessibleName("Pictures taken")
        self.note = QLabel()
        self.note.setWordWrap(True)
        engine.operation_failed.connect(self._on_failed)

        form = QFormLayout()
        form.addRow("Into class:", self.class_box)
        form.addRow("Recording speed:", self.rate)
        buttons_row = QHBoxLayout()
        buttons_row.addWidget(self.hold, 2)
        buttons_row.addWidget(self.one, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.feed, 1)
        layout.addLayout(form)
        layout.addWidget(self.mirror_preview)
        layout.addWidget(self.mirror_saved)
        layout.addLayout(buttons_row)
        layout.addWidget(self.counter)
        layout.addWidget(self.note)
        layout.addWidget(close)
        self.resize(720, 720)
        self._show_counter()
        self.feed.refresh()
        self.feed.start()
        # Space records and P takes a picture wherever the focus is (a focused check box would
        # toggle on Space), except while a class name is typed (names may hold spaces).
        typing = (self.class_box, self.class_box.lineEdit())
        for child in self.findChildren(QWidget):
            if child not in typing:
                child.installEventFilter(self)

    # --- what the user does -------------------------------------------------------------------

    def class_name(self) -> str:
        """The class chosen or typed (its folder name)."""
        text = self.class_box.currentText().strip()
        return self._names.get(text, text)

    def start_recording(self) -> None:
        """Begin recording (button pressed, space bar down)."""
        if self._can_capture():
            self.recording = True
            self._last_shot = 0.0
            self._show_counter()

    def stop_recording(self) -> None:
        """Stop recording and write what was taken (button released, space bar up)."""
        if self.recording:
            self.recording = False
            self.flush()
            self._show_counter()

    def take_one(self) -> None:
        """Take the next frame as one picture."""
        if self._can_capture():
            self._one_wanted = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """GUI thread: the record keys of the children (see __init__) come here."""
        kinds = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
        keys = (Qt.Key.Key_Space, Qt.Key.Key_P)
        if event.type() in kinds and isinstance(event, QKeyEvent) and event.key() in keys:
            if event.type() == QEvent.Type.KeyPress:
                self.keyPressEvent(event)
            else:
                self.keyReleaseEvent(event)
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space held records; P takes one picture (when the class box is not being typed
        in: it has the focus only after a click)."""
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.start_recording()
            return
        if event.key() == Qt.Key.Key_P and not event.isAutoRepeat():
            self.take_one()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.stop_recording()
            return
        super().keyReleaseEvent(event)

    def _can_capture(self) -> bool:
        if not self.class_name():
            self.note.setText("Choose a class, or type the name of a new one, first.")
            return False
        if not self.feed.live:
            self.note.setText("The camera gives no picture yet.")
            return False
        return True

    # --- frames and writing -------------------------------------------------------------------

    def _on_frame(self, pixels: np.ndarray) -> None:
        """GUI thread: keep the frame when recording is due or one picture was asked for."""
        now = time.monotonic()
        if self._one_wanted:
            self._one_wanted = False
            self.pending.append(pixels)
            self.taken += 1
            self.flush()
        elif self.recording and now - self._last_shot >= 1 / self.rate.value():
            self._last_shot = now
            self.pending.append(pixels)
            self.taken += 1
            if len(self.pending) >= max(1, int(self.rate.value() * FLUSH_SECONDS)):
                self.flush()
        else:
            return
        self._show_counter()

    def flush(self) -> None:
        """Send the pictures taken but not yet written to the engine (one edit)."""
        if self.pending:
            frames, self.pending = self.pending, []
            self.engine.add_captured(
                self.class_name(), frames, self.mirror_saved.isChecked(), self.group
            )

    def _on_camera_state(self, state: str, message: str) -> None:
        """GUI thread: a camera that stops (unplugged, failed) ends recording; what was
        taken is written."""
        if state in DEAD:
            self.recording = False
            self.flush()
            self.note.setText(message)
        self.hold.setEnabled(state not in DEAD)
        self.one.setEnabled(state not in DEAD)
        self._show_counter()

    def _on_failed(self, what: str, message: str) -> None:
        if what.startswith("Saving"):
            self.note.setText(f"{what} failed: {message}")

    def _on_mirror(self, mirrored: bool) -> None:
        self.feed.view.mirrored = mirrored

    def _show_counter(self) -> None:
        name = self.class_name() or "…"
        new = "" if name in self._names.values() else " (a new class)"
        doing = "Recording… " if self.recording else ""
        self.counter.setText(f"{doing}{self.taken} picture(s) taken into {name}{new}")

    # --- closing ------------------------------------------------------------------------------

    def done(self, result: int) -> None:
        """Write what is left and release the camera, however the dialog closes."""
        self.stop_recording()
        self.flush()
        self.feed.stop()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop_recording()
        self.flush()
        self.feed.stop()
        super().closeEvent(event)
