"""Model → Export…: choose the export format (with a one-line description of each) and a folder.

The dialog only asks; the export itself runs on the engine's worker thread
(:meth:`gui.engine_adapter.Engine.export_model`), which writes the folder, runs its
``classify.py`` in a fresh process and reports the parity figure. A format whose Python
packages are missing on this computer is shown disabled, with the ``pip install`` line. The
dialog says before the export whether the chosen folder is new, an earlier export (replaced)
or a folder in use (refused). Everything here runs on the GUI thread.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.share.folder import is_export
from core.share.formats import FORMATS, install_hint
from gui.dialogs.pickers import choose_folder

#: The format chosen when the dialog opens.
DEFAULT_FORMAT = "onnx"


def folder_problem(target: Path) -> tuple[str, bool]:
    """What exporting to ``target`` would do, in words, and whether it is allowed."""
    if not target.name:
        return "Give the new folder a name.", False
    if target.exists() and not target.is_dir():
        return f"{target.name} exists and is not a folder: choose another name.", False
    if target.is_dir():
        try:
            empty = not any(target.iterdir())
        except OSError:
            return f"{target} cannot be read: choose another folder.", False
        if is_export(target):
            return "An earlier export in this folder will be replaced.", True
        if not empty:
            return (
                f"{target.name} already holds other files, so it is not used: choose a new "
                "or empty folder."
            ), False
    return f"Will write the folder {target}", True


class ExportDialog(QDialog):
    """Asks for a format and a target folder; :meth:`choice` gives them once accepted."""

    def __init__(self, model_name: str, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export model")
        self.model_name = model_name
        self._name_edited = False
        self.buttons_by_format: dict[str, QRadioButton] = {}
        self.group = QButtonGroup(self)
        formats = QGroupBox("Format")
        rows = QVBoxLayout(formats)
        for fmt in FORMATS.values():
            button = QRadioButton(fmt.title)
            hint = install_hint(fmt.name)
            words = QLabel(html.escape(fmt.description if not hint else f"Not available: {hint}"))
            words.setWordWrap(True)
            words.setIndent(24)
            words.setEnabled(not hint)
            button.setEnabled(not hint)
            self.group.addButton(button)
            self.buttons_by_format[fmt.name] = button
            rows.addWidget(button)
            rows.addWidget(words)
        available = [name for name, b in self.buttons_by_format.items() if b.isEnabled()]
        start = DEFAULT_FORMAT if DEFAULT_FORMAT in available else (available or [None])[0]
        if start is not None:
            self.buttons_by_format[start].setChecked(True)

        self.folder_edit = QLineEdit(str(folder))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        where = QHBoxLayout()
        where.addWidget(self.folder_edit, 1)
        where.addWidget(browse)
        self.name_edit = QLineEdit(self._suggested_name())
        self.name_edit.textEdited.connect(self._on_name_edited)
        form = QFormLayout()
        form.addRow("Save in:", where)
        form.addRow("New folder:", self.name_edit)
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        note = QLabel(
            "The folder will hold the model, labels.txt, preprocessing.json, classify.py and a "
            "README. Before it is kept, its classify.py is run in a fresh process on held-out "
            "images and must give the app's answers."
        )
        note.setWordWrap(True)

        self.box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.box.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.box.accepted.connect(self.accept)
        self.box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(formats)
        layout.addLayout(form)
        layout.addWidget(self.outcome)
        layout.addWidget(note)
        layout.addWidget(self.box)

        self.group.buttonToggled.connect(self._on_format_changed)
        self.folder_edit.textChanged.connect(self._refresh)
        self.name_edit.textChanged.connect(self._refresh)
        self._refresh()

    def chosen_format(self) -> str | None:
        """The chosen format's name (None when no format can be exported here)."""
        for name, button in self.buttons_by_format.items():
            if button.isChecked():
                return name
        return None

    def target(self) -> Path:
        return Path(self.folder_edit.text().strip() or ".") / self.name_edit.text().strip()

    def choice(self) -> tuple[str, Path]:
        """(format, target folder), for an accepted dialog."""
        fmt = self.chosen_format()
        assert fmt is not None
        return fmt, self.target()

    def _suggested_name(self) -> str:
        return f"{self.model_name}-{self.chosen_format() or 'export'}"

    def _on_name_edited(self, _text: str) -> None:
        self._name_edited = True  # from now on a format change leaves the name alone

    def _on_format_changed(self, _button: QRadioButton, checked: bool) -> None:
        if checked and not self._name_edited:
            self.name_edit.setText(self._suggested_name())
        self._refresh()

    def _on_browse(self) -> None:
        start = self.folder_edit.text().strip()
        folder = choose_folder(self, "Save the export in", "exports", start=start)
        if folder:
            self.folder_edit.setText(folder)

    def _refresh(self) -> None:
        text, allowed = folder_problem(self.target())
        if not self.name_edit.text().strip():
            text, allowed = "Give the new folder a name.", False
        self.outcome.setText(text)
        ok = self.box.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(allowed and self.chosen_format() is not None)
