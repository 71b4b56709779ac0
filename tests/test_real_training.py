"""Training on real data from ../shared/data (fails instead of skipping under CI)."""

from __future__ import annotations

import numpy as np

from core.data.dataset import load_dataset
from core.data.images import InputSpec
from core.learn.config import TrainConfig
from core.learn.training import Trainer
from core.nets.models import ModelSpec
from core.use.classify import Classifier
from tests.conftest import shared_path
from tests.mnist import mnist_dataset


def test_default_model_reaches_97_percent_on_mnist_in_two_epochs():
    folder = shared_path("mnist")
    train = mnist_dataset(folder, "train", limit=10_000)
    test = mnist_dataset(folder, "t10k", limit=2_000)
    config = TrainConfig(epochs=2, val_split=0.0, seed=0, early_stopping=False)
    result = Trainer(train, config).run()
    classifier = Classifier(result.model, train.class_names, train.spec)
    predicted = np.argmax(classifier.probabilities(test.images), axis=1)
    accuracy = float((predicted == test.labels).mean())
    assert accuracy >= 0.97, accuracy


def test_clothing_photos_train_in_colour_and_classify_end_to_end():
    folder = shared_path("photos", "clothing-dataset-small")
    dataset = load_dataset(folder, InputSpec(size=64, color=True))
    config = TrainConfig(epochs=1, batch_size=32, seed=0)
    spec = ModelSpec("deeper-bn", dataset.spec, len(dataset.class_names), augment=True)
    result = Trainer(dataset, config).run(spec)
    classifier = Classifier(result.model, dataset.class_names, dataset.spec)
    photo = sorted((folder / "hat").glob("*.jpg"))[0]
    prediction = classifier.classify(photo, top_k=10)
    assert sorted(name for name, _ in prediction.labels) == sorted(dataset.class_names)
    assert abs(sum(p for _, p in prediction.labels) - 1) < 1e-4
    assert result.epochs_done == 1
