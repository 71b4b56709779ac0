"""The built-in demo dataset."""

from __future__ import annotations

import hashlib

from core.demo import SHAPES, demo_dataset, write_demo_dataset
from core.scan import scan_folder


def digest(folder) -> str:
    files = sorted(p for p in folder.rglob("*.png"))
    return hashlib.sha1(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_demo_dataset_is_generated_once_as_class_folders(tmp_path):
    folder = demo_dataset(tmp_path)
    index = scan_folder(folder)
    assert index.class_names == list(SHAPES)
    assert all(len(c.files) == 300 for c in index.classes)
    stamp = (folder / "circle" / "circle_0000.png").stat().st_mtime_ns
    assert demo_dataset(tmp_path) == folder
    assert (folder / "circle" / "circle_0000.png").stat().st_mtime_ns == stamp


def test_demo_dataset_is_seeded(tmp_path):
    a = write_demo_dataset(tmp_path / "a", per_class=5)
    b = write_demo_dataset(tmp_path / "b", per_class=5)
    assert digest(a) == digest(b)
