"""The camera: where frames come from (a camera, a video file, or a test's fake), and the
widget that shows them.

:mod:`gui.camera.frames` is the one seam: a :class:`~gui.camera.frames.FrameSource` emits
``frame_arrived`` with each frame as NumPy RGB pixels and ``state_changed`` with its state
(live, no camera, busy, permission denied, lost, ended, failed) and a message naming the device.
:mod:`gui.camera.qt_source` implements it with Qt Multimedia (the camera and video files go
through the same FFmpeg decoding and the same conversion code); it is imported only when a
camera is first opened (:func:`gui.camera.frames.open_source`), so the window's start never
waits for it. Everything here runs on the GUI thread.
"""

from PySide6.QtCore import QLoggingCategory

# Qt Multimedia reports each optional library it looks for and does not find (PipeWire, VA-API)
# and the FFmpeg version it uses, on stderr, every time it loads: noise in a terminal and in the
# self-test. Its warnings that matter (a camera error) are other categories and stay on.
# QT_LOGGING_RULES, where a user sets it, still wins over these rules.
QLoggingCategory.setFilterRules(
    "qt.multimedia.symbolsresolver.warning=false\nqt.multimedia.ffmpeg.info=false"
)
