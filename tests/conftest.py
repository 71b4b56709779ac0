"""Shared fixtures: isolated user folders, shared-data lookup, small dataset builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.imagegen import encode, gradient

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point the user cache/data/config folders at a temporary place for every test."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    return home


def shared_path(*parts: str) -> Path:
    """A path in ../shared/data; skips the test when absent, fails under REQUIRE_SHARED_DATA=1."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"shared data not found at {path}"
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def make_dataset(root: Path, counts: dict[str, int], size: tuple[int, int] = (20, 20)) -> Path:
    """Write PNGs whose content differs per class and per image."""
    root.mkdir(parents=True, exist_ok=True)
    for k, (name, count) in enumerate(counts.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            image = gradient(size, "L").rotate(90 * k).point(lambda v, s=i * 7 + k: (v + s) % 256)
            (folder / f"img{i:03d}.png").write_bytes(encode(image, "PNG"))
    return root
