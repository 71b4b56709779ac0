"""A stand-in for gui.engine_adapter.Engine: same signals, records calls, runs nothing."""

from __future__ import annotations

from PySide6.QtCore import QObject

from gui.engine_adapter import Engine


class FakeEngine(QObject):
    # Reuse the real class's signal objects so the two can never drift apart.
    locals().update(
        {name: value for name, value in vars(Engine).items() if type(value).__name__ == "Signal"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []
        self.busy = False

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args, **kwargs):
            self.calls.append((name, *args))

        return record

    def called(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]
