"""A model put to use: opening a ``.cnnmodel`` file into the record the session keeps, and the
classifier and Grad-CAM explainer built on first use and kept on that record.

Rebuilding the network from a file needs Keras, so call these on the thread that runs
TensorFlow (the engine's worker thread in the GUI); importing the module imports no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.learn.calibration import Calibration
from core.learn.config import TrainConfig
from core.learn.record import ModelRecord
from core.modelfile.bundle import read_bundle

if TYPE_CHECKING:
    from core.use.classify import Classifier
    from core.use.explain import Explainer


def open_record(path: Path | str, new_generation: Callable[[], int]) -> ModelRecord:
    """Read the model file at ``path`` (checked against its schema) and rebuild its network:
    its record, numbered by ``new_generation`` and saved under ``path``. Raises
    :class:`~core.errors.ModelFileError` when the file is bad."""
    from core.use.classify import model_from_bundle, optimizer_state_of, spec_of

    bundle = read_bundle(path)
    keras_model = model_from_bundle(bundle)
    training = bundle.training  # checked on load (core.modelfile.schema)
    config = TrainConfig.from_dict(training.get("config") or {})
    history = training.get("history", [])
    runs = training.get("runs") or [{"config": training.get("config"), "epochs": len(history)}]
    return ModelRecord(
        generation=new_generation(),
        origin="opened",
        spec=spec_of(bundle),
        class_names=list(bundle.class_names),
        keras_model=keras_model,
        history=history,
        runs=runs,
        config=config,
        outcome=str(training.get("outcome", "finished")),
        evaluation=dict(bundle.metrics),
        files=dict(bundle.files),
        optimizer_state=optimizer_state_of(bundle),
        saved_path=str(Path(path)),
        saved=True,
        calibration=Calibration.from_dict(bundle.calibration),
    )


def classifier_of(model: ModelRecord) -> Classifier:
    """``model``'s classifier, built (and traced) on first use and kept on its record."""
    from core.use.classify import Classifier

    if model.classifier is None:
        model.classifier = Classifier(model.keras_model, model.class_names, model.spec.input)
    return model.classifier


def explainer_of(model: ModelRecord) -> Explainer:
    """``model``'s Grad-CAM explainer, built on first use and kept on its record."""
    from core.use.explain import Explainer

    if model.explainer is None:
        model.explainer = Explainer(model.keras_model)
    return model.explainer
