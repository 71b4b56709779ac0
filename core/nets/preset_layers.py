"""The layers a preset's network would have, in plain words, before anything is trained: what
the train tab and ``cnn-studio train`` show for the chosen preset.

Builds the network in Keras, so call it on the thread that runs TensorFlow (the engine's worker
thread in the GUI); importing this module imports no TensorFlow.
"""

from __future__ import annotations

from core.data.dataset import LoadedDataset
from core.data.images import InputSpec


def describe_preset(
    preset: str,
    augment: bool,
    spec: InputSpec | None = None,
    classes: int = 0,
    data: LoadedDataset | None = None,
) -> tuple[list[dict[str, object]], int]:
    """The layers of ``preset`` (with ``augment``) for ``spec`` and ``classes``, by default
    those of ``data`` (else the default input and two classes): (rows of
    :func:`core.nets.models.describe`, total parameters)."""
    from core.nets.models import ModelSpec, build_model, describe

    spec = spec or (data.spec if data is not None else InputSpec())
    classes = classes or (len(data.class_names) if data is not None else 2)
    model = build_model(ModelSpec(preset, spec, max(classes, 2), augment))
    return describe(model), int(model.count_params())
