"""The Data tab's grid of what the model sees, and the line under it about the folder's changes.

:class:`ImageGrid` shows every image of the chosen class at the size and colour the model gets
them, optionally sorted by the current model's loss (the most surprising first), with the menu
and keys that fix the data (:class:`~gui.tabs.data_actions.ImageActions`). A class may hold tens
of thousands of images, so the grid (:class:`~gui.widgets.thumbnail_grid.ThumbnailGrid`) makes
each thumbnail only when it scrolls into view. :class:`EditBar` says
what the last change did (and that Ctrl+Z undoes it), offers Retrain once the folder was edited,
and then compares the new model with the one before.

Each owns its widgets and what they show; the tab places the widgets in its right-hand column
(one layout with the notes, so the grid and the skipped files share its height as they always
did). Both are built and called on the GUI thread; the engine's results reach them through Qt
signals on that thread.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QPushButton,
    QWidget,
)

from core.names import readable, short_name
from core.plain import surprise_in_words
from core.state import DatasetView, SessionState
from gui import style
from gui.engine_adapter import Engine
from gui.tabs.data_actions import ImageActions, comparison_line, training_prefix
from gui.widgets.heatmap_view import open_on_enter
from gui.widgets.thumbnail_grid import ThumbnailGrid

#: Shown size of the pictures of what the model sees (small inputs enlarged without blur).
THUMBNAIL_PX = 64


class ImageGrid(QObject):
    """The images of the class ``chosen_row()`` of ``dataset()`` (both owned by the tab) in
    ``thumbnails``, under ``thumb_title`` and ``surprise_check``. ``tab`` is its parent and
    where Ctrl+Z undoes the last change (anywhere in the tab)."""

    def __init__(
        self,
        engine: Engine,
        dataset: Callable[[], DatasetView | None],
        chosen_row: Callable[[], int | None],
        tab: QWidget,
    ) -> None:
        super().__init__(tab)
        self.engine = engine
        self._dataset = dataset
        self._chosen_row = chosen_row
        # Each image's loss under the model (path -> loss), and the model it came from.
        self._losses: dict[str, float] = {}
        # What the model answered for each image (path -> plain data), for the tooltips.
        self._answers: dict[str, dict] = {}
        self._losses_model = 0
        self._losses_root: str | None = None  # the folder the scores are of
        self.thumb_title = QLabel("What the model sees")
        self.thumb_title.setWordWrap(True)
        # Every image of the class, each thumbnail made when it comes into view.
        self.thumbnails = ThumbnailGrid(THUMBNAIL_PX)
        self.thumbnails.setAccessibleName("What the model sees")
        self.thumbnails.setToolTip(
            "The chosen class's images at the size and colour the model gets them. If you "
            "cannot tell the classes apart here, neither can the model: raise the size. "
            "Right-click an image (or press M, Delete) to move it to another class or "
            "exclude it; Enter or a double-click shows it larger; Ctrl+Z undoes."
        )
        self.image_actions = ImageActions(
            self.thumbnails,
            self.engine,
            dataset,
            lambda index: index.data(Qt.ItemDataRole.UserRole),
            keys=True,
            undo_scope=tab,
        )
        open_on_enter(self.thumbnails, lambda _row: self.image_actions.show_larger())
        self.thumbnails.doubleClicked.connect(lambda _index: self.image_actions.show_larger())
        self.surprise_check = QCheckBox("Most surprising first")
        self.surprise_check.setToolTip(
            "Sort the class's images by the current model's loss on them: the images whose "
            "label surprises the model most come first. Wrong labels gather there."
        )
        self.surprise_check.setEnabled(False)
        self.surprise_check.toggled.connect(self._on_surprise_toggled)
        engine.surprises_computed.connect(self._on_surprises)
        engine.losses_computed.connect(self._on_losses)

    def fill(self) -> None:
        """List every image of the chosen class as the model gets it (the most surprising
        first when asked), or none when no class is chosen. Nothing is drawn here: the grid
        makes each thumbnail when it comes into view."""
        dataset, label = self._dataset(), self._chosen_row()
        if label is None or dataset is None:
            self.thumbnails.clear()
            return
        members = np.flatnonzero(dataset.labels == label)
        losses = self._losses if self.surprise_check.isChecked() else {}
        if losses:  # highest loss first; images without one (new since) last
            scores = np.array([losses.get(dataset.paths[i], np.nan) for i in members])
            members = members[np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")]
        name = short_name(dataset.class_names[label])
        size = dataset.spec.size
        colour = "colour" if dataset.spec.color else "grayscale"
        count = f"{len(members)} image{'' if len(members) == 1 else 's'}"
        self.thumb_title.setText(
            f"What the model sees: '{name}' ({count}, "
            f"{size}x{size} {colour}{', centre square' if dataset.spec.crop else ''})"
        )
        paths, training = dataset.paths, training_prefix(dataset)
        # In a train/valid/test folder the images of the other parts say which they are in.
        parts = [f"{folder}/" for _, folder, _ in dataset.splits if f"{folder}/" != training]

        def caption(i: int) -> str:
            part = paths[i].partition("/")[0] + "/" if dataset.splits else training
            return part if part != training else ""

        answers = self._answers if losses else {}

        def tooltip(i: int) -> str:
            answer, loss = answers.get(paths[i]), losses.get(paths[i])
            if answer is not None:  # what the model makes of it, the loss on a second line
                return f"{paths[i]}\n{surprise_in_words(**answer)}"
            return paths[i] if loss is None else f"{paths[i]}\nloss {loss:.3g}"

        widest = max(parts, key=len, default="")
        self.thumbnails.thumbs.show(dataset.images, members, paths, caption, tooltip, widest)
        self.thumbnails.scrollToTop()

    def follow_model(self, state: SessionState) -> None:
        """Sorting by loss needs a model that reads this dataset's input; another model
        scores the images again."""
        model, dataset = state.model, state.dataset
        usable = model is not None and dataset is not None and model.spec == dataset.spec
        self.surprise_check.setEnabled(usable and not state.training)
        current = model.generation if model is not None else 0
        root = dataset.root if dataset is not None else None
        changed = current != self._losses_model or root != self._losses_root
        if changed and not state.training:
            # Another model or another folder (its paths may match the last one's): the
            # scores kept sort nothing now. With the box ticked, the model scores the images
            # (or, unable to, the plain order shows). An edit keeps the folder and its scores.
            self._losses = {}
            self._answers = {}
            self._losses_model = current
            self._losses_root = root
            if self.surprise_check.isChecked():
                self.fill()  # the folder's order until the new scores come
                if usable:
                    self.thumb_title.setText("Scoring each image with the new model…")
                    self.engine.compute_losses()

    def _on_surprise_toggled(self, checked: bool) -> None:
        state = self.engine.state
        if checked and not self._losses and state.model is not None:
            self._losses_model = state.model.generation
            self._losses_root = state.dataset.root if state.dataset is not None else None
            self.thumb_title.setText("Scoring each image with the model…")
            self.engine.compute_losses()
        else:
            self.fill()

    def _on_surprises(self, generation: int, paths: object, answers: object) -> None:
        """What the model answered for each image at ``paths`` (GUI thread; sent just before
        the losses, which then sort and redraw)."""
        if isinstance(paths, tuple | list) and isinstance(answers, tuple | list):
            self._answers = dict(zip(paths, answers, strict=True))

    def _on_losses(self, generation: int, paths: object, losses: object) -> None:
        """The engine's losses for the images at ``paths`` of the dataset of ``generation``
        (GUI thread). Kept by path, so they still sort the images an edit left in place."""
        if not isinstance(losses, np.ndarray) or not isinstance(paths, tuple | list):
            return
        self._losses = {p: float(v) for p, v in zip(paths, losses.tolist(), strict=True)}
        if self.surprise_check.isChecked():
            self.fill()


class EditBar(QObject):
    """What the last change to the folder did (``edit_label``), and ``retrain_button`` once it
    was edited. ``retrain_requested`` asks the window to train again with the Train tab's
    settings."""

    retrain_requested = Signal()

    def __init__(self, engine: Engine, parent: QObject) -> None:
        super().__init__(parent)
        self.engine = engine
        self._compare_with: tuple[int, dict] | None = None  # (model generation, evaluation)
        self.edit_label = QLabel()
        self.edit_label.setWordWrap(True)
        self.edit_label.setVisible(False)
        self.retrain_button = QPushButton(style.icon("train"), "Retrain")
        self.retrain_button.setToolTip(
            "Train a new model on the changed folder with the Train tab's settings, then "
            "compare it with the current one"
        )
        self.retrain_button.setVisible(False)
        self.retrain_button.clicked.connect(self._on_retrain)
        engine.dataset_edited.connect(self._on_edited)

    def show_history(self, dataset: DatasetView | None) -> None:
        """Another folder is shown: the line says what Ctrl+Z would undo there (its history
        outlives the app), or nothing — never the last folder's change."""
        undo = dataset.undo if dataset is not None else None
        self.edit_label.setText(
            f"Last change to this folder: {readable(undo)} (Ctrl+Z undoes)" if undo else ""
        )
        self.edit_label.setVisible(bool(undo))

    def follow_model(self, state: SessionState) -> None:
        """Retrain shows once the folder was edited; a model trained after Retrain is
        compared with the one before."""
        model, dataset = state.model, state.dataset
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

    def _on_edited(self, description: str) -> None:
        """What a change (or an undo) did, and whether Ctrl+Z has more to undo (GUI thread;
        the new state arrived before this signal)."""
        dataset = self.engine.state.dataset
        hint = " (Ctrl+Z undoes)" if dataset is not None and dataset.undo else ""
        self.edit_label.setText(f"{readable(description)}{hint}")
        self.edit_label.setVisible(True)
