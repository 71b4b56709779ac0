"""Scanning a folder of class subfolders into a :class:`DatasetIndex`.

Scanning looks at names and file metadata only (no pixels), so it is quick even for 100k files.
It decides what is a class and what is junk, refuses to follow symbolic-link loops and links that
leave the folder, and records every left-out file or folder with a reason a person understands.
Content checks (is this really an image?) happen when the files are loaded, in
:mod:`core.data.dataset`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from core.data.layout import SplitLayout, detect_layout
from core.errors import DatasetError
from core.progress import CancelToken, ProgressCallback, no_progress

#: Folders nested deeper than this below a class folder are not scanned.
MAX_DEPTH = 32
#: A class with fewer images than this gets a warning.
FEW_IMAGES = 5
#: Largest/smallest class size above this ratio gets an imbalance warning.
IMBALANCE_RATIO = 3.0

_JUNK_FILES = {
    ".ds_store": "macOS folder settings file",
    "thumbs.db": "Windows thumbnail cache",
    "ehthumbs.db": "Windows thumbnail cache",
    "desktop.ini": "Windows folder settings file",
    "icon\r": "macOS folder icon file",
}
_JUNK_FOLDERS = {
    "__macosx": "macOS archive metadata folder",
    "$recycle.bin": "Windows recycle bin",
    "system volume information": "Windows system folder",
    # Where CNN Studio puts the files the user excluded (core.data.edit.EXCLUDED).
    "_excluded": "files excluded from training in CNN Studio (move them back to use them)",
}


class FileEntry(NamedTuple):
    """A candidate image file: path relative to the dataset root, size and modification time."""

    relpath: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    """A file or folder that was left out, and why."""

    path: str
    reason: str


@dataclass
class ClassFolder:
    """One class: its name (the folder name) and its candidate files."""

    name: str
    files: list[FileEntry] = field(default_factory=list)


@dataclass
class DatasetIndex:
    """The result of scanning: classes, left-out entries, and what that means for training."""

    root: Path
    classes: list[ClassFolder]
    skipped: list[Skipped]
    problems: list[str]
    warnings: list[str]
    #: Set when the folder is split into train/valid/test folders (see :mod:`core.data.layout`).
    layout: SplitLayout | None = None

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def file_count(self) -> int:
        return sum(len(c.files) for c in self.classes)

    @property
    def can_train(self) -> bool:
        return not self.problems


_JUNK_NAMES = set(_JUNK_FILES) | set(_JUNK_FOLDERS)


def junk_reason(name: str, is_dir: bool) -> str | None:
    """Why an entry named ``name`` is ignored, or None when it is worth looking at."""
    lower = name.lower()
    if not name.startswith(".") and lower not in _JUNK_NAMES:
        return None  # the common case, decided quickly
    if is_dir and lower in _JUNK_FOLDERS:
        return f"ignored: {_JUNK_FOLDERS[lower]}"
    if not is_dir and lower in _JUNK_FILES:
        return f"ignored: {_JUNK_FILES[lower]}"
    if name.startswith("._"):
        return "ignored: macOS resource-fork (AppleDouble) file"
    if name.startswith("."):
        return "ignored: hidden folder" if is_dir else "ignored: hidden file"
    return None


def assess(root: Path, counts: dict[str, int]) -> tuple[list[str], list[str]]:
    """Problems that make training impossible, and warnings, for per-class image counts."""
    problems: list[str] = []
    warnings: list[str] = []
    if not counts:
        problems.append(
            f"No class folders in {root}: put each class's images in its own subfolder "
            "(for example cats/ and dogs/)."
        )
        return problems, warnings
    if len(counts) == 1:
        (only,) = counts
        problems.append(f"Only one class ('{only}'): training needs at least two class folders.")
    for name, count in counts.items():
        if count == 0:
            problems.append(
                f"Class '{name}' has no usable images: add images or remove the folder."
            )
        elif count == 1:
            warnings.append(f"Class '{name}' has only 1 image: it cannot be validated.")
        elif count < FEW_IMAGES:
            warnings.append(f"Class '{name}' has only {count} images; the model will guess poorly.")
    nonzero = {n: c for n, c in counts.items() if c}
    if len(nonzero) >= 2:
        big = max(nonzero, key=nonzero.__getitem__)
        small = min(nonzero, key=nonzero.__getitem__)
        if nonzero[big] > IMBALANCE_RATIO * nonzero[small]:
            warnings.append(
                f"Classes are imbalanced: '{big}' has {nonzero[big]} images, "
                f"'{small}' only {nonzero[small]}."
            )
    return problems, warnings


class _Scanner:
    def __init__(self, root: Path, progress: ProgressCallback, cancel: CancelToken | None) -> None:
        self.root = root
        self.root_real = os.path.realpath(root)
        self.progress = progress
        self.cancel = cancel
        self.skipped: list[Skipped] = []
        self.seen = 0

    def rel(self, path: str) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(Skipped(self.rel(path), reason))

    def tick(self, entries: int = 1) -> None:
        """Count scanned entries; every 256 of them, report progress and honour cancel."""
        before = self.seen
        self.seen += entries
        if before // 256 != self.seen // 256:
            if self.cancel is not None:
                self.cancel.raise_if_cancelled()
            self.progress(0.0, f"Scanned {self.seen} entries")

    def folders(self, entries: list[os.DirEntry[str]], parent_real: str) -> list[os.DirEntry[str]]:
        """The entries that are class folders (or split folders); the rest are recorded as
        skipped: junk, links, and files not inside a class folder."""
        kept = []
        for entry in entries:
            self.tick()
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=True)
            reason = junk_reason(entry.name, is_dir)
            if reason is None and is_link:
                reason = self.link_problem(entry, parent_real)
            if reason is None and not is_dir:
                reason = "not inside a class folder: left out"
            if reason is not None:
                self.skip(entry.path, reason)
            else:
                kept.append(entry)
        return kept

    def link_problem(self, entry: os.DirEntry[str], parent_real: str) -> str | None:
        """Reason to skip a symbolic link, or None when it is a file link inside the root."""
        return link_problem(entry.path, self.root_real, parent_real, "the dataset folder")

    def walk_class(self, class_dir: str, class_name: str) -> list[FileEntry]:
        """Every candidate file below ``class_dir`` (sorted), recording what is left out.

        The loop is written for speed: plain files take the short path, and only unusual
        entries (hidden, junk, links, folders) go through the checks.
        """
        files: list[FileEntry] = []
        append = files.append
        make = tuple.__new__  # FileEntry(...) without the Python-level constructor: hot loop
        stack: list[tuple[str, str, int]] = [(class_dir, class_name + "/", 0)]
        while stack:
            folder, prefix, depth = stack.pop()
            folder_real = os.path.realpath(folder)
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                self.skip(folder, f"cannot open folder ({exc.strerror or exc})")
                continue
            subfolders: list[tuple[str, str]] = []
            for count, entry in enumerate(entries, start=1):
                if not count & 255:
                    self.tick(256)
                name = entry.name
                try:
                    # A regular file, not a link (the directory entry's type: no system call).
                    plain = entry.is_file(follow_symlinks=False) and not (
                        name.startswith(".") or name.lower() in _JUNK_NAMES
                    )
                    if plain:
                        stat = entry.stat(follow_symlinks=False)
                        if stat.st_size:
                            append(make(FileEntry, (prefix + name, stat.st_size, stat.st_mtime_ns)))
                            continue
                except OSError as exc:
                    self.skip(entry.path, f"cannot read ({exc.strerror or exc})")
                    continue
                kind, size_mtime = self.unusual_entry(entry, folder_real, depth)
                if kind == "folder":
                    subfolders.append((entry.path, prefix + name + "/"))
                elif kind == "file":
                    append(FileEntry(prefix + name, *size_mtime))
            self.tick(len(entries) & 255)
            subfolders.sort()
            stack.extend((sub, rel, depth + 1) for sub, rel in reversed(subfolders))
        files.sort()
        return files

    def unusual_entry(
        self, entry: os.DirEntry[str], folder_real: str, depth: int
    ) -> tuple[str | None, tuple[int, int]]:
        """Judge a junk, hidden, linked, empty or folder entry.

        Returns ("folder", _) for a folder to descend into, ("file", (size, mtime_ns)) for a
        usable file (a link to a file inside the dataset), or (None, _) when it was skipped.
        """
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
            reason = junk_reason(entry.name, is_dir or (is_link and os.path.isdir(entry.path)))
            if reason is None and is_link:
                reason = self.link_problem(entry, folder_real)
            if reason is None and is_dir:
                if depth + 1 <= MAX_DEPTH:
                    return "folder", (0, 0)
                reason = f"folder nested over {MAX_DEPTH} levels: not scanned"
            if reason is None:
                stat = entry.stat()
                if not entry.is_file():
                    reason = "not a regular file"
                elif stat.st_size == 0:
                    reason = "empty file (0 bytes)"
                else:
                    return "file", (stat.st_size, stat.st_mtime_ns)
        except OSError as exc:
            reason = f"cannot read ({exc.strerror or exc})"
        self.skip(entry.path, reason)
        return None, (0, 0)


def scan_folder(
    root: Path | str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> DatasetIndex:
    """Scan ``root`` (one subfolder per class) into a :class:`DatasetIndex`.

    ``progress`` is called on the calling thread every few hundred entries with fraction 0 (the
    total is unknown) and a count; ``cancel`` is polled just as often and raises
    :class:`~core.errors.Cancelled`. Raises :class:`DatasetError` if ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    scanner = _Scanner(root, progress, cancel)
    try:
        top = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(f"cannot open {root} ({exc.strerror or exc})") from exc
    folders = scanner.folders(top, scanner.root_real)
    layout = detect_layout((e.name, e.path) for e in folders)
    if layout is None:
        classes = [ClassFolder(e.name, scanner.walk_class(e.path, e.name)) for e in folders]
    else:
        classes = _split_classes(scanner, layout, folders)
    progress(1.0, f"Scanned {scanner.seen} entries")
    problems, warnings = assess(root, {c.name: len(c.files) for c in classes})
    return DatasetIndex(root, classes, scanner.skipped, problems, warnings, layout)


