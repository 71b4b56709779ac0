"""Editing a dataset folder (core.data.edit): every operation, its undo, and what must never
happen — a file overwritten or lost, a half-done change left on disk; the session's undo stack
updating the loaded dataset without a rescan; near-duplicate images (core.data.near_duplicates)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data import safe_moves
from core.data.dataset import load_dataset
from core.data.edit import (
    EXCLUDED,
    EditError,
    copy_in,
    create_class,
    exclude,
    move_to_class,
    remove_class,
    rename_class,
    undo,
)
from core.data.images import InputSpec
from core.data.near_duplicates import near_duplicate_warning, near_pairs, phash
from core.data.scan import scan_folder
from core.session import Session
from tests.conftest import make_dataset, shared_path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` with its content (what "the disk unchanged" compares)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def folders(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "pets", {"cat": 3, "dog": 3})


def test_move_to_class_and_undo(pets: Path) -> None:
    before = snapshot(pets)
    edit = move_to_class(pets, "cat/img000.png", "dog")
    assert edit.moves == (("cat/img000.png", "dog/img000-2.png"),)  # dog/img000.png is taken
    assert (pets / "dog/img000-2.png").read_bytes() == before["cat/img000.png"]
    assert not (pets / "cat/img000.png").exists()
    assert (pets / "dog/img000.png").read_bytes() == before["dog/img000.png"]  # untouched
    assert "Moved cat/img000.png to dog/img000-2.png inside" in edit.description
    back = undo(edit)
    assert back.reverted and back.moves == (("dog/img000-2.png", "cat/img000.png"),)
    assert snapshot(pets) == before


def test_move_keeps_a_free_name_and_subfolders(pets: Path) -> None:
    (pets / "cat/sub").mkdir()
    (pets / "cat/sub/x.png").write_bytes(b"x")
    edit = move_to_class(pets, "cat/sub/x.png", "dog")
    assert edit.moves == (("cat/sub/x.png", "dog/sub/x.png"),)
    undo(edit)
    assert not (pets / "dog/sub").exists()  # the folder the move created is gone again
    assert (pets / "cat/sub/x.png").read_bytes() == b"x"


def test_exclude_goes_to_a_folder_the_scanner_ignores(pets: Path) -> None:
    before = snapshot(pets)
    edit = exclude(pets, "dog/img001.png")
    assert edit.moves == (("dog/img001.png", f"{EXCLUDED}/dog/img001.png"),)
    index = scan_folder(pets)
    assert index.class_names == ["cat", "dog"]
    assert "dog/img001.png" not in [f.relpath for c in index.classes for f in c.files]
    assert any(s.path.endswith(EXCLUDED) and "excluded" in s.reason for s in index.skipped)
    # Excluding a second file of that name keeps both.
    (pets / "dog/img001.png").write_bytes(b"another")
    second = exclude(pets, "dog/img001.png")
    assert second.moves[0][1] == f"{EXCLUDED}/dog/img001-2.png"
    undo(second)
    (pets / "dog/img001.png").unlink()
    undo(edit)
    assert snapshot(pets) == before
    assert EXCLUDED not in folders(pets)


def test_undo_refuses_to_overwrite(pets: Path) -> None:
    edit = move_to_class(pets, "cat/img002.png", "dog")
    (pets / "cat/img002.png").write_bytes(b"new file in its old place")
    before = snapshot(pets)
    with pytest.raises(EditError, match="exists already"):
        undo(edit)
    assert snapshot(pets) == before


def test_vanished_file_is_a_clear_error(pets: Path) -> None:
    before = snapshot(pets)
    with pytest.raises(EditError, match=r"cat/img009\.png: the file is no longer there"):
        move_to_class(pets, "cat/img009.png", "dog")
    with pytest.raises(EditError, match="no longer there"):
        exclude(pets, "cat/img009.png")
    assert snapshot(pets) == before and folders(pets) == ["cat", "dog"]


def test_file_vanishing_during_the_move(pets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another program removes the file between the check and the link."""
    real_link = os.link

    def link(source, target, **kwargs):
        Path(source).unlink()
        return real_link(source, target, **kwargs)

    monkeypatch.setattr(safe_moves.os, "link", link)
    with pytest.raises(EditError, match="vanished"):
        exclude(pets, "cat/img000.png")
    assert EXCLUDED not in folders(pets)  # the folder it made for the move is removed


