"""The session's read-only uses of the current model: scoring, classifying, evaluating,
explaining and looking inside.

:class:`ModelUses` is the base class of :class:`core.session.Session`, kept apart so that each
module stays readable; it holds no state of its own and reaches the session's model, dataset and
busy flag through the three methods :class:`~core.session.Session` overrides. Every method runs
on the thread that calls the session (the CLI's main thread, the GUI's worker thread).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.data import cache, scan
from core.data.dataset import LoadedDataset, load_dataset
from core.data.images import InputSpec
from core.learn.record import ModelRecord
from core.progress import CancelToken, ProgressCallback, no_progress
from core.use import looking, scoring
from core.use.model_record import classifier_of, explainer_of

if TYPE_CHECKING:
    from core.data.scan import DatasetIndex
    from core.use.classify import ClassifiedBatch
    from core.use.evaluate import Evaluation
    from core.use.heatmap import Explanation
    from core.use.network_views import NetworkView
    from core.use.predictions import Prediction


class ModelUses:
    """The use cases that read the current model (and the loaded dataset) without changing
    either: scoring, classifying, evaluating, explaining, looking inside. Part of
    :class:`Session` (its base class), apart from the state it owns; same threading rules."""

    _use_cache: bool

    def _require_model(self) -> ModelRecord:  # Session's
        raise NotImplementedError

    def _require_dataset(self) -> LoadedDataset:  # Session's
        raise NotImplementedError

    def _doing(self, activity: str) -> contextlib.AbstractContextManager[None]:  # Session's
        raise NotImplementedError

    def surprises(self, batch_size: int | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """How surprised the current model is by each loaded image's label, its loss, and
        what it answered: :func:`core.use.scoring.image_surprises` (a pretrained head's from
        cached features, else one pass of the network in batches, by default as many as fit
        in the classifier's budget; the engine thread in the GUI)."""
        model, data = self._require_model(), self._require_dataset()
        with self._doing("scoring"):
            return scoring.image_surprises(model, data, batch_size)

    def classify(
        self,
        targets: Iterable[Path | str],
        top_k: int | None = 3,
        cancel: CancelToken | None = None,
    ) -> tuple[list[Prediction], list[tuple[str, str]]]:
        """Classify image files and folders of them: (predictions, [(path, reason)]), all at
        once (the lists grow with the files; :meth:`iter_classify` streams them)."""
        from core.use.classify import gathered

        return gathered(self.iter_classify(targets, top_k, cancel))

    def iter_classify(
        self,
        targets: Iterable[Path | str],
        top_k: int | None = 3,
        cancel: CancelToken | None = None,
        progress: ProgressCallback = no_progress,
    ) -> Iterator[ClassifiedBatch]:
        """Classify image files and folders of them as a stream: a
        :class:`~core.use.classify.ClassifiedBatch` per batch as soon as it is done (first the
        entries the scan left out, if any), so memory does not grow with the files; ``progress``
        gets the share of files handled. Busy ("classifying") until the stream is used up or
        closed (``contextlib.closing`` when leaving early); consume it on the thread that runs
        TensorFlow. A cancelled run raises :class:`~core.errors.Cancelled`."""
        from core.use.classify import ClassifiedBatch

        classifier = classifier_of(self._require_model())
        with self._doing("classifying"):
            files, skipped = scan.image_files([Path(t) for t in targets])
            if skipped:
                yield ClassifiedBatch([], skipped)
            done = 0
            for step in classifier.iter_classify_paths(files, top_k, cancel=cancel):
                done += step.files
                progress(done / len(files), f"{done} of {len(files)} images")
                yield step

    def classify_frame(self, pixels: np.ndarray, top_k: int | None = 5) -> Prediction:
        """Classify one camera frame (uint8 RGB pixels, any size) with the current model,
        through the model's own preprocessing (the same function as for files: the centre
        square for photo models): the ranked answer. Does not mark the session busy: frames
        come many a second and each takes milliseconds."""
        return classifier_of(self._require_model()).classify(pixels, top_k)

    def evaluate_folder(
        self,
        folder: Path | str,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> Evaluation:
        """Score the current model on a labelled folder (its classes must be the model's).
        ``seen_in_training`` of the result counts the images the model was trained on (exact
        copies, and near copies where its file records their perceptual hashes), ``unseen``
        scores the others: the fair figure beside the whole one. A train/valid/test folder is
        scored on all its images (choose its test folder to score only those)."""
        model = self._require_model()
        classifier = classifier_of(model)
        with self._doing("evaluating"):
            data = decode_folder(folder, model.spec.input, progress, cancel, self._use_cache)
            return scoring.score_folder(classifier, model, data, folder)

    def explain(
        self,
        targets: Iterable[Path | str | np.ndarray],
        cancel: CancelToken | None = None,
        batch_size: int = 32,
    ) -> tuple[list[Explanation], list[tuple[str, str]]]:
        """Where the current model looked (Grad-CAM, :mod:`core.use.explain`) for its top answer
        on image files, folders of them, or pixel arrays (named ``<image N>``, N their place in
        ``targets``), decoded as classification decodes them: ``(explanations, [(path,
        reason)])`` for the files that could not be used. All at once (each explanation holds
        its image and map): :meth:`iter_explain` streams them."""
        model = self._require_model()
        explainer = explainer_of(model)
        with self._doing("explaining"):
            return looking.explain_targets(explainer, model, targets, cancel, batch_size)

    def iter_explain(
        self,
        targets: Iterable[Path | str | np.ndarray],
        cancel: CancelToken | None = None,
        batch_size: int = 32,
    ) -> Iterator[tuple[list[Explanation], list[tuple[str, str]]]]:
        """:meth:`explain` as a stream: ``(explanations, failures)`` for each batch as soon as
        it is explained (:func:`core.use.looking.iter_explain_targets`), so memory does not
        grow with the files. Busy ("explaining") until the stream is used up or closed."""
        model = self._require_model()
        explainer = explainer_of(model)
        with self._doing("explaining"):
            yield from looking.iter_explain_targets(explainer, model, targets, cancel, batch_size)

    def network_view(
        self, image: Path | str | np.ndarray, max_maps: int = 16, name: str | None = None
    ) -> NetworkView:
        """What each layer of the current model computes for one image (a file, or pixels,
        resized to the model's input as classification does): the feature maps, filters, units
        and probabilities of :mod:`core.use.network_view`; ``name`` names the image in the
        result (default: its path, or "the image")."""
        model = self._require_model()
        with self._doing("looking inside"):
            return looking.network_view_of(model, image, max_maps, name)

    def layer_table(self) -> str:
        """The current model's layers in plain words, as printable text."""
        from core.nets.models import describe_text

        return describe_text(self._require_model().keras_model)


def decode_folder(
    source: DatasetIndex | Path | str,
    spec: InputSpec,
    progress: ProgressCallback,
    cancel: CancelToken | None,
    use_cache: bool,
) -> LoadedDataset:
    """Scan (unless ``source`` is already scanned) and decode a folder, with the cache of
    decoded images unless ``use_cache`` is False."""
    dataset = load_dataset(
        source,
        spec,
        progress=progress,
        cancel=cancel,
        cache=cache.DatasetCache() if use_cache else None,
    )
    if cancel is not None:
        cancel.raise_if_cancelled()  # cancelled after the last chunk: still cancelled
    return dataset
