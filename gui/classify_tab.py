"""The Classify tab: drop or open images, see each one's top classes, export the table as CSV.

What model is in use comes from the session's state; results belong to one model, so they are
cleared when another model (newly trained, continued or opened) takes its place.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.names import readable, short_name
from core.predictions import Prediction, write_csv
from core.state import SessionState
from gui import style
from gui.engine_adapter import THUMBNAIL_SIZE, Engine
from gui.widgets.images import preview
from gui.widgets.probability_bars import ProbabilityBars, name_column_width

THUMB = THUMBNAIL_SIZE
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"


class ClassifyTab(QWidget):
    """Shows predictions. ``open_model_requested`` asks the window to pick a model file."""

    open_model_requested = Signal()

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.predictions: list[dict] = []
        self._model_generation = 0  # the model whose results are listed
        self._build()
        engine.classified.connect(self._on_classified)
        engine.state_changed.connect(self._on_state_changed)
        self._on_state_changed(engine.state)

    def _build(self) -> None:
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.open_model_button = QPushButton(style.icon("model"), "Open model…")
        self.open_model_button.setToolTip("Use a saved .cnnmodel file instead (Ctrl+Shift+O)")
        self.open_model_button.clicked.connect(self.open_model_requested)
        self.open_button = QPushButton(style.icon("classify"), "Classify images…")
        style.primary(self.open_button)
        self.open_button.setToolTip("Choose images to classify (Ctrl+I), or drop them here")
        self.open_button.clicked.connect(self.choose_images)
        self.csv_button = QPushButton(style.icon("save"), "Export CSV…")
        self.csv_button.setToolTip("Save the results as a table for a spreadsheet")
        self.csv_button.clicked.connect(self.export_csv)
        self.clear_button = QPushButton(style.icon("clear"), "Clear")
        self.clear_button.setToolTip("Empty the results")
        self.clear_button.clicked.connect(self.clear)
        top = QHBoxLayout()
        top.addWidget(self.model_label, 1)
        for button in (
            self.open_model_button,
            self.open_button,
            self.csv_button,
            self.clear_button,
        ):
            top.addWidget(button)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.hint = QLabel(
            "<h2>Drop images here</h2><p>Drop one or many images (or a folder of them) anywhere "
            "on this window, or press <i>Classify images</i> (Ctrl+I).</p>"
        )
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.table = QTableWidget(0, 3)
        self.table.setAccessibleName("Results")
        self.table.setToolTip("Each image with the classes the model finds most likely")
        self.table.setHorizontalHeaderLabels(["Image", "File", "Prediction"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, THUMB + 8)
        self.table.setColumnWidth(1, 380)
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 8)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.hint, 1)
        layout.addWidget(self.table, 1)

    @property
    def has_model(self) -> bool:
        return self.engine.state.can_classify

    def _on_state_changed(self, state: SessionState) -> None:
        """GUI thread: name the model in use; clear results that belong to a replaced one."""
        model = state.model
        generation = model.generation if model is not None else 0
        if generation != self._model_generation:
            if self.predictions:
                self.clear()
                self.show_message("Results of the previous model were cleared.")
            self._model_generation = generation
        if model is None:
            text = "No model yet: train one on the Train tab, or open a saved .cnnmodel file."
        else:
            names = [short_name(n, 24) for n in model.class_names]
            size = model.spec.size
            saved = "" if model.saved else " — not saved yet"
            text = (
                f"Model: {model.display_name}{saved} ({len(names)} classes: "
                f"{', '.join(names[:6])}{'…' if len(names) > 6 else ''}; {size}x{size} "
                f"{'colour' if model.spec.color else 'grayscale'})"
            )
            if state.training:
                text += ". Training is running: images dropped now are classified when it ends."
        self.model_label.setText(text)
        self._update()

    def _update(self) -> None:
        self.open_button.setEnabled(self.has_model)
        self.csv_button.setEnabled(bool(self.predictions))
        self.clear_button.setEnabled(bool(self.predictions))

    # --- actions ----------------------------------------------------------------------------

    def choose_images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Images to classify", "", IMAGE_FILTER)
        if files:
            self.classify(files)

    def classify(self, paths: list[str], note: str = "") -> None:
        """Classify files (GUI thread); results arrive through the engine's signal."""
        if not self.has_model:
            self.show_message("Train a model or open a .cnnmodel file before classifying.")
            return
        self.show_message(note)
        self.engine.classify([str(p) for p in paths])

    def restyle(self) -> None:
        """Colour the message in the current theme (GUI thread)."""
        self.message.setStyleSheet(f"color: {style.current().warning}")

    def show_message(self, text: str) -> None:
        self.message.setStyleSheet(f"color: {style.current().warning}")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def clear(self) -> None:
        """Empty the table and drop classifications still waiting or running."""
        self.engine.cancel_classifying()
        self.predictions = []
        self.table.setRowCount(0)
        self.table.setVisible(False)
        self.hint.setVisible(True)
        self.show_message("")
        self._update()

    def export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export results", "predictions.csv", "CSV files (*.csv)"
        )
        if path:
            self.write_csv(Path(path))

    def write_csv(self, path: Path) -> None:
        write_csv([Prediction.from_dict(p) for p in self.predictions], path, top_k=10)

    # --- engine results (GUI thread) --------------------------------------------------------

    def _on_classified(self, predictions: list, failures: list) -> None:
        notes = [f"{readable(Path(path).name)}: {reason}" for path, reason in failures]
        if notes:
            self.show_message(
                "Not classified — "
                + "; ".join(notes[:5])
                + (f" and {len(notes) - 5} more" if len(notes) > 5 else "")
            )
        if not predictions:
            return
        self.hint.setVisible(False)
        self.table.setVisible(True)
        start = self.table.rowCount()
        model = self.engine.state.model
        names = list(model.class_names) if model is not None else []
        names += [r["label"] for p in predictions for r in p["predictions"]]
        name_width = name_column_width(names, self.fontMetrics())
        self.predictions += predictions
        self.table.setRowCount(start + len(predictions))
        for offset, prediction in enumerate(predictions):
            row = start + offset
            thumb = QLabel()
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            if prediction.get("thumbnail") is not None:
                thumb.setPixmap(preview(prediction["thumbnail"], THUMB))
            thumb.setAccessibleName(f"Preview of {readable(Path(prediction['path']).name)}")
            self.table.setCellWidget(row, 0, thumb)
            shown = readable(prediction["path"])
            item = QTableWidgetItem(shown)
            item.setToolTip(shown)
            self.table.setItem(row, 1, item)
            ranked = [(r["label"], r["probability"]) for r in prediction["predictions"]]
            self.table.setCellWidget(row, 2, ProbabilityBars(ranked, name_width))
        self.table.scrollToBottom()
        self._update()
