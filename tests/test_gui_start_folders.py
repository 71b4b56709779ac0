"""Every file dialog of the app starts in the last folder used for its kind of file, else in the
user's Pictures (images, datasets) or Documents/home (models, exports, reports, tables) folder,
never in the process's current folder. The dialogs are replaced by recorders (fake engine).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QFileDialog

from gui.dialogs.export import ExportDialog
from gui.main_window import MainWindow
from gui.settings import MemoryStore, Preferences
from tests.fake_engine import FakeEngine, model_view


class FileDialogs:
    """Stands in for QFileDialog's static functions: records where each was asked to start
    and answers with the next answer given (nothing: the user cancels)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.starts: list[tuple[str, str]] = []  # (which function, start)
        self.answers: list[str] = []

        def recorder(kind: str) -> Callable:
            def ask(parent, caption="", start="", *args, **kwargs):
                self.starts.append((kind, start))
                answer = self.answers.pop(0) if self.answers else ""
                if kind == "folder":
                    return answer
                if kind == "files":
                    return ([answer] if answer else []), ""
                return answer, ""

            return staticmethod(ask)

        for name, kind in (
            ("getExistingDirectory", "folder"),
            ("getOpenFileName", "file"),
            ("getOpenFileNames", "files"),
            ("getSaveFileName", "save"),
        ):
            monkeypatch.setattr(QFileDialog, name, recorder(kind))

    def last_start(self) -> str:
        return self.starts[-1][1]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A home folder with a Pictures folder and no Documents folder; the process runs in
    another folder, so a dialog that starts in the current folder is caught."""
    home = tmp_path / "home"
    (home / "Pictures").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    elsewhere = tmp_path / "current"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return home


@pytest.fixture
def file_dialogs(monkeypatch) -> FileDialogs:
    return FileDialogs(monkeypatch)


def make_window(qtbot, store: MemoryStore) -> tuple[MainWindow, FakeEngine]:
    engine = FakeEngine()
    window = MainWindow(engine, Preferences(store))
    qtbot.addWidget(window)
    engine.set_state(model=model_view(["a", "b"]))  # a model: every dialog can open
    return window, engine


def every_dialog(window: MainWindow) -> dict[str, Callable[[], object]]:
    """Each file dialog of the app, by what it asks for."""
    return {
        "dataset": window.data_tab.choose_folder,
        "images to classify": window.classify_tab.choose_images,
        "image to look inside with": window.network_tab.choose_image,
        "model to open": window.files.open_model,
        "model to save": window.files.save_model,
        "results table": window.classify_tab.export_csv,
        "folder to evaluate on": window.files.evaluate_folder,
        "report folder": window.files.write_report,
    }


def start_of(file_dialogs: FileDialogs, ask: Callable[[], object]) -> str:
    before = len(file_dialogs.starts)
    ask()
    assert len(file_dialogs.starts) == before + 1
    return file_dialogs.last_start()


def test_with_nothing_remembered_dialogs_start_in_pictures_or_home(
    qtbot, home, file_dialogs, dialogs
):
    window, _ = make_window(qtbot, MemoryStore())
    starts = {what: start_of(file_dialogs, ask) for what, ask in every_dialog(window).items()}
    pictures = str(home / "Pictures")
    assert starts == {
        "dataset": pictures,
        "images to classify": pictures,
        "image to look inside with": pictures,
        "model to open": str(home),  # no Documents folder: home
        "model to save": str(home / "model.cnnmodel"),
        "results table": str(home / "predictions.csv"),
        "folder to evaluate on": pictures,
        "report folder": str(home),
    }


def test_models_and_tables_start_in_documents_when_there_is_one(qtbot, home, file_dialogs, dialogs):
    (home / "Documents").mkdir()
    window, _ = make_window(qtbot, MemoryStore())
    assert start_of(file_dialogs, window.files.open_model) == str(home / "Documents")
    csv = start_of(file_dialogs, window.classify_tab.export_csv)
    assert csv == str(home / "Documents" / "predictions.csv")


def test_pictures_missing_means_home(qtbot, home, file_dialogs, dialogs):
    (home / "Pictures").rmdir()
    window, _ = make_window(qtbot, MemoryStore())
    assert start_of(file_dialogs, window.data_tab.choose_folder) == str(home)


def test_after_one_use_each_dialog_starts_in_that_folder(
    qtbot, home, tmp_path, file_dialogs, dialogs
):
    store = MemoryStore()
    window, _ = make_window(qtbot, store)
    answers = {
        "dataset": "pets",
        "images to classify": "photos/cat.png",
        "image to look inside with": "scans/dog.png",
        "model to open": "models/old.cnnmodel",
        "model to save": "kept/new.cnnmodel",
        "results table": "tables/results.csv",
        "folder to evaluate on": "pets-test",
        "report folder": "reports",
    }
    for what, ask in every_dialog(window).items():
        answer = tmp_path / answers[what]
        folder = answer if answer.suffix == "" else answer.parent
        folder.mkdir(parents=True, exist_ok=True)
        file_dialogs.answers.append(str(answer))
        ask()
        start = start_of(file_dialogs, ask)
        if what == "model to save":
            assert start == str(folder / "model.cnnmodel"), what
        elif what == "results table":
            assert start == str(folder / "predictions.csv"), what
        else:
            assert start == str(folder), what
    # One kind, one place: the last image chosen anywhere, the last model opened or saved.
    assert start_of(file_dialogs, window.classify_tab.choose_images) == str(tmp_path / "scans")
    assert start_of(file_dialogs, window.files.open_model) == str(tmp_path / "kept")
    # The app again (the preferences are kept): the dialogs start where they were left.
    window.close()
    again, _ = make_window(qtbot, store)
    assert start_of(file_dialogs, again.data_tab.choose_folder) == str(tmp_path / "pets")
    assert start_of(file_dialogs, again.network_tab.choose_image) == str(tmp_path / "scans")
    assert start_of(file_dialogs, again.files.write_report) == str(tmp_path / "reports")


def test_a_remembered_folder_that_is_gone_is_passed_over(
    qtbot, home, tmp_path, file_dialogs, dialogs
):
    store = MemoryStore()
    window, _ = make_window(qtbot, store)
    gone = tmp_path / "gone"
    gone.mkdir()
    file_dialogs.answers.append(str(gone))
    window.data_tab.choose_folder()
    gone.rmdir()
    assert start_of(file_dialogs, window.data_tab.choose_folder) == str(home / "Pictures")


def test_the_recent_lists_say_where_to_start_before_anything_was_chosen(
    qtbot, home, tmp_path, file_dialogs, dialogs
):
    """A dataset opened by a drop or the Recent menu, a model opened from the command line:
    the dialogs start by them (the folder of a recent model, the one holding a dataset for
    an evaluation)."""
    store = MemoryStore()
    preferences = Preferences(store)
    data = tmp_path / "data" / "pets"
    models = tmp_path / "models"
    data.mkdir(parents=True)
    models.mkdir()
    preferences.add_recent("datasets", str(data))
    preferences.add_recent("models", str(models / "pets.cnnmodel"))
    window, _ = make_window(qtbot, store)
    assert start_of(file_dialogs, window.data_tab.choose_folder) == str(data)
    assert start_of(file_dialogs, window.files.open_model) == str(models)
    assert start_of(file_dialogs, window.files.evaluate_folder) == str(tmp_path / "data")


def test_the_export_dialog_starts_in_the_last_export_folder(
    qtbot, home, tmp_path, file_dialogs, dialogs, monkeypatch
):
    shown: list[str] = []

    def exec_(dialog: ExportDialog) -> int:
        shown.append(dialog.folder_edit.text())
        dialog.folder_edit.setText(str(tmp_path))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", exec_)
    window, engine = make_window(qtbot, MemoryStore())
    window.files.export_model()
    assert shown == [str(home)]  # nothing remembered, no Documents, the model not saved
    assert engine.called("export_model")[-1][2] == tmp_path / "model-onnx"
    window.files.export_model()
    assert shown[-1] == str(tmp_path)  # where the last export went
    dialog = ExportDialog("model", tmp_path / "missing", window)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText("")
    dialog._on_browse()  # Browse… with the folder field emptied: the remembered folder
    assert file_dialogs.last_start() == str(tmp_path)
