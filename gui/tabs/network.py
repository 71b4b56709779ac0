"""The "Inside the network" tab: pick an image and see, layer by layer, what the model computes.

The image comes from the loaded dataset (a class, then *Random image*), from a file (*Open
image…*) or from a drop on the window while this tab is shown (the window routes it here).
The engine computes the layers on its worker thread (:meth:`Engine.view_network`, a
superseding task: a newer pick replaces one still computing) and the result arrives as a
frozen :class:`~core.use.network_views.NetworkView`. Each layer is a row: its title, one plain
sentence tying it to the article CNN Studio grew from, then its feature maps (and the first
convolution's filters) as a grid of small grey images, or bars for the dense layer's strongest
units and the class probabilities.

What is shown belongs to one model: a new model (trained, continued or opened) clears it, and a
result computed for a model that has since been replaced is dropped. Everything here runs on
the GUI thread.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.names import readable, short_name
from core.nets.presets import preset_in_words
from core.state import SessionState
from core.use.network_views import LayerView, NetworkView
from gui import style
from gui.dialogs.pickers import choose_file
from gui.engine_adapter import Engine
from gui.widgets.feature_maps import FeatureMapGrid, UnitBars
from gui.widgets.probability_bars import ProbabilityBars

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"
#: The class combo's first entry: draw the random image from every class.
ANY_CLASS = "Any class"
#: About how large (pixels) the input image, each feature map and each filter are shown.
INPUT_TILE = 168
MAP_TILE = 72
FILTER_TILE = 45
EMPTY_TEXT = (
    "<h2>Inside the network</h2><p>No model yet: train one on the Train tab, or open a saved "
    ".cnnmodel file. Then pick an image here to see what each layer computes: the filters "
    "the first convolution learnt, the feature maps they produce, what max pooling keeps, "
    "and how the answer comes about.</p>"
)


class NetworkTab(QWidget):
    """Layer rows for one image; see the module docstring."""

    def __init__(self, engine: Engine, seed: int | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.view: NetworkView | None = None
        self.layer_rows: list[tuple[LayerView, QWidget]] = []
        self.grids: dict[str, FeatureMapGrid] = {}  # layer name -> its maps' grid
        self.filter_grid: FeatureMapGrid | None = None
        self._muted: list[QLabel] = []  # the rows' quieter text, coloured by the theme
        self._model_generation = 0
        self._dataset_generation = 0
        self._pending: str | None = None  # the image being computed, if any
        self._rng = np.random.default_rng(seed)
        self._build()
        engine.network_viewed.connect(self._on_network_viewed)
        engine.network_view_failed.connect(self._on_network_view_failed)
        engine.state_changed.connect(self._on_state_changed)
        self._on_state_changed(engine.state)

    def _build(self) -> None:
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.class_combo = QComboBox()
        self.class_combo.setAccessibleName("Class to draw an image from")
        self.class_combo.setToolTip("The class of the loaded dataset to draw a random image from")
        self.class_combo.setMinimumContentsLength(14)
        self.class_combo.activated.connect(lambda _: self.show_random())
        self.random_button = QPushButton("Random image")
        style.primary(self.random_button)
        self.random_button.setToolTip("Look inside the network at a random image of the class")
        self.random_button.clicked.connect(self.show_random)
        self.open_button = QPushButton(style.icon("open"), "Open image…")
        self.open_button.setToolTip("Choose an image file (or drop one on this tab)")
        self.open_button.clicked.connect(self.choose_image)
        top = QHBoxLayout()
        top.addWidget(self.model_label, 1)
        top.addWidget(self.class_combo)
        top.addWidget(self.random_button)
        top.addWidget(self.open_button)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.hint = QLabel(EMPTY_TEXT)
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.column = QWidget()
        self.column_layout = QVBoxLayout(self.column)
        self.column_layout.setSpacing(style.MARGIN * 2)
        self.column_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.column)
        self.scroll.setAccessibleName("Layers")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.hint, 1)
        layout.addWidget(self.scroll, 1)

    # --- state --------------------------------------------------------------------------------

    def _on_state_changed(self, state: SessionState) -> None:
        """GUI thread: say which model is in use, offer the dataset's classes, and clear what
        belongs to a replaced model."""
        model, dataset = state.model, state.dataset
        dataset_generation = dataset.generation if dataset is not None else 0
        if dataset_generation != self._dataset_generation:
            self._dataset_generation = dataset_generation
            chosen = self.class_combo.currentText()
            self.class_combo.clear()
            if dataset is not None:
                self.class_combo.addItem(ANY_CLASS)
                for name in dataset.class_names:
                    self.class_combo.addItem(short_name(name, 32), name)
                self.class_combo.setCurrentIndex(max(self.class_combo.findText(chosen), 0))
        generation = model.generation if model is not None else 0
        if generation != self._model_generation:
            self._model_generation = generation
            self._pending = None
            self.clear()
            if model is not None and not state.training and self.isVisible():
                self.show_random()
        if model is None:
            text = "No model yet."
        else:
            text = html.escape(
                f"Model: {model.display_name} — {preset_in_words(model.preset)}; "
                f"{model.spec.size}x{model.spec.size} {'colour' if model.spec.color else 'grey'}"
            )
            if state.training:
                text += ". Training is running: look inside once it has finished."
        answer = self.view.answer if self.view is not None else None
        if answer is not None and self.view is not None:
            text += (
                f"<br>{html.escape(readable(self.view.source))}: the model answers "
                f"<b>{html.escape(readable(answer[0]))}</b> ({answer[1]:.0%})"
            )
        self.model_label.setText(text)
        usable = model is not None and not state.training
        has_images = dataset is not None and dataset.size > 0
        self.class_combo.setEnabled(usable and has_images)
        self.random_button.setEnabled(usable and has_images)
        self.random_button.setToolTip(
            "Look inside the network at a random image of the class"
            if has_images
            else "Load a dataset on the Data tab to draw images from it"
        )
        self.open_button.setEnabled(usable)
        self._show_hint()

    def _show_hint(self) -> None:
        showing = bool(self.layer_rows)
        self.hint.setVisible(not showing)
        self.scroll.setVisible(showing)
        if self.engine.state.model is None:
            self.hint.setText(EMPTY_TEXT)
        elif self._pending is None:
            self.hint.setText(
                "<h2>Inside the network</h2><p>Pick a class and press <i>Random image</i>, "
                "press <i>Open image…</i>, or drop an image here, to see what each layer of "
                "the model computes for it.</p>"
            )

    def showEvent(self, event: QShowEvent) -> None:
        """Turning to the tab with a model and nothing shown yet shows a random image."""
        super().showEvent(event)
        if self.view is None and self._pending is None and self.random_button.isEnabled():
            self.show_random()

    # --- choosing an image --------------------------------------------------------------------

    @property
    def can_look(self) -> bool:
        state = self.engine.state
        return state.model is not None and not state.training

    def show_random(self) -> None:
        """Look at a random image of the chosen class of the loaded dataset."""
        dataset = self.engine.state.dataset
        if not self.can_look or dataset is None or not dataset.size:
            return
        wanted = self.class_combo.currentData()
        labels = np.asarray(dataset.labels)
        if wanted in dataset.class_names:
            rows = np.flatnonzero(labels == dataset.class_names.index(wanted))
        else:
            rows = np.arange(len(labels))
        if not len(rows):
            self.show_message(f"The dataset holds no image of {readable(str(wanted))}.")
            return
        self.look_at_row(int(self._rng.choice(rows)))

    def look_at_row(self, row: int) -> None:
        """Look at image ``row`` of the loaded dataset: its pixels as loaded when the model
        takes that input, else its file, decoded at the model's input."""
        state = self.engine.state
        dataset, model = state.dataset, state.model
        if dataset is None or model is None:
            return
        name = dataset.paths[row]
        if dataset.spec == model.spec:
            self._request(np.array(dataset.images[row]), name)
        else:
            self._request(str(Path(dataset.root) / name), name)

    def choose_image(self) -> None:
        path = choose_file(self, "Image to look inside with", "images", IMAGE_FILTER)
        if path:
            self.look_at_file(path)

    def look_at_file(self, path: str) -> None:
        """Look at an image file (chosen, or dropped on the window while this tab shows)."""
        if not self.can_look:
            self.show_message("Train a model or open a .cnnmodel file first.")
            return
        self._request(str(path), Path(path).name)

    def _request(self, image: str | np.ndarray, name: str) -> None:
        self._pending = name
        self.show_message("")
        self.hint.setText(f"<p>Computing what each layer makes of {readable(name)}…</p>")
        if not self.layer_rows:
            self._show_hint()
        self.engine.view_network(image, name)

    # --- results ------------------------------------------------------------------------------

    def _on_network_viewed(self, view: NetworkView) -> None:
        """GUI thread: show the layers, unless they belong to a model replaced since."""
        if view.model_generation != self._model_generation:
            return
        self._pending = None
        self._show(view)

    def _on_network_view_failed(self, message: str) -> None:
        self._pending = None
        self.show_message(f"Could not look inside the network: {message}")
        self._show_hint()

    def show_message(self, text: str) -> None:
        self.message.setText(style.rich("warning", "Note", text) if text else "")
        self.message.setVisible(bool(text))

    def restyle(self) -> None:
        """Colour the rows' text in the current theme (GUI thread; the grids and bars ask
        for the theme when they paint)."""
        for label in self._muted:
            label.setStyleSheet(f"color: {style.current().muted}")

    def clear(self) -> None:
        """Remove every layer row."""
        self.view = None
        for _, widget in self.layer_rows:
            self.column_layout.removeWidget(widget)
            widget.hide()  # gone now, not when the event loop gets round to deleting it
            widget.setParent(None)
            widget.deleteLater()
        self.layer_rows.clear()
        self.grids.clear()
        self._muted.clear()
        self.filter_grid = None
        self._show_hint()

    def _show(self, view: NetworkView) -> None:
        self.clear()
        self.view = view
        for layer in view.layers:
            row = self._row(layer, view.source)
            self.column_layout.insertWidget(self.column_layout.count() - 1, row)
            self.layer_rows.append((layer, row))
        self.restyle()
        self._on_state_changed(self.engine.state)  # names the model and its answer

    def _row(self, layer: LayerView, source: str) -> QWidget:
        """One layer: title, sentence, then its maps, filters or bars."""
        row = QFrame()
        row.setAccessibleName(layer.title)
        layout = QVBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        shape = "x".join(str(d) for d in layer.shape)
        title = QLabel(f"<b>{readable(layer.title)}</b> &nbsp; → {shape}")
        sentence = QLabel(layer.sentence)
        sentence.setWordWrap(True)
        self._muted.append(sentence)
        layout.addWidget(title)
        layout.addWidget(sentence)
        if layer.shown:
            note = "bright: strong response" if layer.maps is not None else "largest first"
            shown = QLabel(f"Showing {layer.shown} ({note}).")
            self._muted.append(shown)
            layout.addWidget(shown)
        if layer.image is not None:
            grid = FeatureMapGrid()
            grid.set_images(layer.image[None], [short_name(readable(source), 28)], None, INPUT_TILE)
            layout.addWidget(grid)
        if layer.maps is not None:
            grid = FeatureMapGrid()
            captions = [f"#{c + 1}" for c in layer.channels]
            tips = [
                f"Feature map {c + 1} of {layer.total}: strongest value {peak:.2f}"
                for c, peak in zip(layer.channels, layer.peaks, strict=True)
            ]
            grid.set_images(layer.maps, captions, tips, MAP_TILE)
            grid.setAccessibleName(f"Feature maps: {layer.title}")
            self.grids[layer.name] = grid
            layout.addWidget(grid)
        if layer.filters is not None:
            words = QLabel(layer.filters_sentence)
            words.setWordWrap(True)
            self._muted.append(words)
            grid = FeatureMapGrid()
            captions = [f"#{c + 1}" for c in layer.channels]
            grid.set_images(layer.filters, captions, None, FILTER_TILE)
            grid.setAccessibleName(f"Filters: {layer.title}")
            self.filter_grid = grid
            layout.addWidget(words)
            layout.addWidget(grid)
        if layer.kind == "output":
            layout.addWidget(ProbabilityBars(list(layer.units)))
        elif layer.units:
            layout.addWidget(UnitBars(list(layer.units)))
        return row

    def map_tiles(self) -> dict[str, int]:
        """Layer name -> how many feature-map tiles its row shows (for tests and checks)."""
        return {name: grid.tile_count for name, grid in self.grids.items()}
