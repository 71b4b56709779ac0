"""Decoding and preprocessing: every row of the image-folder table in RELIABILITY.md."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, ImageFile

from core.data.images import BACKGROUND, InputSpec, load_input, preprocess
from core.errors import ImageError
from tests import imagegen as gen

GRAY = InputSpec(size=28, color=False)
RGB = InputSpec(size=32, color=True)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def reason_for(tmp_path: Path, name: str, data: bytes, spec: InputSpec = GRAY) -> str:
    path = write(tmp_path, name, data)
    with pytest.raises(ImageError) as info:
        load_input(path, spec)
    assert info.value.path == path
    assert str(path) in str(info.value)
    return info.value.reason


@pytest.mark.parametrize("spec", [GRAY, RGB])
@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("rgb.jpg", lambda: gen.encode(gen.gradient(), "JPEG", quality=95)),
        ("gray.jpg", lambda: gen.encode(gen.gradient(mode="L"), "JPEG")),
        ("cmyk.jpg", lambda: gen.encode(gen.gradient(mode="CMYK"), "JPEG")),
        ("rgba.png", lambda: gen.encode(gen.gradient(mode="RGBA"), "PNG")),
        ("palette.png", lambda: gen.encode(gen.gradient(mode="P"), "PNG")),
        ("bw.bmp", lambda: gen.encode(gen.gradient(mode="1"), "BMP")),
        ("p8.bmp", lambda: gen.encode(gen.gradient(mode="P"), "BMP")),
        ("rgb24.bmp", lambda: gen.encode(gen.gradient(), "BMP")),
        ("rgba32.bmp", lambda: gen.encode(gen.gradient(mode="RGBA"), "BMP")),
        ("x.webp", lambda: gen.encode(gen.gradient(), "WEBP")),
        ("x.tiff", lambda: gen.encode(gen.gradient(), "TIFF")),
        ("x.gif", lambda: gen.encode(gen.gradient(mode="P"), "GIF")),
        ("g16.png", lambda: gen.png16_gray(30, 20, 40000)),
        ("rgb16.png", lambda: gen.png16_rgb(30, 20, 40000)),
    ],
)
def test_every_colour_mode_decodes_to_the_spec(tmp_path, spec, name, make):
    array = load_input(write(tmp_path, name, make()), spec)
    assert array.shape == spec.shape
    assert array.dtype == np.uint8


def test_16_bit_mid_grey_stays_mid_grey(tmp_path):
    gray = load_input(write(tmp_path, "g.png", gen.png16_gray(10, 10, 32768)), GRAY)
    rgb = load_input(write(tmp_path, "c.png", gen.png16_rgb(10, 10, 32768)), RGB)
    assert np.all(gray == 128)
    assert np.all(np.abs(rgb.astype(int) - 128) <= 1)


def test_transparent_pixels_get_the_defined_background(tmp_path):
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    palette = Image.new("P", (10, 10), 0)
    palette.putpalette([0, 0, 0] * 256)
    png = gen.encode(palette, "PNG", transparency=0)
    for name, data in [("a.png", gen.encode(rgba, "PNG")), ("p.png", png)]:
        assert np.all(load_input(write(tmp_path, name, data), GRAY) == BACKGROUND)


def test_cmyk_colour_is_kept(tmp_path):
    red = Image.new("RGB", (16, 16), (255, 0, 0)).convert("CMYK")
    array = load_input(write(tmp_path, "red.jpg", gen.encode(red, "JPEG", quality=95)), RGB)
    r, g, b = array.reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 60 and b < 60


def test_exif_orientation_6_is_rotated_upright(tmp_path):
    # A wide image whose left half is black: stored sideways with orientation 6 (rotate 90 CW).
    stored = Image.new("L", (40, 20), 255)
    stored.paste(0, (0, 0, 20, 20))
    array = load_input(write(tmp_path, "o.jpg", gen.with_exif_orientation(stored, 6)), GRAY)
    # After rotating 90 degrees clockwise, the black half is on top.
    top, bottom = array[:10].mean(), array[18:].mean()
    assert top < 60 and bottom > 200
    # The same image handed over already decoded is seen identically.
    same = preprocess(Image.open(tmp_path / "o.jpg"), GRAY)
    assert np.array_equal(array, same)


def test_animated_gif_and_apng_give_first_frame_fast(tmp_path):
    for name, data in [("a.gif", gen.animated_gif()), ("a.png", gen.animated_png())]:
        path = write(tmp_path, name, data)
        start = time.perf_counter()
        array = load_input(path, GRAY)
        assert time.perf_counter() - start < 1.0  # a generous bound: iterating would be slower
        assert np.all(array == 255)  # only frame 0 is white


def test_png_saved_as_jpg_is_used(tmp_path):
    png = gen.encode(gen.gradient(), "PNG")
    assert load_input(write(tmp_path, "really_png.jpg", png), GRAY).shape == GRAY.shape


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<!DOCTYPE html><html><body>404</body></html>", "HTML"),
        (b"just some notes\n", "text file"),
        (b"", "empty file"),
        (b"\x00\x01\x02\x03" * 20, "not a recognised image format"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "EPS"),
        (b"%PDF-1.7\n", "PDF"),
        (b"8BPS\x00\x01" + b"\x00" * 40, "PSD"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    ],
)
def test_non_images_are_refused_by_content(tmp_path, data, expected):
    assert expected in reason_for(tmp_path, "fake.jpg", data)


def test_eps_is_never_handed_to_pillow(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: opened.append(1))
    reason = reason_for(tmp_path, "x.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n")
    assert "unsupported" in reason
    assert opened == []


def test_truncated_jpeg_is_refused(tmp_path):
    data = gen.encode(gen.gradient((200, 200)), "JPEG", quality=95)
    reason = reason_for(tmp_path, "half.jpg", data[: len(data) // 2])
    assert "truncated" in reason or "damaged" in reason
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_png_with_broken_crc_is_refused(tmp_path):
    data = bytearray(gen.encode(gen.gradient((64, 64)), "PNG"))
    idat = data.find(b"IDAT")
    data[idat + 10] ^= 0xFF
    assert "checksum" in reason_for(tmp_path, "crc.png", bytes(data))


def test_truncated_png_is_refused(tmp_path):
    data = gen.encode(gen.gradient((64, 64)), "PNG")
    assert "truncated" in reason_for(tmp_path, "cut.png", data[: len(data) - 30])


@pytest.mark.parametrize(
    "make", [lambda: gen.bomb_png(20000), lambda: gen.jpeg_with_size(60000, 60000)]
)
def test_decompression_bombs_are_refused_before_decoding(tmp_path, make):
    data = make()
    assert len(data) < 1_000_000
    tracemalloc.start()
    try:
        reason = reason_for(tmp_path, "bomb.png", data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "megapixel" in reason or "too large" in reason
    assert peak < 20_000_000


def test_tiny_and_zero_height_images_are_refused(tmp_path):
    one = gen.encode(Image.new("L", (1, 1)), "PNG")
    assert "1x1" in reason_for(tmp_path, "one.png", one)
    zero = gen.raw_png(10, 0, 8, 0, b"")
    assert reason_for(tmp_path, "zero.png", zero)


def test_arrays_and_pil_images_go_through_the_same_function(tmp_path):
    image = gen.gradient((50, 40))
    path = write(tmp_path, "g.png", gen.encode(image, "PNG"))
    from_file = load_input(path, RGB)
    assert np.array_equal(from_file, preprocess(image, RGB))
    assert np.array_equal(from_file, preprocess(np.asarray(image), RGB))


def test_large_jpegs_are_decoded_at_reduced_scale():
    from core.data.images import decode

    photo = gen.encode(gen.gradient((2400, 1600)), "JPEG", quality=90)
    image = decode(photo, target_size=28, mode="L")
    assert image.size == (300, 200)  # libjpeg's 1/8 scale: far fewer pixels decoded
    assert image.mode == "L"
    assert decode(photo).size == (2400, 1600)


def test_thumbnails_keep_aspect_apply_orientation_and_refuse_bad_files(tmp_path):
    from core.data.images import thumbnail

    wide = write(tmp_path, "wide.jpg", gen.with_exif_orientation(gen.gradient((400, 200)), 6))
    preview = thumbnail(wide, 72)
    assert preview.shape == (72, 36, 3)  # upright: the stored 400x200 is shown 200x400
    assert thumbnail(write(tmp_path, "bomb.png", gen.bomb_png(20000)), 72) is None
    assert thumbnail(write(tmp_path, "notes.jpg", b"just text"), 72) is None


def test_a_jpeg_gives_the_same_input_as_path_bytes_or_opened_image(tmp_path):
    """Regression: a path used reduced-scale JPEG decoding, an opened image did not."""
    from core.data.images import to_model_input

    photo = tmp_path / "photo.jpg"
    base = Image.radial_gradient("L").resize((2400, 1600))
    flipped = base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    rgb = Image.merge("RGB", (base, base.rotate(90), flipped))
    rgb.save(photo, quality=88)
    for spec in (InputSpec(28), InputSpec(64, color=True), InputSpec(224, color=True)):
        by_path = to_model_input(photo, spec)
        assert np.array_equal(by_path, to_model_input(photo.read_bytes(), spec))
        with Image.open(photo) as opened:
            assert np.array_equal(by_path, to_model_input(opened, spec))


def test_crop_keeps_the_centre_square_and_plain_resize_squeezes():
    """A tall image: red top quarter, green middle half, blue bottom quarter."""
    tall = np.zeros((80, 40, 3), np.uint8)
    tall[:20, :, 0] = 255
    tall[20:60, :, 1] = 255
    tall[60:, :, 2] = 255
    cropped = preprocess(tall, InputSpec(16, color=True, crop=True))
    assert (cropped[..., 1] == 255).all() and cropped[..., [0, 2]].max() == 0
    squeezed = preprocess(tall, InputSpec(16, color=True))
    assert squeezed[0, 0, 0] == 255 and squeezed[-1, 0, 2] == 255  # all three bands stay
    wide = preprocess(tall.transpose(1, 0, 2), InputSpec(16, color=True, crop=True))
    assert (wide[..., 1] == 255).all()
    assert InputSpec(16, crop=True).key() != InputSpec(16).key()  # cached apart
