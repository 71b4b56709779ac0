"""*Most surprising first* in words: what the model answered for each image reaches the GUI with
its loss (Session.surprises, the engine's surprises_computed), so a tooltip can say "The model
thinks this is 'horizontal' (97%), not 'vertical' (1%)" (core.plain.surprise_in_words)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from core.plain import surprise_in_words
from core.session import Session

WRONG = "vertical/horizontal_000.png"


@pytest.fixture(scope="module")
def mislabelled(trained_session, saved_model, tmp_path_factory) -> Session:
    """The pattern pictures with one horizontal image filed under 'vertical', and the model."""
    copy = tmp_path_factory.mktemp("surprises") / "patterns"
    shutil.copytree(trained_session.dataset.root, copy)
    (copy / "horizontal/horizontal_000.png").rename(copy / WRONG)
    session = Session(use_cache=False)
    session.load_dataset(copy, trained_session.dataset.spec)
    session.open(saved_model)
    return session


@pytest.mark.slow
def test_each_image_comes_with_what_the_model_answered(mislabelled: Session) -> None:
    losses, answers = mislabelled.surprises()
    data = mislabelled.dataset
    assert len(answers) == len(data) == len(losses)
    for i, answer in enumerate(answers):
        assert answer["true_label"] == data.class_names[data.labels[i]]
        # The loss is -ln of the probability of the label, the answer the likeliest class.
        assert answer["loss"] == pytest.approx(-math.log(answer["true_probability"]), abs=1e-4)
        assert answer["predicted_probability"] >= answer["true_probability"] - 1e-6
    wrong = answers[data.paths.index(WRONG)]
    assert wrong["predicted_label"] == "horizontal" and wrong["true_label"] == "vertical"
    said = surprise_in_words(**wrong)
    assert said.startswith("The model thinks this is 'horizontal' (")
    assert "), not 'vertical' (" in said and "(surprise: loss " in said


@pytest.mark.slow
def test_the_engine_sends_the_answers_just_before_the_losses(
    qtbot, mislabelled: Session, saved_model: Path
) -> None:
    from gui.engine_adapter import Engine

    engine = Engine()
    try:
        with qtbot.waitSignal(engine.dataset_loaded, timeout=60_000):
            engine.load_dataset(mislabelled.dataset.root, mislabelled.dataset.spec)
        with qtbot.waitSignal(engine.model_opened, timeout=60_000):
            engine.open_model(saved_model)
        seen: list[tuple[str, int, object, object]] = []
        engine.surprises_computed.connect(lambda g, p, a: seen.append(("answers", g, p, a)))
        engine.losses_computed.connect(lambda g, p, v: seen.append(("losses", g, p, v)))
        with qtbot.waitSignal(engine.losses_computed, timeout=60_000):
            engine.compute_losses()
        assert [kind for kind, *_ in seen] == ["answers", "losses"]
        (_, generation, paths, answers), (_, same, same_paths, losses) = seen
        assert generation == same == engine.state.dataset.generation
        assert paths == same_paths and len(answers) == len(paths) == len(losses)
        assert isinstance(answers, tuple) and isinstance(answers[0], dict)
        wrong = answers[list(paths).index(WRONG)]
        assert wrong["predicted_label"] == "horizontal"
        assert wrong["loss"] == pytest.approx(float(losses[list(paths).index(WRONG)]), abs=1e-6)
    finally:
        engine.shutdown()
