"""The Classify tab: drop or open images, see each one's top classes, export the table as CSV.

What model is in use comes from the session's state; results belong to one model, so they are
cleared when another model (newly trained, continued or opened) takes its place.

"Don't know": a slider sets how sure the model must be to answer (a remembered setting); below
it an image's answer is "unsure", and a line says what that costs on the model's validation
images (how many it still answers, and how many of those it gets right). The probabilities
are calibrated (:mod:`core.learn.calibration`), so "at least 80 % sure" means what it says.

The rows are drawn by :class:`gui.tabs.classify_table.ResultsTable`. A dropped folder's rows
arrive in chunks as they are classified (``classified``, once a batch), with a progress bar and
a Cancel button (:class:`gui.tabs.classify_table.ClassifyProgress`) shown while the engine has
classifications queued. GUI thread only: the engine's results (``classified``,
``classify_progress``, ``explained``) and its state reach the tab there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
)

from core.learn.calibration import cost_at, cost_in_words
from core.names import readable, short_name
from core.state import SessionState
from core.use.predictions import Prediction, write_csv
from gui import style
from gui.dialogs.pickers import choose_files, choose_save_path
from gui.engine_adapter import Engine
from gui.settings import MemoryStore, Preferences
from gui.tabs.classify_camera import CameraMode
from gui.tabs.classify_table import ANSWER_COLUMN, ClassifyProgress, ResultsTable
from gui.widgets.heatmap_view import TOGGLE_TEXT, TOGGLE_TIP, HeatMaps, open_on_enter
from gui.widgets.probability_bars import name_column_width

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"
#: Key of the "Show where it looked" toggle.
WHERE_KEY = "Ctrl+G"
#: Who asks the engine for this tab's explanations (see Engine.explain).
REQUESTER = "classify"


class ClassifyTab(CameraMode):
    """Shows predictions. ``open_model_requested`` asks the window to pick a model file."""

    open_model_requested = Signal()
    retrain_requested = Signal()  # "Retrain" in camera mode

    def __init__(self, engine: Engine, preferences: Preferences | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.preferences = preferences or Preferences(MemoryStore())
        self._model_generation = 0  # the model whose results are listed
        self.maps = HeatMaps(self)  # heat maps of this model's results, and the enlarged view
        self._failures: list[tuple[str, str]] = []  # files not classified since the last request
        self._build()
        engine.classified.connect(self._on_classified)
        engine.classify_progress.connect(self.progress.show_progress)
        engine.explained.connect(self._on_explained)
        engine.explanation_failed.connect(self._on_explanation_failed)
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
        self.where_button = QPushButton(TOGGLE_TEXT)
        self.where_button.setCheckable(True)
        self.where_button.setShortcut(WHERE_KEY)
        self.where_button.setToolTip(f"{TOGGLE_TIP} ({WHERE_KEY})")
        self.where_button.toggled.connect(self._on_where_toggled)
        self._camera_button()
        top = QHBoxLayout()
        top.addWidget(self.model_label, 1)
        for button in (
            self.open_model_button,
            self.open_button,
            self.camera_button,
            self.where_button,
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
        self.table = ResultsTable()
        self.table.setVisible(False)
        self.table.doubleClicked.connect(lambda index: self.open_view(index.row()))
        self.progress = ClassifyProgress()
        self.progress.cancel_button.clicked.connect(self.cancel)
        open_on_enter(self.table, self.open_view)
        self.confidence_label = QLabel()
        self.confidence = QSlider(Qt.Orientation.Horizontal)
        self.confidence.setRange(0, 99)
        self.confidence.setPageStep(10)
        self.confidence.setAccessibleName("Minimum confidence")
        self.confidence.setToolTip(
            "Below this probability the answer is 'unsure' instead of a class. The "
            "probabilities are calibrated on the validation images: of the images the model "
            "is 80% sure about, about 80% are right. 0% always answers."
        )
        self.confidence_label.setBuddy(self.confidence)
        self.confidence_cost = QLabel()
        self.confidence_cost.setWordWrap(True)
        self.confidence.setValue(self.preferences.min_confidence())
        self.confidence.valueChanged.connect(self._on_confidence_changed)
        self.confidence.sliderReleased.connect(self._remember_confidence)
        sure = QHBoxLayout()
        sure.addWidget(self.confidence_label)
        sure.addWidget(self.confidence, 1)
        sure.addWidget(self.confidence_cost, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(sure)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.hint, 1)
        layout.addWidget(self.table, 1)

    def _live_threshold(self) -> Callable[[], float]:
        return lambda: self.min_confidence

    @property
    def predictions(self) -> list[dict]:
        """The results listed, in the table's order."""
        return self.table.predictions

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
        self.model_label.setText(model_in_words(state))
        self._show_confidence()
        self._update()

    # --- "don't know" -----------------------------------------------------------------------

    @property
    def min_confidence(self) -> float:
        """The probability (0..1) an answer needs; below it the answer is "unsure"."""
        return self.confidence.value() / 100

    def _on_confidence_changed(self, value: int) -> None:
        """GUI thread: re-mark the answers and say what the threshold costs."""
        if not self.confidence.isSliderDown():  # a drag is remembered once, on release
            self._remember_confidence()
        self._show_confidence()
        self.table.show_answers(self.confidence.value())

    def _remember_confidence(self) -> None:
        self.preferences.set_min_confidence(self.confidence.value())

    def _show_confidence(self) -> None:
        """The slider's words, and its cost on the current model's validation images."""
        value = self.confidence.value()
        self.confidence_label.setText(f"Answer only when at least {value}% sure:")
        self.table.setColumnHidden(ANSWER_COLUMN, value == 0)
        model = self.engine.state.model
        if model is None:
            self.confidence_cost.setText("")
            return
        cost = cost_at(model.calibration.costs, value / 100)
        if value == 0:
            text = "answers every image."
        elif cost is None:
            text = "this model has no validation results to say what that costs."
        else:
            text = cost_in_words(cost) + "."
        self.confidence_cost.setText(text)

    def _update(self) -> None:
        self.progress.set_busy("classifying" in self.engine.state.queued)
        camera = self.camera_button.isChecked()
        if camera:  # the camera mode takes the place of the image list
            self.hint.setVisible(False)
            self.table.setVisible(False)
        elif self.live is not None:
            self.hint.setVisible(not self.predictions)
            self.table.setVisible(bool(self.predictions))
        self.open_button.setEnabled(self.has_model)
        self.where_button.setEnabled(self.has_model)
        self.csv_button.setEnabled(bool(self.predictions))
        self.clear_button.setEnabled(bool(self.predictions))

    # --- actions ----------------------------------------------------------------------------

    def choose_images(self) -> None:
        files = choose_files(self, "Images to classify", "images", IMAGE_FILTER, self.preferences)
        if files:
            self.classify(files)

    def classify(self, paths: list[str], note: str = "") -> None:
        """Classify files (GUI thread); results arrive through the engine's signal."""
        if not self.has_model:
            self.show_message("Train a model or open a .cnnmodel file before classifying.")
            return
        self.show_message(note)
        self._failures = []
        self.engine.classify([str(p) for p in paths])

    def restyle(self) -> None:
        """Colour the message in the current theme (GUI thread)."""
        self.message.setStyleSheet(f"color: {style.current().warning}")

    def show_message(self, text: str) -> None:
        self.message.setStyleSheet(f"color: {style.current().warning}")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def cancel(self) -> None:
        """Stop the classifications still waiting or running (Cancel); the rows already
        listed stay, and the message says how many there are."""
        self.engine.cancel_classifying()
        self.show_message(f"Cancelled: {len(self.predictions)} images classified.")

    def clear(self) -> None:
        """Empty the table and drop classifications still waiting or running."""
        self._failures = []
        self.engine.cancel_classifying()
        self.engine.cancel_explaining(REQUESTER)
        self.maps.forget()
        self.table.clear_rows()
        self.table.setVisible(False)
        self.hint.setVisible(True)
        self.show_message("")
        self._update()

    def export_csv(self) -> None:
        csv = "CSV files (*.csv)"
        path = choose_save_path(
            self, "Export results", "tables", "predictions.csv", csv, self.preferences
        )
        if path:
            self.write_csv(Path(path))

    def write_csv(self, path: Path) -> None:
        write_csv(
            [Prediction.from_dict(p) for p in self.predictions],
            path,
            top_k=10,
            min_confidence=self.min_confidence,
        )

    # --- engine results (GUI thread) --------------------------------------------------------

    def _on_classified(self, predictions: list, failures: list) -> None:
        """One chunk of results (a folder sends many, a batch each): add its rows and say
        which files of the request so far could not be classified."""
        if failures:
            self._failures += failures
            self.show_message(failures_in_words("Not classified — ", self._failures))
        if not predictions:
            return
        self.hint.setVisible(False)
        self.table.setVisible(True)
        model = self.engine.state.model
        names = list(model.class_names) if model is not None else []
        names += [r["label"] for p in predictions for r in p["predictions"]]
        name_width = name_column_width(names, self.fontMetrics())
        self.table.add(predictions, name_width, self._maps_shown(), self.confidence.value())
        self._update()
        if self.where_button.isChecked():
            self._ask_for_explanations()

    # --- where the model looked (GUI thread) ------------------------------------------------

    def _maps_shown(self) -> dict[str, dict] | None:
        """The heat maps to draw over the previews: those here, while the toggle is on."""
        return self.maps.explanations if self.where_button.isChecked() else None

    def _on_where_toggled(self, checked: bool) -> None:
        """Show or hide the heat maps, asking the engine for those not yet made."""
        if checked:
            self._ask_for_explanations()
        self.table.show_thumbnails(self._maps_shown())

    def _ask_for_explanations(self, also: str | None = None) -> None:
        """Ask for the maps still missing: every result's while the toggle is on, and
        ``also``'s. A request replaces the one before, so it lists all that are missing."""
        wanted = [p["path"] for p in self.predictions] if self.where_button.isChecked() else []
        if also is not None:
            wanted.append(also)
        missing = self.maps.to_ask(wanted)
        if missing:
            self.engine.explain(missing, REQUESTER)

    def open_view(self, row: int) -> None:
        """Open result ``row`` enlarged, with its heat map (asked for if not here yet)."""
        if not 0 <= row < len(self.predictions):
            return
        prediction = self.predictions[row]
        path = prediction["path"]
        top = prediction["predictions"][0]
        picture = prediction.get("thumbnail")
        if self.maps.open(path, top["label"], top["probability"], picture=picture):
            self._ask_for_explanations(also=path)

    def _on_explained(self, requester: str, rows: list, failures: list) -> None:
        """Keep the maps that arrived and redraw the previews (GUI thread)."""
        if requester != REQUESTER:
            return
        self.maps.received(rows, failures)
        self.table.show_thumbnails(self._maps_shown())
        if failures:
            self.show_message(failures_in_words("No heat map for ", failures))

    def _on_explanation_failed(self, requester: str, message: str) -> None:
        """The model could not be explained: say why and turn the toggle off."""
        if requester != REQUESTER:
            return
        self.maps.failed(message)
        self.where_button.setChecked(False)
        self.show_message(f"Cannot show where the model looked: {message}")


def model_in_words(state: SessionState) -> str:
    """The line above the results: the model in use (name, classes, input), or how to get one."""
    model = state.model
    if model is None:
        return "No model yet: train one on the Train tab, or open a saved .cnnmodel file."
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
    return text


def failures_in_words(lead: str, failures: list) -> str:
    """``lead``, then the first five failures as "file: reason" and how many more."""
    notes = [f"{readable(Path(path).name)}: {reason}" for path, reason in failures]
    return lead + "; ".join(notes[:5]) + (f" and {len(notes) - 5} more" if len(notes) > 5 else "")
