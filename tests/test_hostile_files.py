"""Files that are not what they claim: devices, pipes, links out of a folder, crafted model
files. Each must be refused with a reason, promptly, without reading without bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.bundle import read_bundle
from core.errors import ImageError, ModelFileError
from core.images import InputSpec, read_file, to_model_input
from core.safe_io import FileRefused, read_bounded
from core.scan import image_files
from tests.test_bundle import edited_meta, members_of, write_zip

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")


def finishes(call, seconds: float = 60.0):
    """Run ``call`` on a thread; fail (instead of hanging the suite) if it never returns."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the call hung"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


@needs_fifo
def test_a_named_pipe_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="named pipe"):
        finishes(lambda: read_file(fifo))
    model = tmp_path / "pipe.cnnmodel"
    os.mkfifo(model)
    with pytest.raises(ModelFileError, match="named pipe"):
        finishes(lambda: read_bundle(model))


@needs_dev_zero
def test_a_device_is_refused_without_reading_it(tmp_path):
    with pytest.raises(ImageError, match="device"):
        finishes(lambda: read_file(Path("/dev/zero")))
    with pytest.raises(ModelFileError, match="device"):
        finishes(lambda: read_bundle("/dev/zero"))


def test_reads_are_capped_even_when_the_file_is_larger(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 5000)
    assert read_bounded(big, 5000) == b"x" * 5000
    with pytest.raises(FileRefused, match="size limit"):
        read_bounded(big, 4999)
    with pytest.raises(FileRefused, match="folder"):
        read_bounded(tmp_path, 10)


def test_links_leaving_a_dropped_folder_are_not_followed(tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n")
    dropped = tmp_path / "dropped"
    dropped.mkdir()
    (dropped / "inside.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (dropped / "escape.png").symlink_to(outside)
    (dropped / "loop").symlink_to(dropped)
    if Path("/dev/zero").exists():
        (dropped / "zero.png").symlink_to("/dev/zero")
    files, skipped = image_files([dropped])
    assert files == [dropped / "inside.png"]
    reasons = dict(skipped)
    assert "outside" in reasons[str(dropped / "escape.png")]
    assert str(dropped / "loop") in reasons
    files, _ = image_files([outside])  # a file given by name is used as it is
    assert files == [outside]


def test_model_file_with_junk_before_the_zip_is_refused(saved_model, tmp_path):
    crafted = tmp_path / "junk.cnnmodel"
    crafted.write_bytes(b"#!/bin/sh\necho hi\n" + saved_model.read_bytes())
    with pytest.raises(ModelFileError, match="does not start"):
        read_bundle(crafted)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.__setitem__("schema_version", True), "schema version"),
        (lambda m: m["input"].__setitem__("size", True), "input.size"),
    ],
)
def test_booleans_are_not_numbers_in_meta_json(saved_model, tmp_path, change, message):
    crafted = write_zip(tmp_path / "bool.cnnmodel", edited_meta(saved_model, change))
    with pytest.raises(ModelFileError, match=message):
        read_bundle(crafted)


def test_a_member_name_with_a_trailing_newline_is_refused(saved_model, tmp_path):
    members = members_of(saved_model)
    members["meta.json\n"] = members["meta.json"]
    with pytest.raises(ModelFileError, match="unexpected entry"):
        read_bundle(write_zip(tmp_path / "nl.cnnmodel", members))


def test_oversized_meta_json_is_refused(saved_model, tmp_path):
    members = members_of(saved_model)
    meta = json.loads(members["meta.json"])
    meta["app_version"] = "x" * (17 * 1024**2)
    members["meta.json"] = json.dumps(meta).encode()
    with pytest.raises(ModelFileError, match=r"meta\.json is too large"):
        read_bundle(write_zip(tmp_path / "huge.cnnmodel", members))


