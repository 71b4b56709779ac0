"""Pixels kept in a file (core/data/pixels.py) and the cache around them (issue 26).

A large dataset's pixels live in a file read by row; these tests hold that store to numpy's
indexing, prove that a load, the cache and a training run never read the whole dataset at
once, and that a pretrained head's scores from cached features are the network's own.
"""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from core.data.cache import DatasetCache
from core.data.dataset import load_dataset
from core.data.images import InputSpec
from core.data.pixels import DiskPixels, PixelFile, PixelSink, take
from core.learn.features import FeatureCache
from tests.conftest import make_dataset, make_pattern_dataset
from tests.test_pretrained import colour_photos


@pytest.fixture
def on_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every dataset keeps its pixels in a file, as one over 128 MB does."""
    monkeypatch.setattr("core.data.pixels.IN_MEMORY_BYTES", 0)


def _stored(tmp_path: Path, array: np.ndarray) -> DiskPixels:
    store = PixelFile.create(tmp_path, len(array), array.shape[1:])
    for i, image in enumerate(array):
        store.write(i, image)
    return DiskPixels(store)


def test_disk_pixels_index_like_an_array(tmp_path: Path) -> None:
    array = np.random.default_rng(0).integers(0, 256, (9, 4, 3, 2), dtype=np.uint8)
    disk = _stored(tmp_path, array)
    assert disk.shape == array.shape and len(disk) == 9 and disk.ndim == 4
    assert np.array_equal(disk[3], array[3]) and np.array_equal(disk[-1], array[-1])
    assert np.array_equal(disk[2:7:2], array[2:7:2])
    rows = np.array([8, 0, 5, 5, 1])  # any order, repeats
    assert np.array_equal(disk[rows], array[rows])
    mask = np.arange(9) % 3 == 0
    assert np.array_equal(disk[mask], array[mask])
    assert np.array_equal(np.asarray(disk), array)
    subset = disk.take(rows)
    assert isinstance(subset, DiskPixels) and np.array_equal(subset[1:4], array[rows][1:4])
    more = subset.plus(array[:2])
    assert np.array_equal(more[:], np.concatenate([array[rows], array[:2]]))
    assert np.array_equal(more.take(np.array([6, 0]))[:], array[[1, 8]])  # extra, then stored
    with pytest.raises(IndexError):
        disk[9]
    with pytest.raises(IndexError):
        disk[np.array([0, 10])]


def test_an_unadopted_pixel_file_is_removed_when_no_longer_used(tmp_path: Path) -> None:
    disk = _stored(tmp_path, np.zeros((3, 2, 2, 1), np.uint8))
    path = disk.source.path
    assert path.exists()
    del disk
    gc.collect()
    assert not path.exists()


def test_a_sink_keeps_small_datasets_in_memory_and_large_ones_in_a_file(tmp_path: Path) -> None:
    images = np.arange(4 * 12, dtype=np.uint8).reshape(4, 2, 2, 3)
    small = PixelSink(4, (2, 2, 3), tmp_path, limit=10**6)
    large = PixelSink(4, (2, 2, 3), tmp_path, limit=10)
    for sink in (small, large):
        for i in (3, 0, 2):  # entry 1 failed to decode
            sink.put(i, images[i])
    kept = np.array([0, 2, 3])
    assert isinstance(small.finish(kept), np.ndarray)
    on_disk = large.finish(kept)
    assert isinstance(on_disk, DiskPixels)
    assert np.array_equal(on_disk[:], images[kept]) and np.array_equal(small.array, images[kept])


def test_a_large_folder_streams_into_a_file_and_is_cached_beside_its_index(
    tmp_path: Path, on_disk: None
) -> None:
    root = make_dataset(tmp_path / "d", {"a": 20, "b": 20})
    (root / "a" / "bad.png").write_text("not an image")
    cache = DatasetCache(tmp_path / "cache")
    first = load_dataset(root, cache=cache, workers=2)
    assert isinstance(first.images, DiskPixels) and len(first) == 40
    in_memory = load_dataset(root, cache=None, workers=1)  # the same folder, compared below
    pixel_files = list((tmp_path / "cache").glob("*.pixels"))
    assert len(pixel_files) == 1 and first.images.source.path == pixel_files[0]
    messages = []
    again = load_dataset(root, cache=cache, progress=lambda f, m: messages.append(m))
    assert "41 of 41 images from cache" in messages[0]  # nothing decoded again
    for loaded in (first, again):
        assert loaded.paths == in_memory.paths and loaded.hashes == in_memory.hashes
        assert np.array_equal(loaded.images[:], in_memory.images[:])
        assert np.array_equal(loaded.phashes, in_memory.phashes)
        assert [s.path for s in loaded.skipped] == ["a/bad.png"]
    # A changed file: decoded again, the rest copied; the old pixel file is gone.
    (root / "b" / "img000.png").write_bytes((root / "a" / "img000.png").read_bytes())
    changed = load_dataset(root, cache=cache)
    assert np.array_equal(changed.images[changed.paths.index("b/img000.png")], first.images[0])
    assert [p.name for p in (tmp_path / "cache").glob("*.pixels")] != [pixel_files[0].name]
    assert len(list((tmp_path / "cache").glob("*.pixels"))) == 1


def test_pixels_that_do_not_fit_in_the_cache_are_not_cached(tmp_path: Path, on_disk: None) -> None:
    root = make_dataset(tmp_path / "d", {"a": 10, "b": 10})
    cache = DatasetCache(tmp_path / "cache", limit=1000)  # 20 images of 28x28 take 15,680 bytes
    data = load_dataset(root, cache=cache)
    assert len(data) == 20 and not list((tmp_path / "cache").glob("[!.]*"))  # no index
    assert data.images.source.path.parent == tmp_path / "cache"  # its own file, until let go
    path = data.images.source.path
    del data
    gc.collect()
    assert not path.exists()


def test_pretrained_training_reads_a_batch_at_a_time(tmp_path: Path, on_disk: None) -> None:
    """Features, the head, calibration and scoring never ask for the whole dataset: the
    largest read from the pixel file is one feature batch (64), with 72 photos loaded."""
    from core.learn.config import TrainConfig
    from core.session import Session
    from core.use.by_features import cached_head_probabilities
    from core.use.classify import Classifier

    root = colour_photos(tmp_path / "photos", per_class=24)
    session = Session(use_cache=False)
    session.load_dataset(root, InputSpec(64, color=True))
    data = session.dataset
    assert isinstance(data.images, DiskPixels) and len(data) == 72
    summary = session.train(TrainConfig(epochs=20, batch_size=8, seed=0), "photos")
    assert summary.evaluation["accuracy"] >= 0.6
    assert 0 < data.images.source.largest_read <= 64
    losses, _ = session.surprises()
    assert len(losses) == 72 and data.images.source.largest_read <= 64
    # What scoring took from cached features is what the whole network answers.
    model = session._require_model().keras_model
    rows = np.arange(len(data))
    fast = cached_head_probabilities(model, data, rows)
    slow = Classifier(model, data.class_names, data.spec).probabilities_in_batches(data.images)
    assert fast is not None and np.allclose(fast, slow, atol=1e-4)
    # Fine-tuned, the backbone no longer gives the cached features: they are not used.
    session.continue_training(
        TrainConfig(epochs=1, batch_size=8, seed=0, fine_tune=True, early_stopping=False)
    )
    assert cached_head_probabilities(session._require_model().keras_model, data, rows) is None
    assert data.images.source.largest_read <= 256  # a validation batch at most


def test_the_article_cnn_trains_on_pixels_in_a_file(tmp_path: Path, on_disk: None) -> None:
    from core.learn.config import TrainConfig
    from core.session import Session

    root = make_pattern_dataset(tmp_path / "d", per_class=30)
    session = Session(use_cache=False)
    session.load_dataset(root)
    assert isinstance(session.dataset.images, DiskPixels)
    summary = session.train(TrainConfig(epochs=8, batch_size=16, seed=0), "article")
    assert summary.evaluation["accuracy"] >= 0.9  # stripes and blobs: easily learnt
    assert session.dataset.images.source.largest_read <= 256


def test_the_feature_cache_keeps_every_row_and_reads_only_those_asked(tmp_path: Path) -> None:
    cache = FeatureCache("test-backbone", 64, folder=tmp_path / "features")
    keys = [f"{i:040x}" for i in range(300)]

    def compute(rows: np.ndarray) -> np.ndarray:
        return np.stack([np.full(8, float(r)) for r in rows]).astype(np.float32)

    for start in range(0, 300, 100):  # three datasets, one after the other
        cache.features(keys[start : start + 100], lambda r, s=start: compute(r + s))
    assert cache.cached(keys[:1] + keys[-1:]).tolist() == [[0.0] * 8, [299.0] * 8]
    assert cache.cached([*keys[:2], "f" * 40]) is None
    rows_files = list((tmp_path / "features").glob("*.npy"))
    assert len(rows_files) == 1  # each write replaced the one before
    assert np.load(rows_files[0], mmap_mode="r").shape == (300, 8)


@pytest.mark.parametrize(
    "named", ["../elsewhere-0123456789abcdef.npy", "sub/x-0123456789abcdef.npy", "other.npy"]
)
def test_a_feature_index_naming_a_file_outside_the_cache_is_ignored(
    tmp_path: Path, named: str
) -> None:
    folder = tmp_path / "features"
    cache = FeatureCache("test-backbone", 64, folder=folder)
    keys = [f"{i:040x}" for i in range(3)]

    def compute(rows: np.ndarray) -> np.ndarray:
        return np.stack([np.full(4, float(r)) for r in rows]).astype(np.float32)

    cache.features(keys, compute)
    outside = tmp_path / "elsewhere-0123456789abcdef.npy"
    np.save(outside, np.zeros((3, 4), np.float32))
    blob = dict(np.load(cache.path))["keys"]
    np.savez(cache.path, keys=blob, rows=np.frombuffer(named.encode("ascii"), np.uint8))
    assert cache.cached(keys) is None  # not trusted
    assert cache.features(keys, compute).tolist() == compute(np.arange(3)).tolist()
    assert cache.cached(keys) is not None  # written afresh, and the file outside left alone
    assert outside.exists()


def test_take_copies_from_memory_and_stays_lazy_on_disk(tmp_path: Path) -> None:
    array = np.arange(5 * 4, dtype=np.uint8).reshape(5, 2, 2, 1)
    assert isinstance(take(array, np.array([1, 3])), np.ndarray)
    lazy = take(_stored(tmp_path, array), np.array([1, 3]))
    assert isinstance(lazy, DiskPixels) and lazy.source.largest_read == 0
    assert np.array_equal(lazy[:], array[[1, 3]])


def test_no_temporary_pixel_files_outlive_their_loads(
    tmp_path: Path, on_disk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    root = make_dataset(tmp_path / "d", {"a": 5, "b": 5})
    kept = load_dataset(root, cache=None)
    for _ in range(3):
        load_dataset(root, cache=None)
    gc.collect()
    leftovers = [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith(".pixels-")]
    assert leftovers == [kept.images.source.path.name]  # only the one still in use


@pytest.mark.parametrize("workers", [1, 2])
def test_a_load_lets_each_decoded_chunk_go(
    tmp_path: Path, on_disk: None, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Decoded pixels live only until their chunk is stored: at most a window of chunks is
    alive at any time (a load once kept every image twice until it ended)."""
    import weakref

    from PIL import Image

    import core.data.decoding as decoding

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / "d" / name).mkdir(parents=True)
        for i in range(150):  # noise PNGs of about 19 KB: large enough for the thread pool
            pixels = rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "d" / name / f"{i:03d}.png")
    alive: list[weakref.ref] = []
    most = 0
    decode = decoding.decode_one

    def counted(root: str, relpath: str, spec: InputSpec) -> tuple:
        nonlocal most
        result = decode(root, relpath, spec)
        alive.append(weakref.ref(result[0]))
        most = max(most, sum(ref() is not None for ref in alive))
        return result

    monkeypatch.setattr(decoding, "decode_one", counted)
    data = load_dataset(tmp_path / "d", InputSpec(64, color=True), workers=workers)
    assert len(data) == 300 and len(alive) == 300
    assert most <= 160  # the window: 4 chunks of 16 a worker, against 300 images
    gc.collect()
    assert all(ref() is None for ref in alive)
