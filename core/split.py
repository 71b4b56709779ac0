"""Stratified, seeded train/validation splits that work on tiny datasets."""

from __future__ import annotations

import numpy as np


def stratified_split(
    labels: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (train, validation), class by class.

    Each class sends ``round(n * val_fraction)`` of its ``n`` images to validation, but always
    keeps at least one for training, so a class with one image is trained on and never
    validated. The same labels, fraction and seed give the same split. Indices are sorted.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1), not {val_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train: list[np.ndarray] = []
    val: list[np.ndarray] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_val = min(round(len(members) * val_fraction), len(members) - 1)
        if val_fraction > 0 and n_val == 0 and len(members) >= 3:
            n_val = 1
        val.append(members[:n_val])
        train.append(members[n_val:])
    train_idx = np.sort(np.concatenate(train)) if train else np.zeros(0, np.int64)
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    return train_idx, val_idx
