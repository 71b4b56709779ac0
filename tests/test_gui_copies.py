"""The Data tab's notes and *Show the copies…* (gui.dialogs.copies): the misnamed files are a
note, the link lists every group of copies with what the model sees of each, the extra copies
within a class are ticked to start with, and excluding asks first, then sends one edit for all
the ticked files; with the real engine the files move and one undo brings them back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.data.dataset import load_dataset
from core.data.edit import EXCLUDED
from core.data.images import InputSpec
from gui.dialogs.copies import CopiesDialog
from gui.engine_adapter import Engine
from gui.tabs.data import DataTab
from gui.tabs.data_notes import COPIES_LINK, LONGEST_SHOWN, shortened
from tests.fake_engine import FakeEngine
from tests.test_data_findings import EXACT, noise

SPEC = InputSpec(16)
OK = QMessageBox.StandardButton.Ok


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """Two groups of identical images in 'with_mask', a copy across classes, and a JPEG
    named x.png."""
    root = tmp_path / "masks"
    for k, name in enumerate(("with_mask", "without_mask")):
        for i in range(5):
            noise(root / name / f"{i}.png", 10 * k + i)
    (root / "with_mask/0 (copy).png").write_bytes((root / "with_mask/0.png").read_bytes())
    for extra in ("1-2.png", "1-3.png"):
        (root / "with_mask" / extra).write_bytes((root / "with_mask/1.png").read_bytes())
    (root / "without_mask/4-2.png").write_bytes((root / "with_mask/4.png").read_bytes())
    noise(root / "without_mask" / "x.png", 90, "JPEG")
    return root


def tree_groups(dialog: CopiesDialog) -> list[tuple[str, list[tuple[str, bool]]]]:
    """Each group's title and its files with whether each is ticked."""
    groups = []
    for g in range(dialog.tree.topLevelItemCount()):
        head = dialog.tree.topLevelItem(g)
        files = [
            (
                head.child(i).text(0),
                head.child(i).checkState(0) == Qt.CheckState.Checked,
            )
            for i in range(head.childCount())
        ]
        groups.append((head.text(0), files))
    return groups


def test_notes_show_the_misnamed_file_and_a_link_to_the_copies(qtbot, messy: Path) -> None:
    engine = FakeEngine()
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    engine.load(load_dataset(messy, SPEC, workers=1))
    text = tab.notes.text()
    assert "<b>Note:</b> 1 file is read although its name says otherwise: " in text
    assert "without_mask/x.png (a JPEG image)" in text
    assert "3 exact copies within a class: with_mask/0.png = with_mask/0 (copy).png" in text
    assert f"<a href='{COPIES_LINK}'>Show the 4 identical copies…</a>" in text
    tab.notes.linkActivated.emit(COPIES_LINK)
    dialog = tab.details.copies_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.addWidget(dialog)


def test_long_notes_are_cut_between_files_in_the_panel_and_whole_in_the_tooltip(
    qtbot, tmp_path: Path
) -> None:
    root = tmp_path / "d"
    for k, name in enumerate(("a", "b")):
        for i in range(12):
            original = noise(root / name / f"photo-{i:02d}.png", 100 * k + i)
            if name == "a":
                (root / name / f"photo-{i:02d} (copy).png").write_bytes(original.read_bytes())
    engine = FakeEngine()
    tab = DataTab(engine)
    qtbot.addWidget(tab)
    engine.load(load_dataset(root, SPEC, workers=1))
    (warning,) = [w for w in engine.state.dataset.warnings if "exact cop" in w]
    assert len(warning) > LONGEST_SHOWN
    cut = shortened(warning)
    assert cut.startswith(
        "12 exact copies within a class: a/photo-00.png = a/photo-00 (copy).png; "
    )
    assert cut.endswith(".png; … (hover to read it all)") and len(cut) < LONGEST_SHOWN + 30
    assert cut in tab.notes.text() and warning not in tab.notes.text()
    assert f"Warning: {warning}" in tab.notes.toolTip()
    assert "Show the 12 identical copies…" in tab.notes.text()


