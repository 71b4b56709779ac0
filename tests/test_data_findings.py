"""What a load says about copies and misnamed files, with the files named: the exact-copy
warning names them (as the near-identical one does), the groups are data (``inspect --json``,
``-v``, the session's view), files read although their names say another format are a note
(also after a cached load), and excluding the extra copies is one edit that one undo reverses,
after which the dataset still equals a fresh load of the folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli.main import main
from core.data.cache import DatasetCache
from core.data.dataset import LoadedDataset, load_dataset
from core.data.edit import EXCLUDED, exclude, undo
from core.data.images import InputSpec
from core.session import Session
from tests import imagegen as gen

SPEC = InputSpec(16)
ROOT = Path(__file__).resolve().parents[1]


def noise(path: Path, seed: int, fmt: str = "PNG") -> Path:
    """A picture of random pixels (unlike any other, near copies included) as ``fmt``."""
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gen.encode(Image.fromarray(pixels), fmt))
    return path


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """What a web download looks like: copies named "(copy)" and "-2", and JPEGs named
    ``x.png`` and ``black3.jpg_1088Wx1632H``."""
    root = tmp_path / "masks"
    for k, name in enumerate(("with_mask", "without_mask")):
        for i in range(5):
            noise(root / name / f"{i}.png", 10 * k + i)
    copy = root / "with_mask" / "0 (copy).png"
    copy.write_bytes((root / "with_mask/0.png").read_bytes())
    for extra in ("1-2.png", "1-3.png"):
        (root / "with_mask" / extra).write_bytes((root / "with_mask/1.png").read_bytes())
    noise(root / "without_mask" / "x.png", 90, "JPEG")
    noise(root / "without_mask" / "black3.jpg_1088Wx1632H", 91, "JPEG")
    return root


EXACT = [
    ["with_mask/0.png", "with_mask/0 (copy).png"],
    ["with_mask/1.png", "with_mask/1-2.png", "with_mask/1-3.png"],
]
MISNAMED = [("without_mask/black3.jpg_1088Wx1632H", "JPEG"), ("without_mask/x.png", "JPEG")]


def test_exact_copies_are_named_and_kept_as_groups(messy: Path) -> None:
    data = load_dataset(messy, SPEC, workers=1)
    assert data.copies == EXACT  # the shortest name first: the one to keep
    (warning,) = [w for w in data.warnings if "exact cop" in w]
    assert warning.startswith(
        "3 exact copies within a class: with_mask/0.png = with_mask/0 (copy).png; "
        "with_mask/1.png = with_mask/1-2.png = with_mask/1-3.png."
    )


def test_many_copies_are_named_up_to_five_and_counted(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for k, name in enumerate(("a", "b")):
        for i in range(8):
            original = noise(root / name / f"{i}.png", 10 * k + i)
            if name == "a":
                (root / name / f"{i} (copy).png").write_bytes(original.read_bytes())
    data = load_dataset(root, SPEC, workers=1)
    (warning,) = [w for w in data.warnings if "exact cop" in w]
    assert warning.startswith("8 exact copies within a class: a/0.png = a/0 (copy).png; ")
    assert "a/4.png = a/4 (copy).png and 3 more." in warning
    assert "a/5.png" not in warning
    assert len(data.copies) == 8


def test_misnamed_files_are_used_and_noted_also_from_the_cache(messy: Path, tmp_path: Path) -> None:
    cache = DatasetCache(tmp_path / "cache")
    first = load_dataset(messy, SPEC, cache=cache, workers=1)
    second = load_dataset(messy, SPEC, cache=cache, workers=1)  # nothing decoded: all cached
    for data in (first, second):
        assert {"without_mask/x.png", "without_mask/black3.jpg_1088Wx1632H"} <= set(data.paths)
        assert not data.skipped
        assert data.misnamed == MISNAMED
        assert data.notes == [
            "2 files are read although their names say otherwise: "
            "without_mask/black3.jpg_1088Wx1632H (a JPEG image), without_mask/x.png "
            "(a JPEG image). The content, not the name, decides how a file is read, so they "
            "are used as they are."
        ]
        assert not any("otherwise" in w for w in data.warnings)  # a note, not a warning
    assert np.array_equal(first.images, second.images)


def test_a_cache_written_without_formats_is_decoded_afresh(messy: Path, tmp_path: Path) -> None:
    cache = DatasetCache(tmp_path / "cache")
    load_dataset(messy, SPEC, cache=cache, workers=1)
    path = cache.path_for(messy, SPEC)
    with np.load(path) as archive:
        older = {name: archive[name] for name in archive.files if name != "formats"}
    np.savez(path, **older)  # as the version before formats were kept wrote it
    assert not len(cache.read(messy, SPEC))
    assert load_dataset(messy, SPEC, cache=cache, workers=1).misnamed == MISNAMED


def test_names_that_match_their_content_are_not_noted(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for k, (name, fmt) in enumerate(
        [
            ("a/p.PNG", "PNG"),
            ("a/j.jpeg", "JPEG"),
            ("a/k.JPG", "JPEG"),
            ("b/t.tiff", "TIFF"),
            ("b/w.webp", "WEBP"),
            ("b/g.gif", "GIF"),
            ("b/m.bmp", "BMP"),
        ]
    ):
        noise(root / name, k, fmt)
    data = load_dataset(root, SPEC, workers=1)
    assert len(data) == 7 and data.misnamed == [] and data.notes == []


def fields(data: LoadedDataset) -> dict[str, object]:
    """What a load says about a folder, independent of the order of its images."""
    return {
        "paths": sorted(data.paths),
        "warnings": sorted(data.warnings),
        "notes": data.notes,
        "copies": data.copies,
        "near_copies": data.near_copies,
        "misnamed": data.misnamed,
        "summary": data.summary(),
    }


def test_excluding_the_copies_is_one_edit_and_matches_a_fresh_load(messy: Path) -> None:
    session = Session(use_cache=False, keep_history=False)
    session.load_dataset(messy, SPEC)
    extra = [path for group in EXACT for path in group[1:]]
    extra.append("without_mask/x.png")
    done = session.edit("exclude", *extra)
    assert len(done.moves) == 4
    assert sorted(
        p.relative_to(messy / EXCLUDED).as_posix() for p in (messy / EXCLUDED).rglob("*.*")
    ) == sorted(extra)
    data = session.dataset
    assert (
        data is not None and data.copies == [] and not any("exact cop" in w for w in data.warnings)
    )
    assert data.misnamed == MISNAMED[:1]
    assert fields(data) == fields(load_dataset(messy, SPEC, workers=1))
    view = session.state().dataset
    assert view is not None and view.copies == () and view.misnamed == tuple(MISNAMED[:1])
    session.undo_edit()  # one undo brings all four back
    assert not (messy / EXCLUDED).exists()
    data = session.dataset
    assert data is not None and data.copies == EXACT and data.misnamed == MISNAMED
    assert fields(data) == fields(load_dataset(messy, SPEC, workers=1))


def test_exclude_of_several_files_is_all_or_nothing(messy: Path) -> None:
    from core.data.edit import EditError

    before = sorted(p.relative_to(messy).as_posix() for p in messy.rglob("*") if p.is_file())
    with pytest.raises(EditError, match=r"no-such\.png"):
        exclude(messy, "with_mask/0 (copy).png", "with_mask/no-such.png")
    after = sorted(p.relative_to(messy).as_posix() for p in messy.rglob("*") if p.is_file())
    assert after == before
    edit = exclude(messy, "with_mask/1-2.png", "with_mask/1-3.png")
    assert "2 files" in edit.description
    undo(edit)
    after = sorted(p.relative_to(messy).as_posix() for p in messy.rglob("*") if p.is_file())
    assert after == before


def test_inspect_names_the_copies_and_the_misnamed_files(messy: Path, capsys) -> None:
    assert main(["inspect", str(messy)]) == 0
    text = capsys.readouterr().out
    assert (
        "Warning: 3 exact copies within a class: with_mask/0.png = with_mask/0 (copy).png" in text
    )
    assert "Note: 2 files are read although their names say otherwise: " in text
    assert "without_mask/black3.jpg_1088Wx1632H (a JPEG image)" in text
    assert main(["inspect", str(messy), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["duplicates"] == EXACT
    assert data["misnamed"] == [{"path": p, "format": f} for p, f in MISNAMED]
    assert len(data["notes"]) == 1 and "black3.jpg_1088Wx1632H" in data["notes"][0]
    assert data["near_duplicates"] == []


def test_inspect_json_lists_near_identical_pairs(tmp_path: Path, capsys) -> None:
    root = tmp_path / "d"
    for k, name in enumerate(("a", "b")):
        for i in range(4):
            noise(root / name / f"{i}.png", 10 * k + i)
    image = Image.open(root / "a/0.png").convert("RGB")
    brighter = image.point(lambda v: min(255, v + 6))
    (root / "a/0-bright.png").write_bytes(gen.encode(brighter, "PNG"))
    assert main(["inspect", str(root), "--json", "--image-size", "16"]) == 0
    data = json.loads(capsys.readouterr().out)
    pairs = data["near_duplicates"]
    assert [pair["paths"] for pair in pairs] == [["a/0-bright.png", "a/0.png"]]
    assert isinstance(pairs[0]["differing_bits"], int)


def test_inspect_verbose_logs_every_copy_and_misnamed_file(messy: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core", "inspect", str(messy), "-v"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    log = result.stderr
    assert "identical images: with_mask/0.png = with_mask/0 (copy).png" in log
    assert "identical images: with_mask/1.png = with_mask/1-2.png = with_mask/1-3.png" in log
    assert "read although its name says otherwise: without_mask/x.png (a JPEG image)" in log


def test_a_split_folder_names_copies_within_a_part_and_edits_match_a_fresh_load(
    tmp_path: Path,
) -> None:
    root = tmp_path / "split"
    for part, count in (("train", 4), ("valid", 2)):
        for k, name in enumerate(("a", "b")):
            for i in range(count):
                noise(root / part / name / f"{i}.png", 100 * k + 10 * (part == "valid") + i)
    (root / "train/a/0 (copy).png").write_bytes((root / "train/a/0.png").read_bytes())
    (root / "valid/a/leak.png").write_bytes((root / "train/a/0.png").read_bytes())
    noise(root / "valid/b/photo.png", 77, "JPEG")
    session = Session(use_cache=False, keep_history=False)
    session.load_dataset(root, SPEC)
    data = session.dataset
    assert data is not None and data.layout is not None
    assert data.copies == [["train/a/0.png", "valid/a/leak.png", "train/a/0 (copy).png"]]
    # the copy in valid/ is leakage (the layout's own warning), not a copy within the class
    assert any(
        w.startswith("1 exact copy within a class: train/a/0.png = train/a/0 (copy).png.")
        for w in data.warnings
    )
    assert data.misnamed == [("valid/b/photo.png", "JPEG")]
    for operation, *args in [
        ("move_to_class", "valid/b/photo.png", "a"),
        ("rename_class", "a", "c"),
        ("exclude", "train/c/0 (copy).png", "valid/c/leak.png"),
    ]:
        session.edit(operation, *args)
        assert fields(session.dataset) == fields(load_dataset(root, SPEC, workers=1)), operation
    data = session.dataset
    assert data.copies == [] and data.misnamed == [("valid/c/photo.png", "JPEG")]
