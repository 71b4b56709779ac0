"""The undo history of dataset edits across restarts (core.data.journal, through the session):
a folder opened again can still be put back as it was; entries the disk no longer allows are
dropped rather than blocking older ones; a damaged or unwritable history never stops an edit
or a load."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from core.data import journal as edit_journal
from core.data.edit import EXCLUDED, EditError
from core.data.images import InputSpec
from core.data.journal import journal_file, load_journal
from core.session import Session
from tests.conftest import make_dataset
from tests.test_dataset_edit import folders, snapshot

SPEC = InputSpec(16)


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "pets", {"cat": 3, "dog": 3})


def opened(folder: Path, **kwargs) -> Session:
    """A new session (as after a restart of the app) with ``folder`` loaded."""
    session = Session(use_cache=False, **kwargs)
    session.load_dataset(folder, SPEC)
    return session


def test_edits_can_be_undone_after_a_restart(pets: Path) -> None:
    before, tree = snapshot(pets), folders(pets)
    first = opened(pets)
    first.edit("move_to_class", "cat/img000.png", "dog")
    first.edit("exclude", "dog/img001.png")
    first.edit("rename_class", "cat", "kitten")
    first.edit("create_class", "bird")
    first.edit("remove_class", "bird")
    assert journal_file(pets).is_file()

    second = opened(pets)
    view = second.state().dataset
    assert view.undo.startswith("Removed the empty class folder(s) bird inside")
    assert view.edits == 0  # nothing was changed in this session (no Retrain offered)
    for _ in range(5):
        second.undo_edit()
    assert snapshot(pets) == before and folders(pets) == tree
    assert second.dataset.counts() == {"cat": 3, "dog": 3}
    assert not journal_file(pets).exists()  # nothing left to undo: no history kept
    with pytest.raises(EditError, match="nothing to undo"):
        opened(pets).undo_edit()


def test_a_reload_at_another_size_keeps_the_undo(pets: Path) -> None:
    session = opened(pets, keep_history=False)
    session.edit("exclude", "cat/img002.png")
    session.load_dataset(pets, InputSpec(20))
    assert session.state().dataset.undo.startswith("Moved cat/img002.png")
    session.undo_edit()
    assert (pets / "cat/img002.png").is_file()


def test_entries_the_disk_no_longer_allows_are_dropped(pets: Path) -> None:
    first = opened(pets)
    first.edit("exclude", "cat/img000.png")
    first.edit("move_to_class", "cat/img001.png", "dog")
    first.edit("exclude", "dog/img002.png")
    excluded, moved, _ = [edit.description for edit in load_journal(pets)]
    # By hand, outside the app: the last excluded file is put back, the moved one renamed.
    (pets / EXCLUDED / "dog/img002.png").rename(pets / "dog/img002.png")
    assert [edit.description for edit in load_journal(pets)] == [excluded, moved]
    (pets / "dog/img001-2.png").rename(pets / "dog/by-hand.png")
    assert [edit.description for edit in load_journal(pets)] == [excluded]
    second = opened(pets)
    second.undo_edit()
    with pytest.raises(EditError, match="nothing to undo"):
        second.undo_edit()
    assert (pets / "cat/img000.png").is_file() and (pets / "dog/by-hand.png").is_file()


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"version": 1, "root": "ROOT", "edits": [{"kind": "move", "moves": [["../x", "y"]]}]}',
        '{"version": 1, "root": "ROOT", "edits": [{"kind": "format-disk"}]}',
        '{"version": 1, "root": "ROOT", "edits": 7}',
        '{"version": 99, "root": "ROOT", "edits": []}',
        '{"version": 1, "root": "/somewhere/else", "edits": []}',
        "[]",
    ],
)
def test_a_damaged_history_is_left_aside(pets: Path, content: str, caplog) -> None:
    target = journal_file(pets)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content.replace("ROOT", str(pets.resolve())), encoding="utf-8")
    before = snapshot(pets)
    with caplog.at_level(logging.WARNING):
        session = opened(pets)
    assert session.state().dataset.undo is None and len(session.dataset) == 6
    assert snapshot(pets) == before
    session.edit("exclude", "cat/img000.png")  # and a new history replaces it
    assert [e.kind for e in load_journal(pets)] == ["exclude"]


def test_an_unwritable_history_does_not_stop_the_edit(
    pets: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(edit_journal, "atomic_path", refuse)
    session = opened(pets)
    with caplog.at_level(logging.WARNING, logger="core.data.journal"):
        session.edit("exclude", "cat/img000.png")
    assert (pets / EXCLUDED / "cat/img000.png").is_file()
    assert "could not keep the undo history" in caplog.text
    session.undo_edit()  # the history of this session still works
    assert (pets / "cat/img000.png").is_file()


def test_without_keep_history_nothing_is_written(pets: Path) -> None:
    opened(pets, keep_history=False).edit("exclude", "cat/img000.png")
    assert not journal_file(pets).exists()
    assert opened(pets).state().dataset.undo is None


@pytest.mark.skipif(os.name == "nt", reason="names that are not UTF-8 are a POSIX thing")
def test_a_folder_whose_name_is_not_utf8_keeps_its_history(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path / os.fsdecode(b"donn\xe9es"), {"cat": 2, "dog": 2})
    name = os.fsdecode(b"chat\xe9.png")
    (folder / "cat/img000.png").rename(folder / "cat" / name)
    opened(folder).edit("move_to_class", f"cat/{name}", "dog")
    again = opened(folder)
    assert again.state().dataset.undo.startswith(f"Moved cat/{name} to dog/{name}")
    again.undo_edit()
    assert (folder / "cat" / name).is_file()
