"""`cnn-studio train`: where the model goes (never over one without asking), and what a chosen
preset brings with it, in fresh processes run from a folder of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.images import InputSpec
from core.data.layout import dataset_name
from core.learn.advice import Advice, for_preset
from core.modelfile.bundle import read_bundle
from core.nets.presets import PRETRAINED_PRESET, PRETRAINED_SIZE
from core.session import Session
from tests.conftest import make_pattern_dataset

ROOT = Path(__file__).resolve().parents[1]


def cli(cwd: Path, *args: object) -> subprocess.CompletedProcess[str]:
    """``cnn-studio ARGS`` as a user types it in ``cwd`` (the project on PYTHONPATH)."""
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


QUICK = ("--epochs", "1", "--image-size", "16", "--batch-size", "16", "-q")


def test_a_split_datasets_part_is_named_after_its_parent(tmp_path):
    assert dataset_name(tmp_path / "masks" / "train") == "masks"
    assert dataset_name(tmp_path / "masks" / "Validation") == "masks"
    assert dataset_name(tmp_path / "masks") == "masks"
    assert dataset_name(tmp_path / "cats") == "cats"


@pytest.mark.slow
def test_default_names_are_the_datasets_and_never_replace_a_model(tmp_path):
    for name in ("shoes", "shirts"):
        make_pattern_dataset(tmp_path / name / "train", per_class=8, size=16)
    first = cli(tmp_path, "train", "shoes/train", *QUICK)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "shoes.cnnmodel").is_file()
    before = (tmp_path / "shoes.cnnmodel").read_bytes()
    other = cli(tmp_path, "train", "shirts/train", *QUICK)
    assert other.returncode == 0, other.stderr
    again = cli(tmp_path, "train", "shoes/train", *QUICK)
    assert again.returncode == 0, again.stderr
    assert "shoes-2.cnnmodel" in again.stdout
    assert (tmp_path / "shoes.cnnmodel").read_bytes() == before
    assert {p.name for p in tmp_path.glob("*.cnnmodel")} == {
        "shoes.cnnmodel",
        "shirts.cnnmodel",
        "shoes-2.cnnmodel",
    }

    # An explicit --out over a model: refused in one line, before any training, unless asked.
    refused = cli(tmp_path, "train", "shirts/train", "--out", "shoes.cnnmodel", *QUICK)
    assert refused.returncode == 2
    assert "--overwrite" in refused.stderr and "Traceback" not in refused.stderr
    assert (tmp_path / "shoes.cnnmodel").read_bytes() == before
    replaced = cli(
        tmp_path, "train", "shirts/train", "--out", "shoes.cnnmodel", "--overwrite", *QUICK
    )
    assert replaced.returncode == 0, replaced.stderr
    assert (tmp_path / "shoes.cnnmodel").read_bytes() != before
    assert read_bundle(tmp_path / "shoes.cnnmodel").files["root"].endswith("shirts/train")


def _small_colour_photos(root: Path, per_class: int = 6) -> Path:
    """32 px colour pictures: reddish and bluish noise."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(("red", "blue")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 120, (32, 32, 3)).astype(np.uint8)
            pixels[..., 0 if k == 0 else 2] += 120
            Image.fromarray(pixels, "RGB").save(root / name / f"{i}.png")
    return root


def test_a_chosen_preset_brings_its_own_input():
    small = Advice("article", InputSpec(28, color=True), 20, 64, 5, "small colour images")
    pretrained = for_preset(small, PRETRAINED_PRESET)
    assert pretrained.preset == PRETRAINED_PRESET
    assert pretrained.spec == InputSpec(PRETRAINED_SIZE, color=True, crop=True)
    photos = Advice(PRETRAINED_PRESET, InputSpec(224, True, True), 60, 32, 8, "photos")
    assert for_preset(photos, "article").spec.size == 28
    assert for_preset(photos, "article-pooled").spec.size == 224
    assert for_preset(small, "article") is small


def test_loading_for_a_preset_uses_its_input_unless_a_size_is_given(tmp_path):
    folder = _small_colour_photos(tmp_path / "photos")
    session = Session(use_cache=False)
    assert session.load_dataset(folder).spec.size == 28  # chosen for the article's CNN
    chosen = session.load_dataset(folder, preset=PRETRAINED_PRESET).spec
    assert chosen == InputSpec(PRETRAINED_SIZE, color=True, crop=True)
    assert session.load_dataset(folder, preset=PRETRAINED_PRESET, size=64).spec.size == 64


@pytest.mark.slow
def test_the_pretrained_preset_on_small_photos_trains_without_a_traceback(tmp_path):
    _small_colour_photos(tmp_path / "photos")
    result = cli(
        tmp_path, "train", "photos", "--preset", PRETRAINED_PRESET, "--epochs", "1", "--json"
    )
    assert result.returncode == 0, result.stderr
    model = read_bundle(tmp_path / json.loads(result.stdout)["model"])
    assert (model.preset, model.input.size, model.input.color) == (PRETRAINED_PRESET, 224, True)

    conflict = cli(tmp_path, "train", "photos", "--preset", PRETRAINED_PRESET, "--image-size", 16)
    assert conflict.returncode == 2
    lines = conflict.stderr.strip().splitlines()
    assert "Traceback" not in conflict.stderr and "tick" not in conflict.stderr
    assert "--image-size" in lines[-1] and "too small" in lines[-1]


def test_training_a_preset_the_input_does_not_suit_is_a_plain_error(tmp_path):
    from core.errors import CnnStudioError
    from core.learn.config import TrainConfig

    session = Session(use_cache=False)
    session.load_dataset(_small_colour_photos(tmp_path / "photos"), size=16)
    with pytest.raises(CnnStudioError, match="at least 32 px"):
        session.train(TrainConfig(epochs=1), PRETRAINED_PRESET)


def test_the_app_names_a_split_datasets_part_after_its_parent(tmp_path):
    folder = make_pattern_dataset(tmp_path / "masks" / "train", per_class=4, size=16)
    session = Session(use_cache=False)
    session.load_dataset(folder, size=16)
    assert session.state().dataset.name == "masks"  # what the Data tab and Save… show
