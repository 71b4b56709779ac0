"""A pretrained head's answers on a loaded dataset from its cached backbone features.

A model of the pretrained preset is the backbone (ImageNet's, frozen) and a small head. Its
answer for an image is the head's answer for the image's backbone features, which training
already computed and cached by content (:class:`~core.learn.features.FeatureCache`). So the
scoring after a run (calibration, the confusion matrix, the test folder) and the per-image
surprises answer from those features: the head alone runs, in milliseconds, instead of the
backbone again over every image (seconds for 400 photos, minutes for 10,000, and a backbone's
activations instead of a vector of 1,280 numbers per photo in memory).

That is only right while the model's backbone is still the one the cache was filled with: a
fine-tuned model's is not. So before the features are trusted, the model's own backbone runs on
two of the images and must give their cached features back (to 1e-4); any other case runs the
whole network as before (:meth:`~core.use.classify.Classifier.probabilities_in_batches`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.data.dataset import LoadedDataset
from core.data.pixels import take
from core.learn.features import FeatureCache
from core.nets.models import extract_features, feature_extractor, head_model
from core.nets.presets import BACKBONE_IDS
from core.nets.runtime import keras, tf

if TYPE_CHECKING:
    from core.use.classify import Classifier

#: How far the model's own features of the probe images may be from the cached ones.
TOLERANCE = 1e-4
#: Images the model's backbone is checked on before the cached features are trusted.
PROBES = 2


def backbone_of(model: keras.Model) -> str | None:
    """The backbone id of a pretrained preset's network (its name says its preset, see
    :func:`core.nets.models.build_model`), None for any other network."""
    for preset, backbone in BACKBONE_IDS.items():
        if model.name == "cnnstudio_" + preset.replace("-", "_"):
            return backbone
    return None


def cached_head_probabilities(
    model: keras.Model, data: LoadedDataset, rows: np.ndarray
) -> np.ndarray | None:
    """Class probabilities of ``model`` for the images ``rows`` of ``data`` from their cached
    backbone features, or None when that is not possible: not a pretrained preset's network,
    features not all cached, or a backbone that no longer gives them (it was fine-tuned).
    Missing features are not computed here: a caller that gets None runs the whole network,
    which costs the same."""
    rows = np.asarray(rows, np.int64)
    backbone = backbone_of(model)
    if backbone is None or not len(rows):
        return None
    try:
        model.get_layer("backbone")
    except ValueError:
        return None
    cache = FeatureCache(backbone, data.spec.size)
    features = cache.cached([data.hashes[i] for i in rows])
    if features is None:
        return None
    probes = np.arange(min(PROBES, len(rows)))
    own = extract_features(feature_extractor(model), take(data.images, rows[probes]))
    if own.shape != features[probes].shape or not np.allclose(
        own, features[probes], rtol=0, atol=TOLERANCE
    ):
        return None
    head = head_model(model)
    probabilities = head(tf.constant(features), training=False)
    return np.asarray(probabilities, np.float32)


def dataset_probabilities(
    model: keras.Model,
    data: LoadedDataset,
    rows: np.ndarray,
    classifier: Classifier | None = None,
    batch_size: int | None = None,
) -> np.ndarray:
    """Class probabilities of ``model`` for the images ``rows`` of ``data``: from cached
    features where :func:`cached_head_probabilities` can, else from the whole network (through
    ``classifier`` when given), reading the images a batch at a time."""
    fast = cached_head_probabilities(model, data, rows)
    if fast is not None:
        return fast
    if classifier is None:
        from core.use.classify import Classifier

        classifier = Classifier(model, data.class_names, data.spec)
    images = take(data.images, np.asarray(rows, np.int64))
    return classifier.probabilities_in_batches(images, batch_size)
