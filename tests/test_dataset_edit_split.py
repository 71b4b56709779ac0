"""Editing a dataset folder split into train/, valid/ and test/ (core.data.edit with
``parts``, core.data.update, the session, the Data tab): a moved file keeps its part, an
excluded one keeps it below ``_excluded/``, new classes and copied-in files go into the
training folder, a rename renames the class in every part or in none; the dataset the session
keeps after each edit equals what a fresh load of the folder gives, and undo restores it all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QMessageBox

from core.data.dataset import LoadedDataset, load_dataset
from core.data.edit import (
    EXCLUDED,
    EditError,
    copy_in,
    create_class,
    exclude,
    move_to_class,
    rename_class,
    undo,
)
from core.data.images import InputSpec
from core.session import Session
from tests.conftest import make_dataset
from tests.test_dataset_edit import folders, snapshot

PARTS = ("train", "valid", "test")
SPEC = InputSpec(16)


@pytest.fixture
def split(tmp_path: Path) -> Path:
    """train/{cat,dog}, valid/{cat,dog}, test/{cat} only (so a move there makes test/dog/)."""
    root = tmp_path / "split"
    make_dataset(root / "train", {"cat": 4, "dog": 4})
    make_dataset(root / "valid", {"cat": 2, "dog": 2})
    make_dataset(root / "test", {"cat": 2})
    # valid/ and test/ hold other pictures than train/ (make_dataset repeats its patterns)
    for k, path in enumerate(
        sorted([*(root / "valid").rglob("*.png"), *(root / "test").rglob("*.png")])
    ):
        picture(path.parent, path.name, k)
    # What a load lists as skipped, and training images leaked into valid/ (warned about).
    (root / "train/cat/notes.txt").write_text("not a picture")
    (root / "valid/cat/.DS_Store").write_bytes(b"\0")
    (root / "valid/dog/empty.png").write_bytes(b"")
    for name in ("valid/cat/zz-leak.png", "valid/dog/aa-leak.png"):
        (root / name).write_bytes((root / "train/dog/img001.png").read_bytes())
    return root


def picture(folder: Path, name: str, seed: int) -> Path:
    """Random pixels: unlike any other picture, near-identical ones included."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (20, 20)).astype(np.uint8)
    Image.fromarray(pixels, "L").save(folder / name)
    return folder / name


# --- on disk ---------------------------------------------------------------------------------


def test_a_move_keeps_the_part_and_undo_removes_the_folder_it_made(split: Path) -> None:
    before, tree = snapshot(split), folders(split)
    edit = move_to_class(split, "test/cat/img000.png", "dog", parts=PARTS)
    assert edit.moves == (("test/cat/img000.png", "test/dog/img000.png"),)
    assert edit.folders == ("test/dog",)  # test/ had no dog folder
    assert (split / "test/dog/img000.png").read_bytes() == before["test/cat/img000.png"]
    with pytest.raises(EditError, match="not a file inside train or valid or test"):
        move_to_class(split, "other/cat/img000.png", "dog", parts=PARTS)
    with pytest.raises(EditError, match="no class folder bird"):
        move_to_class(split, "valid/cat/img000.png", "bird", parts=PARTS)
    undo(edit)
    assert snapshot(split) == before and folders(split) == tree


def test_exclude_keeps_the_part_below_excluded(split: Path) -> None:
    before, tree = snapshot(split), folders(split)
    edit = exclude(split, "valid/dog/img001.png", parts=PARTS)
    assert edit.moves == (("valid/dog/img001.png", f"{EXCLUDED}/valid/dog/img001.png"),)
    undo(edit)
    assert snapshot(split) == before and folders(split) == tree


def test_new_classes_and_copies_go_into_the_training_folder(split: Path, tmp_path: Path) -> None:
    before, tree = snapshot(split), folders(split)
    created = create_class(split, "bird", parts=PARTS)
    assert created.folders == ("train/bird",) and (split / "train/bird").is_dir()
    with pytest.raises(EditError, match="exists already"):
        create_class(split, "cat", parts=PARTS)
    (split / "test/owl").mkdir()  # a class only the test part has is a class all the same
    with pytest.raises(EditError, match=r"test/owl exists already"):
        create_class(split, "owl", parts=PARTS)
    copied = copy_in(split, "owl", [picture(tmp_path / "new", "o.png", 99)], parts=PARTS)
    assert [rel for _, rel in copied.copies] == ["train/owl/o.png"]
    assert copied.folders == ("train/owl",)
    undo(copied)
    (split / "test/owl").rmdir()
    undo(created)
    assert snapshot(split) == before and folders(split) == tree


