"""Stratified, seeded train/validation splits that work on tiny datasets and keep copies of one
picture on one side.

``core/share/report_files/reproduce.py`` holds a copy of :func:`stratified_split` (it may import
nothing of CNN Studio); a test checks that both draw the same split.
"""

from __future__ import annotations

import numpy as np


def stratified_split(
    labels: np.ndarray, val_fraction: float, seed: int, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (train, validation), class by class, keeping each group of
    ``groups`` (equal values: copies of one picture, see :func:`core.data.near_duplicates.
    copy_groups`) wholly on one side, so validation never scores a copy of a training image.

    A group belongs to the class most of its members have (the first such class on a tie; a
    picture filed under two classes is one group). Each class's groups are shuffled with a
    seeded generator, and taken for validation in that order while they fit in
    ``round(n * val_fraction)`` images of its ``n`` (at least one image from a class of three
    or more), as long as every class keeps at least one training image; so a class with one
    image, or whose images are all one picture, is trained on and never validated. The same
    labels, groups, fraction and seed give the same split, and without groups (or with every
    image its own group) it is exactly the split drawn before groups existed. Indices are sorted.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1), not {val_fraction}")
    labels = np.asarray(labels)
    n = len(labels)
    if groups is None:
        groups = np.arange(n)
    classes, label_index = np.unique(labels, return_inverse=True)
    label_index = label_index.ravel()
    _, group_of = np.unique(np.asarray(groups), return_inverse=True)
    group_of = group_of.ravel()
    count = int(group_of.max()) + 1 if n else 0
    # Each group: its first member (its place in its class's order), size and class.
    first = np.full(count, n, dtype=np.int64)
    np.minimum.at(first, group_of, np.arange(n))
    size = np.bincount(group_of, minlength=count)
    home = np.full(count, len(classes), dtype=np.int64)
    np.minimum.at(home, group_of, label_index)
    top = np.full(count, -1, dtype=np.int64)
    np.maximum.at(top, group_of, label_index)
    mixed: dict[int, dict[int, int]] = {}  # group -> {class: members} for groups across classes
    for g in np.flatnonzero(home != top).tolist():
        where = np.flatnonzero(group_of == g)
        kinds, many = np.unique(label_index[where], return_counts=True)
        mixed[g] = dict(zip(kinds.tolist(), many.tolist(), strict=True))
        home[g] = int(kinds[np.argmax(many)])
        # placed by its first member in its own class: the order within a class is all that
        # counts, so any order of the classes' images among one another gives this split
        first[g] = int(where[label_index[where] == home[g]][0])
    training_left = np.bincount(label_index, minlength=len(classes)).tolist()
    rng = np.random.default_rng(seed)
    in_val = np.zeros(count, dtype=bool)
    for c in range(len(classes)):
        units = np.flatnonzero(home == c)
        units = units[np.argsort(first[units], kind="stable")]
        units = units[rng.permutation(len(units))]
        total = int(size[units].sum())
        n_val = min(round(total * val_fraction), total - 1)
        if val_fraction > 0 and n_val == 0 and total >= 3:
            n_val = 1
        taken = 0
        for g in units.tolist():
            if taken >= n_val:
                break
            members = mixed.get(g, {c: int(size[g])})
            if taken + int(size[g]) > n_val or any(
                training_left[k] - m < 1 for k, m in members.items()
            ):
                continue
            in_val[g] = True
            taken += int(size[g])
            for k, m in members.items():
                training_left[k] -= m
    chosen = in_val[group_of]
    return np.flatnonzero(~chosen), np.flatnonzero(chosen)
