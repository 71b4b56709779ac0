"""The pretrained photos preset, the settings chosen for the data, and the chance warning."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.data.images import InputSpec
from core.data.scan import scan_folder
from core.learn.advice import advise, measure
from core.learn.config import TrainConfig
from core.learn.features import FeatureCache
from core.session import Session
from core.use.evaluate import chance_warning


def colour_photos(root, per_class: int = 12, size: tuple[int, int] = (160, 120)):
    """Three classes of colour 'photos': red, green or blue blobs on noise."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(("red", "green", "blue")):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, (size[1], size[0], 3)).astype(np.uint8)
            y, x = rng.integers(10, size[1] - 50), rng.integers(10, size[0] - 50)
            pixels[y : y + 40, x : x + 40, k] = 240
            Image.fromarray(pixels, "RGB").save(folder / f"{name}_{i:02d}.jpg", quality=90)
    return root


@pytest.mark.parametrize("preset", ["photos", "photos-pretrained"])
def test_the_pretrained_preset_trains_and_classifies_offline(tmp_path, preset):
    """Runs with sockets disabled (as every test): the weights come from the shipped file."""
    from core.assets import asset_path
    from core.nets.presets import BACKBONE_ASSETS

    assert asset_path(BACKBONE_ASSETS[preset]) is not None
    root = colour_photos(tmp_path / "photos")
    session = Session(use_cache=False)
    session.load_dataset(root, InputSpec(64, color=True))
    summary = session.train(TrainConfig(epochs=30, batch_size=8, patience=10, seed=0), preset)
    assert summary.evaluation["accuracy"] >= 0.6  # chance is 1/3
    model = session.state().model
    assert model.preset == preset and model.spec == InputSpec(64, color=True)
    assert model.config["label_smoothing"] == 0.0  # the head's own, recorded as used
    path = session.save(tmp_path / "photos.cnnmodel")
    reopened = Session(use_cache=False)
    reopened.open(path)
    photo = next((root / "red").glob("*.jpg"))
    predictions, failures = reopened.classify([photo], top_k=3)
    original, _ = session.classify([photo], top_k=3)
    assert not failures
    reloaded = predictions[0].labels  # (class, probability) pairs, best first
    assert [name for name, _ in reloaded] == [name for name, _ in original[0].labels]
    assert [p for _, p in reloaded] == pytest.approx([p for _, p in original[0].labels])


@pytest.mark.parametrize("preset", ["photos", "photos-pretrained"])
def test_shipped_backbone_weights_are_loaded_not_random(preset):
    from core.data.images import InputSpec as Spec
    from core.nets.models import ModelSpec, build_model

    spec = ModelSpec(preset, Spec(64, color=True), 3)
    shipped = build_model(spec, pretrained=True).get_layer("backbone").get_weights()
    bare = build_model(spec).get_layer("backbone").get_weights()
    assert len(shipped) == len(bare) > 100
    assert not np.allclose(shipped[0], bare[0])
    again = build_model(spec, pretrained=True).get_layer("backbone").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(shipped, again, strict=True))


def test_automatic_choice_for_small_grayscale_and_large_colour(tmp_path, pattern_dir):
    small = advise(measure(scan_folder(pattern_dir)))
    assert small.preset == "article" and small.spec == InputSpec(20, color=False)
    assert "grayscale" in small.reason
    photos = advise(measure(scan_folder(colour_photos(tmp_path / "p", per_class=3))))
    assert photos.preset == "photos"  # EfficientNet-Lite0
    assert photos.spec == InputSpec(224, color=True, crop=True)  # photos: the centre square
    assert "photos" in photos.reason and photos.batch_size == 32


def test_a_new_folder_loads_at_the_input_chosen_for_it(tmp_path, pattern_dir):
    session = Session(use_cache=False)
    view = session.load_dataset(colour_photos(tmp_path / "p", per_class=2))
    assert view.spec == InputSpec(224, color=True, crop=True)
    assert view.advice.preset == "photos"
    view = session.load_dataset(pattern_dir)  # nothing carries over from the photos
    assert view.spec == InputSpec(20, color=False) and view.advice.preset == "article"
    view = session.load_dataset(pattern_dir, size=16)  # the user's size wins
    assert view.spec == InputSpec(16, color=False)


def test_a_model_at_chance_level_gets_a_warning():
    at_chance = {"accuracy": 0.1, "confusion_matrix": np.full((10, 10), 2).tolist()}
    assert "no better than guessing" in chance_warning(at_chance)
    good = {"accuracy": 0.8, "confusion_matrix": (np.eye(10, dtype=int) * 16 + 1).tolist()}
    assert chance_warning(good) is None
    assert chance_warning({}) is None


def test_features_are_computed_once(tmp_path):
    cache = FeatureCache("test-backbone", 64, folder=tmp_path / "cache" / "features")
    a, b, c, d = (letter * 40 for letter in "abcd")  # keys are sha1 hex digests
    calls = []

    def compute(rows):
        calls.append(rows.tolist())
        return np.stack([np.full(4, float(r)) for r in rows])

    first = cache.features([a, b, c], compute)
    second = cache.features([c, a, d], compute)
    assert calls == [[0, 1, 2], [2]]  # only the new image 'd' is computed again
    assert np.array_equal(second[0], first[2]) and np.array_equal(second[1], first[0])
    assert second[2].tolist() == [2.0] * 4


def test_an_efficientnet_lite0_model_continues_and_exports(tmp_path):
    """The photos preset's model goes through what every model does: Continue (head and
    fine-tuning), save and reopen, an export checked in a fresh process."""
    root = colour_photos(tmp_path / "photos", per_class=10)
    session = Session(use_cache=False)
    session.load_dataset(root, InputSpec(64, color=True))
    session.train(TrainConfig(epochs=10, batch_size=8, patience=10, seed=0), "photos")
    before = session.state().model
    summary = session.continue_training(
        TrainConfig(epochs=1, batch_size=8, seed=0, fine_tune=True, early_stopping=False)
    )
    model = session.state().model
    assert model.preset == "photos" and summary.evaluation["accuracy"] >= 0.5
    assert len(model.history) == len(before.history) + 1
    path = session.save(tmp_path / "lite0.cnnmodel")
    reopened = Session(use_cache=False)
    reopened.open(path)
    assert reopened.state().model.preset == "photos"
    report = reopened.export("keras", tmp_path / "export", check_dir=root)
    assert report.passed and report.agreeing == report.checked > 0