def test_read_only_folder_leaves_the_disk_unchanged(
    pets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(pets)
    if os.name == "posix" and os.geteuid() != 0:
        (pets / "dog").chmod(0o555)
        try:
            with pytest.raises(EditError, match="permission denied"):
                move_to_class(pets, "cat/img000.png", "dog")
        finally:
            (pets / "dog").chmod(0o755)
    else:  # root ignores permissions: make the link fail as a read-only folder would

        def refuse(*_args, **_kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(safe_moves.os, "link", refuse)
        monkeypatch.setattr(safe_moves.os, "access", lambda *_a, **_k: False)
        with pytest.raises(EditError, match=r"cannot write in .*dog: permission denied"):
            move_to_class(pets, "cat/img000.png", "dog")
    assert snapshot(pets) == before


def test_source_that_cannot_be_removed_is_rolled_back(
    pets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(pets)

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self.name == "img001.png" and self.parent.name == "cat":
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, missing_ok)

    real_unlink = Path.unlink
    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(EditError, match=r"cannot remove .*img001\.png"):
        move_to_class(pets, "cat/img001.png", "dog")
    monkeypatch.undo()
    assert snapshot(pets) == before  # the new link was removed again


def test_without_hard_links_the_file_is_copied_exclusively(
    pets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another device or a file system without hard links: copy (O_EXCL), then remove."""

    def cross_device(*_args, **_kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(safe_moves.os, "link", cross_device)
    before = snapshot(pets)
    edit = move_to_class(pets, "cat/img000.png", "dog")
    assert edit.moves[0][1] == "dog/img000-2.png"
    assert (pets / "dog/img000-2.png").read_bytes() == before["cat/img000.png"]
    undo(edit)
    assert snapshot(pets) == before


def test_create_and_rename_class(pets: Path) -> None:
    before = snapshot(pets)
    created = create_class(pets, "bird")
    assert (pets / "bird").is_dir()
    with pytest.raises(EditError, match="exists already"):
        create_class(pets, "bird")
    with pytest.raises(EditError, match="exists already"):
        rename_class(pets, "cat", "dog")
    renamed = rename_class(pets, "cat", "kitten")
    assert (pets / "kitten/img000.png").is_file() and not (pets / "cat").exists()
    undo(renamed)
    (pets / "bird/x.png").write_bytes(b"x")
    with pytest.raises(EditError, match="holds files now"):
        undo(created)
    (pets / "bird/x.png").unlink()
    undo(created)
    assert snapshot(pets) == before and folders(pets) == ["cat", "dog"]


def test_remove_only_an_empty_class(pets: Path) -> None:
    before, tree = snapshot(pets), folders(pets)
    with pytest.raises(EditError, match=r"cat is not empty \(img000.png, img001.png, img002"):
        remove_class(pets, "cat")
    create_class(pets, "bird")
    (pets / "bird/.DS_Store").write_bytes(b"x")  # a hidden file counts: nothing is deleted
    with pytest.raises(EditError, match=r"not empty \(\.DS_Store\)"):
        remove_class(pets, "bird")
    (pets / "bird/.DS_Store").unlink()
    removed = remove_class(pets, "bird")
    assert removed.folders == ("bird",) and folders(pets) == tree
    (pets / "bird").mkdir()  # made again by someone else meanwhile: undo refuses, keeps it
    with pytest.raises(EditError, match=r"cannot make .*bird again: it exists again"):
        undo(removed)
    (pets / "bird").rmdir()
    undo(removed)
    assert (pets / "bird").is_dir()
    (pets / "bird").rmdir()
    assert snapshot(pets) == before and folders(pets) == tree


@pytest.mark.parametrize("name", ["", " cat", "a/b", "..", ".hidden", "_excluded", "__MACOSX"])
def test_bad_class_names_are_refused(pets: Path, name: str) -> None:
    with pytest.raises(EditError):
        create_class(pets, name)
    assert folders(pets) == ["cat", "dog"]


def test_copy_in_never_overwrites(pets: Path, tmp_path: Path) -> None:
    outside = tmp_path / "new"
    outside.mkdir()
    (outside / "img000.png").write_bytes(b"one")
    (outside / "fresh.png").write_bytes(b"two")
    before = snapshot(pets)
    edit = copy_in(pets, "cat", [outside / "img000.png", outside / "fresh.png"])
    assert [rel for _, rel in edit.copies] == ["cat/img000-2.png", "cat/fresh.png"]
    assert (pets / "cat/img000.png").read_bytes() == before["cat/img000.png"]
    assert (outside / "img000.png").read_bytes() == b"one"  # the source stays
    (outside / "fresh.png").unlink()  # the original is gone: undo must not delete the copy
    with pytest.raises(EditError, match="only copy now; it was kept"):
        undo(edit)
    assert (pets / "cat/fresh.png").read_bytes() == b"two"
    (outside / "fresh.png").write_bytes(b"two")
    undo(edit)
    assert snapshot(pets) == before


def test_failed_copy_in_removes_the_copies_made(pets: Path, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"a")
    before = snapshot(pets)
    with pytest.raises(EditError, match=r"missing\.png: the file is no longer there"):
        copy_in(pets, "cat", [tmp_path / "a.png", tmp_path / "missing.png"])
    assert snapshot(pets) == before


# --- the session: the loaded dataset follows the edits, without a rescan ---------------------


def test_session_edits_update_the_dataset_and_undo(
    pets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = []
    session = Session(listener=states.append, use_cache=False)
    session.load_dataset(pets, InputSpec(16))
    first = session.dataset
    assert first is not None
    cat_pixels = first.images[first.paths.index("cat/img000.png")].copy()

    import core.data.scan

    def no_rescan(*_args, **_kwargs):
        raise AssertionError("an edit must not rescan the folder")

    monkeypatch.setattr(core.data.scan, "scan_folder", no_rescan)
    session.edit("move_to_class", "cat/img000.png", "dog")
    data = session.dataset
    assert data is not None and data.images is first.images  # same pixels, relabelled
    row = data.paths.index("dog/img000-2.png")
    assert data.class_names[data.labels[row]] == "dog"
    assert data.counts() == {"cat": 2, "dog": 4}
    view = states[-1].dataset
    assert view.counts == (2, 4) and view.undo.startswith("Moved cat/img000.png")

    session.edit("exclude", "dog/img001.png")
    assert len(session.dataset) == 5 and "dog/img001.png" not in session.dataset.paths
    session.edit("create_class", "bird")
    assert session.dataset.class_names == ["bird", "cat", "dog"]
    assert "Class 'bird' has no usable images" in " ".join(session.dataset.problems)
    session.edit("rename_class", "dog", "puppy")
    assert session.dataset.counts() == {"bird": 0, "cat": 2, "puppy": 3}

    for _ in range(4):
        session.undo_edit()
    data = session.dataset
    assert data.class_names == ["cat", "dog"] and data.counts() == {"cat": 3, "dog": 3}
    restored = data.paths.index("cat/img000.png")
    assert data.class_names[data.labels[restored]] == "cat"
    assert np.array_equal(data.images[restored], cat_pixels)
    assert "dog/img001.png" in data.paths  # decoded again when it came back
    assert states[-1].dataset.undo is None and states[-1].dataset.edits == 8
    with pytest.raises(EditError, match="nothing to undo"):
        session.undo_edit()


def test_session_copy_in_decodes_only_the_new_files(pets: Path, tmp_path: Path) -> None:
    session = Session(use_cache=False)
    session.load_dataset(pets, InputSpec(16))
    picture = tmp_path / "img000.png"
    Image.new("L", (20, 20), 200).save(picture)
    (tmp_path / "notes.png").write_bytes(b"not an image")
    session.edit("copy_in", "dog", [picture, tmp_path / "notes.png"])
    data = session.dataset
    assert data.counts() == {"cat": 3, "dog": 4}
    assert "dog/img000-2.png" in data.paths
    assert any(s.path == "dog/notes.png" for s in data.skipped)
    assert not any(p.endswith("notes.png") for p in data.paths)


def test_session_failed_edit_changes_nothing(pets: Path) -> None:
    session = Session(use_cache=False)
    session.load_dataset(pets, InputSpec(16))
    data = session.dataset
    before = snapshot(pets)
    with pytest.raises(EditError, match="no longer there"):
        session.edit("exclude", "cat/img042.png")
    with pytest.raises(EditError, match="in class 'cat' already"):
        session.edit("move_to_class", "cat/img000.png", "cat")
    assert session.dataset is data and snapshot(pets) == before


# --- near-duplicates --------------------------------------------------------------------------


def photo(seed: int, size: int = 72) -> Image.Image:
    """A smooth random picture (blurred noise), different for each seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 3)).astype(np.uint8)
    return Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)


