"""Shared fixtures: isolated user folders, shared-data lookup, small dataset builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Keras imports urllib3, which creates (never connects) an IPv6 socket once at import time to
# probe IPv6 support. Import it before pytest-socket's guard goes up, so the guard reports only
# real attempts to use the network.
import urllib3  # noqa: F401

from tests.imagegen import encode, gradient

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point the user cache/data/config folders at a temporary place for every test."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    return home


@pytest.fixture(autouse=True)
def pixels_on_disk_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``CNN_STUDIO_TEST_PIXELS_ON_DISK=1``, every dataset keeps its pixels in a file, as
    a large one does (:mod:`core.data.pixels`): the whole suite then runs the on-disk path."""
    if os.environ.get("CNN_STUDIO_TEST_PIXELS_ON_DISK") == "1":
        monkeypatch.setattr("core.data.pixels.IN_MEMORY_BYTES", 0)


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


def make_pattern_dataset(root: Path, per_class: int = 24, size: int = 20) -> Path:
    """Three easily learnt classes (horizontal stripes, vertical stripes, a blob), seeded."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("horizontal", "vertical", "blob"):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 60, (size, size)).astype(np.uint8)
            offset = int(rng.integers(0, 4))
            if name == "horizontal":
                pixels[offset::4] = 230
            elif name == "vertical":
                pixels[:, offset::4] = 230
            else:
                c = int(rng.integers(6, size - 6))
                pixels[c - 4 : c + 4, c - 4 : c + 4] = 240
            Image.fromarray(pixels, "L").save(folder / f"{name}_{i:03d}.png")
    return root


@pytest.fixture(scope="session")
def pattern_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pattern_dataset(tmp_path_factory.mktemp("patterns"))


@pytest.fixture(scope="session")
def pattern_dataset(pattern_dir: Path):
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec

    return load_dataset(pattern_dir, InputSpec(size=16))


@pytest.fixture(scope="session")
def trained(pattern_dataset):
    """A small model trained for a few epochs on the pattern dataset (shared, do not mutate)."""
    from core.learn.config import TrainConfig
    from core.learn.training import Trainer

    config = TrainConfig(epochs=4, batch_size=16, seed=1, early_stopping=False)
    return Trainer(pattern_dataset, config).run()


@pytest.fixture(scope="session")
def trained_session(pattern_dir: Path):
    """A session holding the pattern dataset and a model trained on it (do not mutate)."""
    from core.data.images import InputSpec
    from core.learn.config import TrainConfig
    from core.session import Session

    session = Session(use_cache=False)
    session.load_dataset(pattern_dir, InputSpec(size=16))
    config = TrainConfig(epochs=4, batch_size=16, seed=1, early_stopping=False)
    session.train(config, "article")
    return session


@pytest.fixture(scope="session")
def saved_model(trained_session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model of ``trained_session``, saved as a .cnnmodel file."""
    return trained_session.save(tmp_path_factory.mktemp("models") / "patterns.cnnmodel")


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Dialogs:
    """Message boxes shown during a test; ``answers`` feeds ``question`` (default Cancel)."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []
        self.answers: list[object] = []

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.shown]


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> Dialogs:
    """Replace blocking message boxes with a recorder."""
    from PySide6.QtWidgets import QMessageBox

    record = Dialogs()

    def recorder(kind: str):
        def show(parent, title, text, *args, **kwargs):
            record.shown.append((kind, f"{title}: {text}"))
            if kind == "question":
                cancel = QMessageBox.StandardButton.Cancel
                return record.answers.pop(0) if record.answers else cancel
            return QMessageBox.StandardButton.Ok

        return show

    for kind in ("warning", "critical", "information", "question", "about"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(recorder(kind)))
    return record