def folder_layout(root: Path | str) -> SplitLayout | None:
    """The split layout :func:`scan_folder` would find in ``root`` now, from its top level
    only (cheap: an edit checks it did not turn class folders into train/valid/test parts)."""
    scanner = _Scanner(Path(root), no_progress, None)
    try:
        top = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(f"cannot open {root} ({exc.strerror or exc})") from exc
    return detect_layout((e.name, e.path) for e in scanner.folders(top, scanner.root_real))


def _split_classes(
    scanner: _Scanner, layout: SplitLayout, folders: list[os.DirEntry[str]]
) -> list[ClassFolder]:
    """The classes of a split dataset: the union of the class folders of its parts, each class
    holding its images of every part (``train/cat/…`` and ``test/cat/…``), sorted by name."""
    by_name: dict[str, ClassFolder] = {}
    for part in folders:
        if layout.role_of_folder(part.name) is None:
            scanner.skip(part.path, layout.left_out_reason(part.name))
            continue
        try:
            inside = sorted(os.scandir(part.path), key=lambda e: e.name)
        except OSError as exc:
            scanner.skip(part.path, f"cannot open folder ({exc.strerror or exc})")
            continue
        for entry in scanner.folders(inside, os.path.realpath(part.path)):
            folder = by_name.setdefault(entry.name, ClassFolder(entry.name))
            folder.files.extend(scanner.walk_class(entry.path, f"{part.name}/{entry.name}"))
    for folder in by_name.values():
        folder.files.sort()
    return [by_name[name] for name in sorted(by_name)]


