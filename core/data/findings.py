"""What a load finds out about a folder's files besides what blocks training: exact copies
(named, and as groups of paths a front end can list), and files read although their names say
otherwise.

A web-downloaded folder holds both: ``a.png`` and ``a (copy).png``, and ``black3.jpg_1088Wx1632H``
or ``x.png`` that hold a JPEG. The copies are a warning (each extra copy counts twice in
training and can sit on both sides of the validation split); a misnamed file is only a note:
the format is judged by content (:func:`core.data.images.sniff_format`), so the file is used as
it is, but the user should know which files were read as something their names do not say.
Pure Python and NumPy; any thread.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

#: File name endings that name each format the decoder reads (lower case).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "PNG": (".png",),
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif", ".jif"),
    "BMP": (".bmp", ".dib"),
    "GIF": (".gif",),
    "WEBP": (".webp",),
    "TIFF": (".tif", ".tiff"),
}
#: How each format is named in a sentence.
FORMAT_WORDS = {"WEBP": "WebP"}
#: Files or groups named in full in a sentence; the rest are counted ("and 3 more").
SHOWN = 5


def format_words(fmt: str) -> str:
    """``fmt`` (a Pillow format name) as a sentence says it: "a JPEG image"."""
    return f"a {FORMAT_WORDS.get(fmt, fmt)} image"


def name_disagrees(relpath: str, fmt: str) -> bool:
    """True when the file name ``relpath`` does not end as a file of format ``fmt`` does
    (``x.png`` holding a JPEG, ``black3.jpg_1088Wx1632H``, a name without an extension)."""
    name = relpath.rpartition("/")[2].lower()
    return not name.endswith(EXTENSIONS.get(fmt, ()))


def misnamed_note(misnamed: Sequence[tuple[str, str]]) -> list[str]:
    """The note naming files read although their names say otherwise (``misnamed``: (path,
    format found) pairs); none without such files. A note, not a warning: they are used."""
    if not misnamed:
        return []
    ordered = sorted(misnamed)
    shown = ", ".join(f"{path} ({format_words(fmt)})" for path, fmt in ordered[:SHOWN])
    more = f" and {len(ordered) - SHOWN} more" if len(ordered) > SHOWN else ""
    if len(ordered) == 1:
        head, used = "1 file is read although its name says otherwise", "it is used as it is"
    else:
        head = f"{len(ordered)} files are read although their names say otherwise"
        used = "they are used as they are"
    return [
        f"{head}: {shown}{more}. The content, not the name, decides how a file is read, so {used}."
    ]


def exact_groups(hashes: Sequence[str], paths: Sequence[str]) -> list[list[str]]:
    """The groups of identical images (the same content hash of what the model sees), groups
    of one left out. Each group's paths are sorted shortest first (``a.png`` before
    ``a (copy).png``: the first is the one to keep), the groups by their first path. By path,
    so the answer does not depend on the order of the images (a fresh load, or the dataset an
    edit brought up to date)."""
    if len(set(hashes)) == len(hashes):
        return []  # the usual case, found at once
    members: dict[str, list[str]] = defaultdict(list)
    for digest, path in zip(hashes, paths, strict=True):
        members[digest].append(path)
    groups = (sorted(group, key=_keep_first) for group in members.values() if len(group) > 1)
    return sorted(groups)


def _keep_first(path: str) -> tuple[int, str]:
    """Sort key of a group of copies: the shortest name first (the original, as a rule)."""
    return len(path), path


def duplicate_warnings(
    groups: list[list[str]],
    class_of: dict[str, int],
    names: Sequence[str],
    part_of: dict[str, int] | None = None,
) -> list[str]:
    """Warnings for identical images with different labels, and for copies within a class,
    each naming the files (the first few; the rest counted).

    ``groups``: :func:`exact_groups`; ``class_of``: each path's class index. ``part_of``:
    each path's part of a split dataset; copies in different parts are left to
    :func:`core.data.layout.notes`, which names them as leakage.
    """
    across: list[str] = []
    within: list[str] = []
    extra = 0
    for group in groups:
        classes = sorted({class_of[p] for p in group})
        if len(classes) > 1:
            where = " and ".join(f"'{names[c]}'" for c in classes)
            across.append(f"{min(group)} (in {where})")
            continue
        by_part: dict[int, list[str]] = defaultdict(list)
        for path in group:
            by_part[part_of[path] if part_of is not None else 0].append(path)
        for same in by_part.values():
            if len(same) > 1:
                extra += len(same) - 1
                within.append(" = ".join(same))
    warnings = []
    if across:
        across.sort()
        shown = "; ".join(across[:SHOWN])
        more = f" and {len(across) - SHOWN} more" if len(across) > SHOWN else ""
        warnings.append(
            f"{len(across)} image(s) appear in more than one class: {shown}{more}. "
            "The labels contradict each other."
        )
    if within:
        shown = "; ".join(within[:SHOWN])
        more = f" and {len(within) - SHOWN} more" if len(within) > SHOWN else ""
        copies = "1 exact copy" if extra == 1 else f"{extra} exact copies"
        warnings.append(
            f"{copies} within a class: {shown}{more}. A copy adds nothing new and counts "
            "twice in training; one of each is enough."
        )
    return warnings


def class_and_part(
    paths: Sequence[str], labels: np.ndarray, parts: np.ndarray | None
) -> tuple[dict[str, int], dict[str, int] | None]:
    """Each path's class index, and its part (None for a folder that is not split)."""
    class_of = dict(zip(paths, labels.tolist(), strict=True))
    part_of = dict(zip(paths, parts.tolist(), strict=True)) if parts is not None else None
    return class_of, part_of


__all__ = [
    "EXTENSIONS",
    "class_and_part",
    "duplicate_warnings",
    "exact_groups",
    "format_words",
    "misnamed_note",
    "name_disagrees",
]
