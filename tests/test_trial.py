"""Choosing the network by measuring (core.learn.trial): where a folder's kind is unclear from
its headers, both candidates are tried on a sample of it, and the better one is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from core.data.scan import scan_folder
from core.errors import Cancelled
from core.learn import trial
from core.learn.advice import measure
from core.progress import CancelToken
from core.session import Session
from tests.conftest import shared_path
from tests.mnist import read_idx


def small_photos(folder: Path, side: int = 32, per_class: int = 40) -> Path:
    """The shared clothing photos as small colour photos: the centre square at ``side`` px."""
    source = shared_path("photos", "clothing-dataset-small")
    for class_folder in sorted(p for p in source.iterdir() if p.is_dir()):
        out = folder / class_folder.name
        out.mkdir(parents=True)
        for photo in sorted(class_folder.glob("*.jpg"))[:per_class]:
            with Image.open(photo) as image:
                image = image.convert("RGB")
                s = min(image.size)
                left, top = (image.width - s) // 2, (image.height - s) // 2
                square = image.crop((left, top, left + s, top + s))
                square.resize((side, side), Image.BILINEAR).save(out / f"{photo.stem}.png")
    return folder


def test_small_colour_photos_get_the_pretrained_network_by_trial(tmp_path):
    folder = small_photos(tmp_path / "small")
    messages: list[str] = []
    session = Session()
    view = session.load_dataset(folder, progress=lambda _, message: messages.append(message))
    assert view.advice.preset == "photos"  # EfficientNet-Lite0
    assert view.spec.size == 224 and view.spec.color and view.spec.crop
    reason = view.advice.reason
    assert reason.startswith("Tried on 400 images: pretrained photos network ")
    assert reason.endswith("→ pretrained.")
    assert any(m.startswith("Trying the networks") for m in messages)
    scores = [int(part.split(" %")[0].split()[-1]) for part in reason.split(", ")[:2]]
    assert scores[0] > scores[1]  # pretrained, then the article's CNN


def test_a_folder_tried_once_is_not_tried_again(tmp_path, monkeypatch):
    folder = small_photos(tmp_path / "small", per_class=10)
    index = scan_folder(folder)
    first, result = trial.choose_by_trial(index, measure(index))
    assert result is not None and result.images == 100

    def no_training(*args: object, **kwargs: object) -> float:
        raise AssertionError("the cached result should have been used")

    monkeypatch.setattr(trial, "_score_pretrained", no_training)
    monkeypatch.setattr(trial, "_score_article", no_training)
    again, cached = trial.choose_by_trial(index, measure(index))
    assert cached == result and again == first
    with pytest.raises(AssertionError, match="cached result"):
        trial.choose_by_trial(index, measure(index), use_cache=False)


def test_digits_get_the_articles_cnn_without_a_trial(tmp_path, monkeypatch):
    mnist = shared_path("mnist")
    images = read_idx(mnist / "t10k-images-idx3-ubyte.gz")[:300]
    labels = read_idx(mnist / "t10k-labels-idx1-ubyte.gz")[:300]
    folder = tmp_path / "digits"
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[..., 0]).save(folder / str(label) / f"{i}.png")

    def no_trial(*args: object, **kwargs: object) -> None:
        raise AssertionError("grayscale digits are clear: nothing to try")

    monkeypatch.setattr(trial, "try_candidates", no_trial)
    view = Session(use_cache=False).load_dataset(folder)
    assert view.advice.preset == "article"
    assert view.spec.size == 28 and not view.spec.color
    assert "tried" not in view.advice.reason.lower()


def test_the_users_choice_overrides_the_trial(tmp_path, monkeypatch):
    folder = small_photos(tmp_path / "small", per_class=6)

    def no_trial(*args: object, **kwargs: object) -> None:
        raise AssertionError("the user chose: nothing to try")

    monkeypatch.setattr(trial, "try_candidates", no_trial)
    session = Session(use_cache=False)
    assert session.load_dataset(folder, preset="article").advice.preset == "article"
    assert session.load_dataset(folder, size=24).spec.size == 24


def test_a_trial_can_be_cancelled(tmp_path):
    folder = small_photos(tmp_path / "small", per_class=6)
    index = scan_folder(folder)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        trial.choose_by_trial(index, measure(index), cancel=token)


def test_unclear_kinds():
    from core.learn.advice import DataProfile

    assert DataProfile(30, 32, 32, 1.0, 1.0).unclear  # small colour photos (or icons?)
    assert not DataProfile(30, 28, 28, 0.0, 1.0).unclear  # digits, letters, drawings
    assert DataProfile(30, 300, 200, 0.0, 0.0).unclear  # grayscale photos
    assert not DataProfile(30, 300, 200, 1.0, 0.0).unclear  # colour photos
    assert DataProfile(30, 120, 100, 1.0, 0.4).unclear  # a mix of small and large
    assert not DataProfile(0, 0, 0, 0.0).unclear  # nothing readable


def test_the_result_in_words():
    said = trial.TrialResult(600, 0.74, 0.47).words()
    expected = "tried on 600 images: pretrained photos network 74 %, the article's CNN 47 %"
    assert said == expected + " → pretrained"
    assert trial.TrialResult(600, 0.5, 0.5).words().endswith("→ the article's CNN")
