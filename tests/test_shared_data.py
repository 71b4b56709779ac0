"""Real third-party data from ../shared/data (fails instead of skipping under CI)."""

from __future__ import annotations

from core.data.dataset import load_dataset
from core.data.images import InputSpec
from core.data.scan import scan_folder
from tests.conftest import shared_path


def test_fashion_mnist_test_folder_has_ten_classes_of_a_thousand():
    index = scan_folder(shared_path("fashion-mnist", "test"))
    assert index.class_names == [str(i) for i in range(10)]
    assert [len(c.files) for c in index.classes] == [1000] * 10
    assert index.skipped == []
    assert index.can_train


def test_clothing_photos_load_as_rgb_at_the_requested_size():
    spec = InputSpec(size=64, color=True)
    loaded = load_dataset(shared_path("photos", "clothing-dataset-small"), spec)
    assert len(loaded) == 400
    assert loaded.images.shape == (400, 64, 64, 3)
    assert loaded.skipped == []
    # Real photos: colour channels differ somewhere, and pixels are not all one value.
    assert (loaded.images[..., 0] != loaded.images[..., 2]).mean() > 0.3
    assert loaded.images.std() > 30
