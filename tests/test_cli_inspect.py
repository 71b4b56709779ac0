"""`cnn-studio inspect` and the command line's exit-code rules."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.cli.main import main
from tests.conftest import make_dataset


def test_inspect_prints_classes_warnings_and_skipped(tmp_path, capsys):
    root = make_dataset(tmp_path / "d", {"cats": 4, "dogs": 1})
    (root / "cats" / "broken.jpg").write_text("oops")
    (root / ".DS_Store").write_bytes(b"x")
    assert main(["inspect", str(root)]) == 0
    text = capsys.readouterr().out
    assert "2 classes, 5 images" in text
    assert "cats  4" in text
    assert "Warning: Class 'dogs' has only 1 image" in text
    assert "cats/broken.jpg: not an image: it is a text file" in text
    assert ".DS_Store: ignored: macOS folder settings file" in text


def test_inspect_json_has_the_documented_shape(tmp_path, capsys):
    root = make_dataset(tmp_path / "d", {"a": 5, "b": 5})
    (root / "a" / "z.png").write_bytes(b"")
    assert main(["inspect", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classes"] == [{"name": "a", "count": 5}, {"name": "b", "count": 5}]
    assert data["skipped"] == [{"path": "a/z.png", "reason": "empty file (0 bytes)"}]
    # make_dataset's images are one gradient at different brightness: the only warning is that
    # they are near-identical (perceptual hash), which they are
    assert all(isinstance(w, str) for w in data["warnings"])
    assert [w for w in data["warnings"] if "near-identical" not in w] == []


def test_cache_command_shows_and_clears_what_a_load_cached(tmp_path, capsys):
    from core.data.cache import cache_root

    root = make_dataset(tmp_path / "d", {"a": 4, "b": 4})
    assert main(["inspect", str(root)]) == 0  # decodes, and caches what it decoded
    capsys.readouterr()
    assert main(["cache"]) == 0
    shown = capsys.readouterr().out
    assert str(cache_root()) in shown and "1 file(s)" in shown
    assert main(["cache", "--clear"]) == 0
    assert "Cleared the cache: 1 file(s)" in capsys.readouterr().out
    assert not any(p.is_file() for p in cache_root().rglob("*"))
    assert main(["cache"]) == 0
    assert "0 file(s), 0.0 MB" in capsys.readouterr().out


def test_inspect_demo_generates_the_builtin_dataset(capsys):
    assert main(["inspect", "--demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in data["classes"]] == ["circle", "cross", "square", "triangle"]
    from core.data.demo import PER_CLASS

    assert all(c["count"] == PER_CLASS for c in data["classes"])


def test_exit_codes_and_no_traceback(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core", *args], capture_output=True, text=True, timeout=120
        )

    missing = run("inspect", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"cnn-studio: error: {tmp_path / 'nope'} is not a folder"
    usage = run("inspect", "--image-size", "many")
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr
    bad_size = run("inspect", "--demo", "--image-size", "2")
    assert bad_size.returncode == 1
    assert "between 8 and 512" in bad_size.stderr
    assert "Traceback" not in bad_size.stderr


def test_inspect_exits_1_when_the_folder_cannot_be_trained_on(tmp_path, capsys):
    root = make_dataset(tmp_path / "d", {"only": 3})
    assert main(["inspect", str(root)]) == 1
    printed = capsys.readouterr()
    assert "Cannot train: Only one class" in printed.out
    # Every exit 1 says why in one line on stderr (the README's contract), --json too.
    assert printed.err.count("\n") == 1 and "Only one class" in printed.err
    assert str(root) in printed.err
    assert main(["inspect", str(root), "--json"]) == 1
    printed = capsys.readouterr()
    assert json.loads(printed.out)["classes"]
    assert printed.err.count("\n") == 1 and "Only one class" in printed.err


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 3, "b": 3})
    for i in range(3000):  # far more skipped-file lines than a pipe buffer holds
        (root / "a" / f"empty-file-number-{i:05d}.png").write_bytes(b"")
    child = subprocess.Popen(
        [sys.executable, "-m", "core", "inspect", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.readline()
    child.stdout.close()  # like `| head -1`
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 1
    assert "Broken pipe" not in stderr and "Traceback" not in stderr


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see imports")
@pytest.mark.parametrize("entry", ["core", "gui.launcher"])
def test_ctrl_c_while_still_importing_ends_quietly(tmp_path, entry):
    """Inside numpy's C import a KeyboardInterrupt became an ImportError with a traceback."""
    child = subprocess.Popen(
        [sys.executable, "-m", entry, "predict", str(tmp_path / "m.cnnmodel"), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    maps = Path(f"/proc/{child.pid}/maps")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        with contextlib.suppress(OSError):
            if "numpy" in maps.read_text():  # inside our imports now
                break
        time.sleep(0.005)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    assert "Traceback" not in stderr.decode()
    assert child.returncode in (1, 130)  # 1 if it got as far as the missing model file
