"""The Engine's model-file requests: save the current model, open a .cnnmodel file, export it
as a folder (checked in a fresh process), write its model card and reproduce.py.

A mixin of :class:`gui.engine_adapter.Engine` (its ``_session``, ``_submit`` and signals). The
methods are called on the GUI thread and return at once; the jobs run on the worker thread (they
read or write the model's weights), and their signals (``model_saved``, ``model_opened``,
``model_exported``, ``report_written``, or ``operation_failed``) reach the GUI thread.
"""

from __future__ import annotations

from pathlib import Path


class ModelFileRequests:
    """Saving, opening, exporting and reporting the model (a mixin of the Engine)."""

    def save_model(self, path: Path | str) -> None:
        """Save the current model (trained here or opened) to ``path``."""

        def job() -> None:
            self.model_saved.emit(str(self._session.save(path)))

        self._submit("saving", "Saving the model", job)

    def open_model(self, path: Path | str) -> None:
        """Open a .cnnmodel file as the current model."""

        def job() -> None:
            self.model_opened.emit(self._session.open(path))

        self._submit("opening", "Opening the model", job)

    def export_model(self, fmt: str, path: Path | str) -> None:
        """Export the current model as a folder (format ``fmt``) and check it by running the
        folder's classify.py in a fresh process; ``model_exported`` carries the check's report
        (its ``folder`` and its ``summary`` line among the keys)."""

        def job() -> None:
            self.model_exported.emit(self._session.export(fmt, path).to_dict())

        self._submit("exporting", "Exporting the model", job)

    def write_report(self, folder: Path | str) -> None:
        """Write the current model's card and reproduce.py into ``folder`` on the worker (it
        reads the model's weights); ``report_written`` carries the card's path."""

        def job() -> None:
            self.report_written.emit(str(self._session.write_report(folder).card))

        self._submit("reporting", "Writing the model report", job)
