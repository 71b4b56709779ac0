"""Dataset folders split into ``train/``, ``valid/`` and ``test/`` (as Kaggle and Roboflow export
them): recognising the layout, and what it means for training.

In such a folder the classes are one level deeper (``train/cat/…``, ``valid/cat/…``). Read as
plain class folders it would become three classes named ``train``, ``valid`` and ``test``, so
:mod:`core.data.scan` asks :func:`detect_layout` first. When it answers, the classes are the union
of the class folders of every split, each image remembers its split through its relative path,
the given validation images replace the random split, and the test images are kept out of
training altogether and score the model once it is trained (:mod:`core.session`).

Needs only the standard library and NumPy.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The three parts of a split dataset, in the order they are named to people.
ROLES = ("train", "valid", "test")
TRAIN, VALID, TEST = 0, 1, 2
#: Folder names (compared in lower case) and the part each one holds.
_ROLE_OF_NAME = {
    "train": "train",
    "valid": "valid",
    "val": "valid",
    "validation": "valid",
    "test": "test",
}
#: How each part is called in sentences.
ROLE_WORDS = {"train": "training", "valid": "validation", "test": "test"}


def dataset_name(root: os.PathLike[str] | str) -> str:
    """The name a person knows the dataset in ``root`` by: the folder's own name, or, for a
    folder that is one part of a split dataset (``DATA/train``), its parent's (``DATA``), so
    that models trained on different split datasets are not all called ``train``."""
    path = Path(root).resolve()
    if split_role(path.name) is not None and path.parent.name:
        return path.parent.name
    return path.name or str(path)


def split_role(name: str) -> str | None:
    """The part (``"train"``, ``"valid"``, ``"test"``) a top-level folder named ``name`` holds,
    or None. Case does not matter: ``Train``, ``VAL`` and ``Validation`` are recognised."""
    return _ROLE_OF_NAME.get(name.lower())


@dataclass(frozen=True)
class SplitLayout:
    """How a dataset folder is split. ``folders`` maps each part present to its folder's name on
    disk; ``left_out`` names the other top-level folders (not read); ``extra`` names further
    folders of a part already taken (``val/`` beside ``valid/``), also not read."""

    folders: tuple[tuple[str, str], ...]  # (role, folder name), in ROLES order
    left_out: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    def folder(self, role: str) -> str | None:
        """The folder name of ``role`` (as on disk), or None when the dataset has none."""
        return dict(self.folders).get(role)

    def role_of_folder(self, name: str) -> str | None:
        """The part a top-level folder holds, or None when it is not read (left out or extra)."""
        for role, folder in self.folders:
            if folder == name:
                return role
        return None

    def left_out_reason(self, name: str) -> str:
        """Why the top-level folder ``name`` (not a part of this layout) is not read."""
        role = split_role(name)
        if role is None:
            return "not a train, validation or test folder beside them: left out"
        return f"a second {ROLE_WORDS[role]} folder beside {self.folder(role)}/: left out"

    def role_of(self, relpath: str) -> str | None:
        """The part an image belongs to, from its path relative to the dataset root."""
        return self.role_of_folder(relpath.split("/", 1)[0])

    def codes(self, paths: Sequence[str]) -> np.ndarray:
        """Each path's part as a code (:data:`TRAIN`, :data:`VALID`, :data:`TEST`; -1 for none)."""
        code = {folder: ROLES.index(role) for role, folder in self.folders}
        return np.fromiter(
            (code.get(p.split("/", 1)[0], -1) for p in paths), dtype=np.int8, count=len(paths)
        )

    @property
    def named(self) -> str:
        """The split folders as a person reads them: ``train/valid/test``, ``train/ and test/``."""
        names = [folder for _, folder in self.folders]
        if len(names) == 3:
            return "/".join(names) + " folders"
        if len(names) == 2:
            return f"{names[0]}/ and {names[1]}/ folders"
        return f"a {names[0]}/ folder"


def _holds_folders(path: str) -> bool:
    """True when the folder at ``path`` has at least one visible subfolder (a class folder)."""
    try:
        with os.scandir(path) as entries:
            return any(
                e.is_dir(follow_symlinks=False) and not e.name.startswith(".") for e in entries
            )
    except OSError:
        return False


def detect_layout(folders: Iterable[tuple[str, str]]) -> SplitLayout | None:
    """The split layout of a dataset whose top-level folders are ``folders`` ((name, path),
    sorted by name), or None when they are plain class folders.

    A dataset is split when one of its folders is named ``train`` (in any case) and holds class
    folders; ``valid``/``val``/``validation`` and ``test`` beside it are then its other parts.
    A lone ``train`` class with images directly inside stays an ordinary class.
    """
    folders = list(folders)
    train = next((p for n, p in folders if split_role(n) == "train" and _holds_folders(p)), None)
    if train is None:
        return None
    chosen: dict[str, str] = {}
    left_out: list[str] = []
    extra: list[str] = []
    for name, path in folders:
        role = split_role(name)
        if role is None:
            left_out.append(name)
        elif role in chosen or (role == "train" and path != train):
            extra.append(name)
        else:
            chosen[role] = name
    ordered = tuple((role, chosen[role]) for role in ROLES if role in chosen)
    return SplitLayout(ordered, tuple(left_out), tuple(extra))


