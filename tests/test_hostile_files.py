"""Files that are not what they claim: devices, pipes, links out of a folder, crafted model
files (malformed array headers, arrays the architecture lacks). Each must be refused with a
reason, promptly, without reading without bound."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.data.images import InputSpec, read_file, to_model_input
from core.data.safe_io import FileRefused, read_bounded
from core.data.scan import image_files
from core.errors import ImageError, ModelFileError
from core.modelfile import bundle as bundle_module
from core.modelfile.bundle import MAX_RATIO, read_bundle
from tests.test_bundle import edited_meta, members_of, npy, write_zip

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


def npy_member(
    header: bytes, version: bytes = b"\x01\x00", length: int | None = None, data: bytes = b""
) -> bytes:
    """An ``.npy`` member: magic, ``version``, the header's length (``length`` or its real
    one), the header and ``data``."""
    width = 2 if version == b"\x01\x00" else 4
    declared = len(header) if length is None else length
    return b"\x93NUMPY" + version + declared.to_bytes(width, "little") + header + data


def malformed_members(canary: Path) -> dict[str, bytes]:
    """Array members whose header NumPy cannot parse, one way each (the first is the issue's:
    code where the data type belongs, cut mid-expression, at the declared length)."""
    code = f"__import__('os').system('touch {canary}')"
    return {
        "code cut mid-expression": npy_member(f"{{'descr': {code[:-1]}".encode()),
        "code": npy_member(f"{{'descr': {code}, 'fortran_order': False, 'shape': (), }}".encode()),
        "unbalanced brackets": npy_member(b"{'descr': '<f4', 'shape': ((((", data=b"\0" * 64),
        "deeply nested": npy_member(b"{'shape': " + b"(" * 300 + b")" * 300 + b"}"),
        "not a dict": npy_member(b"[1, 2, 3]"),
        "a shape of fractions": npy_member(
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }"
        ),
        "a number for a data type": npy_member(
            b"{'descr': 5, 'fortran_order': False, 'shape': (2,), }"
        ),
        "arithmetic": npy_member(
            b"{'descr': [('a', '<f4', (2**62,))], 'fortran_order': False, 'shape': (2,), }"
        ),
        "binary": npy_member(b"\xff\xfe\x00{\x80"),
        "empty header": npy_member(b""),
        "unknown version": npy_member(b"{}", version=b"\x09\x09"),
        "header claiming 4 GB": npy_member(b"{", version=b"\x02\x00", length=2**32 - 1),
        "header longer than the member": npy_member(b"{'descr'", length=1000),
        "not an array": b"PK\x03\x04 not numpy",
        "empty member": b"",
    }


@pytest.mark.parametrize("case", list(malformed_members(Path("canary"))))
def test_a_malformed_array_header_is_refused_naming_file_and_member(saved_model, tmp_path, case):
    canary = tmp_path / "canary"
    members = members_of(saved_model)
    members["weights/000.npy"] = malformed_members(canary)[case]
    path = write_zip(tmp_path / "header.cnnmodel", members)
    with pytest.raises(ModelFileError) as info:
        read_bundle(path)
    assert str(path) in str(info.value) and "weights/000.npy" in str(info.value)
    assert not canary.exists()


@pytest.fixture(scope="module")
def good_members(saved_model: Path) -> dict[str, bytes]:
    return members_of(saved_model)


header_bytes = st.one_of(
    st.binary(max_size=160),
    st.text(alphabet="{}()[]'\":,.=_ -+*<>0123456789efirsxadohptnTFLNu\\", max_size=160).map(
        lambda text: text.encode("latin-1")
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=header_bytes, declared=st.one_of(st.none(), st.integers(0, 2**16 - 1)))
def test_any_array_header_gives_a_model_or_our_refusal(
    good_members, tmp_path_factory, header, declared
):
    members = dict(good_members)
    members["weights/000.npy"] = npy_member(header, length=declared, data=b"\0" * 64)
    path = write_zip(tmp_path_factory.mktemp("headers") / "m.cnnmodel", members)
    with contextlib.suppress(ModelFileError):  # a model, or our own refusal
        read_bundle(path)


def compressible(shape: tuple[int, ...]) -> np.ndarray:
    """float32 zeros with a random value every 300 entries: it deflates about 165:1, so a zip
    of it is not refused as a zip bomb (the issue's 1 GB array packed into 6 MB)."""
    array = np.zeros(shape, np.float32)
    flat = array.reshape(-1)
    flat[::300] = np.random.default_rng(0).random(len(flat[::300]), dtype=np.float32)
    return array


@pytest.mark.parametrize(("folder", "index"), [("weights", 4), ("optimizer", 1)])
def test_an_array_the_architecture_lacks_is_refused_before_any_is_unpacked(
    saved_model, tmp_path, monkeypatch, folder, index
):
    """The issue's file, scaled down from 1 GB to 16 MB: one compressible array whose shape
    agrees with meta.json, but not with the network meta.json names (16 px grey images)."""
    members = members_of(saved_model)
    meta = json.loads(members["meta.json"])
    listed = meta["weights"] if folder == "weights" else meta["optimizer"]["variables"]
    shape = (2048, 2048)
    listed[index]["shape"] = list(shape)
    members["meta.json"] = json.dumps(meta).encode()
    big = f"{folder}/{index:03d}.npy"
    members[big] = npy(compressible(shape))
    path = tmp_path / "big.cnnmodel"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            packing = zipfile.ZIP_DEFLATED if name == big else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=packing)
        packed = archive.getinfo(big)
    assert packed.file_size < MAX_RATIO * packed.compress_size  # no zip bomb by the ratio
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def open_member(self, member, *args, **kwargs):
        opened.append(getattr(member, "filename", member))
        return real_open(self, member, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_member)
    with pytest.raises(ModelFileError, match="2048x2048") as info:
        read_bundle(path)
    assert str(path) in str(info.value) and "network" in str(info.value)
    assert opened == ["meta.json"]  # refused from the metadata: no array was unpacked


