"""Classifying with a trained model, evaluation metrics, exports with parity checks."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.scan import image_files
from core.errors import ImageError
from core.use.classify import Classifier
from core.use.evaluate import evaluate_predictions
from core.use.predictions import write_csv


@pytest.fixture(scope="module")
def classifier(saved_model) -> Classifier:
    return Classifier.from_file(saved_model)


def test_classifies_paths_images_and_arrays_identically(classifier, pattern_dir):
    path = next((pattern_dir / "vertical").glob("*.png"))
    by_path = classifier.classify(path)
    by_image = classifier.classify(Image.open(path))
    by_array = classifier.classify(np.asarray(Image.open(path)))
    assert by_path.top[0] == "vertical"
    assert by_path.labels == by_image.labels == by_array.labels
    probabilities = [p for _, p in by_path.labels]
    assert probabilities == sorted(probabilities, reverse=True)
    assert abs(sum(probabilities) - 1) < 1e-5
    assert len(classifier.classify(path, top_k=2).labels) == 2


def test_bad_file_gives_the_projects_error(classifier, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_text("no")
    with pytest.raises(ImageError, match="text file"):
        classifier.classify(bad)


def test_folder_classification_writes_csv(classifier, pattern_dir, tmp_path):
    (tmp_path / "in").mkdir()
    broken = tmp_path / "in" / "broken.jpg"
    broken.write_bytes(b"")
    files = [*image_files([pattern_dir / "blob"])[0], broken]
    predictions, failures = classifier.classify_paths(files, top_k=3, batch_size=7)
    assert len(predictions) == 24
    assert failures == [(str(broken), "empty file (0 bytes)")]
    assert sum(p.top[0] == "blob" for p in predictions) >= 20
    out = write_csv(predictions, tmp_path / "results.csv")
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["path"] == predictions[0].path
    assert rows[0]["label"] == predictions[0].top[0]
    assert rows[0]["top_k"].count("=") == 3


def test_memory_does_not_grow_over_500_single_classifications(classifier, pattern_dataset):
    image = pattern_dataset.images[0]

    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

    for _ in range(100):
        classifier.classify(image)
    before = rss_mb()
    for _ in range(500):
        classifier.classify(image)
    assert rss_mb() - before < 15


def test_evaluation_metrics_on_a_known_case():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 2, 0]] * 0.8 + 0.2 / 3
    probs[1] = [0.05, 0.9, 0.05]  # the surer mistake of the two, so it must be listed first
    ev = evaluate_predictions(labels, probs, ["a", "b", "c"], [f"f{i}" for i in range(6)])
    assert ev.accuracy == pytest.approx(4 / 6)
    assert ev.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert ev.per_class["b"]["precision"] == pytest.approx(2 / 3)
    assert ev.per_class["b"]["recall"] == 1.0
    assert ev.per_class["a"]["f1"] == pytest.approx(0.5)
    assert [m["path"] for m in ev.misclassified] == ["f1", "f5"]
    assert ev.misclassified[0]["predicted"] == "b"


@pytest.mark.parametrize("fmt", ["keras", "tflite"])
def test_exports_load_on_their_own_and_match_the_app_on_held_out_files(saved_model, tmp_path, fmt):
    """Regression: a .keras export needed our code (its schedule) to load in plain Keras. The
    export's own classify.py loads it in a fresh process that cannot import CNN Studio, on the
    model's validation files (every format: tests/test_export.py)."""
    from core.session import Session
    from core.share.formats import FORMATS

    session = Session(use_cache=False)  # as a user would: open the saved model, export it
    session.open(saved_model)
    report = session.export(fmt, tmp_path / "exported")
    assert report.passed and report.checked > 0 and report.agreeing == report.checked
    assert report.source == "validation files of the model's dataset"
    assert (tmp_path / "exported" / FORMATS[fmt].model_file).stat().st_size > 10_000
