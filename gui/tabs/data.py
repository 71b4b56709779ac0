"""The Data tab: pick a folder, see its classes, what the model will see, and what was skipped.

Everything shown comes from the session's dataset (:class:`~core.state.DatasetView`): a new
load, size or colour re-renders the whole tab, including the grid of what the model sees.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QFileInfo, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.data.images import InputSpec
from core.names import readable, short_name
from core.state import DatasetView, SessionState
from gui import style
from gui.engine_adapter import Engine
from gui.tabs.data_actions import ImageActions, comparison_line, training_prefix
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
    """Emits ``dataset_requested(path)`` when the user picks a folder; shows engine results.
    ``retrain_requested`` asks the window to train again with the Train tab's settings (after
    the folder was edited)."""

    dataset_requested = Signal(str)
    demo_requested = Signal()
    retrain_requested = Signal()

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
        engine.dataset_edited.connect(self._on_edited)
        engine.losses_computed.connect(self._on_losses)
        # Each image's loss under the model (path -> loss), and the model it came from.
        self._losses: dict[str, float] = {}
        self._losses_model = 0
        self._compare_with: tuple[int, dict] | None = None  # (model generation, evaluation)
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
        self.new_class_button = QPushButton("New class…")
        self.new_class_button.setToolTip("Create an empty class folder in the dataset folder")
        self.new_class_button.clicked.connect(self.new_class)
        self.rename_class_button = QPushButton("Rename class…")
        self.rename_class_button.setToolTip("Rename the chosen class's folder on disk")
        self.rename_class_button.clicked.connect(self.rename_class)
        self.remove_class_button = QPushButton("Remove class…")
        self.remove_class_button.setToolTip(
            "Remove the chosen class's folder; only a class without images can be removed "
            "(move or exclude its images first)"
        )
        self.remove_class_button.clicked.connect(self.remove_class)
        class_buttons = QHBoxLayout()
        class_buttons.addWidget(self.new_class_button)
        class_buttons.addWidget(self.rename_class_button)
        class_buttons.addWidget(self.remove_class_button)
        self.new_class_button.setEnabled(False)
        self.rename_class_button.setEnabled(False)
        self.remove_class_button.setEnabled(False)
        left_layout.addLayout(class_buttons)
        # Image files dropped on a class's row are copied into its folder.
        self.class_table.viewport().setAcceptDrops(True)
        self.class_table.viewport().installEventFilter(self)

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
            "cannot tell the classes apart here, neither can the model: raise the size. "
            "Right-click an image (or press M, Delete) to move it to another class or "
            "exclude it; Ctrl+Z undoes."
        )
        self.image_actions = ImageActions(
            self.thumbnails,
            self.engine,
            lambda: self._shown,
            lambda item: item.data(Qt.ItemDataRole.UserRole),
            keys=True,
            undo_scope=self,
        )
        self.edit_label = QLabel()
        self.edit_label.setWordWrap(True)
        self.edit_label.setVisible(False)
        self.surprise_check = QCheckBox("Most surprising first")
        self.surprise_check.setToolTip(
            "Sort the class's images by the current model's loss on them: the images whose "
            "label surprises the model most come first. Wrong labels gather there."
        )
        self.surprise_check.setEnabled(False)
        self.surprise_check.toggled.connect(self._on_surprise_toggled)
        self.retrain_button = QPushButton(style.icon("train"), "Retrain")
        self.retrain_button.setToolTip(
            "Train a new model on the changed folder with the Train tab's settings, then "
            "compare it with the current one"
        )
        self.retrain_button.setVisible(False)
        self.retrain_button.clicked.connect(self._on_retrain)

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
        title_row = QHBoxLayout()
        title_row.addWidget(self.thumb_title, 1)
        title_row.addWidget(self.surprise_check)
        right_layout.addLayout(title_row)
        right_layout.addWidget(self.thumbnails, 3)
        edit_row = QHBoxLayout()
        edit_row.addWidget(self.edit_label, 1)
        edit_row.addWidget(self.retrain_button)
        right_layout.addLayout(edit_row)
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
        self._follow_model(state)

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
        if dataset is None or self._shown is None or dataset.root != self._shown.root:
            self._show_history(dataset)
        chosen = self._class_to_keep(dataset)  # read before the old dataset goes
        same_class = self._shown is not None and chosen == self.chosen_class()
        image_row = self.thumbnails.currentRow() if same_class else -1
        self._shown = dataset
        self.thumbnails.clear()
        self.new_class_button.setEnabled(dataset is not None)
        self.rename_class_button.setEnabled(dataset is not None)
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
        if counts:  # the class on show before an edit stays on show
            names = list(counts)
            self.class_table.selectRow(names.index(chosen) if chosen in names else 0)
        self._on_class_selected()  # even when row 0 was already selected: new pictures
        if image_row >= 0 and self.thumbnails.count():  # after a move: on to the next image
            self.thumbnails.setCurrentRow(min(image_row, self.thumbnails.count() - 1))

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
        self.remove_class_button.setEnabled(False)
        if not rows or dataset is None:
            return
        label = rows[0].row()
        self.remove_class_button.setEnabled(dataset.counts[label] == 0)
        members = np.flatnonzero(dataset.labels == label)
        losses = self._losses if self.surprise_check.isChecked() else {}
        if losses:  # highest loss first; images without one (new since) last
            scores = np.array([losses.get(dataset.paths[i], np.nan) for i in members])
            members = members[np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")]
        name = short_name(dataset.class_names[label])
        shown = members[:THUMBNAILS_SHOWN]
        size = dataset.spec.size
        colour = "colour" if dataset.spec.color else "grayscale"
        self.thumb_title.setText(
            f"What the model sees: '{name}' ({len(shown)} of {len(members)} images, "
            f"{size}x{size} {colour}{', centre square' if dataset.spec.crop else ''})"
        )
        training = training_prefix(dataset)
        for i in shown:
            # In a train/valid/test folder the images of the other parts say which they are in.
            part = dataset.paths[i].split("/")[0] + "/" if dataset.splits else training
            caption = part if part != training else ""
            item = QListWidgetItem(array_icon(dataset.images[i], THUMBNAIL_PX), caption)
            item.setToolTip(dataset.paths[i])
            item.setData(Qt.ItemDataRole.UserRole, dataset.paths[i])  # for ImageActions
            if dataset.paths[i] in losses:
                item.setToolTip(f"{dataset.paths[i]}\nloss {losses[dataset.paths[i]]:.3g}")
            self.thumbnails.addItem(item)

    # --- changing the folder (GUI thread; the engine does the work) ---------------------------

    def _class_to_keep(self, dataset: DatasetView | None) -> str | None:
        """The class to show in ``dataset``: the one chosen now, under its new name when it
        was just renamed (it alone left, one other name came)."""
        chosen, before = self.chosen_class(), self._shown
        if dataset is None or before is None or chosen is None or chosen in dataset.class_names:
            return chosen
        added = set(dataset.class_names) - set(before.class_names)
        return added.pop() if len(added) == 1 else None

    def chosen_class(self) -> str | None:
        """The name of the class chosen in the table, or None."""
        rows = self.class_table.selectionModel().selectedRows()
        dataset = self._shown
        if not rows or dataset is None or rows[0].row() >= len(dataset.class_names):
            return None
        return dataset.class_names[rows[0].row()]

    def new_class(self) -> None:
        """Ask for a name, then create that class's (empty) folder."""
        if self._shown is None:
            return
        where = Path(self._shown.root, training_prefix(self._shown))
        name, ok = QInputDialog.getText(
            self, "New class", f"Name of the new class folder in {readable(str(where))}:"
        )
        if ok and name:
            self.engine.edit_dataset("create_class", name)

    def rename_class(self) -> None:
        """Ask for a new name, then rename the chosen class's folder."""
        old = self.chosen_class()
        if old is None or self._shown is None:
            return
        shown = self._shown
        parts = ", ".join(f"{folder}/" for _, folder, _ in shown.splits)
        what = f"its folder in each of {parts} that has one" if parts else f"the folder {old}"
        name, ok = QInputDialog.getText(
            self,
            "Rename class",
            f"New name of class {readable(old)} ({readable(what)} in {readable(str(shown.root))}):",
            text=old,
        )
        if ok and name and name != old:
            self.engine.edit_dataset("rename_class", old, name)

    def remove_class(self) -> None:
        """Ask, then remove the chosen class's (empty) folders."""
        name, shown = self.chosen_class(), self._shown
        if name is None or shown is None:
            return
        parts = [folder for _, folder, _ in shown.splits]
        where = ", ".join(f"{part}/{name}" for part in parts) + " (those there)" if parts else name
        answer = QMessageBox.question(
            self,
            "Remove class",
            f"Remove the class {readable(name)}: its empty folder(s) {readable(where)} inside "
            f"{readable(shown.root)} are removed (a folder that is not empty is kept). Ctrl+Z "
            "makes them again.",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Ok:
            self.engine.edit_dataset("remove_class", name)

    def _follow_model(self, state: SessionState) -> None:
        """Sorting by loss needs a model that reads this dataset's input; Retrain shows once
        the folder was edited; a model trained after Retrain is compared with the one before."""
        model, dataset = state.model, state.dataset
        usable = model is not None and dataset is not None and model.spec == dataset.spec
        self.surprise_check.setEnabled(usable and not state.training)
        current = model.generation if model is not None else 0
        if current != self._losses_model and not state.training:
            # Another model: the scores of the last one sort nothing now. With the box
            # ticked, the new model scores the images (or, unable to, the plain order shows).
            self._losses = {}
            self._losses_model = current
            if self.surprise_check.isChecked():
                self._on_class_selected()  # the folder's order until the new scores come
                if usable:
                    self.thumb_title.setText("Scoring each image with the new model…")
                    self.engine.compute_losses()
        self.retrain_button.setVisible(dataset is not None and state.edited_since_model)
        self.retrain_button.setEnabled(state.can_train)
        compare = self._compare_with
        if (
            compare is not None
            and model is not None
            and not state.training
            and model.generation != compare[0]
        ):
            line = comparison_line(compare[1], model.evaluation)
            self._compare_with = None
            self.edit_label.setText(f"After your changes: {line}." if line else "")
            self.edit_label.setVisible(bool(line))

    def _on_retrain(self) -> None:
        """Remember the current model's results, then ask the window to train again."""
        model = self.engine.state.model
        if model is not None:
            self._compare_with = (model.generation, dict(model.evaluation))
        self.retrain_requested.emit()

    def _on_surprise_toggled(self, checked: bool) -> None:
        state = self.engine.state
        if checked and not self._losses and state.model is not None:
            self._losses_model = state.model.generation
            self.thumb_title.setText("Scoring each image with the model…")
            self.engine.compute_losses()
        else:
            self._on_class_selected()

    def _on_losses(self, generation: int, paths: object, losses: object) -> None:
        """The engine's losses for the images at ``paths`` of the dataset of ``generation``
        (GUI thread). Kept by path, so they still sort the images an edit left in place."""
        if not isinstance(losses, np.ndarray) or not isinstance(paths, tuple | list):
            return
        self._losses = {p: float(v) for p, v in zip(paths, losses.tolist(), strict=True)}
        if self.surprise_check.isChecked():
            self._on_class_selected()

    def _show_history(self, dataset: DatasetView | None) -> None:
        """Another folder is shown: the line under the grid says what Ctrl+Z would undo there
        (its history outlives the app), or nothing — never the last folder's change."""
        undo = dataset.undo if dataset is not None else None
        self.edit_label.setText(
            f"Last change to this folder: {readable(undo)} (Ctrl+Z undoes)" if undo else ""
        )
        self.edit_label.setVisible(bool(undo))

    def _on_edited(self, description: str) -> None:
        """What a change (or an undo) did, and whether Ctrl+Z has more to undo (GUI thread;
        the new state arrived before this signal)."""
        dataset = self.engine.state.dataset
        hint = " (Ctrl+Z undoes)" if dataset is not None and dataset.undo else ""
        self.edit_label.setText(f"{readable(description)}{hint}")
        self.edit_label.setVisible(True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Files dragged onto a class's row: accept them; dropped: copy them in (asked
        first). Other drops (a folder to load) go on to the window."""
        if watched is self.class_table.viewport() and self._shown is not None:
            if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
                assert isinstance(event, QDragEnterEvent)  # DragMove derives from it
                if self._dropped_files(event) and self._row_at(event) is not None:
                    event.acceptProposedAction()
                    return True
            elif event.type() == QEvent.Type.Drop:
                assert isinstance(event, QDropEvent)
                files, row = self._dropped_files(event), self._row_at(event)
                if files and row is not None:
                    event.acceptProposedAction()
                    self._copy_in(self._shown.class_names[row], files)
                    return True
        return super().eventFilter(watched, event)

    @staticmethod
    def _dropped_files(event: QDropEvent) -> list[str]:
        """The local files (not folders) an event carries."""
        mime = event.mimeData()
        urls = mime.urls() if mime is not None and mime.hasUrls() else []
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        return [p for p in paths if p and not QFileInfo(p).isDir()]

    def _row_at(self, event: QDropEvent) -> int | None:
        row = self.class_table.rowAt(event.position().toPoint().y())
        shown = self._shown
        return row if shown is not None and 0 <= row < len(shown.class_names) else None

    def _copy_in(self, class_name: str, files: list[str]) -> None:
        assert self._shown is not None
        listed = ", ".join(QFileInfo(f).fileName() for f in files[:5])
        more = f" and {len(files) - 5} more" if len(files) > 5 else ""
        answer = QMessageBox.question(
            self,
            "Copy images in",
            f"Copy {len(files)} file(s) ({readable(listed)}{more}) into "
            f"{readable(training_prefix(self._shown) + class_name)}/ "
            f"inside {readable(self._shown.root)}? A name that is taken gets -2, -3…; nothing "
            "is overwritten and the files you dropped stay where they are.",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Ok:
            self.engine.edit_dataset("copy_in", class_name, files)