def test_the_dialog_lists_every_group_and_ticks_the_extra_copies(
    qtbot, messy: Path, dialogs
) -> None:
    engine = FakeEngine()
    data = load_dataset(messy, SPEC, workers=1)
    assert data.copies == [*EXACT, ["with_mask/4.png", "without_mask/4-2.png"]]
    view = engine.load(data)
    dialog = CopiesDialog(engine)
    qtbot.addWidget(dialog)
    assert dialog.tree.topLevelItemCount() == 0  # listed when shown, not while hidden
    dialog.show()
    assert tree_groups(dialog) == [
        (
            "2 identical images in 'with_mask'",
            [("with_mask/0.png", False), ("with_mask/0 (copy).png", True)],
        ),
        (
            "3 identical images in 'with_mask'",
            [("with_mask/1.png", False), ("with_mask/1-2.png", True), ("with_mask/1-3.png", True)],
        ),
        (
            "2 identical images in 'with_mask' and 'without_mask': the labels contradict "
            "each other",
            [("with_mask/4.png", False), ("without_mask/4-2.png", False)],
        ),
    ]
    first = dialog.tree.topLevelItem(0).child(0)
    assert not first.icon(0).isNull()  # what the model sees of the file
    assert dialog.exclude_button.text() == "Exclude 3 ticked file(s)…"
    # the user unticks one extra copy and ticks the copy in the other class
    dialog.tree.topLevelItem(1).child(2).setCheckState(0, Qt.CheckState.Unchecked)
    dialog.tree.topLevelItem(2).child(1).setCheckState(0, Qt.CheckState.Checked)
    assert dialog.exclude_button.text() == "Exclude 3 ticked file(s)…"
    qtbot.mouseClick(dialog.exclude_button, Qt.MouseButton.LeftButton)  # asked: Cancel
    assert dialogs.kinds() == ["question"]
    assert "Move 3 files to _excluded/ inside " in dialogs.shown[0][1]
    assert "with_mask/0 (copy).png, with_mask/1-2.png, without_mask/4-2.png." in dialogs.shown[0][1]
    assert engine.called("edit_dataset") == []
    dialogs.answers.append(OK)
    qtbot.mouseClick(dialog.exclude_button, Qt.MouseButton.LeftButton)
    assert engine.called("edit_dataset") == [
        (
            "edit_dataset",
            "exclude",
            "with_mask/0 (copy).png",
            "with_mask/1-2.png",
            "without_mask/4-2.png",
        )
    ]
    engine.set_state(dataset=view, activity="editing")
    assert not dialog.exclude_button.isEnabled()  # one change to the folder at a time


def test_a_file_in_two_near_pairs_has_one_tick(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "d"
    for k, name in enumerate(("a", "b")):
        for i in range(4):
            noise(root / name / f"{i}.png", 10 * k + i)
    from PIL import Image

    from tests import imagegen as gen

    original = Image.open(root / "a/0.png").convert("RGB")
    for step, name in ((5, "a/0-light.png"), (-5, "a/0-dark.png")):
        shifted = original.point(lambda v, s=step: min(255, max(0, v + s)))
        (root / name).write_bytes(gen.encode(shifted, "PNG"))
    engine = FakeEngine()
    data = load_dataset(root, SPEC, workers=1)
    assert len(data.near_copies) >= 2 and data.copies == []
    engine.load(data)
    dialog = CopiesDialog(engine)
    qtbot.addWidget(dialog)
    assert dialog.tree.topLevelItemCount() == 0  # listed when shown, not while hidden
    dialog.show()
    assert all("near-identical" in title for title, _ in tree_groups(dialog))
    assert not any(ticked for _, files in tree_groups(dialog) for _, ticked in files)
    heads = [dialog.tree.topLevelItem(g) for g in range(dialog.tree.topLevelItemCount())]
    items = [head.child(i) for head in heads for i in range(head.childCount())]
    listed = [i for i in items if i.text(0) == "a/0.png"]
    assert len(listed) == 2  # in two near-identical pairs: the ticks must agree
    item = listed[-1]
    item.setCheckState(0, Qt.CheckState.Checked)
    assert dialog.ticked() == ["a/0.png"]
    assert all(i.checkState(0) == Qt.CheckState.Checked for i in items if i.text(0) == "a/0.png")


def test_excluding_the_copies_with_the_real_engine_and_undo(qtbot, messy: Path, dialogs) -> None:
    engine = Engine()
    try:
        tab = DataTab(engine)
        qtbot.addWidget(tab)
        engine.load_dataset(messy, SPEC)
        qtbot.waitUntil(lambda: tab.dataset is not None and not engine.state.queued, timeout=30_000)
        dialog = tab.details.show_copies()
        qtbot.addWidget(dialog)
        assert len(dialog.ticked()) == 3
        dialogs.answers.append(OK)
        qtbot.mouseClick(dialog.exclude_button, Qt.MouseButton.LeftButton)
        # the dialog shows the state the engine publishes after the edit
        qtbot.waitUntil(lambda: dialog.dataset.edits == 1, timeout=30_000)
        moved = sorted(
            p.relative_to(messy / EXCLUDED).as_posix() for p in (messy / EXCLUDED).rglob("*.png")
        )
        assert moved == ["with_mask/0 (copy).png", "with_mask/1-2.png", "with_mask/1-3.png"]
        # the dialog shows what is left: the copy across classes, nothing ticked
        assert [title for title, _ in tree_groups(dialog)] == [
            "2 identical images in 'with_mask' and 'without_mask': the labels contradict each other"
        ]
        assert "Show the 1 identical copy…" in tab.notes.text()
        engine.undo_edit()
        qtbot.waitUntil(lambda: dialog.dataset.edits == 2, timeout=30_000)
        assert not (messy / EXCLUDED).exists()
        assert len(tree_groups(dialog)) == 3 and len(dialog.ticked()) == 3
    finally:
        engine.shutdown()
