"""The Classify tab's camera mode: the live picture with the model's top classes as bars,
updated continuously, and "Wrong? Add it to…" to file the current frame under the right class
(then Retrain).

Each frame goes to :meth:`gui.engine_adapter.Engine.classify_frame`, which classifies it with the
model's own preprocessing (the centre square for photo models) and drops frames rather than
queueing them when the model is slower than the camera: the preview never waits for the model.
The "answer only when at least N % sure" threshold of the tab applies. GUI thread only.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.names import readable
from core.state import SessionState
from gui import style
from gui.camera.feed import CameraFeed, SourceFactory
from gui.camera.frames import CameraInfo
from gui.engine_adapter import Engine
from gui.widgets.probability_bars import ProbabilityBars

#: Classes shown as bars.
TOP_K = 5
#: Seconds over which the rates are measured.
RATE_WINDOW = 2.0


class LivePanel(QWidget):
    """Live classification of the camera's frames; see the module docstring."""

    retrain_requested = Signal()

    def __init__(
        self,
        engine: Engine,
        min_confidence: Callable[[], float],
        parent: QWidget | None = None,
        source_factory: SourceFactory | None = None,
        cameras: Callable[[], list[CameraInfo]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self._min_confidence = min_confidence
        self.latest: np.ndarray | None = None  # the frame on show, as the camera saw it
        self.answers: list[tuple[str, float]] = []  # the latest answer, best first
        self._answered: deque[float] = deque()  # times of recent answers
        self._shown: deque[tuple[float, int]] = deque()  # (time, frames shown so far)
        self.feed = CameraFeed(self, source_factory, cameras)
        self.feed.frame_arrived.connect(self._on_frame)
        self.answer = QLabel("Start the camera to classify what it sees.")
        self.answer.setAccessibleName("Answer")
        font = self.answer.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.answer.setFont(font)
        self.bars = ProbabilityBars([])
        self.speed = QLabel()
        self.speed.setAccessibleName("Speed")
        self.class_box = QComboBox()
        self.class_box.setEditable(True)
        self.class_box.setAccessibleName("Class for this frame")
        self.add_button = QPushButton(style.icon("save"), "Add this frame")
        self.add_button.setToolTip(
            "Save the frame on show (as the camera saw it) into the class named here, "
            "made when new, so the next training learns from it (Ctrl+Z undoes)"
        )
        self.add_button.clicked.connect(self.add_frame)
        self.retrain_button = QPushButton(style.icon("train"), "Retrain")
        self.retrain_button.setToolTip("Train again on the dataset with the frames added")
        self.retrain_button.clicked.connect(self.retrain_requested)
        self.note = QLabel()
        self.note.setWordWrap(True)
        wrong = QHBoxLayout()
        wrong.addWidget(QLabel("Wrong? Add it to:"))
        wrong.addWidget(self.class_box, 1)
        wrong.addWidget(self.add_button)
        wrong.addWidget(self.retrain_button)
        side = QVBoxLayout()
        side.addWidget(self.answer)
        side.addWidget(self.bars)
        side.addWidget(self.speed)
        side.addStretch(1)
        side.addLayout(wrong)
        side.addWidget(self.note)
        layout = QHBoxLayout(self)
        layout.addWidget(self.feed, 3)
        layout.addLayout(side, 2)
        engine.frame_classified.connect(self._on_classified)
        engine.frame_failed.connect(self._on_failed)
        engine.dataset_edited.connect(self._on_edited)
        engine.state_changed.connect(self._on_state_changed)
        self._on_state_changed(engine.state)

    # --- camera on and off ----------------------------------------------------------------------

    def start(self) -> None:
        """Open the camera (Qt Multimedia is imported now, not at the window's start)."""
        self.feed.refresh()
        self.feed.start()

    def stop(self) -> None:
        self.feed.stop()
        self.engine.forget_frames()

    # --- frames and answers -----------------------------------------------------------------------

    def _on_frame(self, pixels: np.ndarray) -> None:
        """GUI thread: a new frame is on show; the engine classifies it or drops it."""
        self.latest = pixels
        now = time.monotonic()
        self._shown.append((now, self.feed.view.shown))
        if self.engine.state.can_classify:
            self.engine.classify_frame(pixels, TOP_K)
        self._show_speed(now)

    def _on_classified(self, ranked: tuple[tuple[str, float], ...], _seconds: float) -> None:
        """GUI thread: the latest frame's answer, as bars; "unsure" below the threshold."""
        self.answers = list(ranked)
        self._answered.append(time.monotonic())
        self.bars.set_labels(self.answers)
        if not self.answers:
            return
        label, probability = self.answers[0]
        if probability < self._min_confidence():
            self.answer.setText(f"Unsure (best guess {readable(label)}, {probability:.0%})")
        else:
            self.answer.setText(f"{readable(label)} — {probability:.0%}")

    def _on_failed(self, message: str) -> None:
        self.answer.setText("No answer")
        self.note.setText(message)

    def _show_speed(self, now: float) -> None:
        while self._answered and now - self._answered[0] > RATE_WINDOW:
            self._answered.popleft()
        while len(self._shown) > 1 and now - self._shown[0][0] > RATE_WINDOW:
            self._shown.popleft()
        span = now - self._shown[0][0] if len(self._shown) > 1 else 0.0
        shown = (self._shown[-1][1] - self._shown[0][1]) / span if span else 0.0
        self.speed.setText(
            f"{len(self._answered) / RATE_WINDOW:.0f} answers a second · "
            f"{shown:.0f} frames shown a second"
        )

    # --- fixing the data --------------------------------------------------------------------------

    def add_frame(self) -> None:
        """Save the frame on show into the class named (one undo step)."""
        name = self.class_box.currentText().strip()
        if self.latest is None or not name:
            self.note.setText("Name a class, and have the camera on, to add the frame.")
            return
        self.engine.add_captured(name, [self.latest], False, "")

    def _on_edited(self, description: str) -> None:
        if description.startswith("Captured"):
            self.note.setText(description.split(" inside ")[0] + ". Retrain to learn from it.")

    def _on_state_changed(self, state: SessionState) -> None:
        """GUI thread: the class choice lists the dataset's and the model's classes; adding
        needs a dataset, retraining a dataset and no training running."""
        names = list(state.dataset.class_names) if state.dataset is not None else []
        if state.model is not None:
            names += [n for n in state.model.class_names if n not in names]
        current = self.class_box.currentText()
        if [self.class_box.itemText(k) for k in range(self.class_box.count())] != names:
            self.class_box.clear()
            self.class_box.addItems([readable(n) for n in names])
            self.class_box.setCurrentText(current)
        self.add_button.setEnabled(state.dataset is not None)
        self.retrain_button.setEnabled(state.dataset is not None and not state.training)
        if state.model is None:
            self.answer.setText("No model yet: train one, or open a saved model.")
            self.bars.set_labels([])
