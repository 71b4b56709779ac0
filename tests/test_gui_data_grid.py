"""The Data tab's grid lists every image of a class and makes thumbnails only as they scroll
into view: a class of 2,000 generated images (no files; the session's arrays) through the real
tab and a fake engine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from core.data.images import InputSpec
from core.state import DatasetView
from gui.tabs.data import DataTab
from gui.widgets.thumbnail_grid import CACHE, ThumbnailGrid
from tests.fake_engine import FakeEngine, model_view

BIG = 2_000


def big_class(n: int = BIG) -> DatasetView:
    """Class 'many' with ``n`` 16 px images, each one plain grey of its own shade
    (``i % 251``), so a thumbnail says which image it was made from; class 'few' has 3."""
    shades = np.arange(n + 3) % 251
    images = np.broadcast_to(shades[:, None, None, None], (n + 3, 16, 16, 1)).astype(np.uint8)
    return DatasetView(
        generation=1,
        root="/nowhere/big",
        spec=InputSpec(16),
        class_names=("many", "few"),
        counts=(n, 3),
        images=images,
        labels=np.array([0] * n + [1] * 3),
        paths=(*(f"many/{i:05d}.png" for i in range(n)), "few/a.png", "few/b.png", "few/c.png"),
        skipped=(),
        problems=(),
        warnings=(),
    )


@pytest.fixture
def fake(qtbot) -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def tab(qtbot, fake: FakeEngine) -> DataTab:
    tab = DataTab(fake)
    qtbot.addWidget(tab)
    tab.resize(1024, 640)
    tab.show()
    qtbot.waitExposed(tab)
    fake.set_state(dataset=big_class())
    return tab


def on_screen(grid: ThumbnailGrid) -> list[int]:
    """The rows whose cells the viewport shows now (found from the layout, making nothing)."""
    shown = QRect(grid.viewport().rect())
    rows = range(grid.model().rowCount())
    return [r for r in rows if grid.visualRect(grid.model().index(r)).intersects(shown)]


def paint(grid: ThumbnailGrid) -> None:
    """Paint the grid now, then let the idle work (the margin made ahead) run."""
    grid.viewport().repaint()
    QApplication.processEvents()


def shade(grid: ThumbnailGrid, row: int) -> int:
    """The grey of the thumbnail the grid draws for ``row``."""
    icon = grid.model().index(row).data(Qt.ItemDataRole.DecorationRole)
    return icon.pixmap(grid.iconSize()).toImage().pixelColor(8, 8).red()


def test_every_image_is_listed_and_thumbnails_are_made_as_they_come_into_view(tab) -> None:
    grid = tab.thumbnails
    assert grid.count() == BIG and grid.model().rowCount() == BIG
    assert f"'many' ({BIG} images, 16x16 grayscale)" in tab.thumb_title.text()
    paint(grid)
    visible = on_screen(grid)
    made = grid.thumbs.made
    assert 0 < len(visible) < 500  # a window's worth, far fewer than the class
    assert all(grid.thumbs.is_made(r) for r in visible)
    # What is on screen, and a screenful either side of it ahead of the scroll; no more.
    assert len(visible) <= made <= 3 * len(visible)
    assert grid.thumbs.is_made(max(visible) + 1)
    assert not grid.thumbs.is_made(BIG - 1)

    grid.scrollToBottom()
    paint(grid)
    end = on_screen(grid)
    assert BIG - 1 in end and 0 not in end
    assert all(grid.thumbs.is_made(r) for r in end)
    assert shade(grid, BIG - 1) == (BIG - 1) % 251  # the last image's own pixels

    # Paging through the whole class keeps only a bounded number of thumbnails.
    grid.scrollToTop()
    while grid.verticalScrollBar().value() < grid.verticalScrollBar().maximum():
        bar = grid.verticalScrollBar()
        bar.setValue(bar.value() + bar.pageStep())
        paint(grid)
    assert grid.thumbs.made >= BIG - 3 * len(visible)
    assert grid.thumbs.kept() <= CACHE < BIG


def test_most_surprising_first_orders_every_image(qtbot, fake, tab) -> None:
    view = fake.state.dataset
    fake.set_state(model=model_view(["many", "few"], view.spec))
    qtbot.mouseClick(tab.surprise_check, Qt.MouseButton.LeftButton)
    losses = np.zeros(view.size, np.float32)
    losses[:BIG] = np.linspace(0.0, 1.0, BIG)  # the last image of 'many' surprises most
    fake.losses_computed.emit(view.generation, view.paths, losses)
    grid = tab.thumbnails
    assert grid.count() == BIG
    paths = [grid.model().index(r).data(Qt.ItemDataRole.UserRole) for r in (0, 1, BIG - 1)]
    assert paths == [f"many/{BIG - 1:05d}.png", f"many/{BIG - 2:05d}.png", "many/00000.png"]
    assert shade(grid, 0) == (BIG - 1) % 251  # the thumbnail follows the order
    tip = grid.model().index(BIG - 1).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "many/00000.png\nloss 0"


def test_a_surprising_images_tooltip_says_what_the_model_thinks_it_is(qtbot, fake, tab) -> None:
    view = fake.state.dataset
    fake.set_state(model=model_view(["many", "few"], view.spec))
    qtbot.mouseClick(tab.surprise_check, Qt.MouseButton.LeftButton)
    losses = np.zeros(view.size, np.float32)
    losses[0] = 3.56
    answer = {
        "true_label": "many",
        "predicted_label": "few",
        "predicted_probability": 0.87,
        "true_probability": 0.03,
        "loss": 3.56,
    }
    answers = [answer if i == 0 else {**answer, "loss": 0.0} for i in range(view.size)]
    fake.surprises_computed.emit(view.generation, view.paths, tuple(answers))
    fake.losses_computed.emit(view.generation, view.paths, losses)
    tip = tab.thumbnails.model().index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("many/00000.png\nThe model thinks this is 'few' (87%), not 'many'")
    assert "loss 3.56" in tip  # the number stays, below the words


def test_another_class_lists_its_own_images(tab) -> None:
    tab.class_table.selectRow(1)
    grid = tab.thumbnails
    assert grid.count() == 3
    assert "'few' (3 images," in tab.thumb_title.text()
    assert [shade(grid, r) for r in range(3)] == [BIG % 251, (BIG + 1) % 251, (BIG + 2) % 251]


def test_another_folder_is_not_sorted_by_the_last_folders_scores(qtbot, fake, tab) -> None:
    view = fake.state.dataset
    model = model_view(["many", "few"], view.spec)
    fake.set_state(model=model)
    qtbot.mouseClick(tab.surprise_check, Qt.MouseButton.LeftButton)
    losses = np.zeros(view.size, np.float32)
    losses[0] = 5.0
    fake.losses_computed.emit(view.generation, view.paths, losses)
    grid = tab.thumbnails
    assert grid.model().index(0).data(Qt.ItemDataRole.UserRole) == "many/00000.png"
    # Another folder with the same file names, the same model: its images are not scored yet.
    other = dataclasses.replace(big_class(), root="/elsewhere/big", generation=2)
    fake.set_state(dataset=other, model=model)
    assert grid.model().index(0).data(Qt.ItemDataRole.ToolTipRole) == "many/00000.png"
