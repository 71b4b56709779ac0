"""Saving: the target is checked before the work, a failed save keeps the trained model,
messages name the target (not the hidden temporary), and killed saves leave no litter."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.atomic import atomic_path, check_target, remove_stale_temporaries
from core.cli.main import main
from core.errors import SaveError
from core.modelfile.bundle import read_bundle

fcntl = pytest.importorskip("fcntl", reason="save locks are POSIX file locks")


@contextlib.contextmanager
def tiny_disk(folder: Path, size: str = "64k", read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs mounted at ``folder`` (skips the test where mounting is not allowed)."""
    folder.mkdir()
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs privileges)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.parametrize("name", ["", ".", "folder"])
def test_a_folder_is_not_a_file_name(tmp_path, name, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    with pytest.raises(SaveError, match="is a folder, not a file name"):
        check_target(name)


def test_targets_that_can_never_be_written_are_refused_naming_them(tmp_path):
    with pytest.raises(SaveError, match="too long"):
        check_target(tmp_path / ("m" * 300 + ".cnnmodel"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(SaveError, match=r"file is not a folder"):
        check_target(tmp_path / "file" / "m.cnnmodel")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.cnnmodel")
        with pytest.raises(SaveError, match="not a regular file"):
            check_target(tmp_path / "pipe.cnnmodel")
    assert check_target(tmp_path / "new" / "deeper" / "m.cnnmodel")  # folders made on save
    assert not (tmp_path / "new").exists()


def test_a_read_only_folder_is_refused_before_any_work(tmp_path):
    with (
        tiny_disk(tmp_path / "ro", read_only=True) as folder,
        pytest.raises(SaveError, match=r"ro/m\.cnnmodel: cannot write in .*Read-only"),
    ):
        check_target(folder / "m.cnnmodel")


def test_the_longest_allowed_name_saves(tmp_path):
    target = tmp_path / ("m" * 246 + ".cnnmodel")  # 255 bytes: the temporary must be shorter
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"data")
    assert target.read_bytes() == b"data"


def test_a_failed_write_names_the_target_not_the_temporary(tmp_path):
    with tiny_disk(tmp_path / "small", "64k") as folder:
        target = folder / "big.bin"
        with pytest.raises(SaveError) as caught, atomic_path(target) as tmp:
            tmp.write_bytes(b"x" * 1024 * 1024)
        message = str(caught.value)
        assert message.startswith(f"{target}: cannot write") and "No space left" in message
        assert ".tmp" not in message
        assert not any(folder.iterdir())  # nothing half-written left behind


def test_stale_temporaries_of_killed_saves_are_removed_and_running_ones_kept(tmp_path):
    target = tmp_path / "m.cnnmodel"
    writer = textwrap.dedent(
        f"""
        import sys, time
        from core.atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_bytes(b"x" * 100_000)
            print("writing", flush=True)
            time.sleep(600)
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE) for _ in range(3)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == b"writing\n"
    children[0].kill()  # like kill -9 during a save
    children[1].kill()
    children[0].wait(30)
    children[1].wait(30)
    leftovers = sorted(tmp_path.glob(".m.cnnmodel.*.tmp"))
    assert len(leftovers) == 3
    other = tmp_path / ".other.cnnmodel.abcdefgh.tmp"  # another target's: not ours to judge
    other.write_bytes(b"x")
    try:
        assert remove_stale_temporaries(target) == 2  # the live writer's file stays
        assert len(list(tmp_path.glob(".m.cnnmodel.*.tmp"))) == 1
        assert other.exists()
    finally:
        children[2].kill()
        children[2].wait(30)
    with atomic_path(target) as tmp:  # the next save cleans up the last one
        tmp.write_bytes(b"new")
    assert list(tmp_path.glob(".m.cnnmodel.*.tmp")) == []


def test_train_refuses_an_unwritable_output_before_training(pattern_dir, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = main(["train", str(pattern_dir), "--epochs", "1", "--out", str(tmp_path / "file/m")])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{tmp_path / 'file'} is not a folder" in captured.err
    assert "Epoch" not in captured.err  # refused before any training


def test_a_full_disk_at_the_end_keeps_the_trained_model(pattern_dir, tmp_path, capsys):
    with tiny_disk(tmp_path / "small", "64k") as folder:
        target = folder / "patterns.cnnmodel"
        code = main(
            ["train", str(pattern_dir), "--image-size", "16", "--epochs", "1", "--out", str(target)]
        )
        captured = capsys.readouterr()
        assert code == 1
        assert f"could not save the model: {target}: cannot write" in captured.err
        assert not target.exists() and not any(folder.iterdir())
    recovered = [
        Path(line.split(" saved to ")[1].split(" instead")[0])
        for line in captured.err.splitlines()
        if " saved to " in line
    ]
    assert len(recovered) == 1 and "recovered models" in str(recovered[0])
    bundle = read_bundle(recovered[0])
    assert bundle.class_names and all(np.isfinite(w).all() for w in bundle.weights)


def test_predict_never_overwrites_a_model_or_an_image_with_its_csv(saved_model, tmp_path, capsys):
    victim = tmp_path / "victim.cnnmodel"
    victim.write_bytes(saved_model.read_bytes())
    image = tmp_path / "img.png"
    from PIL import Image

    Image.new("L", (16, 16), 128).save(image)
    for target in (victim, image):
        before = target.read_bytes()
        assert main(["predict", str(saved_model), str(image), "--csv", str(target)]) == 1
        assert "is not a CSV file; refusing to overwrite it" in capsys.readouterr().err
        assert target.read_bytes() == before
    old_csv = tmp_path / "old.csv"
    old_csv.write_text("path,label\n", encoding="utf-8")
    assert main(["predict", str(saved_model), str(image), "--csv", str(old_csv)]) == 0
    assert str(image) in old_csv.read_text(encoding="utf-8")


@pytest.mark.parametrize("out", [".", "..", "/dev/null", "folder"])
def test_export_refuses_a_device_or_a_folder_in_use(
    saved_model, tmp_path, monkeypatch, capsys, out
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("mine")
    assert main(["export", str(saved_model), "--format", "keras", "--out", out]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    assert [p.name for p in (tmp_path / "folder").iterdir()] == ["notes.txt"]
