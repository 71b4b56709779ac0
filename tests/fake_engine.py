"""A stand-in for gui.engine_adapter.Engine: the real signals and method signatures, no engine.

Methods come from ``unittest.mock.create_autospec(Engine)``, so a call with the wrong
arguments, or to a method the real adapter does not have, fails the test. Tests drive the
widgets by emitting the real signals, and set the session state with :meth:`set_state`.
"""

from __future__ import annotations

import dataclasses
from unittest import mock

from PySide6.QtCore import QObject

from core.data.dataset import LoadedDataset
from core.data.images import InputSpec
from core.state import DatasetView, ModelView, SessionState, frozen_mapping, next_generation
from gui.engine_adapter import Engine


class FakeEngine(QObject):
    # Reuse the real class's signal objects so the two can never drift apart.
    locals().update(
        {name: value for name, value in vars(Engine).items() if type(value).__name__ == "Signal"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.mock = mock.create_autospec(Engine, instance=True)
        self._state = SessionState()

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("mock",):
            raise AttributeError(name)
        return getattr(self.mock, name)

    @property
    def state(self) -> SessionState:
        return self._state

    def set_state(self, **changes) -> SessionState:
        """Change the session state and emit ``state_changed`` as the real adapter does."""
        self._state = dataclasses.replace(self._state, **changes)
        self.state_changed.emit(self._state)
        return self._state

    def load(self, dataset: LoadedDataset) -> DatasetView:
        """Make ``dataset`` the session's dataset, as a finished load would."""
        view = DatasetView.of(dataset)
        self.set_state(dataset=view, activity=None, queued=())
        self.dataset_loaded.emit(view)
        return view

    def called(self, name: str) -> list[tuple]:
        """The calls of method ``name``, each as (name, *positional args)."""
        return [(name, *c.args) for c in self.mock.method_calls if c[0] == name]


def model_view(
    class_names: list[str],
    spec: InputSpec | None = None,
    *,
    source_root: str | None = None,
    saved_path: str | None = None,
    origin: str = "trained",
    evaluation: dict | None = None,
    history: list[dict] | None = None,
    config: dict | None = None,
    best_epoch: int | None = None,
) -> ModelView:
    """A plain model view, as the session would publish it."""
    return ModelView(
        generation=next_generation(),
        origin=origin,
        preset="article",
        augment=False,
        spec=spec or InputSpec(16),
        class_names=tuple(class_names),
        history=tuple(frozen_mapping(h) for h in history or []),
        evaluation=frozen_mapping(evaluation),
        source_root=source_root,
        saved_path=saved_path,
        saved=saved_path is not None,
        outcome="finished",
        config=frozen_mapping(config) if config is not None else None,
        best_epoch=best_epoch,
    )
