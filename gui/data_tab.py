"""The Data tab: pick a folder, see its classes, what the model will see, and what was skipped.

Everything shown comes from the session's dataset (:class:`~core.state.DatasetView`): a new
load, size or colour re-renders the whole tab, including the grid of what the model sees.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterator

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.images import InputSpec
from core.names import readable, short_name
from core.state import DatasetView, SessionState
from gui import style
from gui.engine_adapter import Engine
from gui.widgets.images import array_icon

THUMBNAILS_SHOWN = 120
#: Problems and warnings shown in full above the skipped files (the rest are counted).
NOTES_SHOWN = 4
#: Shown size of the pictures of what the model sees (small inputs enlarged without blur).
THUMBNAIL_PX = 64
VALIDATION_SHARE_TIP = (
    "Share of each class held back from training to check the model fairly (0.2 = one image "
    "in five). The accuracy you see is measured on these images."
)


@contextlib.contextmanager
def _signals_blocked(*widgets: QWidget) -> Iterator[None]:
    """Block the widgets' signals while code (not the user) sets their values."""
    previous = [w.blockSignals(True) for w in widgets]
    try:
        yield
    finally:
        for widget, was in zip(widgets, previous, strict=True):
            widget.blockSignals(was)


def _bar_cell(count: int, biggest: int) -> QWidget:
    """A slim bar showing a class's size relative to the largest class."""
    cell = QWidget()
    layout = QHBoxLayout(cell)
    layout.setContentsMargins(4, 6, 4, 6)
    bar = QProgressBar(maximum=biggest, value=count, textVisible=False)
    bar.setFixedHeight(10)
    layout.addWidget(bar)
    return cell


