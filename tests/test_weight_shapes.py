"""The Keras-free description of each preset's weight arrays (core.nets.weight_shapes), which model
files are checked against before their arrays are unpacked, agrees with the real networks."""

from __future__ import annotations

import pytest

from core.data.images import InputSpec
from core.nets.presets import PRESET_NAMES
from core.nets.weight_shapes import expected_weight_shapes

#: (preset, input size, colour, classes, augmentation): every preset, at the smallest input
#: the schema allows, at sizes where pooling rounds down, grey and colour, few and many classes.
CASES = [
    ("article", 8, False, 2, False),
    ("article", 28, False, 10, True),
    ("article", 33, True, 3, False),
    ("article-dropout", 16, True, 5, False),
    ("article-dropout", 31, False, 2, True),
    ("article-pooled", 28, False, 2, False),
    ("article-pooled", 64, True, 4, True),
    ("article-pooled", 97, False, 3, False),
    ("deeper-bn", 8, False, 2, False),
    ("deeper-bn", 33, True, 7, True),
    ("photos", 32, True, 2, False),
    ("photos", 97, True, 5, True),
    ("photos-pretrained", 32, True, 2, False),
    ("photos-pretrained", 97, True, 12, True),
]


def test_every_preset_is_covered():
    assert {case[0] for case in CASES} == set(PRESET_NAMES)


@pytest.mark.parametrize(("preset", "size", "color", "classes", "augment"), CASES)
def test_the_shapes_are_those_of_the_keras_model(preset, size, color, classes, augment):
    from core.nets.models import ModelSpec, build_model

    model = build_model(ModelSpec(preset, InputSpec(size, color), classes, augment))
    assert expected_weight_shapes(preset, size, color, classes) == [
        tuple(w.shape) for w in model.get_weights()
    ]


def test_the_backbone_shapes_are_those_of_the_shipped_weights():
    """Built with the ImageNet weights from assets/ (Keras refuses a file that does not fit)."""
    from core.nets.models import ModelSpec, build_model

    model = build_model(ModelSpec("photos-pretrained", InputSpec(224, True), 3), pretrained=True)
    assert expected_weight_shapes("photos-pretrained", 224, True, 3) == [
        tuple(w.shape) for w in model.get_weights()
    ]


@pytest.mark.parametrize(
    ("preset", "size", "color", "classes", "message"),
    [
        ("keras.layers.Lambda", 28, False, 2, "unknown"),
        ("article", 28, False, 1, "two classes"),
        ("article", 7, False, 2, "too small"),
        ("photos-pretrained", 224, False, 2, "colour"),
        ("photos-pretrained", 16, True, 2, "at least 32"),
    ],
)
def test_a_network_that_cannot_be_built_has_no_shapes(preset, size, color, classes, message):
    with pytest.raises(ValueError, match=message):
        expected_weight_shapes(preset, size, color, classes)