def test_a_rename_renames_every_part_or_none(split: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, tree = snapshot(split), folders(split)
    renamed = rename_class(split, "cat", "kitten", parts=PARTS)
    assert renamed.moves == (
        ("train/cat", "train/kitten"),
        ("valid/cat", "valid/kitten"),
        ("test/cat", "test/kitten"),
    )
    assert not any((split / part / "cat").exists() for part in PARTS)
    undo(renamed)
    assert snapshot(split) == before and folders(split) == tree

    (split / "test/puppy").mkdir()  # taken in one part only: renaming dog would merge them
    with pytest.raises(EditError, match=r"test/puppy exists already; nothing was renamed"):
        rename_class(split, "dog", "puppy", parts=PARTS)
    (split / "test/puppy").rmdir()
    (split / "valid/Dog").mkdir()  # another class on a case-sensitive disk: no merging either
    with pytest.raises(EditError, match=r"valid/Dog exists already; nothing was renamed"):
        rename_class(split, "dog", "Dog", parts=PARTS)
    (split / "valid/Dog").rmdir()

    real_rename = Path.rename

    def failing(self: Path, target: Path) -> Path:
        if self.parent.name == "valid":
            raise PermissionError(13, "Permission denied")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(EditError, match=r"cannot rename .*valid/cat to kitten: permission denied"):
        rename_class(split, "cat", "kitten", parts=PARTS)
    assert snapshot(split) == before and folders(split) == tree  # train/ renamed back


# --- the session: the dataset it keeps equals a fresh load ----------------------------------


def as_loaded(data: LoadedDataset) -> dict[str, object]:
    """What a load gives, independent of the order of the images."""
    order = np.argsort(data.paths)
    return {
        "classes": list(data.class_names),
        "images": {
            data.paths[i]: (data.class_names[data.labels[i]], data.images[i].tobytes())
            for i in order
        },
        # An edit hashes only the images it adds and keeps the others' perceptual hashes.
        "phashes": {data.paths[i]: int(data.phashes[i]) for i in order},
        "parts": {role: sorted(data.paths[i] for i in data.part_rows(role)) for role in PARTS},
        "layout": data.layout_summary(),
        "problems": sorted(data.problems),
        "warnings": sorted(data.warnings),
        "skipped": sorted((s.path, s.reason) for s in data.skipped),
    }


def test_session_edits_of_a_split_folder_match_a_fresh_load(split: Path, tmp_path: Path) -> None:
    session = Session(use_cache=False)
    session.load_dataset(split, SPEC)
    first = session.dataset
    assert first is not None and first.layout is not None
    original = as_loaded(first)
    outside = picture(tmp_path / "new", "img000.png", 77)
    copy_of_train = tmp_path / "dup.png"  # an exact copy of a training image
    copy_of_train.write_bytes((split / "train/dog/img000.png").read_bytes())
    hidden = picture(tmp_path / "new", ".hidden.png", 78)
    notes = tmp_path / "new" / "notes.png"
    notes.write_text("a text file named like a picture")
    edits = [
        ("move_to_class", "valid/cat/img000.png", "dog"),
        ("move_to_class", "test/cat/img001.png", "dog"),  # makes test/dog/
        ("exclude", "train/dog/img003.png"),
        ("create_class", "bird"),
        # a copy of train/dog/img000 in bird, and files a load would skip
        ("copy_in", "bird", [outside, copy_of_train, hidden, notes]),
        ("rename_class", "cat", "kitten"),
    ]
    for operation, *args in edits:
        session.edit(operation, *args)
        kept = session.dataset
        assert kept is not None
        assert as_loaded(kept) == as_loaded(load_dataset(split, SPEC, workers=1)), operation
    data = session.dataset
    assert data.class_names == ["bird", "dog", "kitten"]
    assert {role: len(data.part_rows(role)) for role in PARTS} == {
        "train": 9,
        "valid": 6,
        "test": 2,
    }
    assert "test/dog/img001.png" in data.paths and "valid/dog/img000-2.png" in data.paths
    assert any("more than one class" in w for w in data.warnings)  # the copied training image
    assert any("of valid/ are also in train/" in w for w in data.warnings)
    assert ("train/bird/.hidden.png", "ignored: hidden file") in [
        (s.path, s.reason) for s in data.skipped
    ]
    assert "train/kitten/notes.txt" in [s.path for s in data.skipped]
    for _ in edits:
        session.undo_edit()
    assert as_loaded(session.dataset) == original
    assert not (split / "test/dog").exists() and not (split / EXCLUDED).exists()


def test_a_failed_split_edit_changes_nothing(split: Path) -> None:
    session = Session(use_cache=False)
    session.load_dataset(split, SPEC)
    before, kept = snapshot(split), as_loaded(session.dataset)
    (split / "valid/cat/img001.png").unlink()
    before.pop("valid/cat/img001.png")
    with pytest.raises(EditError, match="no longer there"):
        session.edit("move_to_class", "valid/cat/img001.png", "dog")
    with pytest.raises(EditError, match="exists already"):
        session.edit("rename_class", "cat", "dog")
    assert snapshot(split) == before and as_loaded(session.dataset) == kept


# --- the Data tab, with real Qt events --------------------------------------------------------


def test_the_data_tab_edits_a_split_folder(qtbot, split: Path, dialogs, monkeypatch) -> None:
    from gui.engine_adapter import Engine
    from gui.tabs.data import DataTab
    from tests.test_gui_data_edit import counts, grid, settle

    engine = Engine()
    try:
        tab = DataTab(engine)
        qtbot.addWidget(tab)
        tab.show()
        qtbot.waitExposed(tab)
        engine.load_dataset(split, SPEC)
        qtbot.waitUntil(lambda: tab.dataset is not None and not engine.state.queued, timeout=30_000)
        assert tab.new_class_button.isEnabled() and tab.rename_class_button.isEnabled()
        assert counts(tab) == {"cat": 9, "dog": 7}
        row = grid(tab).index("valid/cat/img000.png")
        captions = grid(tab, Qt.ItemDataRole.DisplayRole)
        assert captions[row] == "valid/"  # the part shows under the image
        assert captions[grid(tab).index("train/cat/img000.png")] == ""
        tab.thumbnails.setFocus()
        tab.thumbnails.setCurrentRow(row)
        qtbot.keyClick(tab.thumbnails, Qt.Key.Key_M)
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu)
        (dog,) = menu.actions()  # its own class (cat) is not offered, nor are the parts
        assert dog.text() == "dog"
        menu.setActiveAction(dog)
        dialogs.answers.append(QMessageBox.StandardButton.Ok)
        qtbot.keyClick(menu, Qt.Key.Key_Return)
        settle(qtbot, engine)
        qtbot.waitUntil(lambda: counts(tab) == {"cat": 8, "dog": 8}, timeout=10_000)
        assert (
            f"Move valid/cat/img000.png to valid/dog/img000-2.png inside {split}"
            in (dialogs.shown[0][1])
        )
        assert (split / "valid/dog/img000-2.png").is_file()

        asked = []

        def answer(_parent, _title, label, **_kwargs):
            asked.append(label)
            return "bird", True

        monkeypatch.setattr(QInputDialog, "getText", staticmethod(answer))
        qtbot.mouseClick(tab.new_class_button, Qt.MouseButton.LeftButton)
        settle(qtbot, engine)
        qtbot.waitUntil(lambda: "bird" in counts(tab), timeout=10_000)
        assert (split / "train/bird").is_dir() and str(split / "train") in asked[0]
    finally:
        engine.shutdown()


