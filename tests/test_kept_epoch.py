"""Which epoch's weights a run kept: early stopping gives the model back its best epoch's
weights when a run ends, so the run's summary, the model file and the command line say which
epoch that was (the last epoch's figures are not the model's). Real Keras, small data."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.errors import ModelFileError
from core.learn.config import TrainConfig
from core.modelfile.schema import check_meta
from core.plain import kept_epoch_in_words
from tests.test_bundle import members_of

#: On the pattern dataset (16 px) these settings learn everything within a few epochs, then the
#: validation loss wobbles: early stopping ends the run a few epochs after its best one.
WOBBLING = {"epochs": 60, "batch_size": 16, "patience": 1, "seed": 2}


def cli_args(folder: Path, out: Path) -> list[str]:
    args = ["train", str(folder), "--out", str(out), "--image-size", "16"]
    for key, value in WOBBLING.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


@pytest.fixture(scope="module")
def trained_json(pattern_dir, tmp_path_factory) -> tuple[dict[str, Any], Path]:
    """``cnn-studio train --json`` (in this process) on the pattern dataset: its report and
    the model file."""
    from core.cli.main import main

    out = tmp_path_factory.mktemp("kept") / "patterns.cnnmodel"
    capture = pytest.MonkeyPatch()
    lines: list[str] = []
    capture.setattr("core.cli.train.out", lambda text="": lines.append(str(text)))
    try:
        assert main([*cli_args(pattern_dir, out), "--json"]) == 0
    finally:
        capture.undo()
    return json.loads("\n".join(lines)), out


@pytest.mark.slow
def test_the_weights_kept_are_those_of_the_epoch_named(pattern_dataset):
    """The epoch the result names is the one whose weights the model holds: its validation
    loss, measured again on the returned model, is that epoch's, not the last one's."""
    from core.learn.training import Trainer

    result = Trainer(pattern_dataset, TrainConfig(**WOBBLING)).run()
    best = result.best_epoch
    assert result.outcome == "early-stopped"
    assert best is not None and 1 <= best < len(result.history)
    index = {path: row for row, path in enumerate(pattern_dataset.paths)}
    rows = np.array([index[path] for path in result.val_paths])
    probabilities = result.model.predict(pattern_dataset.images[rows], verbose=0)
    n = probabilities.shape[1]
    target = np.eye(n)[pattern_dataset.labels[rows]] * (1 - 0.1) + 0.1 / n  # label smoothing
    loss = float(-(target * np.log(np.clip(probabilities, 1e-7, 1))).sum(axis=1).mean())
    history = [epoch["val_loss"] for epoch in result.history]
    assert loss == pytest.approx(history[best - 1], rel=1e-3)
    assert min(history[best:]) > history[best - 1]  # the later epochs did no better
    assert loss != pytest.approx(history[-1], rel=1e-3)


@pytest.mark.slow
def test_the_command_line_names_the_kept_epoch_in_json_and_words(
    trained_json, pattern_dir, tmp_path, capsys
):
    from core.cli.main import main

    report, model = trained_json
    best, epochs = report["best_epoch"], len(report["history"])
    assert report["outcome"] == "early-stopped" and 1 <= best < epochs
    # The model file records it with the run, so an opened model says it too.
    meta = json.loads(members_of(model)["meta.json"])
    assert meta["training"]["runs"][-1]["best_epoch"] == best
    # The same run again, in words: the summary line names the epoch before the figure.
    assert main(cli_args(pattern_dir, tmp_path / "again.cnnmodel")) == 0
    saved = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Saved ")]
    assert len(saved) == 1
    accuracy = report["validation"]["accuracy"]
    expected = (
        f"(stopped early after {epochs} epochs; kept the weights of epoch {best} of {epochs}, "
        f"the best on the validation images: validation accuracy {accuracy:.2%}, "
    )
    assert expected in saved[0]


@pytest.mark.slow
def test_an_opened_model_knows_its_kept_epoch(trained_json):
    from core.session import Session

    report, model = trained_json
    assert Session(use_cache=False).open(model).best_epoch == report["best_epoch"]


@pytest.mark.slow
def test_the_model_file_checks_the_kept_epoch_and_files_without_it_still_open(trained_json):
    _, model = trained_json
    meta = json.loads(members_of(model)["meta.json"])
    epochs = len(meta["training"]["history"])
    for bad in (0, epochs + 1, "3", True, 2.0):
        crafted = copy.deepcopy(meta)
        crafted["training"]["runs"][-1]["best_epoch"] = bad
        with pytest.raises(ModelFileError, match=re.escape("training.runs[0].best_epoch")):
            check_meta(crafted)
    older = copy.deepcopy(meta)  # as written before the kept epoch was recorded
    del older["training"]["runs"][-1]["best_epoch"]
    assert check_meta(older) == older


def test_the_words_name_the_kept_epoch_only_when_it_is_not_the_last():
    history = [{"loss": 1.0, "val_loss": 1.0}] * 5
    assert kept_epoch_in_words(3, history) == (
        "kept the weights of epoch 3 of 5, the best on the validation images"
    )
    assert kept_epoch_in_words(5, history) is None
    assert kept_epoch_in_words(None, history) is None
    assert "training images" in kept_epoch_in_words(2, [{"loss": 1.0}] * 4)