def split_counts(
    layout: SplitLayout, labels: np.ndarray, paths: Sequence[str], classes: int
) -> dict[str, list[int]]:
    """Images per class in each part present: ``{"train": [n per class], …}``."""
    codes = layout.codes(paths)
    return {
        role: np.bincount(
            np.asarray(labels)[codes == ROLES.index(role)], minlength=classes
        ).tolist()
        for role, _ in layout.folders
    }


def describe(layout: SplitLayout, counts: dict[str, list[int]]) -> str:
    """One sentence for the data summary: which folders were found and how each is used."""
    total = {role: sum(n) for role, n in counts.items()}
    valid, test = layout.folder("valid"), layout.folder("test")
    parts = [f"Found {layout.named}"]
    if valid and total.get("valid"):
        parts.append(
            f": using the given validation images ({total['valid']} in {valid}/) instead of a "
            "random split"
        )
    else:
        why = f" ({valid}/ holds no usable images)" if valid else ""
        parts.append(
            f": validation images are drawn at random from {layout.folder('train')}/ (the "
            f"validation share){why}"
        )
    if test and total.get("test"):
        parts.append(
            f"; the {total['test']} test images ({test}/) are kept out of training and score "
            "the model once training ends"
        )
    elif test:
        parts.append(f"; {test}/ holds no usable labelled images, so there is no test score")
    return "".join(parts) + "."


def notes(
    layout: SplitLayout,
    names: Sequence[str],
    labels: np.ndarray,
    paths: Sequence[str],
    hashes: Sequence[str],
) -> tuple[list[str], list[str]]:
    """Problems and warnings particular to a split dataset: classes missing from a part,
    folders that were not read, and the same image in two parts (leakage)."""
    problems: list[str] = []
    warnings: list[str] = []
    counts = split_counts(layout, labels, paths, len(names))
    train_folder = layout.folder("train")
    others = [role for role in ("valid", "test") if role in counts]
    for k, name in enumerate(names):
        has = [f"{layout.folder(role)}/" for role in others if counts[role][k]]
        lacks = [f"{layout.folder(role)}/" for role in others if not counts[role][k]]
        if not counts["train"][k]:
            if has:  # with no image anywhere, core.data.scan's assess says so already
                problems.append(
                    f"Class '{name}' has no training images (it is only in "
                    f"{' and '.join(has)}): add its images to {train_folder}/ or remove its "
                    "folders."
                )
        elif lacks:
            warnings.append(
                f"Class '{name}' has no images in {' or '.join(lacks)}: it is trained on but "
                "not scored there."
            )
    if layout.left_out:
        shown = ", ".join(f"{n}/" for n in layout.left_out[:5])
        more = f" and {len(layout.left_out) - 5} more" if len(layout.left_out) > 5 else ""
        warnings.append(
            f"Read as {layout.named}, so the other folders beside them ({shown}{more}) were left "
            f"out. If they are classes, move them into {train_folder}/."
        )
    for name in layout.extra:
        role = split_role(name) or "train"
        warnings.append(
            f"{name}/ was left out: {layout.folder(role)}/ already holds the "
            f"{ROLE_WORDS[role]} images. Merge the two folders to use both."
        )
    warnings += _leakage(layout, paths, hashes)
    return problems, warnings


def _leakage(layout: SplitLayout, paths: Sequence[str], hashes: Sequence[str]) -> list[str]:
    """Warnings for images (by content) that are in the training part and in another part."""
    codes = layout.codes(paths)
    trained = {h for h, c in zip(hashes, codes, strict=True) if c == TRAIN}
    warnings = []
    for role, consequence in (
        (
            "test",
            "they flatter the test score (leakage), so the score on the test images it "
            "never saw is given beside it",
        ),
        (
            "valid",
            "they flatter the validation accuracy, so the score on the validation images "
            "it never saw is given beside it",
        ),
    ):
        code = ROLES.index(role)
        shared = sorted(  # sorted: the sentence does not depend on the images' order
            p for p, h, c in zip(paths, hashes, codes, strict=True) if c == code and h in trained
        )
        if shared:
            examples = ", ".join(shared[:3])
            warnings.append(
                f"{len(shared)} image(s) of {layout.folder(role)}/ are also in "
                f"{layout.folder('train')}/ (identical content), e.g. {examples}: {consequence}."
            )
    return warnings
