"""What a model card gathers from a model file beyond its plain fields, as plain data.

Images per class in each recorded part, the fingerprint of the recorded image lists, what the
dataset folder holds now compared with them, and the calibration record wherever the file's
version keeps it. Kept apart from the HTML (:mod:`core.share.card_sections`) so that the facts
can be read and tested without a page; needs only the standard library and the model file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from core.errors import CnnStudioError
from core.modelfile.bundle import ModelBundle
from core.share.script import class_of, is_split_layout


def part_lists(bundle: ModelBundle) -> dict[str, list[tuple[str, str]]]:
    """The recorded (path, image hash) lists of the "train", "val" and "test" parts."""
    files = bundle.files
    return {
        part: [(str(p), str(h)) for p, h in files.get(part) or []]
        for part in ("train", "val", "test")
    }


def class_counts(bundle: ModelBundle) -> dict[str, list[int]] | None:
    """Images per class in each recorded part: {"train": [...], "val": [...], "test": [...]},
    or None when the model file lists no images."""
    parts = part_lists(bundle)
    if not any(parts.values()):
        return None
    names = list(bundle.class_names)
    split = is_split_layout([p for entries in parts.values() for p, _ in entries], names)
    classes = {name: k for k, name in enumerate(names)}
    counts: dict[str, list[int]] = {}
    for part, entries in parts.items():
        row = [0] * len(names)
        for relpath, _ in entries:
            label = class_of(relpath, classes, split)
            if label is not None:  # a crafted file's stray path is not counted
                row[label] += 1
        counts[part] = row
    return counts


def dataset_fingerprint(bundle: ModelBundle) -> str | None:
    """SHA-256 of the recorded image lists (``hash  path`` lines, training then validation then
    test): one value that changes if any image, its class folder or its part changes."""
    parts = part_lists(bundle)
    if not any(parts.values()):
        return None
    digest = hashlib.sha256()
    for part, entries in parts.items():
        for relpath, image_hash in entries:
            digest.update(f"{part}\t{image_hash}\t{relpath}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def folder_now(bundle: ModelBundle) -> dict[str, Any] | None:
    """What the dataset folder holds now, compared with the model file's lists: the entries a
    scan leaves out (with reasons), files the model does not list (they could not be decoded
    when it was trained, or came later) and listed files that are gone. None when the folder
    is not there (or the file records none)."""
    from core.data.scan import scan_folder

    root = bundle.files.get("root")
    if not root or not Path(root).is_dir():
        return None
    try:
        index = scan_folder(root)
    except CnnStudioError:
        return None
    listed = {p for entries in part_lists(bundle).values() for p, _ in entries}
    present = {f.relpath for c in index.classes for f in c.files}
    return {
        "skipped": [(s.path, s.reason) for s in index.skipped],
        "unlisted": sorted(present - listed) if listed else [],
        "missing": sorted(listed - present),
    }


def calibration_of(bundle: ModelBundle) -> dict[str, Any]:
    """The model's calibration record (temperature, calibration error before and after, bins),
    found wherever this version of the file keeps it; {} when it has none."""
    for source in (
        getattr(bundle, "calibration", None),
        bundle.metrics.get("calibration"),
        bundle.training.get("calibration"),
    ):
        if isinstance(source, dict) and source:
            return source
    return {}