def test_an_array_header_claiming_a_huge_shape_is_refused_before_allocating(saved_model, tmp_path):
    members = members_of(saved_model)
    meta = json.loads(members["meta.json"])
    shape = [240_000, 240_000]  # 57.6e9 elements, about 230 GB of float32
    meta["weights"][0]["shape"] = shape
    members["meta.json"] = json.dumps(meta).encode()
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (240000, 240000), }"
    header += " " * (63 - len(header) % 64) + "\n"
    members["weights/000.npy"] = (
        b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64
    )
    with pytest.raises(ModelFileError, match=r"shape|holds"):
        read_bundle(write_zip(tmp_path / "shape.cnnmodel", members))


def test_a_file_that_grows_while_read_is_still_capped(tmp_path, monkeypatch):
    """The first read asks for the size the file reports; more data is read in capped chunks."""
    import core.safe_io as safe_io

    path = tmp_path / "grows.bin"
    path.write_bytes(b"x" * 100)
    real_fstat = os.fstat
    monkeypatch.setattr(safe_io.os, "fstat", lambda fd: _smaller(real_fstat(fd)))
    assert read_bounded(path, 1000) == b"x" * 100  # the size claimed was 10
    with pytest.raises(FileRefused, match="size limit"):
        read_bounded(path, 50)


def _smaller(info: os.stat_result) -> os.stat_result:
    values = list(info)
    values[6] = 10  # st_size
    return os.stat_result(values)


def test_codec_warnings_go_to_the_log_naming_the_file_not_to_the_terminal(caplog):
    import PIL

    import core.images as images

    images._route_codec_warnings()  # on top of pytest's own recorder, for this test
    pil_file = str(Path(PIL.__file__).parent / "TiffImagePlugin.py")
    images._reading.path = Path("odd.tif")
    try:
        with caplog.at_level("INFO", logger="cnnstudio.codecs"):
            for _ in range(3):  # every one is logged, not only the first
                warnings.warn_explicit(
                    "Metadata Warning, tag 282 had too many entries",
                    UserWarning,
                    pil_file,
                    773,
                    module="PIL.TiffImagePlugin",
                )
    finally:
        images._reading.path = None
    lines = [r.getMessage() for r in caplog.records if r.name == "cnnstudio.codecs"]
    assert lines == ["odd.tif: UserWarning: Metadata Warning, tag 282 had too many entries"] * 3
    with pytest.warns(UserWarning, match="not from Pillow"):  # others are shown as before
        warnings.warn("not from Pillow", UserWarning, stacklevel=1)


def test_odd_tiffs_are_used_in_both_colour_modes_and_inspect_stays_quiet(tmp_path):
    from PIL import TiffImagePlugin

    rng = np.random.default_rng(0)
    root = tmp_path / "tiffs"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            rgb = Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))
            rgb.convert("LAB").save(root / cls / f"lab{i}.tif")
            extra = TiffImagePlugin.ImageFileDirectory_v2()
            extra[65000] = "private tag"
            extra.tagtype[65000] = 2
            rgb.save(root / cls / f"lzw{i}.tif", tiffinfo=extra, compression="tiff_lzw")
    lab = root / "a" / "lab0.tif"
    gray = to_model_input(lab, InputSpec(16, color=False))
    colour = to_model_input(lab, InputSpec(16, color=True))
    expected = np.asarray(Image.fromarray(colour).convert("L"))
    assert np.abs(gray[..., 0].astype(int) - expected).max() <= 1  # LAB -> RGB -> gray
    for flags in ([], ["--color"]):
        result = subprocess.run(
            [sys.executable, "-m", "core", "inspect", str(root), "--no-cache", *flags],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0
        assert "2 classes, 12 images" in result.stdout
        assert result.stderr == ""


def test_a_file_that_has_no_data_yet_is_refused_not_crashed_on(tmp_path, monkeypatch):
    """Like /proc/kmsg: a non-blocking read answers None ("no data yet")."""
    import core.safe_io as safe_io

    path = tmp_path / "k.png"
    path.write_bytes(b"x" * 10)
    real_open = safe_io.open_regular

    class NoData:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def fileno(self):
            return self.handle.fileno()

        def read(self, size):
            return None

    monkeypatch.setattr(safe_io, "open_regular", lambda p, limit: NoData(real_open(p, limit)))
    with pytest.raises(FileRefused, match="no data to read"):
        read_bounded(path, 100)
