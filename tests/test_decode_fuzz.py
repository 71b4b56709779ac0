"""Property test: any bytes give a valid array within limits or the project's own error."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.images import InputSpec, decode, preprocess
from core.errors import ImageError
from tests import imagegen as gen

SPEC = InputSpec(size=16, color=True)
SEEDS = [
    gen.encode(gen.gradient((24, 18)), "PNG"),
    gen.encode(gen.gradient((24, 18)), "JPEG"),
    gen.encode(gen.gradient((24, 18), "P"), "GIF"),
    gen.encode(gen.gradient((24, 18)), "BMP"),
    gen.encode(gen.gradient((24, 18)), "WEBP"),
    gen.encode(gen.gradient((24, 18)), "TIFF"),
]


def check(data: bytes) -> None:
    try:
        array = preprocess(decode(data, SPEC.size, SPEC.mode), SPEC)
    except ImageError:
        return
    assert array.shape == SPEC.shape
    assert array.dtype == np.uint8


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[pos : pos + draw(st.integers(1, 64))]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_images_never_escape_as_foreign_errors(data):
    check(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_never_escape_as_foreign_errors(data):
    check(data)
