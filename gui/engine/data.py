"""The Engine's dataset requests: load a folder or the demo, cancel loading, edit the folder on
disk and undo, score each image with the model, clear the cache.

A mixin of :class:`gui.engine_adapter.Engine` (its ``_session``, ``_submit``, ``_new_task``,
``_task_event`` and signals). The methods are called on the GUI thread and return at once; the
jobs run on the worker thread; a load's results reach the GUI thread as ``dataset_progress``
(with ``dataset_scanned`` once, as soon as the folder is scanned and before its images are
decoded) then ``dataset_loaded``, ``dataset_failed`` or ``dataset_cancelled``, all dropped if a
newer load replaced it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.data.images import InputSpec
from core.errors import Cancelled, CnnStudioError
from core.progress import CancelToken, ProgressCallback
from core.state import DatasetView, ScanPreview

#: What a load job runs: the session call, given its progress, cancel token and scan callback.
LoadRun = Callable[[ProgressCallback, CancelToken, Callable[[ScanPreview], None]], DatasetView]


class DatasetRequests:
    """Loading and changing the dataset (a mixin of :class:`gui.engine_adapter.Engine`)."""

    # --- datasets ---------------------------------------------------------------------------

    def load_dataset(self, folder: Path | str, spec: InputSpec | None = None) -> None:
        """Scan and decode ``folder`` (superseding any load in progress) at ``spec``, or at the
        input chosen for the data; emits progress and what the scan found, then loaded, failed
        or cancelled."""

        def run(
            progress: ProgressCallback, token: CancelToken, scanned: Callable[[ScanPreview], None]
        ) -> DatasetView:
            return self._session.load_dataset(folder, spec, progress, token, scanned=scanned)

        self._load(run)

    def load_demo(self, spec: InputSpec | None = None) -> None:
        """Load the built-in demo dataset, drawing it on the worker thread on first use."""

        def run(
            progress: ProgressCallback, token: CancelToken, scanned: Callable[[ScanPreview], None]
        ) -> DatasetView:
            return self._session.load_demo(spec, progress, token, scanned=scanned)

        self._load(run)

    def _load(self, run: LoadRun) -> None:
        task = self._new_task("loading")

        def job() -> None:
            # Both called on the worker thread; the task's events reach the GUI thread, where
            # those of a superseded load are dropped (TaskBook._on_task_event).
            def progress(fraction: float, message: str) -> None:
                self._task_event.emit(task, "progress", (fraction, message))

            def scanned(preview: ScanPreview) -> None:
                self._task_event.emit(task, "scanned", preview)

            try:
                task.token.raise_if_cancelled()  # cancelled while it waited in the queue
                view = run(progress, task.token, scanned)
            except Cancelled:
                self._task_event.emit(task, "load-cancelled", None)
                return
            except CnnStudioError as exc:
                self._task_event.emit(task, "load-failed", str(exc))
                return
            except Exception as exc:  # an engine bug: end the load visibly, then report it
                self._task_event.emit(task, "load-failed", f"{type(exc).__name__}: {exc}")
                raise
            self._task_event.emit(task, "loaded", view)

        self._submit("loading", "Loading the dataset", job)

    def cancel_loading(self) -> None:
        """Cancel the latest dataset load (GUI thread)."""
        task = self._tasks.get("loading")
        if task is not None:
            task.token.cancel()

    def clear_cache(self) -> None:
        """Empty the cache on the worker (so no load is writing to it meanwhile)."""

        def job() -> None:
            self.cache_cleared.emit(*self._session.clear_cache())

        self._submit("clearing", "Clearing the cache", job)

    # --- editing the dataset folder ---------------------------------------------------------

    def edit_dataset(self, operation: str, *args: object) -> None:
        """Change the loaded dataset's folder on disk (``operation`` and ``args`` as in
        :meth:`core.session.Session.edit`: move a file to another class, exclude it, create
        or rename a class, copy files in) on the worker, since it changes the session's
        dataset; the new state follows, then ``dataset_edited`` with what was done, or
        ``operation_failed`` with why nothing was (the disk unchanged)."""

        def job() -> None:
            self.dataset_edited.emit(self._session.edit(operation, *args).description)

        self._submit("editing", "Changing the dataset folder", job)

    def undo_edit(self) -> None:
        """Undo the latest change to the dataset's folder (on the worker); ``dataset_edited``
        says what undoing did, ``operation_failed`` why it could not."""

        def job() -> None:
            self.dataset_edited.emit(self._session.undo_edit().description)

        self._submit("editing", "Undoing the change to the dataset folder", job)

    def compute_losses(self) -> None:
        """Each loaded image's loss under the current model, and what the model answered for
        it (Session.surprises), on the worker. ``surprises_computed`` then ``losses_computed``
        carry (the dataset's generation, its paths, the answers or the losses) so a widget can
        tell whether they still belong to the dataset it shows; both arrive on the GUI thread,
        the answers first, so the losses' handler can already put them into words."""

        def job() -> None:
            losses, answers = self._session.surprises()
            view = self._session.state().dataset
            if view is not None:
                self.surprises_computed.emit(view.generation, view.paths, tuple(answers))
                self.losses_computed.emit(view.generation, view.paths, losses)

        self._submit("scoring", "Scoring each image with the model", job)
