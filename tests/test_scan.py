"""Scanning class folders: junk, links, odd names, structure problems, cancellation."""

from __future__ import annotations

import os
import threading

import pytest

from core.data.scan import MAX_DEPTH, scan_folder
from core.errors import Cancelled, DatasetError
from core.progress import CancelToken
from tests.conftest import make_dataset


def skipped_reasons(index) -> dict[str, str]:
    return {s.path: s.reason for s in index.skipped}


def test_junk_is_ignored_listed_and_never_a_class(tmp_path):
    root = make_dataset(tmp_path / "d", {"cat": 3, "dog": 3})
    for junk in (".DS_Store", "Thumbs.db", "desktop.ini", "cat/._img000.png", "cat/.DS_Store"):
        (root / junk).write_bytes(b"junk")
    for folder in ("__MACOSX/cat", ".git/objects", ".ipynb_checkpoints", "cat/.hidden"):
        (root / folder).mkdir(parents=True)
        (root / folder / "x.png").write_bytes(b"junk")
    (root / "notes.txt").write_text("top-level notes")
    index = scan_folder(root)
    assert index.class_names == ["cat", "dog"]
    assert index.file_count == 6
    reasons = skipped_reasons(index)
    assert "Windows thumbnail cache" in reasons["Thumbs.db"]
    assert "macOS folder settings" in reasons[".DS_Store"]
    assert "Windows folder settings" in reasons["desktop.ini"]
    assert "AppleDouble" in reasons["cat/._img000.png"]
    assert "macOS archive metadata" in reasons["__MACOSX"]
    assert "hidden folder" in reasons[".git"]
    assert "hidden folder" in reasons[".ipynb_checkpoints"]
    assert "hidden folder" in reasons["cat/.hidden"]
    assert "not inside a class folder" in reasons["notes.txt"]


def test_zero_byte_file_is_skipped(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 2, "b": 2})
    (root / "a" / "empty.png").write_bytes(b"")
    assert skipped_reasons(scan_folder(root))["a/empty.png"] == "empty file (0 bytes)"


def test_structure_problems_are_clear(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "No class folders" in scan_folder(empty).problems[0]
    one = make_dataset(tmp_path / "one", {"only": 3})
    assert "Only one class" in scan_folder(one).problems[0]
    hollow = make_dataset(tmp_path / "hollow", {"a": 3, "b": 0})
    index = scan_folder(hollow)
    assert not index.can_train
    assert any("'b' has no usable images" in p for p in index.problems)
    single = make_dataset(tmp_path / "single", {"a": 10, "b": 1})
    index = scan_folder(single)
    assert index.can_train
    assert any("'b' has only 1 image" in w for w in index.warnings)
    assert any("imbalanced" in w for w in index.warnings)
    with pytest.raises(DatasetError, match="not a folder"):
        scan_folder(tmp_path / "missing")


def test_unicode_folder_names_work(tmp_path):
    names = {"with space": 2, "café": 2, "猫": 2, "🐶 dog": 2}
    index = scan_folder(make_dataset(tmp_path / "ünï cödé 数据", names))
    assert sorted(index.class_names) == sorted(names)
    assert index.file_count == 8


def test_symlink_loops_and_outside_links_are_not_followed(tmp_path):
    outside = make_dataset(tmp_path / "outside", {"x": 2})
    root = make_dataset(tmp_path / "d", {"a": 2, "b": 2})
    os.symlink(root, root / "a" / "loop")
    os.symlink(outside / "x", root / "b" / "elsewhere")
    os.symlink(outside / "x" / "img000.png", root / "b" / "far.png")
    os.symlink(root / "a" / "img000.png", root / "b" / "near.png")
    os.symlink(root / "a", root / "b" / "sibling")
    os.symlink(tmp_path / "nothing", root / "b" / "broken.png")
    index = scan_folder(root)
    reasons = skipped_reasons(index)
    assert "loop" in reasons["a/loop"]
    assert "outside" in reasons["b/elsewhere"]
    assert "outside" in reasons["b/far.png"]
    assert "another folder" in reasons["b/sibling"]
    assert "broken" in reasons["b/broken.png"]
    b_files = [f.relpath for f in index.classes[1].files]
    assert b_files == ["b/img000.png", "b/img001.png", "b/near.png"]


def test_very_deep_tree_ends(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 1, "b": 1})
    deep = root / "a"
    for _ in range(MAX_DEPTH + 3):
        deep = deep / "n"
    deep.mkdir(parents=True)
    (deep / "x.png").write_bytes(b"x")
    reasons = skipped_reasons(scan_folder(root))
    assert any("nested over" in r for r in reasons.values())


def test_scan_of_a_big_tree_can_be_cancelled_quickly(tmp_path):
    root = tmp_path / "big"
    for c in range(2):
        folder = root / f"c{c}"
        folder.mkdir(parents=True)
        for i in range(6000):
            (folder / f"{i}.png").write_bytes(b"x")
    token = CancelToken()
    seen: list[str] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        token.cancel()

    with pytest.raises(Cancelled):
        scan_folder(root, progress=progress, cancel=token)
    assert len(seen) == 1  # stopped at the first check after the cancel


def test_cancel_from_another_thread_stops_the_scan(tmp_path):
    root = tmp_path / "big"
    (root / "a").mkdir(parents=True)
    for i in range(3000):
        (root / "a" / f"{i}.png").write_bytes(b"x")
    token = CancelToken()
    token.cancel()
    worker_error: list[BaseException] = []

    def run() -> None:
        try:
            scan_folder(root, cancel=token)
        except BaseException as exc:
            worker_error.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(5)
    assert isinstance(worker_error[0], Cancelled)
