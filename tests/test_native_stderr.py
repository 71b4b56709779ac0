"""What native code prints on file descriptor 2 (libtiff reading damaged TIFFs) goes to the log,
naming the file, and never loses a line of ours, also with decoding on a pool of threads."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import TiffImagePlugin

from core import native_stderr
from core.data.images import InputSpec, load_input, thumbnail
from core.errors import ImageError
from tests.conftest import make_dataset
from tests.imagegen import damaged_tiff

ROOT = Path(__file__).resolve().parents[1]
DAMAGES = [
    (compression, damage)
    for compression in ("tiff_lzw", "tiff_adobe_deflate", "packbits")
    for damage in ("past-end", "long-strips")
]


def damaged_folder(root: Path) -> list[str]:
    """Two classes of PNGs, and damaged TIFFs in the first; returns the TIFFs' relative paths."""
    make_dataset(root, {"a": 3, "b": 3})
    names = []
    for compression, damage in DAMAGES:
        name = f"a/{damage}-{compression}.tif"
        (root / name).write_bytes(damaged_tiff(compression, damage))
        names.append(name)
    return names


def libtiff_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "cnnstudio.codecs" and ": libtiff: " in r.getMessage()
    ]


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_inspect_keeps_libtiffs_complaints_off_the_terminal_and_in_the_log(tmp_path):
    """libtiff printed a line per damaged strip on stderr itself (402 lines for a folder of
    test images); the terminal now shows our lines only, and ``-v`` shows libtiff's in the log,
    each naming its file."""
    root = tmp_path / "tiffs"
    names = damaged_folder(root)
    result = inspect("inspect", str(root), "--no-cache")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "2 classes, 6 images" in result.stdout
    for name in names:  # still reported, with the reason
        assert f"{name}: TIFF data is damaged or truncated" in result.stdout

    verbose = inspect("-v", "inspect", str(root), "--no-cache")
    lines = verbose.stderr.splitlines()
    assert not [line for line in lines if line.startswith("TIFFFillStrip")]
    for name in names:
        logged = f"INFO cnnstudio.codecs: {root / name}: libtiff: TIFFFillStrip: Read error"
        assert any(line.startswith(logged) for line in lines), (name, verbose.stderr)


def test_decoding_on_threads_names_the_right_file_and_leaves_fd_2_as_it_was(
    tmp_path, capfd, caplog
):
    """Decoding runs on a pool of threads: each file's libtiff lines are logged under its own
    name (the captures take turns), and descriptor 2 points where it did before."""
    paths = []
    for i, (compression, damage) in enumerate(DAMAGES * 3):
        path = tmp_path / f"{i:02d}.tif"
        path.write_bytes(damaged_tiff(compression, damage))
        paths.append(path)
    spec = InputSpec(16)

    def decode(path: Path) -> str:
        with pytest.raises(ImageError, match="damaged or truncated"):
            load_input(path, spec)
        return str(path)

    before = os.fstat(2)
    with caplog.at_level(logging.INFO, logger="cnnstudio.codecs"):
        for path in paths:  # one at a time: what each file's libtiff lines are
            decode(path)
        alone = sorted(libtiff_lines(caplog))
        caplog.clear()
        with ThreadPoolExecutor(6) as pool:
            assert sorted(pool.map(decode, paths * 4)) == sorted(map(str, paths * 4))
        together = sorted(libtiff_lines(caplog))
    after = os.fstat(2)
    assert len(alone) == len(paths)
    assert together == sorted(alone * 4)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
    assert capfd.readouterr().err == ""


def test_lines_of_ours_written_during_a_tiff_decode_still_reach_the_terminal(
    tmp_path, capfd, caplog, monkeypatch
):
    """Another thread's line (a note, a ``-v`` log line, a progress bar) that lands on
    descriptor 2 while it is captured is written out again, not logged or lost."""
    path = tmp_path / "odd.tif"
    path.write_bytes(damaged_tiff())
    real_load = TiffImagePlugin.TiffImageFile.load
    calls = []

    def load_with_company(image: TiffImagePlugin.TiffImageFile) -> object:
        calls.append(image)
        if len(calls) > 1:  # Pillow calls load() again from within and after the decode
            return real_load(image)
        os.write(2, b"cnn-studio: a line of ours\nINFO cnnstudio.cli: decoded 3 of 9.\n")
        try:
            return real_load(image)
        finally:
            os.write(2, b"\r[####      ] 40%")

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "load", load_with_company)
    with caplog.at_level(logging.INFO, logger="cnnstudio.codecs"), pytest.raises(ImageError):
        load_input(path, InputSpec(16))
    assert capfd.readouterr().err == (
        "cnn-studio: a line of ours\nINFO cnnstudio.cli: decoded 3 of 9.\n\r[####      ] 40%"
    )
    assert [line.split(": libtiff: ")[1][:14] for line in libtiff_lines(caplog)] == [
        "TIFFFillStrip:"
    ]


def test_the_apps_thumbnails_log_libtiffs_lines_too(tmp_path, capfd, caplog):
    """The Classify tab's previews decode through the same function."""
    path = tmp_path / "odd.tif"
    path.write_bytes(damaged_tiff("tiff_adobe_deflate", "long-strips"))
    with caplog.at_level(logging.INFO, logger="cnnstudio.codecs"):
        assert thumbnail(path, 64) is None
    assert capfd.readouterr().err == ""
    assert [line.split(": libtiff: ")[0] for line in libtiff_lines(caplog)] == [str(path)]


def test_a_capture_nests_and_hands_over_its_text_when_the_block_fails(capfd):
    with pytest.raises(RuntimeError), native_stderr.captured() as outer:
        os.write(2, b"outer\n")
        with native_stderr.captured() as inner:
            os.write(2, b"inner\n")
        assert inner.text == "inner\n"
        os.write(2, b"outer again\n")
        raise RuntimeError("the block failed")
    assert outer.text == "outer\nouter again\n"
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"
