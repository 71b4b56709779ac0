"""The session: one owner of the dataset and the model, the use cases both front ends call."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.images import InputSpec
from core.errors import Cancelled, CnnStudioError
from core.learn.config import TrainConfig
from core.progress import CancelToken, TrainingControl
from core.session import Session
from tests.conftest import make_dataset


@pytest.fixture
def session(pattern_dir):
    states = []
    s = Session(listener=states.append, use_cache=False)
    s.states = states
    s.load_dataset(pattern_dir, InputSpec(16))
    return s


def weights(session: Session) -> list[np.ndarray]:
    return [w.copy() for w in session._model.keras_model.get_weights()]


def test_state_is_published_before_and_after_each_use_case(session, pattern_dir):
    loading = [s.activity for s in session.states]
    assert loading == ["loading", None]
    view = session.states[-1].dataset
    assert view.class_names == ("blob", "horizontal", "vertical") and view.size == 72
    with pytest.raises(ValueError):
        view.images[0, 0, 0, 0] = 1  # frozen: no front end can change the session's data
    session.train(TrainConfig(epochs=1, batch_size=16), "article")
    state = session.state()
    assert [s.activity for s in session.states[-2:]] == ["training", None]
    assert state.model.origin == "trained" and state.unsaved and state.can_continue
    assert state.model.suggested_filename == f"{pattern_dir.name}.cnnmodel"


def test_continue_trains_the_current_model(session):
    """Regression: Continue in the app left every weight exactly as it was."""
    session.train(TrainConfig(epochs=1, batch_size=16, seed=3), "article")
    first = session.state().model
    before = weights(session)
    summary = session.continue_training(TrainConfig(epochs=3, batch_size=16, seed=3))
    after = weights(session)
    assert max(float(np.abs(a - b).max()) for a, b in zip(before, after, strict=True)) > 1e-3
    losses = [h["loss"] for h in summary.history]
    assert len(losses) == 4 and summary.epochs == 3
    assert losses[-1] < losses[0]  # the training loss falls over the continued epochs
    model = session.state().model
    assert model.generation != first.generation and not model.saved
    assert [run["epochs"] for run in session._model.runs] == [1, 3]


def test_a_cancelled_continuation_leaves_the_model_as_it_was(session):
    session.train(TrainConfig(epochs=1, batch_size=16), "article")
    model = session.state().model
    before = weights(session)
    control = TrainingControl()
    control.cancel()
    with pytest.raises(Cancelled):
        session.continue_training(TrainConfig(epochs=2, batch_size=16), control=control)
    assert session.state().model.generation == model.generation
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(session), strict=True))


def test_continuing_needs_the_models_classes(session, tmp_path):
    session.train(TrainConfig(epochs=1, batch_size=16), "article")
    session.load_dataset(make_dataset(tmp_path / "other", {"a": 5, "b": 5}), InputSpec(16))
    assert not session.state().can_continue
    with pytest.raises(CnnStudioError, match="differ from the loaded dataset"):
        session.continue_training(TrainConfig(epochs=1))


def test_an_opened_model_can_be_saved_again_and_continued(session, saved_model, tmp_path):
    """Regression: Save stayed enabled after opening a model, then failed."""
    view = session.open(saved_model)
    assert view.origin == "opened" and view.saved and view.saved_path == str(saved_model)
    assert view.suggested_filename == saved_model.name
    assert session.state().can_save and not session.state().unsaved
    copy = session.save(tmp_path / "copy.cnnmodel")
    assert copy.exists() and session.state().model.saved_path == str(copy)
    summary = session.continue_training(TrainConfig(epochs=1, batch_size=16))
    assert len(summary.history) == view.epochs + 1
    assert session.state().unsaved


def test_a_cancelled_load_keeps_the_previous_dataset(session, tmp_path):
    shown = session.state().dataset
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        session.load_dataset(
            make_dataset(tmp_path / "new", {"a": 3, "b": 3}), InputSpec(16), cancel=token
        )
    assert session.state().dataset is shown


def test_a_load_tells_what_its_scan_found_before_any_image_is_decoded(
    session, tmp_path, monkeypatch
):
    """Issue 26: the classes, their files and the counts' warnings reach the front end as
    soon as the folder is scanned, not after every image is decoded."""
    import core.model_uses

    events: list[object] = []
    decode = core.model_uses.load_dataset

    def decoding(*args, **kwargs):
        events.append("decode")
        return decode(*args, **kwargs)

    monkeypatch.setattr(core.model_uses, "load_dataset", decoding)
    root = make_dataset(tmp_path / "new", {"a": 3, "b": 1})
    (root / "stray.png").write_bytes(b"not in a class folder")
    view = session.load_dataset(root, InputSpec(16), scanned=events.append)
    preview = events[0]
    assert events[1:] == ["decode"]  # called once, before decoding
    assert preview.root == str(root.resolve()) and preview.name == "new"
    assert preview.class_names == ("a", "b") and preview.counts == (3, 1)
    assert preview.files == 4 and preview.skipped == 1 and preview.parts == ()
    assert preview.problems == () and any("only 1 image" in w for w in preview.warnings)
    assert session.state().dataset is view and view.class_names == preview.class_names


def test_a_load_cancelled_after_its_scan_keeps_the_previous_dataset(session, tmp_path):
    shown = session.state().dataset
    token = CancelToken()
    previews = []

    def scanned(preview) -> None:
        previews.append(preview)
        assert session.state().dataset is shown  # not changed while the images are read
        token.cancel()  # Cancel pressed while the preview is on show

    root = make_dataset(tmp_path / "new", {"a": 3, "b": 3})
    with pytest.raises(Cancelled):
        session.load_dataset(root, InputSpec(16), cancel=token, scanned=scanned)
    assert [p.class_names for p in previews] == [("a", "b")]
    assert session.state().dataset is shown
    assert tuple(session.dataset.class_names) == shown.class_names
