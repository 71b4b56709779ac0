"""Bringing a loaded dataset up to date after an edit of its folder, without a rescan.

:func:`apply_edit` takes the :class:`~core.data.dataset.LoadedDataset` and an
:class:`~core.data.edit.Edit` just made on disk (or the record :func:`~core.data.edit.undo`
returned) and gives the dataset as a fresh load would: moved files relabelled, excluded ones
dropped, copied-in or restored ones decoded (only those), classes added or renamed, and the
problems, warnings and notes worked out again (the copies named, the files read although
their names say otherwise kept) (for a train/valid/test folder too, with its leakage
notes). The pixel array is reused when no image came or went. NumPy and Pillow only; runs on
the caller's thread (the engine thread in the GUI).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.data.dataset import LoadedDataset, data_notes
from core.data.decoding import decode_one
from core.data.edit import EXCLUDED, Edit, EditError
from core.data.near_duplicates import phash
from core.data.pixels import DiskPixels, take
from core.data.scan import Skipped, junk_reason


def apply_edit(data: LoadedDataset, edit: Edit) -> LoadedDataset:
    """``data`` as it is after ``edit`` (a new object; ``data`` itself is not changed)."""
    renames: dict[str, str] = {}
    removed: set[str] = set()
    added: list[str] = []
    names = list(data.class_names)
    excluded = EXCLUDED + "/"
    if edit.kind in ("move", "exclude"):
        for source, target in edit.moves:
            if target.startswith(excluded):
                removed.add(source)
            elif source.startswith(excluded):
                added.append(target)
            else:
                renames[source] = target
    elif edit.kind == "copy":
        copied = [relpath for _, relpath in edit.copies]
        if edit.reverted:
            removed.update(copied)
        else:
            added.extend(copied)
    elif edit.kind == "capture":  # core.data.capture: pictures written, or taken out again
        if edit.reverted:
            removed.update(source for source, _ in edit.moves)
            names = [n for n in names if n not in edit.classes]
        else:
            added.extend(relpath for _, relpath in edit.copies)
            names += [c for c in edit.classes if c not in names]
    elif edit.kind == "remove":
        if edit.reverted:
            names += [c for c in edit.classes if c not in names]
        else:
            names = [n for n in names if n not in edit.classes]
    elif edit.kind == "create":
        if edit.reverted:
            names = [n for n in names if n not in edit.classes]
        else:
            names += [c for c in edit.classes if c not in names]
    elif edit.kind == "rename":
        old, new = edit.classes or edit.moves[0]
        names = [new if n == old else n for n in names]
        for source, target in edit.moves:
            prefix = source + "/"
            renames.update(  # the skipped files of the class too: a load lists them there
                (p, target + "/" + p[len(prefix) :])
                for p in [*data.paths, *(s.path for s in data.skipped)]
                if p.startswith(prefix)
            )
    return _rebuild(data, sorted(names), renames, removed, added)


def _rebuild(
    data: LoadedDataset,
    names: list[str],
    renames: dict[str, str],
    removed: set[str],
    added: list[str],
) -> LoadedDataset:
    keep = np.array([p not in removed for p in data.paths], dtype=bool)
    paths = [renames.get(p, p) for p, k in zip(data.paths, keep, strict=True) if k]
    hashes = [h for h, k in zip(data.hashes, keep, strict=True) if k]
    skipped = [  # files gone (an undone copy) leave the list; a renamed class's are renamed
        Skipped(renames.get(s.path, s.path), s.reason)
        for s in data.skipped
        if s.path not in removed
    ]
    misnamed = [(renames.get(p, p), fmt) for p, fmt in data.misnamed if p not in removed]
    new_pixels = []
    for relpath in added:
        ignored = junk_reason(relpath.rpartition("/")[2], False)  # as the scanner would
        if ignored is not None:
            skipped.append(Skipped(relpath, ignored))
            continue
        pixels, reason, digest, found_as = decode_one(str(data.root), relpath, data.spec)
        if pixels is None:
            skipped.append(Skipped(relpath, reason))
            continue
        new_pixels.append(pixels)
        paths.append(relpath)
        hashes.append(digest)
        if found_as:
            misnamed.append((relpath, found_as))
    images = data.images
    if not keep.all():
        images = take(images, np.flatnonzero(keep))
    if new_pixels:
        added_pixels = np.stack(new_pixels).astype(np.uint8)
        if isinstance(images, DiskPixels):  # the file stays as it is: the new ones in memory
            images = images.plus(added_pixels)
        else:
            images = np.concatenate([images, added_pixels])
    index = {name: k for k, name in enumerate(names)}
    depth = 0 if data.layout is None else 1  # train/cat/1.png: the class is the second part
    try:
        labels = np.array([index[p.split("/")[depth]] for p in paths], dtype=np.int32)
    except KeyError as exc:
        raise EditError(f"no class folder {exc.args[0]!r} in {data.root}") from None
    # The scanner lists the _excluded folder among the skipped entries while it exists (an
    # undone exclude removes it again when it is left empty).
    skipped = [s for s in skipped if s.path != EXCLUDED]
    if (data.root / EXCLUDED).is_dir():
        skipped.append(Skipped(EXCLUDED, junk_reason(EXCLUDED, True) or "ignored"))
    # The kept images' perceptual hashes are known: only the new ones are hashed.
    kept_phashes = data.phashes[keep]
    phashes = np.concatenate([kept_phashes, phash(images[len(kept_phashes) :])])
    found = data_notes(
        data.root, names, images, labels, paths, hashes, data.layout, misnamed, phashes
    )
    return replace(
        data,
        class_names=names,
        images=images,
        labels=labels,
        paths=paths,
        hashes=hashes,
        skipped=skipped,
        **found._asdict(),
    )


__all__ = ["apply_edit"]
