"""The Engine's requests that use the model: evaluate it on a labelled folder, look inside the
network, classify files, and explain (Grad-CAM: where the model looked).

A mixin of :class:`gui.engine_adapter.Engine` (its ``_session``, ``_submit``, ``_new_task``,
``_tasks``, ``_classifying``, ``_task_event`` and signals). The methods are called on the GUI
thread and return at once; the jobs run on the worker thread, and their results travel with
their task, so the GUI thread drops those of a task replaced or cancelled meanwhile
(:mod:`gui.engine.tasks`). Evaluations and network views supersede the previous one,
explanations the previous one of the same requester; classifications queue behind each other.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from core.errors import Cancelled, CnnStudioError
from core.names import readable
from core.use.heatmap import Explanation
from gui.engine.tasks import Task

#: Size in pixels of the previews sent with classification results.
THUMBNAIL_SIZE = 96


class UseRequests:
    """Evaluating, looking inside, classifying, explaining (a mixin of the Engine)."""

    # --- evaluation -------------------------------------------------------------------------

    def evaluate_folder(self, folder: Path | str) -> None:
        """Score the current model on a labelled folder (superseding an evaluation in
        progress): ``evaluation_progress`` while its images are read, then
        ``folder_evaluated``, ``evaluation_failed`` or ``evaluation_cancelled``."""
        task = self._new_task("evaluating")

        def job() -> None:
            def progress(fraction: float, message: str) -> None:
                self._task_event.emit(task, "eval-progress", (fraction, message))

            try:
                task.token.raise_if_cancelled()  # cancelled while it waited in the queue
                evaluation = self._session.evaluate_folder(folder, progress, task.token)
                model = self._session.state().model
            except Cancelled:
                self._task_event.emit(task, "eval-cancelled", None)
                return
            except CnnStudioError as exc:
                self._task_event.emit(task, "eval-failed", str(exc))
                return
            except Exception as exc:  # an engine bug: end the evaluation visibly, then report
                self._task_event.emit(task, "eval-failed", f"{type(exc).__name__}: {exc}")
                raise
            result = {
                **evaluation.to_dict(with_mistakes=True),
                "folder": str(folder),
                "images": sum(map(sum, evaluation.confusion)),
                "seen_in_training": evaluation.seen_in_training,
                "unseen": evaluation.unseen,
                "model": model.display_name if model is not None else "",
            }
            self._task_event.emit(task, "evaluated", result)

        self._submit("evaluating", "Evaluating the model", job)

    def cancel_evaluating(self) -> None:
        """Cancel the latest evaluation of a folder (GUI thread); its result is dropped."""
        task = self._tasks.get("evaluating")
        if task is not None:
            task.token.cancel()

    # --- inside the network -----------------------------------------------------------------

    def view_network(
        self, image: str | np.ndarray, name: str | None = None, max_maps: int = 16
    ) -> None:
        """Compute what each layer of the current model makes of one image (a file path, or
        pixels from the loaded dataset) on the worker, superseding the previous request:
        ``network_viewed`` carries a :class:`core.use.network_views.NetworkView`, or
        ``network_view_failed`` says why not (a bad file, no model)."""
        task = self._new_task("looking inside")

        def job() -> None:
            if task.stale:
                return
            try:
                view = self._session.network_view(image, max_maps, name)
            except CnnStudioError as exc:
                self._task_event.emit(task, "network-failed", str(exc))
                return
            except Exception as exc:  # an engine bug: say so in the tab, then report it
                self._task_event.emit(task, "network-failed", f"{type(exc).__name__}: {exc}")
                raise
            self._task_event.emit(task, "network-viewed", view)

        self._submit("looking inside", "Looking inside the network", job)

    # --- classification ---------------------------------------------------------------------

    def classify(self, paths: list[str], top_k: int = 3) -> None:
        """Classify files and folders (expanded off the GUI thread) with the current model,
        as a stream: ``classified`` carries each batch's rows as soon as it is done (with its
        previews, made on the worker) and ``classify_progress`` how far the request got, so a
        folder of thousands of photos fills the table as it goes and memory holds one batch.

        Queues behind earlier classifications (and any training in progress, since the engine
        has one thread); :meth:`cancel_classifying` drops them all, and what they still send.
        """
        task = Task("classifying")
        self._classifying.add(task)

        def job() -> None:
            from core.data.images import thumbnail

            def progress(fraction: float, message: str) -> None:
                self._task_event.emit(task, "classify-progress", (fraction, message))

            try:
                task.token.raise_if_cancelled()
                steps = self._session.iter_classify(paths, top_k, task.token, progress)
                with contextlib.closing(steps):
                    for step in steps:
                        # Previews are decoded here too: on the GUI thread a phone photo took
                        # ~12 ms.
                        rows = []
                        for p in step.predictions:
                            task.token.raise_if_cancelled()
                            preview = thumbnail(p.path, THUMBNAIL_SIZE)
                            rows.append({**p.to_dict(), "thumbnail": preview})
                        self._task_event.emit(task, "classified", (rows, step.failures))
            except Cancelled:
                return
            finally:
                self._task_event.emit(task, "done", None)

        self._submit("classifying", "Classifying", job)

    def cancel_classifying(self) -> None:
        """Cancel every classification not yet finished; their results are dropped."""
        for task in self._classifying:
            task.supersede()
        self._classifying.clear()

    # --- explanations -----------------------------------------------------------------------

    def explain(self, paths: list[str], requester: str) -> None:
        """Find where the current model looked (Grad-CAM) on image files, for ``requester``
        (a name: "classify", "results"); a new request of the same requester supersedes the
        one before, whose result is dropped. Emits ``explained(requester, rows, failures)``
        with :func:`explanation_row` dicts, or ``explanation_failed(requester, message)``."""
        task = self._new_task(f"explaining:{requester}")

        def job() -> None:
            try:
                task.token.raise_if_cancelled()  # superseded while it waited in the queue
                explanations, failures = self._session.explain(paths, task.token)
            except Cancelled:
                return
            except CnnStudioError as exc:
                self._task_event.emit(task, "explain-failed", (requester, readable(str(exc))))
                return
            rows = [explanation_row(e) for e in explanations]
            self._task_event.emit(task, "explained", (requester, rows, failures))

        self._submit("explaining", "Finding where the model looked", job)

    def cancel_explaining(self, requester: str) -> None:
        """Cancel ``requester``'s explanation request, if any (GUI thread); its result is
        dropped."""
        task = self._tasks.pop(f"explaining:{requester}", None)
        if task is not None:
            task.supersede()


def explanation_row(explanation: Explanation) -> dict[str, object]:
    """One explanation as plain data for the GUI: ``path``, ``label`` and ``probability`` (the
    top answer the map explains), ``heatmap`` (float32 rows x columns, 0..1), ``peak`` (row,
    column) and ``image`` (uint8, the image as the model saw it)."""
    return {
        "path": explanation.path,
        "label": explanation.label,
        "probability": float(explanation.probability),
        "heatmap": explanation.heatmap,
        "peak": tuple(explanation.peak),
        "image": explanation.image,
    }
