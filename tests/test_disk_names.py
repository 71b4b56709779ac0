"""What the app keeps on disk: one name for settings, data and logs; logs that rotate."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETTINGS_SCRIPT = """
from PySide6.QtCore import QCoreApplication, QSettings
from gui.settings import QSettingsStore
app = QCoreApplication([])
old = QSettings("CNN Studio", "CNN Studio")
old.setValue("engine/threads", 3)
old.sync()
store = QSettingsStore()
print(store.value("engine/threads"))
store.set_value("window/theme", "dark")
"""


def test_settings_live_under_cnn_studio_and_old_ones_are_carried_over(tmp_path):
    """Before, settings went to ~/.config/CNN Studio/ while data, cache and logs used
    cnn-studio. A fresh process, so Qt reads this test's config folder."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "3"  # the old file's value, carried over
    new = tmp_path / "cnn-studio" / "cnn-studio.conf"
    assert new.is_file() and "theme=dark" in new.read_text()


def test_the_log_file_rotates(monkeypatch):
    from gui import app

    monkeypatch.setattr(app, "LOG_MAX_BYTES", 2000)
    path = app.setup_logging()
    root = logging.getLogger()
    handler = root.handlers[-1]
    try:
        for i in range(200):
            logging.getLogger("cnnstudio").info("line %d of a long session", i)
        handler.flush()
        rotated = sorted(p.name for p in path.parent.iterdir())
        assert rotated == [
            "cnn-studio.log",
            *(f"cnn-studio.log.{k}" for k in range(1, app.LOG_BACKUPS + 1)),
        ]
        assert all(p.stat().st_size <= 2100 for p in path.parent.iterdir())
    finally:
        root.removeHandler(handler)
        handler.close()
