"""Camera pictures filed into a class (core.data.capture through the session's undo history):
written as JPEG files without replacing anything, one capture session one undo step, undo
keeps the pictures aside (nothing captured is lost), redo puts them back, and the loaded
dataset follows without a rescan. No Qt."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.capture import add_captured, encode_jpeg
from core.data.dataset import load_dataset
from core.data.edit import EXCLUDED, EditError
from core.data.editing import EditHistory
from core.data.images import InputSpec
from core.data.journal import journal_file, load_journal
from core.session import Session
from tests.conftest import make_dataset, shared_path


def photo_frames(count: int) -> list[np.ndarray]:
    """``count`` camera-sized frames (480x640) made from the shared clothing photos."""
    folder = shared_path("photos", "clothing-dataset-small", "t-shirt")
    files = sorted(folder.glob("*.jpg"))[:count]
    return [np.asarray(Image.open(f).convert("RGB").resize((640, 480))) for f in files]


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "pets", {"cat": 3, "dog": 3})


def test_encode_jpeg_keeps_orientation_unless_mirrored() -> None:
    frame = np.zeros((30, 40, 3), np.uint8)
    frame[:, :10] = 255  # a white band on the left
    plain = np.asarray(Image.open(io.BytesIO(encode_jpeg(frame))))
    flipped = np.asarray(Image.open(io.BytesIO(encode_jpeg(frame, mirror=True))))
    assert plain[:, :8].mean() > 200 and plain[:, -8:].mean() < 50
    assert flipped[:, -8:].mean() > 200 and flipped[:, :8].mean() < 50
    with pytest.raises(EditError):
        encode_jpeg(np.zeros((4, 4, 3), np.float32))


def test_twenty_frames_into_a_new_class_then_undo_and_redo(pets: Path) -> None:
    frames = photo_frames(20)
    pictures = [encode_jpeg(f) for f in frames]
    history = EditHistory()
    history.follow(pets)
    data = load_dataset(pets, InputSpec(size=16))
    # two batches of one capture session (as the dialog writes them): one undo step
    _, data = history.apply(data, "add_captured", "shirt", pictures[:12], "session-1")
    _, data = history.apply(data, "add_captured", "shirt", pictures[12:], "session-1")
    assert len(history.edits) == 1 and len(history.edits[0].copies) == 20
    assert data.class_names == ["cat", "dog", "shirt"]
    files = sorted((pets / "shirt").glob("*.jpg"))
    assert len(files) == 20
    assert sorted(f.read_bytes() for f in files) == sorted(pictures)
    assert int((data.labels == 2).sum()) == 20
    fresh = load_dataset(pets, InputSpec(size=16))  # what a rescan would find
    assert fresh.class_names == data.class_names and sorted(fresh.paths) == sorted(data.paths)
    assert "Captured 20 picture(s) into shirt" in history.undo_description

    _reverted, data = history.undo(data)
    assert not (pets / "shirt").exists()  # the class it made is gone again
    kept = sorted((pets / EXCLUDED / "shirt").glob("*.jpg"))
    assert sorted(f.read_bytes() for f in kept) == sorted(pictures)  # nothing captured lost
    assert data.class_names == ["cat", "dog"] and len(data.paths) == 6
    assert history.redo_description and "20" in history.redo_description

    _again, data = history.redo(data)
    assert sorted(f.read_bytes() for f in (pets / "shirt").glob("*.jpg")) == sorted(pictures)
    assert not (pets / EXCLUDED).exists()
    assert data.class_names == ["cat", "dog", "shirt"] and int((data.labels == 2).sum()) == 20
    assert history.undo_description and not history.undone
    history.undo(data)  # and the redone capture is undoable again
    assert not (pets / "shirt").exists()


def test_capture_never_replaces_a_file_and_a_new_session_is_a_new_step(pets: Path) -> None:
    picture = encode_jpeg(np.full((24, 32, 3), 90, np.uint8))
    first = add_captured(pets, "cat", [picture], "a")
    name = first.copies[0][1]
    clash = pets / name
    clash.write_bytes(b"the user's own file")  # the same name taken by something else
    history = EditHistory(keep=False)
    history.follow(pets)
    data = load_dataset(pets, InputSpec(size=16))
    history.apply(data, "add_captured", "cat", [picture], "b")
    history.apply(data, "add_captured", "cat", [picture], "c")
    assert clash.read_bytes() == b"the user's own file"
    assert len(history.edits) == 2  # two sessions, two undo steps
    assert first.classes == ()  # "cat" existed: no class made
    assert not list(pets.rglob(".capture-*"))  # no temporary left behind


def test_undo_refuses_when_a_picture_changed_and_keeps_it(pets: Path) -> None:
    history = EditHistory(keep=False)
    history.follow(pets)
    data = load_dataset(pets, InputSpec(size=16))
    edit, data = history.apply(
        data, "add_captured", "new", [encode_jpeg(np.zeros((8, 8, 3), np.uint8))], "s"
    )
    target = pets / edit.copies[0][1]
    target.write_bytes(encode_jpeg(np.ones((8, 8, 3), np.uint8) * 200))
    with pytest.raises(EditError, match="changed or removed after it was captured"):
        history.undo(data)
    assert target.exists() and history.edits  # still there, still undoable once put right


def test_capture_refuses_bad_class_names_and_nothing_is_written(pets: Path) -> None:
    for name in ("", "a/b", EXCLUDED, " cat"):
        with pytest.raises(EditError):
            add_captured(pets, name, [b"x"])
    assert sorted(p.name for p in pets.iterdir()) == ["cat", "dog"]


def test_capture_is_kept_in_the_journal_and_undoable_after_a_restart(pets: Path) -> None:
    session = Session(use_cache=False)
    session.load_dataset(pets, InputSpec(size=16))
    pictures = [encode_jpeg(f) for f in photo_frames(3)]
    session.edit("add_captured", "shirt", pictures, "s1")
    entry = json.loads(journal_file(pets).read_text(encoding="utf-8"))["edits"][0]
    assert entry["kind"] == "capture" and len(entry["copies"]) == 3
    (kept,) = load_journal(pets)
    assert kept.kind == "capture"
    later = Session(use_cache=False)  # the app opened again
    later.load_dataset(pets, InputSpec(size=16))
    assert later.state().dataset.undo and "Captured 3" in later.state().dataset.undo
    later.undo_edit()
    assert "shirt" not in later.state().dataset.class_names
    assert later.state().dataset.redo
    later.redo_edit()
    assert "shirt" in later.state().dataset.class_names