def reencoded(image: Image.Image, quality: int = 75) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(buffer).convert("RGB")


def test_near_duplicates_are_found_and_different_images_are_not() -> None:
    """Re-saved copies, and a copy shifted by a pixel at full size (a 256 px photo), are
    found at the default threshold; none of 40 different pictures is paired."""
    originals = [photo(seed, 256) for seed in range(40)]
    full = np.asarray(originals[3])
    shifted = Image.fromarray(np.concatenate([full[:, :2], full[:, :-2]], axis=1))
    extra = [reencoded(originals[0]), shifted, reencoded(originals[7], 90)]
    pixels = np.stack([np.asarray(i.resize((64, 64))) for i in originals + extra])
    pairs = near_pairs(phash(pixels))
    found = {(i, j) for i, j, _ in pairs}
    assert {(0, 40), (3, 41), (7, 42)} <= found
    assert all(j >= 40 for _, j in found), f"different pictures reported: {pairs}"


def test_exact_copies_are_left_to_the_exact_check() -> None:
    pixels = np.stack([np.asarray(photo(1))] * 2 + [np.asarray(photo(2))])
    assert near_pairs(phash(pixels), exact=["a", "a", "b"]) == []
    assert near_pairs(phash(pixels))[0][:2] == (0, 1)


def test_many_near_copies_do_not_pair_everything_with_everything() -> None:
    """2,000 slightly different copies of one picture (two million close pairs): the pairs
    collected stop at the limit instead of filling memory."""
    rng = np.random.default_rng(0)
    base = np.asarray(photo(5, 32)).astype(np.int16)
    pixels = np.clip(base + rng.integers(-1, 2, (2000, 32, 32, 3)), 0, 255).astype(np.uint8)
    pairs = near_pairs(phash(pixels), limit=500)
    assert len(pairs) == 500 and all(i < j for i, j, _ in pairs)
    warning = near_duplicate_warning(pairs, [f"{i}.png" for i in range(2000)], np.zeros(2000), [])
    assert warning == [] or not warning[0].startswith("At least")  # 500 < MAX_PAIRS


