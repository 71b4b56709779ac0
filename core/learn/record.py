"""The record of a model the session holds, and the summary of one training run, as data.

:class:`ModelRecord` is the current model and everything known about it: the network, its
training history and runs, its scores and the lists of the files it was trained and checked
on. A training run makes one (:mod:`core.learn.run`), opening a model file makes one
(:mod:`core.use.model_record`), and saving, exporting and reporting read one
(:mod:`core.share.publish`). The session (:mod:`core.session`) owns the current record and
publishes a frozen view of it after every change.

Needs no TensorFlow: the network is held as an opaque object, so importing this module (and
creating a session) stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.learn.calibration import Calibration
from core.learn.config import TrainConfig

if TYPE_CHECKING:
    from core.learn.training import OptimizerState
    from core.nets.models import ModelSpec

#: What the hashes in a model file's ``files`` lists are (``files.hash``): the same key as the
#: dataset's, so evaluation can tell which images the model was trained on.
FILES_HASH = "sha1 of the preprocessed model input"


@dataclass
class ModelRecord:
    """The current model and everything known about it (mutable; owned by the session and
    used on the thread that runs its use cases)."""

    generation: int
    origin: str  # "trained" or "opened"
    spec: ModelSpec
    class_names: list[str]
    keras_model: Any
    history: list[dict[str, float]]
    runs: list[dict[str, Any]]  # one entry per training run: its config, epochs and outcome
    config: TrainConfig | None  # the latest run's settings
    outcome: str
    evaluation: dict[str, Any]
    # "root", "train" and "val" lists of [relpath, hash]; "phash" and "groups" (copies)
    files: dict[str, Any]
    optimizer_state: OptimizerState | None
    saved_path: str | None = None
    saved: bool = False
    warnings: list[str] = field(default_factory=list)
    #: Built on first use and kept with the model (:mod:`core.use.model_record`): its
    #: :class:`~core.use.classify.Classifier` and Grad-CAM :class:`~core.use.explain.Explainer`
    #: (objects of the stage above, so typed loosely here).
    classifier: Any = None
    explainer: Any = None
    devices: tuple[str, ...] = ()  # where its latest training run ran (not stored in files)
    calibration: Calibration = field(default_factory=Calibration)  # folded into its weights


@dataclass(frozen=True)
class TrainingSummary:
    """What one training run did, as plain data."""

    outcome: str  # "finished", "stopped" (by the user) or "early-stopped"
    epochs: int  # epochs of this run
    history: list[dict[str, float]]  # every epoch of the model, this run's last
    evaluation: dict[str, Any]
    warnings: list[str]
    threads: dict[str, int]
    precision: str = "float32"  # what the run computed in (see core.nets.precision)
    devices: tuple[str, ...] = ()  # where it ran (several: one replica each)
    #: Results on a split dataset's test images (core.data.layout), scored once after training.
    test: dict[str, Any] = field(default_factory=dict)
    #: The epoch (counted from 1 over the model's whole history) whose weights early stopping
    #: gave the model back at the end of the run, because its validation loss was the lowest;
    #: None when the model kept the weights it ended with (a stopped run, no early stopping).
    best_epoch: int | None = None
    #: How more photos would help: (training images, validation accuracy) of a fresh head
    #: fitted on 25, 50, 75 and 100 % of them (:mod:`core.learn.learning_curve`); empty unless
    #: the run trained a pretrained head alone.
    learning_curve: tuple[tuple[int, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **({"test": self.test} if self.test else {}),
            **(
                {"learning_curve": [list(p) for p in self.learning_curve]}
                if self.learning_curve
                else {}
            ),
            "outcome": self.outcome,
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "validation": self.evaluation,
            "warnings": self.warnings,
            "threads": self.threads,
            "precision": self.precision,
            "devices": list(self.devices),
        }


def learning_curve_of(runs: Sequence[dict[str, Any]]) -> tuple[tuple[int, float], ...]:
    """The learning curve the latest of ``runs`` recorded, as (images, accuracy) pairs; empty
    when it recorded none (another kind of run, or a file from before curves were kept)."""
    points = runs[-1].get("learning_curve") if runs else None
    return tuple((int(n), float(a)) for n, a in points or ())
