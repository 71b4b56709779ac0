"""Pictures taken with the camera, filed into a class folder as JPEG files: one undoable edit.

:func:`add_captured` writes encoded pictures into a class folder (making the class when it is
new) and returns an :class:`~core.data.edit.Edit` of kind ``"capture"``; :func:`undo_capture`
takes them out again and :func:`redo_capture` puts them back. The rules of
:mod:`core.data.safe_moves` hold: a file is written under a temporary hidden name, flushed,
then hard-linked to its final name (which fails rather than replace a file; a taken name
becomes ``name-2.jpg``), so a crash leaves no half-written picture under an image name.
Undoing never deletes a picture: it moves them to ``_excluded/`` (as excluding does), where
redo finds them again — nothing captured is lost. A picture changed after it was captured is
left where it is.

Each edit records the SHA-256 of every picture (``copies`` holds (digest, relative path)), so
undo can tell a picture is still the one captured. NumPy and Pillow only; runs on the caller's
thread (the engine thread in the GUI).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.edit import EXCLUDED, Edit, check_class_name
from core.data.safe_moves import (
    EditError,
    made_folders,
    move_files,
    place_free,
    reason_of,
    remove_empty,
)

#: JPEG quality of a captured picture: no visible loss, about 60 KB at 640x480.
JPEG_QUALITY = 92


def encode_jpeg(pixels: np.ndarray, mirror: bool = False) -> bytes:
    """A captured frame (uint8 RGB, height x width x 3; or grey) as JPEG bytes; ``mirror``
    flips it left to right first (a front camera's preview is shown mirrored, the picture
    is saved as the camera saw it unless the user asks otherwise)."""
    array = np.asarray(pixels)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or min(array.shape[:2]) < 1:
        raise EditError(f"a captured frame must be uint8 pixels, not {array.dtype} {array.shape}")
    if mirror:
        array = array[:, ::-1]
    image = Image.fromarray(np.ascontiguousarray(array))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes())
    except OSError:
        return None


def _write_new(folder: Path, name: str, data: bytes) -> str:
    """Write ``data`` as a new file in ``folder`` named ``name`` (or ``name-N``): the name."""
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".capture-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return place_free(Path(temporary), folder, name, keep_source=False)
    except OSError as exc:
        raise EditError(f"cannot write a picture into {folder}: {reason_of(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()


def add_captured(
    root: Path | str,
    class_name: str,
    pictures: Sequence[bytes],
    group: str = "",
    *,
    parts: Sequence[str] = (),
) -> Edit:
    """Write ``pictures`` (JPEG bytes, see :func:`encode_jpeg`) into class ``class_name``'s
    folder (the training folder ``parts[0]`` of a split dataset), making the class when it
    does not exist yet, as one edit. All or nothing: on a failure the pictures written so far
    and a folder made for them are removed. ``group`` names the capture session: the undo
    history joins the edits of one session into one step."""
    base = Path(root).resolve()
    if not base.is_dir():
        raise EditError(f"{root}: the dataset folder is no longer there")
    check_class_name(class_name)
    if not pictures:
        raise EditError("no picture to add")
    relfolder = f"{parts[0]}/{class_name}" if parts else class_name
    folder = base / relfolder
    if os.path.lexists(folder) and not folder.is_dir():
        raise EditError(f"{folder} exists and is not a folder")
    new_class = not any((base / part / class_name).is_dir() for part in parts) and not (
        not parts and folder.is_dir()
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    written: list[tuple[str, str]] = []
    with made_folders(base, folder) as made:
        try:
            for k, data in enumerate(pictures, 1):
                name = _write_new(folder, f"capture-{stamp}-{k:03d}.jpg", data)
                written.append((_digest(data), f"{relfolder}/{name}"))
        except BaseException:
            for _, relpath in written:
                with contextlib.suppress(OSError):
                    (base / relpath).unlink()
            raise
    return Edit(
        "capture",
        base,
        copies=tuple(written),
        folders=tuple(made),
        classes=(class_name,) if new_class else (),
        description=_described(written, base),
        group=group,
    )


def _described(written: Sequence[tuple[str, str]], base: Path) -> str:
    folders = sorted({relpath.rpartition("/")[0] for _, relpath in written})
    return f"Captured {len(written)} picture(s) into {', '.join(folders)} inside {base}"


def joined(earlier: Edit, later: Edit) -> Edit:
    """One capture edit made of two of the same session (``earlier`` made first)."""
    copies = earlier.copies + later.copies
    return replace(
        earlier,
        copies=copies,
        folders=earlier.folders + tuple(f for f in later.folders if f not in earlier.folders),
        classes=earlier.classes + tuple(c for c in later.classes if c not in earlier.classes),
        description=_described(copies, earlier.root),
    )


def undo_capture(edit: Edit) -> Edit:
    """Take the pictures of the capture ``edit`` out of their class: each goes to
    ``_excluded/<its path>`` (a taken name there becomes ``name-2.jpg``), and a class folder
    the capture made is removed when that leaves it empty. Refuses, with nothing changed, when
    a picture was changed or removed since it was captured. The record returned lists the
    moves (for :func:`redo_capture`) and the classes that are gone."""
    base = edit.root
    for digest, relpath in edit.copies:
        if _file_digest(base / relpath) != digest:
            raise EditError(
                f"{base / relpath} was changed or removed after it was captured; nothing was undone"
            )
    moved, made = move_files(base, [(p, f"{EXCLUDED}/{p}") for _, p in edit.copies], exact=False)
    remove_empty(base, edit.folders)
    gone = tuple(
        folder.rpartition("/")[2]
        for folder in edit.folders
        if folder.rpartition("/")[2] in edit.classes and not (base / folder).exists()
    )
    return Edit(
        "capture",
        base,
        tuple(moved),
        copies=edit.copies,
        folders=tuple(made),
        classes=gone,
        description=f"Undone: moved the {len(moved)} captured picture(s) to {EXCLUDED}/",
        reverted=True,
    )


def redo_capture(reverted: Edit) -> Edit:
    """Put the pictures an undone capture moved to ``_excluded/`` back into their class
    (exactly where they were; refuses when that place is taken): the capture edit again."""
    base = reverted.root
    back = [(to, frm) for frm, to in reversed(reverted.moves)]
    moved, made = move_files(base, back, exact=True)
    remove_empty(base, reverted.folders)
    digests = {relpath: digest for digest, relpath in reverted.copies}
    copies = tuple((digests.get(target, ""), target) for _, target in reversed(moved))
    return Edit(
        "capture",
        base,
        copies=copies,
        folders=tuple(made),
        classes=reverted.classes,
        description="Redone: " + _described(copies, base),
    )


__all__ = ["JPEG_QUALITY", "add_captured", "encode_jpeg", "joined", "redo_capture", "undo_capture"]
