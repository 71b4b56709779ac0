"""The Train tab: architecture, hyperparameters, start/stop/cancel/continue, live chart, results.

Buttons and results follow the session's state. The results panel (chart, accuracy, confusion
matrix) shows the current model only next to the dataset it was trained on (or, with no dataset
loaded, an opened model's saved results); next to another dataset one line says whose model
it is, so no figure is ever shown beside data it does not describe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.cli.console import format_seconds
from core.learn.config import OPTIMIZERS, TrainConfig
from core.nets.precision import native_bfloat16
from core.nets.presets import (
    DEFAULT_PRESET,
    PRESETS,
    PRETRAINED_PRESET,
    TITLES,
    WHEN,
    preset_warning,
)
from core.plain import TERMS
from core.state import DatasetView, ModelView, SessionState
from gui import style
from gui.engine_adapter import Engine
from gui.tabs.results import ResultsPage
from gui.widgets.loss_chart import LossChart


def _compact_combo() -> QComboBox:
    """A combo box whose long entries elide instead of widening the settings column (its
    list shows them whole). The policy must be set before items are added: Qt caches the
    width."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    return combo


#: Index of the Results page beside the training chart.
RESULTS_PAGE = 1


class TrainTab(QWidget):
    """Drives training through the engine. ``save_requested``/``export_requested`` go up."""

    save_requested = Signal()
    export_requested = Signal()

    def __init__(self, engine: Engine, val_split: Callable[[], float]) -> None:
        super().__init__()
        self.engine = engine
        self.val_split = val_split
        self.total_epochs = 0
        self.first_epoch = 0
        self.batches = 1
        self.started_at = 0.0
        self._run_epochs = 0
        self._run_config = TrainConfig()
        self._state = engine.state
        self._shown: tuple[int, int] | None = None  # (model, dataset) generations on show
        self._live_chart = False  # the chart holds the run that just ended: keep its batches
        self._build()
        engine.state_changed.connect(self._on_state_changed)
        engine.model_described.connect(self._on_model_described)
        engine.training_started.connect(self._on_training_started)
        engine.batch_ended.connect(self._on_batch_ended)
        engine.epoch_ended.connect(self._on_epoch_ended)
        engine.training_finished.connect(self._on_training_finished)
        engine.training_failed.connect(self._on_training_failed)
        engine.training_cancelled.connect(self._on_training_cancelled)
        self._on_state_changed(self._state)

    # --- layout -----------------------------------------------------------------------------

    def _build(self) -> None:
        defaults = TrainConfig()
        self.preset_combo = _compact_combo()
        for name in PRESETS:
            self.preset_combo.addItem(TITLES[name], name)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, WHEN[name], Qt.ItemDataRole.ToolTipRole
            )
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(DEFAULT_PRESET))
        self.preset_combo.currentIndexChanged.connect(self._describe)
        self.preset_combo.setToolTip(
            "The kind of network to train, by the kind of images it suits (hover an entry for "
            "when to choose it). The settings chosen for your data are picked when a folder "
            "is opened. Continue keeps the current model's own architecture."
        )
        self.preset_text = QLabel(PRESETS[DEFAULT_PRESET])
        self.preset_text.setWordWrap(True)
        self.advice_label = QLabel()
        self.advice_label.setWordWrap(True)
        self.advice_label.setVisible(False)
        self.layer_table = QTableWidget(0, 3)
        self.layer_table.setHorizontalHeaderLabels(["Layer", "Output", "Parameters"])
        self.layer_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            self.layer_table.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents
            )
        self.layer_table.verticalHeader().setVisible(False)
        self.layer_table.setAccessibleName("Layers")
        self.layer_table.setToolTip(
            "The network's layers in order: what each one computes, the shape of what it "
            "passes on (height x width x channels) and how many weights it learns."
        )
        self.layer_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.params_label = QLabel("Load a dataset to see the model's layers.")
        arch = QGroupBox("Architecture")
        arch_layout = QVBoxLayout(arch)
        arch_layout.addWidget(self.advice_label)
        arch_layout.addWidget(self.preset_combo)
        arch_layout.addWidget(self.preset_text)
        arch_layout.addWidget(self.layer_table, 1)
        arch_layout.addWidget(self.params_label)

        self.epochs_spin = QSpinBox(minimum=1, maximum=1000, value=defaults.epochs)
        self.epochs_spin.setToolTip(
            f"{TERMS['epoch']} More epochs help while the validation loss still falls; with "
            "early stopping on, training ends by itself when it stops falling."
        )
        self.batch_spin = QSpinBox(minimum=1, maximum=4096, value=defaults.batch_size)
        self.batch_spin.setToolTip(TERMS["batch size"])
        self.lr_spin = QDoubleSpinBox(
            decimals=5,
            minimum=0.00001,
            maximum=1.0,
            singleStep=0.0005,
            value=defaults.learning_rate,
        )
        self.lr_spin.setToolTip(
            f"{TERMS['learning rate']} It warms up to this value, then decays to zero."
        )
        self.optimizer_combo = _compact_combo()
        self.optimizer_combo.addItems(list(OPTIMIZERS))
        self.optimizer_combo.setToolTip(
            "The method that corrects the network after each batch. Adam suits almost "
            "everything; change it only to compare."
        )
        self.early_check = QCheckBox("Stop early when the model stops improving")
        self.early_check.setChecked(defaults.early_stopping)
        self.early_check.setToolTip(
            "End training when the model stops improving on the validation images, and keep "
            "its best state. Saves time and avoids memorising the training images."
        )
        self.patience_spin = QSpinBox(minimum=1, maximum=100, value=defaults.patience)
        self.patience_spin.setToolTip(TERMS["patience"])
        self.fine_tune_check = QCheckBox("Fine-tune the pretrained network (slower)")
        self.fine_tune_check.setToolTip(
            "Photos only. Off: only the last layer learns your classes (seconds). On: the top "
            "of the pretrained network adjusts to your photos too, gently: minutes, usually a "
            "few points more accurate. Best used with Continue after a first training."
        )
        self.augment_check = QCheckBox("Augment (flip, rotate, zoom, contrast)")
        self.augment_check.toggled.connect(self._describe)
        self.augment_check.setToolTip(
            f"{TERMS['augmentation']} Continue keeps the current model's own choice."
        )
        self.seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1, value=defaults.seed)
        self.seed_spin.setToolTip(
            "Decides the random start of the network and the validation split. The same seed "
            "and settings give (nearly) the same model; change it to see how much luck matters."
        )
        self.precision_combo = _compact_combo()
        native = native_bfloat16()
        self.precision_combo.addItem(
            f"Automatic ({'bfloat16' if native else 'float32'} on this CPU)", "auto"
        )
        self.precision_combo.addItem("float32", "float32")
        self.precision_combo.setToolTip(
            "What training computes in. Automatic uses bfloat16 where the CPU computes it "
            "natively (about twice as fast, same accuracy) and float16 on a GPU; the weights and "
            "the saved model are float32 either way. Choose float32 to rule precision out."
        )
        hyper = QGroupBox("Training")
        form = QFormLayout(hyper)
        form.addRow("&Epochs", self.epochs_spin)
        form.addRow("&Batch size", self.batch_spin)
        form.addRow("&Learning rate", self.lr_spin)
        form.addRow("&Optimizer", self.optimizer_combo)
        form.addRow(self.early_check)
        form.addRow("&Patience (epochs)", self.patience_spin)
        form.addRow(self.augment_check)
        form.addRow(self.fine_tune_check)
        form.addRow("Random &seed", self.seed_spin)
        form.addRow("Number &format", self.precision_combo)
        self.settings_widgets = [
            self.preset_combo,
            self.epochs_spin,
            self.batch_spin,
            self.lr_spin,
            self.optimizer_combo,
            self.early_check,
            self.patience_spin,
            self.augment_check,
            self.fine_tune_check,
            self.seed_spin,
            self.precision_combo,
        ]

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

        # The settings scroll in a short window; the buttons below them stay in view.
        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        settings_layout.addWidget(arch, 1)
        settings_layout.addWidget(hyper)
        self.layer_table.setMinimumHeight(110)
        scroll = QScrollArea()
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        left_layout.addLayout(buttons)
        left_layout.addLayout(more)

        self.chart = LossChart()
        self.progress = QProgressBar()
        self.progress.setFormat("Not started")
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.results = ResultsPage(self.engine)
        self.results.save_requested.connect(self.save_requested)
        self.results.export_requested.connect(self.export_requested)
        # The tests and the window reach these through the tab, as before the page was split off.
        self.confusion = self.results.confusion
        self.mistakes = self.results.mistakes
        self.metrics_label = self.results.metrics_label
        self.mistakes_title = self.results.mistakes_title
        self.save_button = self.results.save_button
        self.export_button = self.results.export_button
        self.model_note = QLabel()
        self.model_note.setWordWrap(True)
        self.model_note.setVisible(False)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.chart, 1)
        top_layout.addWidget(self.progress)
        top_layout.addWidget(self.status)
        top_layout.addWidget(self.model_note)
        # Training and Results each get the whole height: the chart while a run goes on,
        # the results (shown by themselves when a run ends) after.
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(top, "Training progress")
        self.views.addTab(self.results, "Results")
        self.views.setTabVisible(RESULTS_PAGE, False)
        right = self.views

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        left.setMaximumWidth(460)
        left.setMinimumWidth(settings.minimumSizeHint().width() + 16)  # room for the scroll bar
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
        for widget in self.settings_widgets:
            widget.setEnabled(not training)
        self._enable_fine_tune(state)
        if state.dataset is not previous.dataset and state.dataset is not None:
            new_folder = previous.dataset is None or previous.dataset.root != state.dataset.root
            if new_folder:
                self._apply_advice(state.dataset)
            self._describe()
        if training:
            return
        dataset = state.dataset
        if dataset is None:
            self.status.setText("Load a dataset on the Data tab first.")
        elif not dataset.can_train:
            self.status.setText(f"Cannot train: {dataset.problems[0]} (see the Data tab)")
        elif previous.dataset is not dataset:
            self.status.setText(
                f"Ready: {dataset.size} images in {len(dataset.class_names)} classes."
            )
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

    def _apply_advice(self, dataset: DatasetView) -> None:
        """A new folder: take the settings chosen for its data (nothing carries over)."""
        advice = dataset.advice
        self.advice_label.setVisible(advice is not None)
        if advice is None:
            return
        self.advice_label.setText(f"<i>Chosen for this data:</i> {advice.reason}")
        index = self.preset_combo.findData(advice.preset)
        if index >= 0:
            blocked = self.preset_combo.blockSignals(True)  # the caller describes it once
            self.preset_combo.setCurrentIndex(index)
            self.preset_combo.blockSignals(blocked)
        with QSignalBlocker(self.augment_check):  # the caller describes it once
            self.augment_check.setChecked(advice.augment)
        self.epochs_spin.setValue(advice.epochs)
        self.batch_spin.setValue(advice.batch_size)
        self.patience_spin.setValue(advice.patience)

    def _enable_fine_tune(self, state: SessionState) -> None:
        """Fine-tuning exists only for the pretrained preset (new, or the model continued)."""
        chosen = self.preset_combo.currentData() == PRETRAINED_PRESET
        current = state.model is not None and state.model.preset == PRETRAINED_PRESET
        self.fine_tune_check.setEnabled((chosen or current) and not state.training)

    def _show_model(self, state: SessionState, keep_chart: bool = False) -> None:
        """Show the current model's chart and results, if they describe the loaded data.

        ``keep_chart`` keeps what is drawn (the live batch curve of the run that just ended).
        """
        model, dataset = state.model, state.dataset
        belongs = model is not None and (dataset is None or model.trained_on(dataset))
        if not (keep_chart and belongs):
            self.chart.clear()
        self._show_results_page(False)
        self.model_note.setVisible(model is not None and not belongs)
        if model is not None and not belongs:
            here = f"'{dataset.name}'" if dataset is not None else "this dataset"
            details = [Path(model.saved_path).name] if model.saved_path else []
            details += [] if model.saved else ["not saved yet"]
            named = f" ({', '.join(details)})" if details else ""
            source = f"'{model.source_name}'" if model.source_name else "another dataset"
            self.model_note.setText(
                f"The current model{named} was trained on {source}; its results are not "
                f"shown next to {here}. Classify and Save still use it; Start training makes "
                "a new model on this dataset."
            )
        if model is None or not belongs:
            self.progress.setValue(0)
            self.progress.setFormat("Not started")
            return
        if not keep_chart:
            self.chart.set_history([dict(h) for h in model.history])
        self._show_results(model)

    def restyle(self) -> None:
        """Draw the coloured messages again after a theme change (GUI thread); nothing else
        changes (the page shown, the chosen cell's images, the layers)."""
        self._show_preset_text()
        model = self._state.model
        if self.views.isTabVisible(RESULTS_PAGE) and model is not None:
            self.results.show_metrics(model)

    def config(self, epochs: int | None = None) -> TrainConfig:
        """The training settings on screen (``epochs`` instead of the Epochs box: Continue)."""
        return TrainConfig(
            epochs=epochs or self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            learning_rate=self.lr_spin.value(),
            optimizer=self.optimizer_combo.currentText(),
            val_split=self.val_split(),
            seed=self.seed_spin.value(),
            early_stopping=self.early_check.isChecked(),
            patience=self.patience_spin.value(),
            fine_tune=self.fine_tune_check.isChecked() and self.fine_tune_check.isEnabled(),
            precision=self.precision_combo.currentData(),
        )

    def start(self) -> None:
        """Train a new model from scratch with the settings on screen."""
        if not self.engine.state.can_train:  # the live state: a signal may still be on its way
            return
        self.chart.clear()
        self._begin(self.config())
        self.engine.train(
            self._run_config, self.preset_combo.currentData(), self.augment_check.isChecked()
        )

    def continue_training(self) -> None:
        """Train the current model for the extra epochs chosen."""
        state = self.engine.state
        if not state.can_continue or state.model is None:
            return
        self.chart.set_history([dict(h) for h in state.model.history])
        self._begin(self.config(self.more_spin.value()))
        self.engine.continue_training(self._run_config)

    def _begin(self, config: TrainConfig) -> None:
        self._run_config = config
        self._run_epochs = config.epochs
        self._show_results_page(False)
        self.model_note.setVisible(False)
        self.progress.setValue(0)
        self.progress.setFormat("Preparing…")
        self.status.setText("Building the model…")

    def _describe(self) -> None:
        """Say what the chosen preset is for, and ask the engine for its layers."""
        self._show_preset_text()
        self._enable_fine_tune(self.engine.state)
        dataset = self.engine.state.dataset
        if dataset is not None:
            self.engine.describe_model(
                self.preset_combo.currentData(), self.augment_check.isChecked()
            )

    def _show_preset_text(self) -> None:
        preset = self.preset_combo.currentData()
        dataset = self.engine.state.dataset
        unsuited = dataset and preset_warning(preset, dataset.spec.size, dataset.spec.color)
        if unsuited and preset == PRETRAINED_PRESET:  # what to change, in this window's words
            unsuited += " (on the Data tab: tick Keep colour and set the size to 32 px or more)"
        text = WHEN[preset]
        if unsuited:
            text += "<br>" + style.rich("warning", "Warning", unsuited)
        self.preset_text.setText(text)
        self.preset_text.setToolTip(PRESETS[preset])  # the technical description

    # --- engine results (GUI thread) --------------------------------------------------------

    def _on_model_described(self, rows: list, total: int) -> None:
        self.layer_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            self.layer_table.setItem(r, 0, QTableWidgetItem(str(row["description"])))
            self.layer_table.setItem(r, 1, QTableWidgetItem(str(row["output"])))
            params = QTableWidgetItem(f"{row['params']:,}")
            params.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.layer_table.setItem(r, 2, params)
        self.params_label.setText(f"{total:,} parameters in total")

    def _on_training_started(self, total_epochs: int, batches: int) -> None:
        self.total_epochs = total_epochs
        self.batches = max(batches, 1)
        self.first_epoch = total_epochs - self._run_epochs
        self.started_at = time.monotonic()
        self.progress.setMaximum(max((total_epochs - self.first_epoch) * self.batches, 1))
        self.status.setText("Training…")

    def _on_batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        self.chart.add_batch(epoch + (batch + 1) / self.batches, loss)
        done = (epoch - self.first_epoch) * self.batches + batch + 1
        self.progress.setValue(min(done, self.progress.maximum()))
        elapsed = time.monotonic() - self.started_at
        left = elapsed / done * (self.progress.maximum() - done) if done else 0
        self.progress.setFormat(
            f"Epoch {epoch + 1}/{self.total_epochs} · batch {batch + 1}/{self.batches} · "
            f"{format_seconds(left)} left"
        )

    def _on_epoch_ended(self, epoch: int, metrics: dict, seconds: float) -> None:
        self.chart.add_epoch(metrics)
        parts = [f"loss {metrics.get('loss', 0):.4f}"]
        if "val_loss" in metrics:
            parts.append(f"validation loss {metrics['val_loss']:.4f}")
            parts.append(f"validation accuracy {metrics.get('val_accuracy', 0):.1%}")
        self.status.setText(f"Epoch {epoch + 1} ({seconds:.1f} s): " + ", ".join(parts))

    def _on_training_finished(self, summary: dict) -> None:
        self.progress.setValue(self.progress.maximum())
        outcome = {
            "finished": "Finished",
            "stopped": "Stopped (model kept)",
            "early-stopped": "Stopped early (validation loss stopped improving)",
        }
        self.progress.setFormat(outcome.get(summary["outcome"], summary["outcome"]))
        self._live_chart = True  # the state that follows shows the new model's results

    def _on_training_failed(self, message: str) -> None:
        self.progress.setFormat("Failed")
        self.status.setText(f"Training failed: {message}")
        self._shown = None

    def _on_training_cancelled(self) -> None:
        self.progress.setFormat("Cancelled")
        self.status.setText("Training cancelled; the model is as it was before this run.")
        self._shown = None

    def _show_results(self, model: ModelView) -> None:
        self._show_results_page(True)
        self.results.show_model(model)

    def _show_results_page(self, shown: bool) -> None:
        """Show the Results page and turn to it, or hide it and turn back to the chart."""
        self.views.setTabVisible(RESULTS_PAGE, shown)
        self.views.setCurrentIndex(RESULTS_PAGE if shown else 0)
