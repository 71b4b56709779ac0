"""Classifying many files as a stream (issue 26): batches bounded by bytes, results that come
before the last file is read, and ``predict --csv``/``explain`` that write as they go, leaving
no half-written file behind."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import core.use.classify as classify_module
from core.cli.console import JsonArray
from core.cli.main import main
from core.data.images import InputSpec
from core.data.scan import image_files
from core.errors import Cancelled
from core.progress import CancelToken
from core.session import Session
from core.use.classify import Classifier, batch_for
from core.use.predictions import write_csv
from tests.conftest import shared_path


def photos(count: int) -> list[Path]:
    """``count`` of the shared clothing photos, a few of every class."""
    files, _ = image_files([shared_path("photos", "clothing-dataset-small")])
    return files[:: max(1, len(files) // count)][:count]


class RecordedBatches:
    """Wraps a classifier's ``probabilities`` to record the size of every batch it gets."""

    def __init__(self, classifier: Classifier) -> None:
        self.sizes: list[int] = []
        self._real = classifier.probabilities
        classifier.probabilities = self  # type: ignore[method-assign]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.sizes.append(len(batch))
        return self._real(batch)


@pytest.fixture(scope="module")
def photo_classifier() -> Classifier:
    """A tiny network on 224 px colour photos (the size of the photos preset's input)."""
    from core.nets.runtime import keras

    spec = InputSpec(size=224, color=True, crop=True)
    model = keras.Sequential(
        [
            keras.Input(spec.shape),
            keras.layers.Rescaling(1 / 255),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    return Classifier(model, ["a", "b", "c"], spec)


def test_batches_are_bounded_by_bytes_not_counts():
    assert batch_for(InputSpec(size=224, color=True)) == 32
    assert batch_for(InputSpec(size=28)) == 512  # small images: as many a batch as before
    assert batch_for(InputSpec(size=512, color=True)) == 6  # 3 MiB each
    assert all(batch_for(InputSpec(s, c)) >= 1 for s in (8, 96, 512) for c in (False, True))


def test_photos_go_through_the_network_in_small_batches(photo_classifier):
    recorded = RecordedBatches(photo_classifier)
    try:
        files = photos(70)
        predictions, failures = photo_classifier.classify_paths(files, top_k=2)
    finally:
        del photo_classifier.probabilities  # the class's own method again
    assert len(predictions) == 70 and not failures
    assert sum(recorded.sizes) == 70
    assert max(recorded.sizes) <= 64


class RowsOnDisk:
    """An array-like whose rows are read "from disk" on slicing; refuses to become one array."""

    def __init__(self, images: np.ndarray) -> None:
        self._images = images
        self.shape = images.shape
        self.slices: list[slice] = []

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, rows: slice) -> np.ndarray:
        assert isinstance(rows, slice)
        self.slices.append(rows)
        return self._images[rows].copy()

    def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("the whole array was asked for")


def test_probabilities_in_batches_only_slices_its_images(photo_classifier):
    images = np.random.default_rng(0).integers(0, 256, (70, 224, 224, 3), dtype=np.uint8)
    rows = RowsOnDisk(images)
    probabilities = photo_classifier.probabilities_in_batches(rows)
    assert probabilities.shape == (70, 3)
    assert max(s.stop - s.start for s in rows.slices) <= 64
    np.testing.assert_allclose(probabilities, photo_classifier.probabilities(images), atol=1e-5)


def test_the_stream_reads_its_paths_only_as_far_as_a_batch_needs(photo_classifier):
    files = photos(80)
    taken: list[Path] = []

    def lazily() -> Iterator[Path]:
        for path in files:
            taken.append(path)
            yield path

    stream = photo_classifier.iter_classify_paths(lazily(), top_k=1)
    first = next(stream)
    assert len(first.predictions) == batch_for(photo_classifier.spec)
    assert len(taken) == len(first.predictions) < len(files)
    rest = [p for step in stream for p in step.predictions]
    assert [p.path for p in [*first.predictions, *rest]] == [str(f) for f in files]


def test_a_stream_of_only_unreadable_files_still_comes_in_steps(photo_classifier, tmp_path):
    empty = []
    for n in range(70):
        (tmp_path / f"{n:02d}.jpg").write_bytes(b"")
        empty.append(tmp_path / f"{n:02d}.jpg")
    steps = list(photo_classifier.iter_classify_paths(empty))
    assert [s.files for s in steps] == [32, 32, 6]
    assert {reason for s in steps for _, reason in s.failures} == {"empty file (0 bytes)"}


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    """Classify 8 images a batch (the pattern model's 16 px images would fit 512)."""
    monkeypatch.setattr(classify_module, "batch_for", lambda spec: 8)
    return 8


def test_a_session_streams_results_before_the_later_files_are_decoded(
    saved_model, pattern_dir, small_batches, monkeypatch
):
    decoded: list[Path] = []
    real = classify_module.to_model_input

    def counting(source, spec):
        decoded.append(source)
        return real(source, spec)

    monkeypatch.setattr(classify_module, "to_model_input", counting)
    session = Session(use_cache=False)
    session.open(saved_model)
    seen: list[tuple[float, str]] = []
    stream = session.iter_classify(
        [pattern_dir], top_k=2, progress=lambda f, m: seen.append((f, m))
    )
    first = next(stream)
    total = len(image_files([pattern_dir])[0])
    assert len(first.predictions) == small_batches
    assert len(decoded) == small_batches < total
    assert session.state().activity == "classifying"
    steps = [first, *stream]
    assert session.state().activity is None
    assert seen[-1] == (1.0, f"{total} of {total} images")
    streamed = [p for s in steps for p in s.predictions]
    predictions, failures = session.classify([pattern_dir], top_k=2)
    assert not failures
    assert [(p.path, p.top[0]) for p in streamed] == [(p.path, p.top[0]) for p in predictions]


def test_a_cancelled_stream_stops_before_the_next_file(saved_model, pattern_dir, small_batches):
    session = Session(use_cache=False)
    session.open(saved_model)
    token = CancelToken()
    stream = session.iter_classify([pattern_dir], cancel=token)
    next(stream)
    token.cancel()
    with pytest.raises(Cancelled):
        next(stream)
    assert session.state().activity is None


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_predict_csv_writes_the_rows_the_whole_list_wrote(
    saved_model, small_batches, tmp_path, capsys
):
    files = photos(30)
    out = tmp_path / "out.csv"
    code = main(["predict", str(saved_model), *map(str, files), "--csv", str(out), "-q"])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 30 and printed[0].startswith(f"{files[0]}: ")
    # The old way: every prediction in one list (256 a batch), then the file at the end.
    predictions, _ = Classifier.from_file(saved_model).classify_paths(files, 3, batch_size=256)
    whole = read_rows(write_csv(predictions, tmp_path / "whole.csv", top_k=3))
    streamed = read_rows(out)
    assert [(r["path"], r["label"], r["top_k"]) for r in streamed] == [
        (r["path"], r["label"], r["top_k"]) for r in whole
    ]
    for mine, theirs in zip(streamed, whole, strict=True):
        assert float(mine["probability"]) == pytest.approx(float(theirs["probability"]), abs=1e-5)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, Cancelled])
