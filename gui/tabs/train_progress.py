"""The Train tab's Training progress page: the loss chart, the progress bar with the time left,
a status line (after a run: how it ended, which epoch's weights the model kept when early
stopping went back to one, and the kept model's accuracy), and a note when the current model
was trained on another dataset.

It follows a run through the engine's training signals (started, each batch, each epoch, and
how the run ended), which Qt delivers on the GUI thread; the Train tab says when a run is asked
for (:meth:`TrainingProgress.begin`) and which model to show
(:meth:`TrainingProgress.show_model`). GUI thread only.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from core.cli.console import format_seconds
from core.plain import run_in_words
from core.state import SessionState
from gui.engine_adapter import Engine
from gui.widgets.loss_chart import LossChart


class TrainingProgress(QWidget):
    """The chart and progress of the run going on, or of the model on show."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.total_epochs = 0
        self.first_epoch = 0
        self.batches = 1
        self.started_at = 0.0
        self._run_epochs = 0
        self._done = 0  # batches of this run already on the chart
        self.chart = LossChart()
        self.progress = QProgressBar()
        self.progress.setFormat("Not started")
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.model_note = QLabel()
        self.model_note.setWordWrap(True)
        self.model_note.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.model_note)
        engine.training_started.connect(self._on_training_started)
        engine.batch_ended.connect(self._on_batch_ended)
        engine.epoch_ended.connect(self._on_epoch_ended)
        engine.curve_progress.connect(self._on_curve_progress)
        engine.training_finished.connect(self._on_training_finished)
        engine.training_failed.connect(self._on_training_failed)
        engine.training_cancelled.connect(self._on_training_cancelled)

    def begin(self, epochs: int) -> None:
        """A run of ``epochs`` epochs was asked for: wait for it to start."""
        self._run_epochs = epochs
        self.model_note.setVisible(False)
        self.progress.setValue(0)
        self.progress.setFormat("Preparing…")
        self.status.setText("Building the model…")

    def show_model(self, state: SessionState, keep_chart: bool = False) -> bool:
        """Show the current model's chart if it describes the loaded data, else say whose
        model it is; True when it does (its results may then be shown beside it).

        ``keep_chart`` keeps what is drawn (the live batch curve of the run that just ended).
        """
        model, dataset = state.model, state.dataset
        belongs = model is not None and (dataset is None or model.trained_on(dataset))
        if not (keep_chart and belongs):
            self.chart.clear()
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
            return False
        if not keep_chart:
            self.chart.set_history([dict(h) for h in model.history])
        self.chart.set_kept_epoch(model.best_epoch)
        return True

    # --- engine results (GUI thread) --------------------------------------------------------

    def _on_training_started(self, total_epochs: int, batches: int) -> None:
        self.total_epochs = total_epochs
        self.batches = max(batches, 1)
        self.first_epoch = total_epochs - self._run_epochs
        self.started_at = time.monotonic()
        self._done = 0
        self.chart.start_run(self.batches)
        self.progress.setMaximum(max((total_epochs - self.first_epoch) * self.batches, 1))
        self.status.setText("Training…")

    def _on_batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        done = (epoch - self.first_epoch) * self.batches + batch + 1
        # A signal carries the mean loss of every batch since the previous one.
        self.chart.add_batch(epoch + (batch + 1) / self.batches, loss, done - self._done)
        self._done = done
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

    def _on_curve_progress(self, fraction: float, message: str) -> None:
        """After a pretrained head's run: measuring how more photos would help (Stop ends it
        and keeps the model; Cancel still discards the model)."""
        self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(f"Measuring how more photos would help… {fraction:.0%}")
        self.status.setText(f"Learning curve: {message}")

    def _on_training_finished(self, summary: dict) -> None:
        self.progress.setValue(self.progress.maximum())
        outcome = {
            "finished": "Finished",
            "stopped": "Stopped (model kept)",
            "early-stopped": "Stopped early (validation loss stopped improving)",
        }
        self.progress.setFormat(outcome.get(summary["outcome"], summary["outcome"]))
        self.chart.set_kept_epoch(summary.get("best_epoch"))
        self.status.setText(final_line(summary))

    def _on_training_failed(self, message: str) -> None:
        self.progress.setFormat("Failed")
        self.status.setText(f"Training failed: {message}")

    def _on_training_cancelled(self) -> None:
        self.progress.setFormat("Cancelled")
        self.status.setText("Training cancelled; the model is as it was before this run.")


def final_line(summary: dict) -> str:
    """The status line after a run (``summary`` as :meth:`TrainingSummary.to_dict` gives it):
    how it ended, which epoch's weights the model kept when not its last, and the kept
    model's validation accuracy (the figure the Results page shows, not the last epoch's)."""
    history = summary.get("history") or []
    accuracy = (summary.get("validation") or {}).get("accuracy")
    line = run_in_words(
        summary.get("outcome") or "finished",
        summary.get("epochs", len(history)),
        summary.get("best_epoch"),
        history,
        None if accuracy is None else f"{accuracy:.1%}",
    )
    return f"{line[:1].upper()}{line[1:]}."
