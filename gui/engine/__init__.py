"""The parts of :class:`gui.engine_adapter.Engine`, the GUI's one door to the engine.

:mod:`~gui.engine.tasks` holds the single worker thread and the task bookkeeping (superseded
tasks cancelled, their results dropped, the state published once per burst of changes). The
requests, one module per use case, are mixins that :class:`~gui.engine_adapter.Engine` composes:
:mod:`~gui.engine.data` (loading and editing the dataset), :mod:`~gui.engine.training`,
:mod:`~gui.engine.model_files` (save, open, export, report), :mod:`~gui.engine.use`
(evaluate, look inside, classify, explain) and :mod:`~gui.engine.live` (camera frames:
classified with frames dropped, never queued; captured pictures filed into a class). Their
public methods are called on the GUI thread and return at once; the jobs they queue run on the
worker thread and reach the GUI through the Engine's signals.

Only :mod:`gui.engine_adapter` creates the session (and imports the runtime); these modules use
it through the Engine they are mixed into (``self._session``), so importing them pulls in no
TensorFlow. Widgets import :mod:`gui.engine_adapter`, never these modules.
"""
