"""EfficientNet-Lite0 built from its description: the reference features, the shipped float16
weights (read offline) and the refusal of weight files that do not fit the network."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.assets import EFFICIENTNET_LITE0_WEIGHTS, asset_path
from core.errors import CnnStudioError
from core.nets import efficientnet_lite as lite
from core.nets.runtime import keras
from tests.conftest import SHARED_DATA

SHARED_PRETRAINED = SHARED_DATA.parent / "pretrained"
FLOAT32_FILE = "efficientnet_lite0_imagenet_no_top.npz"
REFERENCE_FILE = "efficientnet_lite0_reference.npz"


def shared_pretrained(name: str) -> Path:
    """A file in ../shared/pretrained; skips when absent, fails under REQUIRE_SHARED_DATA=1
    (as :func:`tests.conftest.shared_path` does for ../shared/data)."""
    path = SHARED_PRETRAINED / name
    if not path.exists():
        message = f"shared pretrained weights not found at {path}"
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def network() -> keras.Model:
    """One build at 224 px, shared: every load overwrites all of its weights."""
    return lite.build_efficientnet_lite0((224, 224, 3))


@pytest.fixture(scope="module")
def shipped() -> dict[str, np.ndarray]:
    return lite.shipped_lite0_arrays()


def features(network: keras.Model, pixels: np.ndarray) -> np.ndarray:
    """Pooled features of raw 0..255 ``pixels``, scaled as the wrapping model will."""
    scaled = lite.lite0_scaling()(pixels.astype(np.float32))
    return np.asarray(network(scaled, training=False))


def test_the_build_has_the_described_size_and_readable_layer_names(network):
    assert network.count_params() == lite.LITE0_PARAMS == 3_413_024
    assert tuple(network.output.shape) == (None, lite.LITE0_FEATURES)
    for name in ("stem_conv", "block1a_dwconv", "block3b_dwconv", "block7a_project_bn"):
        network.get_layer(name)
    assert network.get_layer("top_conv").output.shape[1:] == (7, 7, 1280)
    assert network.get_layer("top_activation").output.shape[1:] == (7, 7, 1280)


def test_the_float32_arrays_give_the_reference_features(network):
    reference = np.load(shared_pretrained(REFERENCE_FILE), allow_pickle=False)
    lite.load_lite0_weights(network, lite.read_arrays(shared_pretrained(FLOAT32_FILE)))
    got = features(network, reference["inputs"])
    assert np.abs(got - reference["features"]).max() < 1e-4


def test_the_shipped_float16_weights_give_the_reference_features(network, shipped):
    """Loaded from assets/ with sockets disabled (as every test runs): nothing is downloaded."""
    assert asset_path(EFFICIENTNET_LITE0_WEIGHTS) is not None
    assert all(array.dtype == np.float16 for array in shipped.values())
    reference = np.load(shared_pretrained(REFERENCE_FILE), allow_pickle=False)
    lite.load_lite0_weights(network, shipped)
    got, want = features(network, reference["inputs"]), reference["features"]
    assert np.abs(got - want).max() < 0.02
    # The largest features keep their order wherever the reference sets them further apart
    # than float16 storage can move them.
    for row, ref in zip(got, want, strict=True):
        top = np.argsort(-ref)[:20]
        assert np.argmax(row) == top[0]
        for i, a in enumerate(top):
            for b in top[i + 1 :]:
                if ref[a] - ref[b] > 0.04:
                    assert row[a] > row[b]


def test_the_shipped_file_is_the_original_cast_to_float16(shipped):
    original = lite.read_arrays(shared_pretrained(FLOAT32_FILE))
    assert list(shipped) == list(original)
    for name, array in original.items():
        np.testing.assert_array_equal(shipped[name], array.astype(np.float16), err_msg=name)


def test_the_shipped_weights_load_offline():
    model = lite.pretrained_lite0((96, 96, 3))  # any size: the weights' shapes do not change
    pixels = np.random.default_rng(0).integers(0, 256, (2, 96, 96, 3))
    out = features(model, pixels)
    assert out.shape == (2, 1280) and np.isfinite(out).all() and out.max() > 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("missing", "_blocks.5._depthwise_conv.weight"),
        ("extra", "_fc.weight"),
        ("shape", "_blocks.3._expand_conv.weight"),
        ("shape", "_bn1.running_var"),
    ],
)
def test_a_file_that_does_not_fit_is_refused_naming_the_array(network, shipped, change, named):
    arrays = dict(shipped)
    if change == "missing":
        del arrays[named]
    elif change == "extra":
        arrays[named] = np.zeros((1000, 1280), np.float16)
    else:
        arrays[named] = arrays[named][:-1]
    before = network.get_layer("stem_conv").get_weights()[0].copy()
    with pytest.raises(CnnStudioError, match=named.replace(".", r"\.")):
        lite.load_lite0_weights(network, arrays)
    np.testing.assert_array_equal(network.get_layer("stem_conv").get_weights()[0], before)


def test_an_unreadable_file_is_refused(tmp_path):
    bad = tmp_path / "weights.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(CnnStudioError, match="cannot read"):
        lite.read_arrays(bad)
