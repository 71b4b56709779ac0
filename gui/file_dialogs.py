"""The window's file dialogs for models: open, save, export, write the report, evaluate on a
folder, and the question before an unsaved model is replaced (save, discard or cancel).

Each asks for a path on the GUI thread (starting where the user last was for that kind of file,
see :mod:`gui.dialogs.pickers`), then hands the work to the engine, which reads and
writes on its worker thread; the results come back as Qt signals on the GUI thread. Whether
there is a model to save or export, and whether it is saved, comes from the engine's latest
:class:`~core.state.SessionState`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QMainWindow, QMessageBox

from core.modelfile.bundle import SUFFIX
from core.share.formats import FORMATS
from gui.dialogs.evaluation import EvaluationDialog
from gui.dialogs.export import ExportDialog
from gui.dialogs.pickers import (
    choose_file,
    choose_folder,
    choose_save_path,
    remember,
    start_folder,
)
from gui.engine_adapter import Engine
from gui.settings import Preferences

MODEL_FILTER = f"CNN Studio models (*{SUFFIX})"


class FileDialogs(QObject):
    """The model's files, asked for over ``window`` (the parent of every dialog, whose status
    bar says what is going on)."""

    def __init__(self, engine: Engine, preferences: Preferences, window: QMainWindow) -> None:
        super().__init__(window)
        self.engine = engine
        self.preferences = preferences
        self._window = window
        # What to do once the save the user asked for (in an "unsaved model" question) is done.
        self._after_save: Callable[[], None] | None = None
        self.evaluation_dialog: EvaluationDialog | None = None  # Model → Evaluate, on first use
        engine.model_exported.connect(self._on_model_exported)
        engine.report_written.connect(self._on_report_written)

    def _status(self, message: str, timeout: int = 0) -> None:
        self._window.statusBar().showMessage(message, timeout)

    # --- opening and saving -----------------------------------------------------------------

    def open_model(self) -> None:
        path = choose_file(self._window, "Open a model", "models", MODEL_FILTER, self.preferences)
        if path:
            self.open_model_file(path)

    def open_model_file(self, path: str) -> None:
        """Open a model, first offering to save an unsaved one (then opening it after)."""
        if self.engine.state.training:
            # The run would end after the open and replace the opened model, unasked.
            message = "Stop or wait for the training before opening another model."
            self._status(message, 10_000)
            QMessageBox.information(self._window, "Training is running", message)
            return
        if self.ask_to_keep_model("open another model", lambda: self.engine.open_model(path)):
            self.engine.open_model(path)

    def save_model(self) -> None:
        state = self.engine.state
        if not state.can_save or state.model is None:
            self._after_save = None
            return
        model = state.model
        saved = Path(model.saved_path) if model.saved_path else None
        path = choose_save_path(
            self._window,
            "Save model",
            "models",
            saved.name if saved else model.suggested_filename,
            MODEL_FILTER,
            self.preferences,
            folder=saved.parent if saved else None,
        )
        if not path:
            self._after_save = None  # the user changed their mind: do not go on either
            return
        if not path.endswith(SUFFIX):
            path += SUFFIX
        self.engine.save_model(path)

    def export_model(self) -> None:
        """Ask for a format and a folder (:class:`~gui.dialogs.export.ExportDialog`), then let
        the engine export and check on its worker thread."""
        state = self.engine.state
        if not state.can_export or state.model is None:
            return
        saved = state.model.saved_path
        folder = start_folder("exports", self.preferences, Path(saved).parent if saved else None)
        dialog = ExportDialog(Path(state.model.suggested_filename).stem, Path(folder), self._window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        fmt, target = dialog.choice()
        self.preferences.add_recent("exports", str(target))
        remember("exports", target.parent, self.preferences)
        self._status(f"Exporting to {FORMATS[fmt].title} and checking it…")
        self.engine.export_model(fmt, target)

    def _on_model_exported(self, report: dict) -> None:
        """The export was written and checked: say where, and how it compared with the app."""
        folder, summary = str(report.get("folder", "")), str(report.get("summary", ""))
        self._status(f"Exported to {folder}", 15_000)
        QMessageBox.information(
            self._window, "Model exported", f"Exported to {folder}\n\nChecked: {summary}."
        )

    # --- the report and the evaluation --------------------------------------------------------

    def write_report(self) -> None:
        """Ask for a folder, then let the engine write the model card and reproduce.py into it
        (on its worker thread: it reads the model's weights)."""
        from core.share.card import CARD_NAME, SCRIPT_NAME

        state = self.engine.state
        if state.model is None or state.training:
            return
        saved = state.model.saved_path
        start = start_folder("reports", self.preferences, Path(saved).parent if saved else None)
        caption = f"Folder for the model card and {SCRIPT_NAME}"
        folder = choose_folder(self._window, caption, "reports", self.preferences, start)
        if not folder:
            return
        existing = [n for n in (CARD_NAME, SCRIPT_NAME) if (Path(folder) / n).exists()]
        if existing:
            answer = QMessageBox.question(
                self._window,
                "Replace the report?",
                f"{folder} already holds {' and '.join(existing)}. Replace them?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._status("Writing the model report…")
        self.engine.write_report(folder)

    def _on_report_written(self, card: str) -> None:
        """The card and reproduce.py are written; offer to open the card."""
        self._status(f"Wrote {card}", 15_000)
        answer = QMessageBox.question(
            self._window,
            "Model report written",
            f"Wrote {card} and reproduce.py beside it.\n\nOpen the model card now?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            QDesktopServices.openUrl(QUrl.fromLocalFile(card))

    def evaluate_folder(self) -> None:
        """Ask for a labelled folder and score the current model on it, in a dialog beside
        the window (the engine reads the folder on its thread)."""
        state = self.engine.state
        if state.model is None or state.training:
            return
        caption = "Evaluate the model on a folder (one subfolder per class)"
        folder = choose_folder(self._window, caption, "evaluations", self.preferences)
        if not folder:
            return
        if self.evaluation_dialog is None:
            self.evaluation_dialog = EvaluationDialog(self.engine, self._window)
            self.evaluation_dialog.another_requested.connect(self.evaluate_folder)
        dialog = self.evaluation_dialog
        dialog.start(folder, state.model.display_name)
        dialog.show()
        dialog.raise_()

    # --- an unsaved model ---------------------------------------------------------------------

    def ask_to_keep_model(self, doing: str, then: Callable[[], None]) -> bool:
        """Before ``doing`` something that replaces an unsaved model, ask what to do with it.

        True: go ahead now (nothing to save, or the user discards it). False: do not go on
        now; when the user chose Save, ``then`` runs once the save has succeeded.
        """
        if not self.engine.state.unsaved:
            return True
        answer = QMessageBox.question(
            self._window,
            "Unsaved model",
            f"The trained model has not been saved. Save it before you {doing}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            # Saving runs on the engine thread: go on once it is saved (a failure cancels).
            self._after_save = then
            self.save_model()
            return False
        return answer == QMessageBox.StandardButton.Discard

    def go_on_after_save(self) -> None:
        """The model was saved: do what the user saved it for (quit, open another), if any."""
        then, self._after_save = self._after_save, None
        if then is not None:
            then()

    def forget_after_save(self) -> None:
        """Something failed: a later save must not quit or open a model."""
        self._after_save = None
