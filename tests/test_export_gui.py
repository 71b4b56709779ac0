"""The Export dialog and the window's export flow, against the fake engine."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel

from core.share.formats import FORMATS
from gui.dialogs.export import ExportDialog, folder_problem
from gui.main_window import MainWindow
from gui.settings import MemoryStore, Preferences
from tests.fake_engine import FakeEngine, model_view


@pytest.fixture
def engine(qtbot) -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def window(qtbot, engine, dialogs) -> MainWindow:
    win = MainWindow(engine, Preferences(MemoryStore()))
    qtbot.addWidget(win)
    return win


def test_the_dialog_offers_every_format_with_a_plain_description(qtbot, tmp_path):
    dialog = ExportDialog("shapes", tmp_path)
    qtbot.addWidget(dialog)
    assert [b.text() for b in dialog.buttons_by_format.values()] == [
        f.title for f in FORMATS.values()
    ]
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    for fmt in FORMATS.values():
        assert any(fmt.description in text for text in texts), fmt.name
    assert dialog.chosen_format() == "onnx"
    assert dialog.name_edit.text() == "shapes-onnx"
    dialog.buttons_by_format["tflite-int8"].setChecked(True)
    assert dialog.name_edit.text() == "shapes-tflite-int8"  # follows the format…
    dialog.name_edit.setText("mine")
    dialog.name_edit.textEdited.emit("mine")
    dialog.buttons_by_format["keras"].setChecked(True)
    assert dialog.name_edit.text() == "mine"  # …until the user names it
    assert dialog.choice() == ("keras", tmp_path / "mine")
    assert dialog.box.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_a_format_without_its_packages_is_disabled_with_the_install_line(
    qtbot, tmp_path, monkeypatch
):
    import core.share.formats as formats

    monkeypatch.setattr(
        formats, "_installed", lambda package: package.module not in ("onnxruntime", "onnx")
    )
    dialog = ExportDialog("shapes", tmp_path)
    qtbot.addWidget(dialog)
    assert not dialog.buttons_by_format["onnx"].isEnabled()
    assert dialog.chosen_format() == "keras"  # the first one that can be exported
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert any("pip install onnx onnxruntime" in text for text in texts)


def test_the_dialog_says_what_the_folder_will_become(qtbot, tmp_path):
    assert folder_problem(tmp_path / "new") == (f"Will write the folder {tmp_path / 'new'}", True)
    (tmp_path / "empty").mkdir()
    assert folder_problem(tmp_path / "empty")[1]
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    text, allowed = folder_problem(used)
    assert not allowed and "already holds other files" in text
    old = tmp_path / "old"
    old.mkdir()
    (old / "preprocessing.json").write_text(json.dumps({"format": "cnn-studio-export"}))
    assert folder_problem(old) == ("An earlier export in this folder will be replaced.", True)
    (tmp_path / "file").write_text("x")
    assert not folder_problem(tmp_path / "file")[1]

    dialog = ExportDialog("shapes", tmp_path)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("used")
    assert not dialog.box.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    assert "already holds other files" in dialog.outcome.text()
    dialog.name_edit.setText("")
    assert not dialog.box.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_the_window_exports_what_the_dialog_chose_and_shows_the_parity(
    window, engine, dialogs, monkeypatch, tmp_path
):
    engine.set_state(model=model_view(["a", "b"], saved_path=str(tmp_path / "m.cnnmodel")))

    def accept(dialog: ExportDialog) -> int:
        assert dialog.folder_edit.text() == str(tmp_path)  # beside the model file
        dialog.buttons_by_format["tflite"].setChecked(True)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept)
    window.export_model()
    assert engine.called("export_model") == [("export_model", "tflite", tmp_path / "m-tflite")]
    assert "TensorFlow Lite" in window.statusBar().currentMessage()

    engine.model_exported.emit(
        {
            "folder": str(tmp_path / "m-tflite"),
            "summary": "gave the app's top answer on 12 (100.0%)",
        }
    )
    assert dialogs.shown[-1][0] == "information"
    assert "m-tflite" in dialogs.shown[-1][1] and "12 (100.0%)" in dialogs.shown[-1][1]

    monkeypatch.setattr(ExportDialog, "exec", lambda dialog: QDialog.DialogCode.Rejected)
    window.export_model()
    assert len(engine.called("export_model")) == 1  # cancelled: nothing exported
