"""Loading folders: content checks, parallel decode, cache, duplicates, stratified split."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.data import decoding
from core.data.cache import DatasetCache
from core.data.dataset import load_dataset
from core.data.images import InputSpec
from core.data.split import stratified_split
from core.errors import Cancelled
from core.progress import CancelToken
from tests import imagegen as gen
from tests.conftest import make_dataset


def count_decodes(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = decoding.load_input

    def counting(path, spec, data=None):
        calls.append(Path(path).name)
        return real(path, spec, data)

    monkeypatch.setattr(decoding, "load_input", counting)
    return calls


def test_bad_files_are_listed_and_good_ones_loaded(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 4, "b": 4})
    (root / "a" / "page.jpg").write_text("<html><body>not found</body></html>")
    (root / "a" / "notes.txt").write_text("remember to label more")
    (root / "b" / "png_named.jpg").write_bytes(gen.encode(gen.gradient(), "PNG"))
    cut = gen.encode(gen.gradient((100, 100)), "JPEG")
    (root / "b" / "cut.jpg").write_bytes(cut[: len(cut) // 2])
    loaded = load_dataset(root, InputSpec(size=16))
    assert loaded.counts() == {"a": 4, "b": 5}
    reasons = {s.path: s.reason for s in loaded.skipped}
    assert "HTML" in reasons["a/page.jpg"]
    assert "text file" in reasons["a/notes.txt"]
    assert "truncated" in reasons["b/cut.jpg"] or "damaged" in reasons["b/cut.jpg"]
    assert loaded.images.dtype == np.uint8
    assert loaded.images.shape == (9, 16, 16, 1)
    assert "b/png_named.jpg" in loaded.paths


def test_class_emptied_by_bad_files_blocks_training(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 3})
    (root / "b").mkdir()
    (root / "b" / "readme.txt").write_text("nothing here")
    loaded = load_dataset(root)
    assert not loaded.can_train
    assert any("'b' has no usable images" in p for p in loaded.problems)


def test_progress_reports_fractions_up_to_one(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 30, "b": 30})
    reports: list[float] = []
    load_dataset(root, progress=lambda f, m: reports.append(f))
    assert reports[-1] == 1.0
    assert reports == sorted(reports)


def test_loading_can_be_cancelled(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 40, "b": 40})
    token = CancelToken()

    def progress(fraction: float, message: str) -> None:
        if fraction > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        load_dataset(root, progress=progress, cancel=token)


def test_second_load_comes_from_cache_and_changed_files_are_reread(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "d", {"a": 5, "b": 5})
    (root / "a" / "bad.jpg").write_text("not an image")
    cache = DatasetCache(tmp_path / "cache")
    calls = count_decodes(monkeypatch)
    first = load_dataset(root, cache=cache)
    assert len(calls) == 11
    calls.clear()
    second = load_dataset(root, cache=cache)
    assert calls == []
    assert np.array_equal(first.images, second.images)
    assert first.paths == second.paths
    assert [s.reason for s in first.skipped] == [s.reason for s in second.skipped]
    changed = root / "b" / "img002.png"
    changed.write_bytes(gen.encode(gen.gradient((20, 20), "L").rotate(45), "PNG"))
    os.utime(changed, ns=(1, 1))
    third = load_dataset(root, cache=cache)
    assert calls == ["img002.png"]
    row = third.paths.index("b/img002.png")
    assert not np.array_equal(third.images[row], first.images[row])


def test_an_added_and_a_removed_file_are_noticed_on_a_cached_load(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "d", {"a": 4, "b": 4})
    cache = DatasetCache(tmp_path / "cache")
    first = load_dataset(root, cache=cache)
    (root / "a" / "img001.png").unlink()
    (root / "b" / "new.png").write_bytes((root / "a" / "img002.png").read_bytes())
    calls = count_decodes(monkeypatch)
    second = load_dataset(root, cache=cache)
    assert calls == ["new.png"]
    assert "a/img001.png" not in second.paths and "b/new.png" in second.paths
    assert len(second) == len(first)
    row = second.paths.index("b/new.png")
    assert np.array_equal(second.images[row], first.images[first.paths.index("a/img002.png")])
    calls.clear()
    third = load_dataset(root, cache=cache)  # the refreshed cache holds the new file
    assert calls == [] and third.paths == second.paths


def test_cache_for_another_spec_is_separate(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "d", {"a": 3, "b": 3})
    cache = DatasetCache(tmp_path / "cache")
    load_dataset(root, InputSpec(28), cache=cache)
    calls = count_decodes(monkeypatch)
    colour = load_dataset(root, InputSpec(32, color=True), cache=cache)
    assert len(calls) == 6
    assert colour.images.shape[1:] == (32, 32, 3)


def test_corrupt_cache_file_is_ignored(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 3, "b": 3})
    cache = DatasetCache(tmp_path / "cache")
    load_dataset(root, cache=cache)
    cache.path_for(root, InputSpec()).write_bytes(b"garbage")
    assert len(load_dataset(root, cache=cache)) == 6


def _rows_out_of_range(a):
    a["rows"] = a["rows"] + 100


def _sizes_as_floats(a):
    a["sizes"] = a["sizes"].astype(np.float64)


def _hashes_cut_short(a):
    a["hashes"] = a["hashes"][:-3]


def _one_path_missing(a):
    text = a["paths"].tobytes().decode()
    a["paths"] = np.frombuffer("\0".join(text.split("\0")[1:]).encode(), np.uint8)


def _reason_dropped(a):
    a["reasons"] = np.frombuffer(b"{}", np.uint8)


def _reasons_not_text(a):
    a["reasons"] = np.frombuffer(b'{"0": 7}', np.uint8)


def _pixels_wrong_shape(a):
    a["pixels"] = a["pixels"][:, :10]


@pytest.mark.parametrize(
    "damage",
    [
        _rows_out_of_range,
        _sizes_as_floats,
        _hashes_cut_short,
        _one_path_missing,
        _reason_dropped,
        _reasons_not_text,
        _pixels_wrong_shape,
    ],
)
def test_a_cache_whose_arrays_do_not_fit_together_is_distrusted(tmp_path, damage):
    """Regression: one damaged entry once broke every later load of the folder."""
    root = make_dataset(tmp_path / "d", {"a": 3, "b": 3})
    (root / "a" / "bad.jpg").write_text("not an image")  # a skipped entry with its reason
    cache = DatasetCache(tmp_path / "cache")
    first = load_dataset(root, cache=cache)
    spec = InputSpec()
    path = cache.path_for(root, spec)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    damage(arrays)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
    assert len(cache.read(root, spec)) == 0
    again = load_dataset(root, cache=cache)
    assert again.paths == first.paths and np.array_equal(again.images, first.images)
    assert again.hashes == first.hashes
    assert [s.reason for s in again.skipped] == [s.reason for s in first.skipped]


def test_the_cache_stays_under_its_size_limit_dropping_the_least_recently_used(tmp_path):
    from core.data.cache import cache_usage, clear_cache

    folders = [make_dataset(tmp_path / f"d{i}", {"a": 3, "b": 3}) for i in range(3)]
    cache = DatasetCache(tmp_path / "cache", limit=10**9)
    for folder in folders:
        load_dataset(folder, cache=cache)
    paths = [cache.path_for(f, InputSpec()) for f in folders]
    size = paths[0].stat().st_size
    for age, path in enumerate(paths):
        os.utime(path, (1000 + age, 1000 + age))
    cache.read(folders[0], InputSpec())  # a read is a use: the first is now the newest
    cache.limit = 2 * size + size // 2
    load_dataset(make_dataset(tmp_path / "d3", {"a": 3, "b": 3}), cache=cache)
    assert [p.exists() for p in paths] == [True, False, False]  # the two least recently used
    # Only cache files go: the images beside the cache folder are all still there.
    assert all(len(list(f.rglob("*.png"))) == 6 for f in folders)
    files, held = cache_usage(tmp_path / "cache")
    assert files == 2 and held <= cache.limit
    assert clear_cache(tmp_path / "cache") == (2, held)
    assert cache_usage(tmp_path / "cache") == (0, 0)


def test_duplicates_across_classes_are_warned(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 3, "b": 3})
    (root / "b" / "copy.png").write_bytes((root / "a" / "img000.png").read_bytes())
    loaded = load_dataset(root)
    assert any("more than one class" in w and "'a' and 'b'" in w for w in loaded.warnings)


def test_split_on_tiny_data_keeps_training_samples_and_is_reproducible():
    labels = np.repeat(np.arange(3), 3)
    train, val = stratified_split(labels, 0.2, seed=1)
    assert set(train).isdisjoint(val)
    assert sorted([*train, *val]) == list(range(9))
    for label in range(3):
        assert (labels[train] == label).sum() >= 1
    again = stratified_split(labels, 0.2, seed=1)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])
    other = stratified_split(np.repeat(np.arange(3), 50), 0.2, seed=2)
    assert len(other[1]) == 30


def test_split_with_a_one_image_class_trains_on_it():
    labels = np.array([0, 0, 0, 0, 0, 1])
    train, val = stratified_split(labels, 0.5, seed=0)
    assert 5 in train and 5 not in val


def test_copies_stay_on_one_side_of_the_validation_split(tmp_path):
    root = make_dataset(tmp_path / "d", {"a": 6, "b": 6})
    for i in range(6):
        (root / "a" / f"dup{i}.png").write_bytes((root / "a" / "img000.png").read_bytes())
    loaded = load_dataset(root)
    copies = {i for i, p in enumerate(loaded.paths) if "dup" in p or p == "a/img000.png"}
    for seed in range(5):
        train, val, warnings = loaded.split(0.5, seed=seed)
        assert not warnings  # no validation image is also a training image
        assert copies <= set(train) or copies <= set(val)
        assert {loaded.hashes[i] for i in train}.isdisjoint(loaded.hashes[i] for i in val)
