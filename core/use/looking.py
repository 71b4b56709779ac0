"""Looking at what a model does with given images: where it looked for its answer (Grad-CAM,
:mod:`core.use.explain`) on files, folders and pixel arrays, in batches, and what each layer
computes for one image (:mod:`core.use.network_view`).

Images are decoded as classification decodes them (:func:`core.data.images.to_model_input`).
Both run the network: call them on the thread that runs TensorFlow (the engine's worker thread
in the GUI); importing the module imports no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data.images import to_model_input
from core.data.scan import image_files
from core.errors import CnnStudioError, ImageError
from core.learn.record import ModelRecord
from core.progress import CancelToken
from core.use.heatmap import Explanation, peak
from core.use.network_views import NetworkView

if TYPE_CHECKING:
    from core.use.explain import Explainer


def explain_targets(
    explainer: Explainer,
    model: ModelRecord,
    targets: Iterable[Path | str | np.ndarray],
    cancel: CancelToken | None = None,
    batch_size: int = 32,
) -> tuple[list[Explanation], list[tuple[str, str]]]:
    """Grad-CAM maps by ``explainer`` (``model``'s) for its top answer on each image file,
    folder of them or pixel array in ``targets`` (an array named ``<image N>``, N its place
    in ``targets``), ``batch_size`` at a time: ``(explanations, [(path, reason)])`` for the
    files that could not be used. All at once: :func:`iter_explain_targets` streams them."""
    explanations: list[Explanation] = []
    failures: list[tuple[str, str]] = []
    for done, failed in iter_explain_targets(explainer, model, targets, cancel, batch_size):
        explanations += done
        failures += failed
    return explanations, failures


def iter_explain_targets(
    explainer: Explainer,
    model: ModelRecord,
    targets: Iterable[Path | str | np.ndarray],
    cancel: CancelToken | None = None,
    batch_size: int = 32,
) -> Iterator[tuple[list[Explanation], list[tuple[str, str]]]]:
    """:func:`explain_targets` as a stream: ``(explanations, failures)`` for each batch of
    ``batch_size`` images as soon as it is explained (failures since the previous step), so
    only one batch of images and maps is held, however many files the folders hold."""
    class_names, spec = model.class_names, model.spec.input
    failures: list[tuple[str, str]] = []
    pending: list[tuple[str, np.ndarray]] = []

    def explained() -> list[Explanation]:
        if not pending:
            return []
        maps, probs, chosen = explainer.explain(np.stack([p for _, p in pending]))
        return [
            Explanation(name, class_names[int(k)], float(row[k]), heat, peak(heat), pixels)
            for (name, pixels), heat, row, k in zip(pending, maps, probs, chosen, strict=True)
        ]

    for n, target in enumerate(targets):
        if isinstance(target, np.ndarray):
            sources: list[Path | np.ndarray] = [target]
        else:
            files, skipped = image_files([Path(target)])
            failures.extend(skipped)
            sources = list(files)
        for source in sources:
            if cancel is not None:
                cancel.raise_if_cancelled()
            name = f"<image {n}>" if isinstance(source, np.ndarray) else str(source)
            try:
                pending.append((name, to_model_input(source, spec)))
            except ImageError as exc:
                failures.append((name, exc.reason))
            if len(pending) >= batch_size:
                yield explained(), failures
                pending, failures = [], []
    if pending or failures:
        yield explained(), failures


def network_view_of(
    model: ModelRecord, image: Path | str | np.ndarray, max_maps: int, name: str | None
) -> NetworkView:
    """What each layer of ``model`` computes for ``image`` (a file, or pixels), resized to
    its input as classification does, with at most ``max_maps`` maps a layer; ``name`` names
    the image (default: its path, or "the image"). Raises :class:`CnnStudioError` naming the
    image when it cannot be read."""
    from core.use.network_view import network_view

    source = name or (str(image) if not isinstance(image, np.ndarray) else "the image")
    try:
        pixels = to_model_input(image, model.spec.input)
    except ImageError as exc:
        raise CnnStudioError(f"{source}: {exc.reason}") from None
    return network_view(
        model.keras_model, pixels, source, max_maps, model.class_names, model.generation
    )
