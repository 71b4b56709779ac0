"""Model → Evaluate on a folder shows the class names whole when there is room, and elides
only a name too long for the screen, with the whole name in its tooltip (fake engine, offscreen).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyle

from gui.dialogs.evaluation import EvaluationDialog
from tests.fake_engine import FakeEngine

#: Ten classes, as the clothing photos have, with a CJK name among them.
CLOTHES = [
    "dress",
    "hat",
    "longsleeve",
    "outwear",
    "pants",
    "shirt",
    "trousers",
    "sneakers",
    "skirt",
    "長袖のシャツとブラウス",
]
#: The narrowest screen the app is made for (the tests' offscreen screen is 800 px).
SCREEN = 1024
TOO_LONG = "a class name far too long for any screen to show whole in a table column " * 3


def evaluation(names: list[str]) -> dict:
    count = len(names)
    return {
        "accuracy": 0.71,
        "per_class": {
            n: {"precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 12} for n in names
        },
        "confusion_matrix": [[10 if i == j else 1 for j in range(count)] for i in range(count)],
        "class_names": names,
        "folder": "/data/clothes/test",
        "images": 12 * count,
        "seen_in_training": 0,
        "unseen": None,
        "model": "clothes.cnnmodel",
    }


@pytest.fixture
def dialog(qtbot, monkeypatch) -> tuple[EvaluationDialog, FakeEngine]:
    """The dialog on a screen :data:`SCREEN` px wide, reading a folder."""
    engine = FakeEngine()
    dialog = EvaluationDialog(engine)
    monkeypatch.setattr(dialog, "room_width", lambda: SCREEN)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.start("/data/clothes/test", "clothes.cnnmodel")
    return dialog, engine


def evaluated(dialog: EvaluationDialog, engine: FakeEngine, names: list[str]) -> None:
    engine.folder_evaluated.emit(evaluation(names))
    dialog.layout().activate()
    dialog.results.layout().activate()


def shown_whole_in_table(dialog: EvaluationDialog, row: int) -> bool:
    """Whether the table's name in ``row`` fits its cell, as Qt's item delegate elides."""
    table = dialog.scores
    text = table.item(row, 0).text()
    margin = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1
    room = table.columnWidth(0) - 2 * margin
    return table.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, room) == text


def test_class_names_show_whole_when_the_screen_has_room(dialog):
    dialog, engine = dialog
    evaluated(dialog, engine, CLOTHES)
    assert dialog.width() <= SCREEN
    assert [dialog.scores.item(r, 0).text() for r in range(len(CLOTHES))] == CLOTHES
    assert all(shown_whole_in_table(dialog, row) for row in range(len(CLOTHES)))
    rows = dialog.matrix.verticalHeader()
    assert rows.width() >= rows.sizeHint().width()  # every row name at its full width
    assert dialog.matrix.verticalHeaderItem(9).toolTip() == CLOTHES[9]


def test_a_name_too_long_for_the_screen_is_elided_with_the_whole_name_in_its_tooltip(dialog):
    dialog, engine = dialog
    names = ["outwear", TOO_LONG, "sneakers"]
    evaluated(dialog, engine, names)
    assert dialog.width() <= SCREEN
    assert not shown_whole_in_table(dialog, 1)
    assert shown_whole_in_table(dialog, 0) and shown_whole_in_table(dialog, 2)
    assert dialog.scores.item(1, 0).toolTip() == TOO_LONG
    rows = dialog.matrix.verticalHeader()
    assert rows.width() < rows.fontMetrics().horizontalAdvance(TOO_LONG)  # elided there too
    assert dialog.matrix.verticalHeaderItem(1).toolTip() == TOO_LONG
    assert dialog.matrix.horizontalHeaderItem(1).toolTip() == TOO_LONG
