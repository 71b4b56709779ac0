"""The Qt binding itself: a PySide6 release whose signals corrupt Python's reference counts
would abort the app after a few hundred signals (6.12.0 did: ``emit`` gave away a reference to
``True`` each time, and about a minute of training in the app ended in "bool_dealloc")."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    plain = Signal()
    number = Signal(int)
    anything = Signal(object)


def test_emitting_signals_keeps_reference_counts_intact(qtbot):
    emitter = _Emitter()
    received = []
    emitter.anything.connect(received.append)
    before = (sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None))
    for i in range(100):
        emitter.plain.emit()
        emitter.number.emit(i)
        emitter.anything.emit(i)
    after = (sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None))
    assert len(received) == 100
    # Other threads may hold a few references for a moment; a leak costs 300 here.
    assert all(abs(a - b) < 50 for a, b in zip(after, before, strict=True)), (before, after)
