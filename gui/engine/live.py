"""The Engine's camera requests: classify a camera frame (dropping frames while the model is
busy, never queueing them) and file captured frames into a class as one undoable edit.

A mixin of :class:`gui.engine_adapter.Engine`. Its methods are called on the GUI thread and
return at once; the work runs on the worker thread (TensorFlow's one thread). At most one frame
is being classified and at most one waits: a newer frame replaces the waiting one, so the bars
always answer for a recent frame and a slow model never builds a backlog (``frames_dropped``
counts the replaced ones). ``frame_classified`` arrives on the GUI thread.
"""

from __future__ import annotations

import logging
import time
import traceback

import numpy as np
from PySide6.QtCore import Slot

from core.data.capture import encode_jpeg
from core.errors import CnnStudioError
from core.names import readable

log = logging.getLogger("cnnstudio.engine")


class LiveRequests:
    """Camera frames in, answers out (a mixin of :class:`gui.engine_adapter.Engine`)."""

    def classify_frame(self, pixels: np.ndarray, top_k: int = 5) -> bool:
        """Classify ``pixels`` (uint8 RGB) with the current model, or keep it as the one
        waiting frame when a frame is being classified (replacing a waiting one, which is
        dropped). True when it was sent now. ``frame_classified`` (ranked (label,
        probability) pairs, seconds) or ``frame_failed`` (why) follows on the GUI thread."""
        if self._frame_busy:
            if self._frame_waiting is not None:
                self.frames_dropped += 1
            self._frame_waiting = (pixels, top_k)
            return False
        self._send_frame(pixels, top_k)
        return True

    def _send_frame(self, pixels: np.ndarray, top_k: int) -> None:
        self._frame_busy = True

        def job() -> None:
            started = time.perf_counter()
            try:
                prediction = self._session.classify_frame(pixels, top_k)
            except CnnStudioError as exc:
                self._frame_done.emit(None, readable(str(exc)))
                return
            except Exception as exc:  # an engine bug: logged, said, the preview goes on
                log.error("classifying a camera frame failed:\n%s", traceback.format_exc())
                self._frame_done.emit(None, f"{type(exc).__name__}: {exc}")
                return
            self._frame_done.emit(tuple(prediction.labels), time.perf_counter() - started)

        self._worker.submit(job)

    @Slot(object, object)
    def _on_frame_done(self, ranked: object, detail: object) -> None:
        """GUI thread: a frame's answer (or failure); send the waiting frame, if any."""
        self._frame_busy = False
        waiting, self._frame_waiting = self._frame_waiting, None
        if ranked is None:
            self.frame_failed.emit(str(detail))
        else:
            self.frames_classified += 1
            self.frame_classified.emit(ranked, float(detail))  # type: ignore[arg-type]
        if waiting is not None and ranked is not None:
            self._send_frame(*waiting)

    def forget_frames(self) -> None:
        """GUI thread: drop the waiting frame (the camera stopped or another model came)."""
        self._frame_waiting = None

    def add_captured(
        self, class_name: str, frames: list[np.ndarray], mirror: bool, group: str
    ) -> None:
        """File ``frames`` (uint8 RGB, as the camera saw them; ``mirror``: flipped left to
        right first) into class ``class_name`` (made when new) as JPEG files, on the worker:
        the edits of one ``group`` (a capture session) are one undo step. ``dataset_edited``
        or ``operation_failed`` follows."""

        def job() -> None:
            pictures = [encode_jpeg(frame, mirror) for frame in frames]
            done = self._session.edit("add_captured", class_name, pictures, group)
            self.dataset_edited.emit(done.description)

        self._submit("editing", f"Saving {len(frames)} picture(s) into {class_name}", job)

    def redo_edit(self) -> None:
        """Make the latest undone change to the dataset's folder again (on the worker)."""

        def job() -> None:
            self.dataset_edited.emit(self._session.redo_edit().description)

        self._submit("editing", "Redoing the change to the dataset folder", job)
