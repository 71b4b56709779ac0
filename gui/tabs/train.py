"""The Train tab: architecture, hyperparameters, start/stop/cancel/continue, live chart, results.

Buttons and results follow the session's state. The results panel (chart, accuracy, confusion
matrix) shows the current model only next to the dataset it was trained on (or, with no dataset
loaded, an opened model's saved results); next to another dataset one line says whose model
it is, so no figure is ever shown beside data it does not describe.

The tab assembles three parts: the settings (:mod:`gui.tabs.train_settings`), the Training
progress page (:mod:`gui.tabs.train_progress`) and the Results page (:mod:`gui.tabs.results`),
and decides from each session state what they show. GUI thread only: the engine's signals
reach it there.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.learn.config import TrainConfig
from core.state import ModelView, SessionState
from gui import style
from gui.engine_adapter import Engine
from gui.tabs.results import ResultsPage
from gui.tabs.train_progress import TrainingProgress
from gui.tabs.train_settings import TrainSettings

#: Index of the Results page beside the training chart.
RESULTS_PAGE = 1


class TrainTab(QWidget):
    """Drives training through the engine. ``save_requested``/``export_requested`` go up."""

    save_requested = Signal()
    export_requested = Signal()

    def __init__(self, engine: Engine, val_split: Callable[[], float]) -> None:
        super().__init__()
        self.engine = engine
        self._run_config = TrainConfig()
        self._state = engine.state
        self._shown: tuple[int, int] | None = None  # (model, dataset) generations on show
        self._live_chart = False  # the chart holds the run that just ended: keep its batches
        self._build(val_split)
        engine.state_changed.connect(self._on_state_changed)
        engine.training_finished.connect(self._on_training_finished)
        engine.training_failed.connect(self._on_training_failed)
        engine.training_cancelled.connect(self._on_training_cancelled)
        self._on_state_changed(self._state)

    # --- layout -----------------------------------------------------------------------------

    def _build(self, val_split: Callable[[], float]) -> None:
        self.settings = TrainSettings(self.engine, val_split)
        self.start_button = QPushButton(style.icon("train"), "Start training")
        style.primary(self.start_button)
        self.start_button.setToolTip("Train a new model from scratch (Ctrl+T)")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton(style.icon("stop"), "Stop (keep model)")
        self.stop_button.setToolTip("Finish after this batch and keep the model so far")
        self.stop_button.clicked.connect(self.engine.stop_training)
        self.cancel_button = QPushButton(style.icon("cancel"), "Cancel")
        self.cancel_button.setToolTip("Finish after this batch and discard the model")
        self.cancel_button.clicked.connect(self.engine.cancel_training)
        self.more_spin = QSpinBox(minimum=1, maximum=1000, value=5, prefix="+", suffix=" epochs")
        self.more_spin.setToolTip("How many more epochs Continue trains the current model for")
        self.more_spin.setAccessibleName("More epochs")
        self.continue_button = QPushButton(style.icon("continue"), "Continue")
        self.continue_button.setToolTip("Train the current model for more epochs")
        self.continue_button.clicked.connect(self.continue_training)
        buttons = QHBoxLayout()
        for widget in (self.start_button, self.stop_button, self.cancel_button):
            buttons.addWidget(widget)
        more = QHBoxLayout()
        more.addWidget(self.more_spin)
        more.addWidget(self.continue_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.settings, 1)
        left_layout.addLayout(buttons)
        left_layout.addLayout(more)

        self.progress_page = TrainingProgress(self.engine)
        self.results = ResultsPage(self.engine)
        self.results.save_requested.connect(self.save_requested)
        self.results.export_requested.connect(self.export_requested)
        # The tests, the window and the scripts reach these through the tab, as before the
        # settings and the pages were split off.
        self.preset_combo = self.settings.preset_combo
        self.epochs_spin = self.settings.epochs_spin
        self.batch_spin = self.settings.batch_spin
        self.precision_combo = self.settings.precision_combo
        self.config = self.settings.config
        self.chart = self.progress_page.chart
        self.progress = self.progress_page.progress
        self.status = self.progress_page.status
        self.model_note = self.progress_page.model_note
        self.confusion = self.results.confusion
        self.mistakes = self.results.mistakes
        self.metrics_label = self.results.metrics_label
        self.mistakes_title = self.results.mistakes_title
        self.save_button = self.results.save_button

        # Training and Results each get the whole height: the chart while a run goes on,
        # the results (shown by themselves when a run ends) after.
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(self.progress_page, "Training progress")
        self.views.addTab(self.results, "Results")
        self.views.setTabVisible(RESULTS_PAGE, False)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.views)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        left.setMaximumWidth(460)
        # Room for the settings and the scroll bar.
        left.setMinimumWidth(self.settings.widget().minimumSizeHint().width() + 16)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # --- state ------------------------------------------------------------------------------

    def _on_state_changed(self, state: SessionState) -> None:
        """GUI thread: enable what the session allows; re-render results for a new model or
        dataset (never while a run is drawing its live chart)."""
        previous = self._state
        self._state = state
        training = state.training
        self.start_button.setEnabled(state.can_train)
        running = state.activity == "training"  # a queued run has nothing to stop yet
        self.stop_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.continue_button.setEnabled(state.can_continue)
        self.more_spin.setEnabled(state.can_continue)
        self.results.follow(state)
        self.settings.follow(state, previous)
        if training:
            return
        dataset = state.dataset
        status = self.progress_page.status
        if dataset is None:
            status.setText("Load a dataset on the Data tab first.")
        elif not dataset.can_train:
            status.setText(f"Cannot train: {dataset.problems[0]} (see the Data tab)")
        elif previous.dataset is not dataset:
            status.setText(f"Ready: {dataset.size} images in {len(dataset.class_names)} classes.")
        key = (
            state.model.generation if state.model else 0,
            dataset.generation if dataset else 0,
        )
        if key != self._shown and self._only_edited(state, previous, key):
            self._shown = key  # the folder was edited: the page stays where the user was
            self.results.refresh_after_edit()
        elif key != self._shown:
            self._shown = key
            self._show_model(state, keep_chart=self._live_chart)
            self._live_chart = False
        elif (
            state.model is not None
            and previous.model is not None
            and (
                state.model.saved != previous.model.saved
                or state.model.saved_path != previous.model.saved_path
            )
        ):
            self._show_model(state, keep_chart=True)  # saved: only the names change

    def _only_edited(
        self, state: SessionState, previous: SessionState, key: tuple[int, int]
    ) -> bool:
        """True when only the dataset changed, by an edit of its folder that leaves the model's
        results shown as they were (same model, same folder, still the data it describes):
        the Results page then keeps its chosen cell and list instead of starting over."""
        model, before, now = state.model, previous.dataset, state.dataset
        return (
            self._shown is not None
            and key[0] == self._shown[0]
            and model is not None
            and before is not None
            and now is not None
            and now.root == before.root
            and now.spec == before.spec
            and now.edits != before.edits
            and model.trained_on(now) == model.trained_on(before)
        )

    def _show_model(self, state: SessionState, keep_chart: bool = False) -> None:
        """Show the current model's chart and results, if they describe the loaded data.

        ``keep_chart`` keeps what is drawn (the live batch curve of the run that just ended).
        """
        self._show_results_page(False)
        if self.progress_page.show_model(state, keep_chart) and state.model is not None:
            self._show_results(state.model)

    def restyle(self) -> None:
        """Draw the coloured messages again after a theme change (GUI thread); nothing else
        changes (the page shown, the chosen cell's images, the layers)."""
        self.settings.restyle()
        model = self._state.model
        if self.views.isTabVisible(RESULTS_PAGE) and model is not None:
            self.results.show_metrics(model)

    def start(self) -> None:
        """Train a new model from scratch with the settings on screen."""
        if not self.engine.state.can_train:  # the live state: a signal may still be on its way
            return
        self.progress_page.chart.clear()
        self._begin(self.settings.config())
        self.engine.train(
            self._run_config,
            self.settings.preset_combo.currentData(),
            self.settings.augment_check.isChecked(),
        )

    def continue_training(self) -> None:
        """Train the current model for the extra epochs chosen."""
        state = self.engine.state
        if not state.can_continue or state.model is None:
            return
        self.progress_page.chart.set_history([dict(h) for h in state.model.history])
        self._begin(self.settings.config(self.more_spin.value()))
        self.engine.continue_training(self._run_config)

    def _begin(self, config: TrainConfig) -> None:
        self._run_config = config
        self._show_results_page(False)
        self.progress_page.begin(config.epochs)

    # --- engine results (GUI thread) --------------------------------------------------------

    def _on_training_finished(self, _summary: dict) -> None:
        self._live_chart = True  # the state that follows shows the new model's results

    def _on_training_failed(self, _message: str) -> None:
        self._shown = None

    def _on_training_cancelled(self) -> None:
        self._shown = None

    def _show_results(self, model: ModelView) -> None:
        self._show_results_page(True)
        self.results.show_model(model)

    def _show_results_page(self, shown: bool) -> None:
        """Show the Results page and turn to it, or hide it and turn back to the chart."""
        self.views.setTabVisible(RESULTS_PAGE, shown)
        self.views.setCurrentIndex(RESULTS_PAGE if shown else 0)