def test_predict_csv_leaves_no_file_when_stopped_halfway(
    saved_model, pattern_dir, small_batches, tmp_path, monkeypatch, stop
):
    out = tmp_path / "results" / "out.csv"
    out.parent.mkdir()
    out.write_text("path,label\nearlier,results\n")
    batches: list[int] = []
    real = Classifier.probabilities

    def stopping(self, batch):
        if batches:  # the second batch: the first one's rows are in the temporary file
            (partial,) = [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
            assert len(read_rows(partial)) == batches[0]
            raise stop()
        batches.append(len(batch))
        return real(self, batch)

    monkeypatch.setattr(Classifier, "probabilities", stopping)
    code = main(["predict", str(saved_model), str(pattern_dir), "--csv", str(out), "-q"])
    assert code in (1, 130)
    assert batches == [8]
    assert out.read_text() == "path,label\nearlier,results\n"  # untouched
    assert [p.name for p in out.parent.iterdir()] == ["out.csv"]


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_json_array_printed_piece_by_piece_is_the_whole_dump(indent, count, capsys):
    items = [
        {"path": f"odd\u2028name {n}.jpg", "predictions": [{"label": "é", "p": 0.5}]}
        for n in range(count)
    ]
    printed = JsonArray(indent)
    for item in items:
        printed.add(item)
    printed.close()
    assert capsys.readouterr().out == json.dumps(items, indent=indent, ensure_ascii=False) + "\n"


def test_explain_streams_a_folder_in_batches(saved_model, pattern_dir, tmp_path, capsys):
    session = Session(use_cache=False)
    session.open(saved_model)
    steps = list(session.iter_explain([pattern_dir / "blob"], batch_size=10))
    assert [len(done) for done, _ in steps] == [10, 10, 4]
    whole, failures = session.explain([pattern_dir / "blob"])
    assert not failures
    assert [e.path for done, _ in steps for e in done] == [e.path for e in whole]
    code = main(["explain", str(saved_model), str(pattern_dir / "blob"), "--out", str(tmp_path)])
    assert code == 0
    assert len(list(tmp_path.glob("*-heatmap.png"))) == 24
    assert len(capsys.readouterr().out.splitlines()) == 24