def link_problem(path: str, root_real: str, parent_real: str, root_words: str) -> str | None:
    """Reason to skip the symbolic link ``path`` found in ``parent_real`` below ``root_real``
    (called ``root_words`` in the reason), or None when it is a link to a file inside."""
    real = os.path.realpath(path)
    if not os.path.exists(real):
        return "broken symbolic link"
    if real != root_real and not real.startswith(root_real + os.sep):
        return f"symbolic link to outside {root_words}: not followed"
    if os.path.isdir(real):
        if parent_real == real or parent_real.startswith(real + os.sep):
            return "symbolic link loop (points to a folder above it): not followed"
        return f"symbolic link to another folder of {root_words}: not followed"
    return None


def image_files(targets: Iterable[Path | str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files and folders (recursively, skipping hidden entries) into a sorted file list,
    and the entries left out with why: ``(files, [(path, reason)])``.

    A file named directly is used as it is (reading it checks it). Inside a folder, symbolic
    links are followed only to files within that folder; links leading out of it, to folders
    or to nothing are left out, so a dropped folder cannot make the app read elsewhere.
    """
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for target in map(Path, targets):
        if not target.is_dir():
            files.append(target)
            continue
        root_real = os.path.realpath(target)
        for folder, dirs, names in os.walk(target):  # never descends into linked folders
            folder_real = os.path.realpath(folder)
            visible = sorted(n for n in dirs + names if not n.startswith("."))
            dirs[:] = [d for d in visible if d in dirs and d != "__MACOSX"]
            for name in visible:
                path = os.path.join(folder, name)
                if os.path.islink(path):
                    reason = link_problem(path, root_real, folder_real, "the folder")
                    if reason:
                        skipped.append((path, reason))
                        continue
                if name in names:
                    files.append(Path(path))
    return files, skipped
