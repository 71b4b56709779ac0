"""Training that fits the data: batch-norm statistics after short runs, tiny datasets, and the
article's CNN at larger inputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.data.dataset import load_dataset
from core.data.images import InputSpec
from core.errors import TrainingError
from core.learn.batchnorm import batchnorm_layers, recalibrate
from core.learn.config import TrainConfig
from core.learn.training import MIN_PATIENCE_STEPS, Trainer, early_stopping_epochs
from core.nets.models import ModelSpec, build_model, extra_pooling
from core.nets.presets import preset_warning
from core.nets.runtime import keras
from core.session import Session
from tests.conftest import make_dataset, make_pattern_dataset


def bn_input_variance(model: keras.Model, layer: keras.layers.Layer, images: np.ndarray) -> float:
    """The mean per-channel variance of what ``layer`` receives, in inference mode."""
    probe = keras.Model(model.input, layer.input)
    return float(probe.predict(images.astype(np.float32), verbose=0).var(axis=(0, 1, 2)).mean())


def test_batch_norm_statistics_match_the_data_after_a_few_steps(pattern_dataset):
    """Before the fix the moving variance after 9 steps was 0.94 (it starts at 1.0) where
    the real variance was 0.003, and classifying saw wildly mis-scaled inputs."""
    config = TrainConfig(epochs=3, batch_size=32, seed=0, early_stopping=False)
    result = Trainer(pattern_dataset, config).run(ModelSpec("deeper-bn", pattern_dataset.spec, 3))
    train = pattern_dataset.images[[pattern_dataset.paths.index(p) for p in result.train_paths]]
    first = batchnorm_layers(result.model)[0]
    real = bn_input_variance(result.model, first, train)
    moving = float(np.mean(first.moving_variance.numpy()))
    assert real < 0.5  # pixels scaled to 0..1 through a fresh convolution: far below 1
    assert moving == pytest.approx(real, rel=0.5)


def test_recalibrate_measures_every_layer_and_leaves_momentum_alone():
    model = build_model(ModelSpec("deeper-bn", InputSpec(16), 2))
    images = np.random.default_rng(0).integers(0, 255, (40, 16, 16, 1)).astype(np.uint8)
    layers = batchnorm_layers(model)
    assert len(layers) == 6
    recalibrate(model, images)
    for layer in layers:
        assert layer.momentum == 0.99
        real = bn_input_variance(model, layer, images)
        assert float(np.mean(layer.moving_variance.numpy())) == pytest.approx(real, rel=0.3)


def test_frozen_pretrained_backbone_keeps_its_imagenet_statistics():
    model = build_model(ModelSpec("photos-pretrained", InputSpec(32, color=True), 2))
    assert batchnorm_layers(model) == []  # its batch norms are inside the backbone


def test_early_stopping_waits_for_the_warm_up_and_enough_steps():
    assert early_stopping_epochs(3, batches=1, warmup_steps=4) == (MIN_PATIENCE_STEPS, 4)
    assert early_stopping_epochs(3, batches=100, warmup_steps=300) == (3, 3)
    assert early_stopping_epochs(8, batches=4, warmup_steps=1) == (8, 1)


def test_a_tiny_dataset_is_not_stopped_after_three_steps(tmp_path):
    """Two classes of three images: one batch an epoch. Patience 1 used to end the run at the
    first epoch whose validation loss did not improve, often the second."""
    data = load_dataset(make_dataset(tmp_path / "tiny", {"a": 3, "b": 3}), InputSpec(16))
    config = TrainConfig(epochs=30, batch_size=8, patience=1, seed=3)
    result = Trainer(data, config).run()
    assert len(result.history) >= 3 + MIN_PATIENCE_STEPS  # warm-up, then the patience


def test_divergence_is_caught_with_one_batch_an_epoch(tmp_path):
    """The check used to need five batches within one epoch, so a tiny dataset's loss could
    blow up unchecked until it became NaN (or never did)."""
    data = load_dataset(make_dataset(tmp_path / "tiny", {"a": 4, "b": 4}), InputSpec(16))
    config = TrainConfig(epochs=40, batch_size=8, learning_rate=9.0, early_stopping=False)
    with pytest.raises(TrainingError, match="diverged"):
        Trainer(data, config).run()


def test_article_pooled_is_the_article_at_28_px_and_bounds_the_dense_layer():
    def dense_inputs(preset: str, size: int) -> int:
        model = build_model(ModelSpec(preset, InputSpec(size), 2))
        return int(model.get_layer("dense").kernel.shape[0])

    assert extra_pooling(28) == 1
    assert dense_inputs("article-pooled", 28) == dense_inputs("article", 28) == 11 * 11 * 64
    for size in (33, 64, 128, 512):
        assert dense_inputs("article-pooled", size) <= 11 * 11 * 64
    assert dense_inputs("article", 64) == 29 * 29 * 64  # the 6.9M-weight dense layer


def shapes_dataset(root, per_class: int = 150, size: int = 64):
    """Two classes decided by a small bright shape (a square or a plus) on noise."""
    rng = np.random.default_rng(0)
    for name in ("square", "plus"):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 80, (size, size)).astype(np.uint8)
            y, x = rng.integers(2, size - 12, 2)
            if name == "square":
                pixels[y : y + 10, x : x + 10] = 230
            else:
                pixels[y + 4 : y + 6, x : x + 10] = 230
                pixels[y : y + 10, x + 4 : x + 6] = 230
            Image.fromarray(pixels, "L").save(folder / f"{i:03d}.png")
    return root


def test_article_pooled_learns_at_64_px(tmp_path):
    session = Session(use_cache=False)
    session.load_dataset(shapes_dataset(tmp_path / "shapes"), InputSpec(64))
    # Measured on a CPU with bfloat16 and in float32, seeds 0-2: after 10 epochs 0.68-1.0 (the
    # bound failed), after up to 20 (early stopping ended most at 17-19) 1.0 every time.
    summary = session.train(TrainConfig(epochs=20, batch_size=32, seed=0), "article-pooled")
    assert summary.evaluation["accuracy"] >= 0.9
    assert not any("article's CNN" in w for w in summary.warnings)


def test_a_preset_unsuited_to_the_input_is_named_before_and_after_training(tmp_path):
    assert "article-pooled" in preset_warning("article", 64, False)
    assert preset_warning("article", 28, False) is None
    assert preset_warning("article-pooled", 64, False) is None
    assert "colour" in preset_warning("photos-pretrained", 28, False)
    session = Session(use_cache=False)
    session.load_dataset(make_pattern_dataset(tmp_path / "p", per_class=6, size=40), size=40)
    summary = session.train(TrainConfig(epochs=1, batch_size=8), "article")
    assert any("article-pooled" in w for w in summary.warnings)


def test_label_smoothing_left_unset_is_the_presets_own_and_recorded(pattern_dataset):
    chosen = Trainer(pattern_dataset, TrainConfig(epochs=1, early_stopping=False)).run()
    assert chosen.config.label_smoothing == 0.1
    config = TrainConfig(epochs=1, early_stopping=False, label_smoothing=0.0)
    assert Trainer(pattern_dataset, config).run().config.label_smoothing == 0.0
