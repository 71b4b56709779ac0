"""The Data tab: pick a folder, see its classes, what the model will see, and what was skipped.

Everything shown comes from the session's dataset (:class:`~core.state.DatasetView`): a new
load, size or colour re-renders the whole tab, including the grid of what the model sees. The
tab holds the folder bar and the loading, and lays out its parts: the model-input box
(:mod:`gui.tabs.data_input`), the class list (:mod:`gui.tabs.data_classes`), the grid and the
line under it (:mod:`gui.tabs.data_grid`) and the notes (:mod:`gui.tabs.data_notes`); it hands
each new state to them. While a folder's images are read, the tab shows what its scan found
(:class:`~core.state.ScanPreview`: the classes, their files, the warnings the counts give) until
the loaded dataset replaces it, or the previous one comes back when the load fails or is
cancelled. GUI thread only: the engine's results arrive as Qt signals on it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.data.images import InputSpec
from core.names import readable, short_name
from core.state import DatasetView, ScanPreview, SessionState
from gui import style
from gui.dialogs.pickers import choose_folder
from gui.engine_adapter import Engine
from gui.tabs.data_classes import ClassList
from gui.tabs.data_grid import EditBar, ImageGrid
from gui.tabs.data_input import InputSettings
from gui.tabs.data_notes import DataNotes


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
        self._preview: ScanPreview | None = None  # the scan on show while its images are read
        self._build()
        engine.dataset_progress.connect(self._on_progress)
        engine.dataset_scanned.connect(self._on_scanned)
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

        self.inputs = InputSettings()
        self.inputs.changed.connect(self._schedule_reload)
        self.classes = ClassList(self.engine, lambda: self._shown)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.inputs)
        left_layout.addWidget(self.classes, 1)

        self.images = ImageGrid(self.engine, lambda: self._shown, self.classes.chosen_row, self)
        self.classes.chosen_changed.connect(self.images.fill)
        self.edits = EditBar(self.engine, self)
        self.edits.retrain_requested.connect(self.retrain_requested)
        self.details = DataNotes(self, self.engine)
        # One column, so the grid and the skipped files share its height 3:2.
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        title_row = QHBoxLayout()
        title_row.addWidget(self.images.thumb_title, 1)
        title_row.addWidget(self.images.surprise_check)
        right_layout.addLayout(title_row)
        right_layout.addWidget(self.images.thumbnails, 3)
        edit_row = QHBoxLayout()
        edit_row.addWidget(self.edits.edit_label, 1)
        edit_row.addWidget(self.edits.retrain_button)
        right_layout.addLayout(edit_row)
        right_layout.addWidget(self.details.notes)
        right_layout.addWidget(self.details.skipped_title)
        right_layout.addWidget(self.details.skipped_table, 2)

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

        # The parts' widgets that the window and the tests reach through the tab.
        self.size_spin = self.inputs.size_spin
        self.color_check = self.inputs.color_check
        self.val_spin = self.inputs.val_spin
        self.class_table = self.classes.class_table
        self.new_class_button = self.classes.new_class_button
        self.rename_class_button = self.classes.rename_class_button
        self.remove_class_button = self.classes.remove_class_button
        self.thumb_title = self.images.thumb_title
        self.thumbnails = self.images.thumbnails
        self.surprise_check = self.images.surprise_check
        self.image_actions = self.images.image_actions
        self.edit_label = self.edits.edit_label
        self.retrain_button = self.edits.retrain_button
        self.notes = self.details.notes
        self.skipped_table = self.details.skipped_table

    # --- user actions -----------------------------------------------------------------------

    def spec(self) -> InputSpec:
        return self.inputs.spec()

    def chosen_class(self) -> str | None:
        """The name of the class chosen in the class list, or None."""
        return self.classes.chosen_class()

    def choose_folder(self) -> None:
        folder = choose_folder(self, "Choose a dataset folder", "datasets")
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
        self.images.follow_model(state)
        self.edits.follow_model(state)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 100))
        self.progress.setFormat(message)

    def _on_scanned(self, preview: ScanPreview) -> None:
        """The folder being loaded is scanned: show its classes, files and warnings now, while
        its images are read (the shown dataset stays the session's until the load ends)."""
        self._preview = preview
        self.empty_hint.setVisible(False)
        self.content.setVisible(True)
        self.advice_label.setVisible(False)  # the new data's advice comes with its images
        self.folder_label.setText(
            f"<b>{html.escape(short_name(preview.name, 60))}</b> — "
            f"{len(preview.class_names)} classes, {preview.files} files found, "
            f"{preview.skipped} skipped; reading the images…"
        )
        self.folder_label.setToolTip(readable(preview.root))
        self.classes.show_preview(preview)
        self.thumbnails.clear()
        self.thumb_title.setText("What the model sees: shown once the images are read…")
        self.details.show_preview(preview)
        self.edits.show_history(None)  # Ctrl+Z's line is the shown folder's, not this one's

    def _on_failed(self, message: str) -> None:
        self._back_to_shown()
        self.folder_label.setText(f"Could not load: {message}")

    def _on_cancelled(self) -> None:
        self._back_to_shown()
        shown = self._shown
        self.folder_label.setText(
            f"Loading cancelled; still showing {shown.name}." if shown else "Loading cancelled."
        )

    def _back_to_shown(self) -> None:
        """After a load that did not happen: the shown dataset's view comes back in place of
        the scan's preview, and settings and later reloads follow it."""
        self._requested = None
        self._reload_timer.stop()  # a size typed during the failed load is undone below
        if self._preview is not None:
            self._show(self._shown)
        if self._shown is not None:
            self.inputs.show_spec(self._shown)

    def _show(self, dataset: DatasetView | None) -> None:
        """Render everything for ``dataset`` (a new load, size or colour)."""
        # Another folder, or the shown one back after a preview: the line says its history.
        if (
            self._preview
            or dataset is None
            or self._shown is None
            or dataset.root != self._shown.root
        ):
            self.edits.show_history(dataset)
        chosen = self.classes.class_to_keep(dataset)  # read before the old dataset goes
        same_class = self._shown is not None and chosen == self.classes.chosen_class()
        image_row = self.thumbnails.currentRow() if same_class else -1
        self._shown, self._preview = dataset, None
        self.thumbnails.clear()
        if dataset is None:
            self.classes.show_classes(None, None)
            self.empty_hint.setVisible(True)
            self.content.setVisible(False)
            return
        self.empty_hint.setVisible(False)
        self.content.setVisible(True)
        self.folder_label.setText(
            f"<b>{html.escape(short_name(dataset.name, 60))}</b> — "
            f"{len(dataset.class_names)} classes, "
            f"{dataset.size} images, {len(dataset.skipped)} skipped"
        )
        self.folder_label.setToolTip(readable(dataset.root))
        advice = dataset.advice
        lines = [f"Chosen for this data: {advice.reason}"] if advice else []
        if dataset.layout_note:  # a train/valid/test folder: say how its parts are used
            lines.append(dataset.layout_note)
        self.advice_label.setText("\n".join(lines))
        self.advice_label.setVisible(bool(lines))
        self.inputs.show_dataset(dataset)
        self.details.show_dataset(dataset)
        self.classes.show_classes(dataset, chosen)  # the grid follows the chosen class
        if image_row >= 0 and self.thumbnails.count():  # after a move: on to the next image
            self.thumbnails.setCurrentRow(min(image_row, self.thumbnails.count() - 1))

    def restyle(self) -> None:
        """Draw the coloured messages again after a theme change (GUI thread)."""
        shown = self._preview or self._shown
        if shown is not None:
            self.details.show_notes(shown)
