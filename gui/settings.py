"""Remembered settings (window geometry, recent items, the folders file dialogs were last left in,
CPU threads) behind a small interface.

The app uses :class:`QSettingsStore`; tests pass a :class:`MemoryStore` or a store on a
temporary file, so they never touch the user's real settings. Values carry a schema version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QByteArray, QSettings

from gui.style import THEMES

SETTINGS_VERSION = 1
MAX_RECENT = 8


class SettingsStore(Protocol):
    def value(self, key: str, default: Any = None) -> Any: ...

    def set_value(self, key: str, value: Any) -> None: ...


class MemoryStore:
    """Settings kept in a dict (tests)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {"version": SETTINGS_VERSION}

    def value(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self.data[key] = value


#: Settings live under the one name the app uses on disk for its data, cache and logs too
#: (``~/.config/cnn-studio/cnn-studio.conf`` on Linux).
SETTINGS_NAME = "cnn-studio"
#: Where versions before that kept them (``~/.config/CNN Studio/``); copied over once.
OLD_SETTINGS_NAME = "CNN Studio"


class QSettingsStore:
    """Settings in QSettings (the platform's usual place), or in an .ini file when given."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self._settings = QSettings(SETTINGS_NAME, SETTINGS_NAME)
            if not self._settings.allKeys():
                self._adopt(QSettings(OLD_SETTINGS_NAME, OLD_SETTINGS_NAME))
        else:
            self._settings = QSettings(str(path), QSettings.Format.IniFormat)
        if self._settings.value("version") is None:
            self._settings.setValue("version", SETTINGS_VERSION)

    def _adopt(self, old: QSettings) -> None:
        """Copy the settings an older version kept under its old name (the old file stays)."""
        for key in old.allKeys():
            self._settings.setValue(key, old.value(key))
        self._settings.sync()

    def value(self, key: str, default: Any = None) -> Any:
        return self._settings.value(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self._settings.setValue(key, value)
        self._settings.sync()


class Preferences:
    """Typed access to what the app remembers, on top of any :class:`SettingsStore`."""

    def __init__(self, store: SettingsStore) -> None:
        self.store = store

    def recent(self, kind: str) -> list[str]:
        value = self.store.value(f"recent/{kind}", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, kind: str, path: str) -> None:
        items = [path] + [p for p in self.recent(kind) if p != path]
        self.store.set_value(f"recent/{kind}", items[:MAX_RECENT])

    def last_folder(self, kind: str) -> str | None:
        """The folder a file dialog for ``kind`` (see :mod:`gui.dialogs.pickers`) was last
        left in, if any."""
        value = self.store.value(f"folders/{kind}")
        return str(value) if value else None

    def set_last_folder(self, kind: str, folder: str) -> None:
        self.store.set_value(f"folders/{kind}", folder)

    def threads(self) -> int:
        """The CPU thread cap for TensorFlow (0 = all cores)."""
        try:
            return max(0, int(self.store.value("engine/threads", 0) or 0))
        except (TypeError, ValueError):
            return 0

    def set_threads(self, threads: int) -> None:
        self.store.set_value("engine/threads", int(threads))

    def min_confidence(self) -> int:
        """The Classify tab's "answer only when at least N % sure" (0 = always answer)."""
        try:
            value = int(self.store.value("classify/min_confidence", 0) or 0)
        except (TypeError, ValueError):
            return 0
        return min(max(value, 0), 99)

    def set_min_confidence(self, percent: int) -> None:
        self.store.set_value("classify/min_confidence", int(percent))

    def theme(self) -> str:
        """The look chosen under View → Theme: "system" (the default), "light" or "dark"."""
        value = str(self.store.value("window/theme", "system") or "system")
        return value if value in THEMES else "system"

    def set_theme(self, theme: str) -> None:
        self.store.set_value("window/theme", theme)

    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, geometry: QByteArray) -> None:
        self.store.set_value("window/geometry", geometry)
