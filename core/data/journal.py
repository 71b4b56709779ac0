"""The undo history of a dataset folder's edits, kept across restarts of the app.

The session (:mod:`core.session`) writes its undo stack here after every edit and undo, and
reads it back when the folder is opened again, so a file moved or excluded yesterday can still
be put back with Ctrl+Z today. One small JSON file per folder, in the user's data folder
(``edits/<hash of the folder's path>.json``), written atomically.

The disk may have changed meanwhile (files moved by hand, the folder copied elsewhere). Undo
itself never overwrites anything (:func:`core.data.edit.undo` refuses), but a stale entry
would block every older one, so :func:`load_journal` keeps only the entries whose way back is
still open once the newer ones are undone (the others were undone or overtaken by hand). A
journal that cannot be read or written is left aside: the edits are on disk either way and
only the history is lost (a warning is logged). Standard library only; runs on the caller's
thread (the engine thread in the GUI).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.atomic import atomic_path
from core.data.demo import default_data_dir
from core.data.edit import Edit

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1
_KINDS = ("move", "exclude", "create", "remove", "rename", "copy", "capture")


def journal_file(root: Path | str, data_dir: Path | None = None) -> Path:
    """Where the history of the folder ``root`` is kept."""
    key = hashlib.sha1(os.fsencode(Path(root).resolve())).hexdigest()[:24]  # any name
    return (data_dir or default_data_dir()) / "edits" / f"{key}.json"


def save_journal(root: Path | str, edits: Sequence[Edit], data_dir: Path | None = None) -> None:
    """Keep ``edits`` (oldest first) as the history of ``root``; an empty history removes the
    file. Never raises for a file-system problem (logged instead)."""
    target = journal_file(root, data_dir)
    try:
        if not edits:
            target.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "version": JOURNAL_VERSION,
            "root": str(Path(root).resolve()),
            "edits": [_to_json(edit) for edit in edits],
        }
        with atomic_path(target, durable=False) as temporary:
            temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
    except OSError as exc:
        log.warning("could not keep the undo history of %s in %s: %s", root, target, exc)


def load_journal(root: Path | str, data_dir: Path | None = None) -> list[Edit]:
    """The history of ``root`` (oldest first) that can still be undone: the entries whose way
    back is open on disk now. Empty when there is none or it cannot be read."""
    base = Path(root).resolve()
    source = journal_file(base, data_dir)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("left aside the unreadable undo history %s: %s", source, exc)
        return []
    try:
        if document.get("version") != JOURNAL_VERSION or document.get("root") != str(base):
            return []
        edits = [_from_json(base, entry) for entry in document["edits"]]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        log.warning("left aside the damaged undo history %s: %s", source, exc)
        return []
    return _undoable_entries(base, edits)


def _to_json(edit: Edit) -> dict[str, Any]:
    return {
        "kind": edit.kind,
        "moves": [list(pair) for pair in edit.moves],
        "copies": [list(pair) for pair in edit.copies],
        "folders": list(edit.folders),
        "classes": list(edit.classes),
        "description": edit.description,
    }


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    pairs = tuple((str(a), str(b)) for a, b in value)
    for pair in pairs:
        for path in pair:
            _check_relative(path)
    return pairs


def _check_relative(path: str) -> None:
    """A journal names paths inside the dataset folder only (it is read back from disk)."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or ".." in parts or ":" in parts[0]:
        raise ValueError(f"{path!r} is not a path inside the dataset folder")


def _from_json(root: Path, entry: dict[str, Any]) -> Edit:
    kind = entry["kind"]
    if kind not in _KINDS:
        raise ValueError(f"unknown edit {kind!r}")
    copies = tuple((str(a), str(b)) for a, b in entry.get("copies", []))
    for _, relpath in copies:
        _check_relative(relpath)
    folders = tuple(str(f) for f in entry.get("folders", []))
    for folder in folders:
        _check_relative(folder)
    return Edit(
        kind,
        root,
        _pairs(entry.get("moves", [])),
        copies,
        folders,
        str(entry.get("description", "")),
        tuple(str(c) for c in entry.get("classes", [])),
    )


def _undoable_entries(root: Path, edits: Sequence[Edit]) -> list[Edit]:
    """The entries of ``edits`` (oldest first) that undo could carry out, newest first, each
    judged on the disk as undoing the newer kept ones would leave it (an undone "remove"
    makes the folder that the "create" before it needs)."""
    after_undo: dict[str, bool] = {}  # relative path -> there or not, once those are undone

    def there(relpath: str) -> bool:
        return after_undo.get(relpath, os.path.lexists(root / relpath))

    kept: list[Edit] = []
    for edit in reversed(edits):
        made, gone = _undo_effect(edit)  # what undoing it makes and takes away
        if all(there(p) for p in gone) and not any(there(p) for p in made):
            kept.append(edit)
            after_undo.update(dict.fromkeys(gone, False))
            after_undo.update(dict.fromkeys(made, True))
    return kept[::-1]


def _undo_effect(edit: Edit) -> tuple[list[str], list[str]]:
    """(paths undoing ``edit`` puts back, paths it takes away), relative to the root."""
    if edit.kind in ("move", "exclude", "rename"):
        return [old for old, _ in edit.moves], [new for _, new in edit.moves]
    if edit.kind == "create":
        return [], list(edit.folders)
    if edit.kind == "remove":
        return list(edit.folders), []
    return [], [relpath for _, relpath in edit.copies]  # "copy", "capture"


__all__ = ["journal_file", "load_journal", "save_journal"]