class DataTab(QWidget):
    """Emits ``dataset_requested(path)`` when the user picks a folder; shows engine results."""

    dataset_requested = Signal(str)
    demo_requested = Signal()

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self._shown: DatasetView | None = None  # the dataset the tab was last rendered for
        self._requested: str | None = None  # the folder (or "demo") the user last asked for
        self._build()
        engine.dataset_progress.connect(self._on_progress)
        engine.dataset_failed.connect(self._on_failed)
        engine.dataset_cancelled.connect(self._on_cancelled)
        engine.state_changed.connect(self._on_state_changed)
        self._reload_timer = QTimer(self, singleShot=True, interval=400)
        self._reload_timer.timeout.connect(self._reload)

    # --- layout -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.folder_label = QLabel("No dataset yet.")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_button = QPushButton(style.icon("open"), "Choose folder…")
        style.primary(self.choose_button)
        self.choose_button.setToolTip("A folder with one subfolder per class (Ctrl+O)")
        self.choose_button.clicked.connect(self.choose_folder)
        self.demo_button = QPushButton(style.icon("demo"), "Use demo dataset")
        self.demo_button.setToolTip(
            "Shapes drawn by the app (circles, crosses, squares, triangles): try everything "
            "without images of your own (Ctrl+D)"
        )
        self.demo_button.clicked.connect(self.demo_requested)
        self.cancel_button = QPushButton(style.icon("cancel"), "Cancel")
        self.cancel_button.setToolTip("Stop reading the folder; the previous dataset stays")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.engine.cancel_loading)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setTextVisible(True)

        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)
        top.addWidget(self.choose_button)
        top.addWidget(self.demo_button)

        self.size_spin = QSpinBox(minimum=8, maximum=512, value=28, suffix=" px")
        self.size_spin.setToolTip(
            "Every image is resized to this square size for the model. Small sizes train "
            "fast; raise it only when the details that tell the classes apart vanish in the "
            "pictures on the right."
        )
        self.color_check = QCheckBox("Keep colour")
        self.color_check.setToolTip(
            "Untick to use gray levels only: faster, and better when colour does not tell "
            "the classes apart (digits, drawings). Keep it for photos."
        )
        self.crop_check = QCheckBox("Centre square only")
        self.crop_check.setToolTip(
            "Use the middle square of each image, so objects keep their shape (best for "
            "photos); unticked, the whole image is squeezed into a square"
        )
        self.val_spin = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.05, value=0.2)
        self.val_spin.setToolTip(VALIDATION_SHARE_TIP)
        for widget in (self.size_spin, self.color_check, self.crop_check):
            signal = widget.valueChanged if isinstance(widget, QSpinBox) else widget.toggled
            signal.connect(self._schedule_reload)
        settings = QGroupBox("Model input")
        form = QFormLayout(settings)
        form.addRow("Image &size", self.size_spin)
        form.addRow("Colour", self.color_check)
        form.addRow("Crop", self.crop_check)
        form.addRow("Va&lidation share", self.val_spin)  # Alt+V opens the View menu

        self.class_table = QTableWidget(0, 3)
        self.class_table.setHorizontalHeaderLabels(["Class", "Images", ""])
        self.class_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.class_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.class_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.class_table.itemSelectionChanged.connect(self._on_class_selected)
        self.class_table.setAccessibleName("Classes")
        self.class_table.setToolTip(
            "Each subfolder is a class. Pick one to see its images as the model sees them. "
            "Classes of very different sizes bias the model towards the big ones."
        )

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(settings)
        left_layout.addWidget(QLabel("Classes"))
        left_layout.addWidget(self.class_table, 1)

        self.thumb_title = QLabel("What the model sees")
        self.thumb_title.setWordWrap(True)
        self.thumbnails = QListWidget()
        self.thumbnails.setViewMode(QListView.ViewMode.IconMode)
        self.thumbnails.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.thumbnails.setResizeMode(QListView.ResizeMode.Adjust)
        self.thumbnails.setSpacing(4)
        self.thumbnails.setMovement(QListView.Movement.Static)
        self.thumbnails.setUniformItemSizes(True)
        self.thumbnails.setAccessibleName("What the model sees")
        self.thumbnails.setToolTip(
            "The chosen class's images at the size and colour the model gets them. If you "
            "cannot tell the classes apart here, neither can the model: raise the size."
        )

        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setVisible(False)
        self.skipped_title = QLabel("Skipped files")
        self.skipped_table = QTableWidget(0, 2)
        self.skipped_table.setHorizontalHeaderLabels(["File or folder", "Reason"])
        self.skipped_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Interactive
        )
        self.skipped_table.horizontalHeader().setStretchLastSection(True)
        self.skipped_table.setColumnWidth(0, 320)
        self.skipped_table.verticalHeader().setVisible(False)
        self.skipped_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.skipped_table.setAccessibleName("Skipped files")
        self.skipped_table.setToolTip("Files left out of training, each with the reason")

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.thumb_title)
        right_layout.addWidget(self.thumbnails, 3)
        right_layout.addWidget(self.notes)
        right_layout.addWidget(self.skipped_title)
        right_layout.addWidget(self.skipped_table, 2)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 900])

        self.empty_hint = QLabel(
            "<h2>Start with a folder of images</h2>"
            "<p>Put each class's images in its own subfolder (for example <i>cats/</i> and "
            "<i>dogs/</i>), then choose the folder or drop it anywhere on this window.</p>"
            "<p>No images at hand? Use the built-in demo dataset of drawn shapes.</p>"
            "<p>New here? <i>Help → Getting started</i> (F1) explains the three steps.</p>"
        )
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)

        self.advice_label = QLabel()
        self.advice_label.setWordWrap(True)
        self.advice_label.setToolTip(
            "Measured from the images' sizes and colours. Change the size or colour here, or "
            "the architecture on the Train tab, to override it."
        )
        self.advice_label.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.advice_label)
        layout.addWidget(self.empty_hint, 1)
        layout.addWidget(splitter, 1)
        self.content = splitter
        splitter.setVisible(False)

    # --- user actions -----------------------------------------------------------------------

    def spec(self) -> InputSpec:
        return InputSpec(
            size=self.size_spin.value(),
            color=self.color_check.isChecked(),
            crop=self.crop_check.isChecked(),
        )

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a dataset folder")
        if folder:
            self.dataset_requested.emit(folder)

    @property
    def dataset(self) -> DatasetView | None:
        """The dataset on show (the session's current one)."""
        return self._shown

    def load(self, folder: str, keep_settings: bool = False) -> None:
        """Start loading ``folder`` (GUI thread): at the input chosen for its data, or with
        ``keep_settings`` at the size and colour on screen (the user changed them)."""
        self._requested = folder
        self.folder_label.setText(f"Loading {folder}…")
        self.progress.setValue(0)
        self.progress.setFormat("Scanning…")
        self.engine.load_dataset(folder, self.spec() if keep_settings else None)

    def load_demo(self, keep_settings: bool = False) -> None:
        """Load the built-in demo dataset (drawn on the engine thread on first use)."""
        self._requested = "demo"
        self.folder_label.setText("Loading the demo dataset…")
        self.progress.setValue(0)
        self.progress.setFormat("Preparing…")
        self.engine.load_demo(self.spec() if keep_settings else None)

    def _schedule_reload(self) -> None:
        if self._requested or self._shown is not None:
            self._reload_timer.start()

    def _reload(self) -> None:
        """Load the same dataset again with the new size or colour."""
        if self._requested == "demo":
            self.load_demo(keep_settings=True)
        elif self._requested:
            self.load(self._requested, keep_settings=True)
        elif self._shown is not None:
            self.load(self._shown.root, keep_settings=True)

    # --- engine results (GUI thread) --------------------------------------------------------

    def _on_state_changed(self, state: SessionState) -> None:
        loading = state.loading
        self.progress.setVisible(loading)
        self.cancel_button.setVisible(loading)
        if state.dataset is not self._shown:
            self._show(state.dataset)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 100))
        self.progress.setFormat(message)

    def _on_failed(self, message: str) -> None:
        self.folder_label.setText(f"Could not load: {message}")
        self._back_to_shown()

    def _on_cancelled(self) -> None:
        shown = self._shown
        self.folder_label.setText(
            f"Loading cancelled; still showing {shown.name}." if shown else "Loading cancelled."
        )
        self._back_to_shown()

    def _back_to_shown(self) -> None:
        """After a load that did not happen: settings and later reloads follow what is shown."""
        self._requested = None
        self._reload_timer.stop()  # a size typed during the failed load is undone below
        if self._shown is not None:
            self._show_spec(self._shown)

    def _show(self, dataset: DatasetView | None) -> None:
        """Render everything for ``dataset`` (a new load, size or colour)."""
        self._shown = dataset
        self.thumbnails.clear()
        if dataset is None:
            self.empty_hint.setVisible(True)
            self.content.setVisible(False)
            return
        self.empty_hint.setVisible(False)
        self.content.setVisible(True)
        counts = dict(zip(dataset.class_names, dataset.counts, strict=True))
        self.folder_label.setText(
            f"<b>{html.escape(short_name(dataset.name, 60))}</b> — {len(counts)} classes, "
            f"{dataset.size} images, {len(dataset.skipped)} skipped"
        )
        self.folder_label.setToolTip(readable(dataset.root))
        advice = dataset.advice
        lines = [f"Chosen for this data: {advice.reason}"] if advice else []
        if dataset.layout_note:  # a train/valid/test folder: say how its parts are used
            lines.append(dataset.layout_note)
        self.advice_label.setText("\n".join(lines))
        self.advice_label.setVisible(bool(lines))
        self._show_validation_share(dataset)
        self._show_spec(dataset)
        biggest = max(counts.values(), default=1) or 1
        self.class_table.clearSelection()
        self.class_table.setRowCount(len(counts))
        for row, (name, count) in enumerate(counts.items()):
            self.class_table.setItem(row, 0, QTableWidgetItem(readable(name)))
            number = QTableWidgetItem(str(count))
            number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if dataset.splits:  # how many of them are in each of train/, valid/, test/
                number.setToolTip(
                    ", ".join(f"{folder}/: {n[row]}" for _, folder, n in dataset.splits)
                )
            self.class_table.setItem(row, 1, number)
            self.class_table.setCellWidget(row, 2, _bar_cell(count, biggest))
        self._show_notes(dataset)
        self.skipped_title.setText(
            f"Skipped files ({len(dataset.skipped)})"
            if dataset.skipped
            else "Skipped files: none — every file in the folder is used."
        )
        self.skipped_table.setVisible(bool(dataset.skipped))
        self.skipped_table.setRowCount(len(dataset.skipped))
        for row, (path, reason) in enumerate(dataset.skipped):
            self.skipped_table.setItem(row, 0, QTableWidgetItem(readable(path)))
            self.skipped_table.setItem(row, 1, QTableWidgetItem(reason))
        if counts:
            self.class_table.selectRow(0)
        self._on_class_selected()  # even when row 0 was already selected: new pictures

    def _show_validation_share(self, dataset: DatasetView) -> None:
        """The validation share does nothing when the folder brings its own validation
        images: disabled, and its tooltip says why."""
        given = dataset.given_validation
        self.val_spin.setEnabled(not given)
        self.val_spin.setToolTip(
            "Not used: the folder's own validation images check the model."
            if given
            else VALIDATION_SHARE_TIP
        )

    def _show_spec(self, dataset: DatasetView) -> None:
        """Put ``dataset``'s input settings on screen without it counting as a user change."""
        with _signals_blocked(self.size_spin, self.color_check, self.crop_check):
            self.size_spin.setValue(dataset.spec.size)
            self.color_check.setChecked(dataset.spec.color)
            self.crop_check.setChecked(dataset.spec.crop)

    def restyle(self) -> None:
        """Draw the coloured messages again after a theme change (GUI thread)."""
        if self._shown is not None:
            self._show_notes(self._shown)

    def _show_notes(self, dataset: DatasetView) -> None:
        """Problems and warnings: the first few in full, the count of the rest (a folder of
        thirty tiny classes must not push the window off the screen); all in the tooltip."""
        notes = [("error", "Cannot train", p) for p in dataset.problems]
        notes += [("warning", "Warning", w) for w in dataset.warnings]
        lines = [f"<p>{style.rich(kind, label, text)}</p>" for kind, label, text in notes]
        if len(lines) > NOTES_SHOWN:
            rest = len(lines) - NOTES_SHOWN + 1
            lines = [*lines[: NOTES_SHOWN - 1], f"<p>… and {rest} more (hover to read them)</p>"]
        self.notes.setText("".join(lines))
        self.notes.setToolTip("\n".join(f"{label}: {text}" for _, label, text in notes))
        self.notes.setVisible(bool(lines))

    def _on_class_selected(self) -> None:
        rows = self.class_table.selectionModel().selectedRows()
        dataset = self._shown
        self.thumbnails.clear()
        if not rows or dataset is None:
            return
        label = rows[0].row()
        members = np.flatnonzero(dataset.labels == label)
        name = short_name(dataset.class_names[label])
        shown = members[:THUMBNAILS_SHOWN]
        size = dataset.spec.size
        colour = "colour" if dataset.spec.color else "grayscale"
        self.thumb_title.setText(
            f"What the model sees: '{name}' ({len(shown)} of {len(members)} images, "
            f"{size}x{size} {colour}{', centre square' if dataset.spec.crop else ''})"
        )
        for i in shown:
            item = QListWidgetItem(array_icon(dataset.images[i], THUMBNAIL_PX), "")
            item.setToolTip(dataset.paths[i])
            self.thumbnails.addItem(item)