class Endless(io.RawIOBase):
    """A stream of zeros that never ends, counting what it hands out."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = bytes(len(buffer))
        self.served += len(buffer)
        return len(buffer)


def test_array_data_is_read_up_to_what_the_header_says_and_no_further():
    array = np.empty((300, 7), np.float32)
    stream = Endless()
    with pytest.raises(ModelFileError, match="more data"):
        bundle_module._read_payload(stream, array, "weights/000.npy")
    assert stream.served == array.nbytes + 1
    with pytest.raises(ModelFileError, match="ends before"):
        bundle_module._read_payload(io.BytesIO(bytes(100)), array, "weights/000.npy")
    exact = np.arange(2100, dtype=np.float32).reshape(300, 7)
    bundle_module._read_payload(io.BytesIO(exact.tobytes()), array, "weights/000.npy")
    np.testing.assert_array_equal(array, exact)


def test_a_corrupt_compressed_member_is_refused(saved_model, tmp_path):
    path = tmp_path / "corrupt.cnnmodel"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members_of(saved_model).items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
        info = archive.getinfo("weights/002.npy")
    raw = bytearray(path.read_bytes())
    local = info.header_offset
    start = local + 30 + int.from_bytes(raw[local + 26 : local + 28], "little")
    start += int.from_bytes(raw[local + 28 : local + 30], "little")
    raw[start : start + 64] = b"\xff" * 64  # block type 3, which does not exist
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="not a CNN Studio model file"):
        read_bundle(path)


def test_a_file_that_grows_while_read_is_still_capped(tmp_path, monkeypatch):
    """The first read asks for the size the file reports; more data is read in capped chunks."""
    import core.data.safe_io as safe_io

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

    import core.data.images as images

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
    import core.data.safe_io as safe_io

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