def test_an_edit_that_would_turn_classes_into_parts_is_taken_back(tmp_path: Path) -> None:
    plain = make_dataset(tmp_path / "plain", {"cat": 2, "dog": 2, "train": 2})
    picture(plain / "cat" / "sub", "x.png", 5)
    session = Session(use_cache=False)
    session.load_dataset(plain, SPEC)
    before, kept = snapshot(plain), as_loaded(session.dataset)
    with pytest.raises(EditError, match=r"read as another kind of folder.*nothing was changed"):
        session.edit("move_to_class", "cat/sub/x.png", "train")  # train/sub/ would be a class
    assert snapshot(plain) == before and folders(plain).count("train/sub") == 0
    assert as_loaded(session.dataset) == kept
    session.edit("move_to_class", "cat/img000.png", "train")  # no folder inside: still plain
    assert as_loaded(session.dataset) == as_loaded(load_dataset(plain, SPEC, workers=1))


def test_the_random_split_is_the_same_after_an_edit_and_its_undo(tmp_path: Path) -> None:
    plain = make_dataset(tmp_path / "plain", {"cat": 10, "dog": 10})
    session = Session(use_cache=False)
    session.load_dataset(plain, SPEC)
    session.edit("exclude", "cat/img003.png")
    session.undo_edit()  # the file comes back last in the session's order
    data, fresh = session.dataset, load_dataset(plain, SPEC, workers=1)
    assert data.paths != fresh.paths  # the order differs ...
    for seed in (1, 42):
        ours, theirs = data.split(0.3, seed), fresh.split(0.3, seed)
        for mine, other in zip(ours[:2], theirs[:2], strict=True):  # ... the split does not
            assert sorted(data.paths[i] for i in mine) == sorted(fresh.paths[i] for i in other)


def test_a_new_empty_class_is_one_clear_problem_and_can_be_removed(split: Path) -> None:
    session = Session(use_cache=False)
    session.load_dataset(split, SPEC)
    original, tree = as_loaded(session.dataset), folders(split)
    session.edit("create_class", "bird")
    (split / "test/bird").mkdir()  # an empty folder in another part as well
    about_bird = [p for p in session.dataset.problems if "'bird'" in p]
    assert about_bird == ["Class 'bird' has no usable images: add images or remove the folder."]
    removed = session.edit("remove_class", "bird")
    assert removed.folders == ("train/bird", "test/bird") and folders(split) == tree
    assert as_loaded(session.dataset) == original and session.dataset.can_train
    session.undo_edit()
    assert (split / "train/bird").is_dir() and (split / "test/bird").is_dir()
    assert as_loaded(session.dataset) == as_loaded(load_dataset(split, SPEC, workers=1))