def test_near_pairs_by_path_do_not_depend_on_the_order_of_the_images() -> None:
    """Past the limit too: which pairs are kept follows the paths, not the rows (an edited
    dataset holds its images in another order than a fresh load)."""
    rng = np.random.default_rng(1)
    base = np.asarray(photo(5, 32)).astype(np.int16)
    pixels = np.clip(base + rng.integers(-1, 2, (300, 32, 32, 3)), 0, 255).astype(np.uint8)
    paths = [f"c{i % 3}/{i:03d}.png" for i in range(300)]
    exact = [str(i % 290) for i in range(300)]  # ten exact copies among them
    hashes = phash(pixels)
    shuffle = rng.permutation(300)

    def named(order: np.ndarray) -> set[tuple[str, str]]:
        chosen = [paths[k] for k in order]
        found = near_pairs(hashes[order], exact=[exact[k] for k in order], limit=200, paths=chosen)
        assert len(found) == 200
        return {tuple(sorted((chosen[i], chosen[j]))) for i, j, _ in found}

    assert named(np.arange(300)) == named(shuffle)


def test_loading_warns_about_near_duplicates(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for name, seeds in (("a", range(6)), ("b", range(6, 12))):
        (root / name).mkdir(parents=True)
        for seed in seeds:
            photo(seed).save(root / name / f"{seed}.png")
    photo(2).save(root / "b" / "copy.jpg", quality=90)
    data = load_dataset(root, InputSpec(64, color=True), workers=1)
    near = [w for w in data.warnings if "near-identical" in w]
    assert len(near) == 1 and "a/2.png ~ b/copy.jpg" in near[0] and "across classes" in near[0]


@pytest.mark.shared_data
def test_near_duplicates_on_fashion_mnist_are_quick() -> None:
    """Hashing and pairing Fashion-MNIST's 15,000 training images takes a fraction of a
    second (measured about 0.07 s once warm, 0.3-0.4 s on a busy 2-core machine; 242 pairs),
    so 25,000 stay well under two."""
    import time

    data = load_dataset(shared_path("fashion-mnist", "train"), InputSpec(28), workers=1)
    start = time.perf_counter()
    pairs = near_pairs(phash(data.images), exact=data.hashes)
    elapsed = time.perf_counter() - start
    assert 0 < len(pairs) < len(data)
    assert elapsed < 30  # a hang guard only; the time is printed for the record
    print(f"near-duplicates of {len(data)} images: {elapsed:.2f} s, {len(pairs)} pairs")


@pytest.mark.slow
def test_losses_rank_a_wrong_label_first(trained_session, saved_model, tmp_path: Path) -> None:
    """Session.losses: one loss per image, in dataset order; an image filed under the wrong
    class surprises the model most."""
    import shutil

    data = trained_session.dataset
    losses = trained_session.surprises()[0]
    assert losses.shape == (len(data),) and losses.dtype == np.float32
    assert np.all(np.isfinite(losses)) and np.all(losses >= 0)
    # The same pictures with one of them filed under another class.
    copy = tmp_path / "patterns"
    shutil.copytree(data.root, copy)
    wrong = "horizontal/horizontal_000.png"
    (copy / wrong).rename(copy / "vertical/horizontal_000.png")
    session = Session(use_cache=False)
    session.load_dataset(copy, data.spec)
    session.open(saved_model)  # the same model
    ranked = np.argsort(-session.surprises()[0])
    assert session.dataset.paths[ranked[0]] == "vertical/horizontal_000.png"
    # Retrain is offered for edits the model has not seen, not for the ones before it.
    assert not session.state().edited_since_model
    session.edit("move_to_class", "vertical/horizontal_000.png", "horizontal")
    assert session.state().edited_since_model
    session.open(saved_model)
    assert not session.state().edited_since_model
    session.undo_edit()
    assert session.state().edited_since_model
