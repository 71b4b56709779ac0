"""The Train tab's settings: the architecture (a preset, what it suits, the layers it gives the
loaded data) and the training form (epochs, batch size, learning rate, optimizer, early
stopping, augmentation, fine-tuning, seed, number format), each with a tooltip in plain words.

A new folder takes the settings chosen for its data; the settings lock while a run goes on
(:meth:`TrainSettings.follow`, called by the Train tab with each session state) and
:meth:`TrainSettings.config` reads them as a :class:`~core.learn.config.TrainConfig`. The
layers come back from the engine's ``model_described`` signal, which Qt delivers on the GUI
thread. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.learn.config import OPTIMIZERS, TrainConfig
from core.nets.precision import native_bfloat16
from core.nets.presets import (
    DEFAULT_PRESET,
    PRESETS,
    TITLES,
    WHEN,
    is_pretrained,
    preset_warning,
)
from core.plain import TERMS
from core.state import DatasetView, SessionState
from gui import style
from gui.engine_adapter import Engine


def _compact_combo() -> QComboBox:
    """A combo box whose long entries elide instead of widening the settings column (its
    list shows them whole). The policy must be set before items are added: Qt caches the
    width."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    return combo


class TrainSettings(QScrollArea):
    """The settings a run is made with; they scroll in a short window."""

    def __init__(self, engine: Engine, val_split: Callable[[], float]) -> None:
        super().__init__()
        self.engine = engine
        self.val_split = val_split
        self._build()
        engine.model_described.connect(self._on_model_described)

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

        # The settings scroll in a short window; the buttons below them stay in view.
        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        settings_layout.addWidget(arch, 1)
        settings_layout.addWidget(hyper)
        self.layer_table.setMinimumHeight(110)
        self.setWidget(settings)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def follow(self, state: SessionState, previous: SessionState) -> None:
        """GUI thread: lock the settings while a run goes on; a new dataset shows the layers
        the preset gives it, and a new folder first takes the settings chosen for its data."""
        for widget in self.settings_widgets:
            widget.setEnabled(not state.training)
        self._enable_fine_tune(state)
        if state.dataset is not previous.dataset and state.dataset is not None:
            new_folder = previous.dataset is None or previous.dataset.root != state.dataset.root
            if new_folder:
                self._apply_advice(state.dataset)
            self._describe()

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
        chosen = is_pretrained(self.preset_combo.currentData() or "")
        current = state.model is not None and is_pretrained(state.model.preset)
        self.fine_tune_check.setEnabled((chosen or current) and not state.training)

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
        if unsuited and is_pretrained(preset):  # what to change, in this window's words
            unsuited += " (on the Data tab: tick Keep colour and set the size to 32 px or more)"
        text = WHEN[preset]
        if unsuited:
            text += "<br>" + style.rich("warning", "Warning", unsuited)
        self.preset_text.setText(text)
        self.preset_text.setToolTip(PRESETS[preset])  # the technical description

    def restyle(self) -> None:
        """Draw the preset's warning again in the theme's colours (GUI thread)."""
        self._show_preset_text()

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
