"""Where the model looked (Grad-CAM) in the app, and honest mistake counts on the Results page.

Widgets against the fake engine with real Qt events (clicks, double-clicks, keys); one slow
test with the real engine and a small trained model, end to end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from core.use.evaluate import evaluate_predictions, pick_mistakes
from gui.tabs.classify import ClassifyTab
from gui.tabs.train import TrainTab
from gui.widgets.heatmap_view import HeatmapView, meaning
from tests.fake_engine import FakeEngine, model_view
from tests.test_gui_widgets import evaluation_for, finished


@pytest.fixture
def engine(qtbot) -> FakeEngine:
    return FakeEngine()


def explanation(path: str, label: str = "a", size: int = 16) -> dict:
    """An explanation row as the adapter sends it: a grey image with a hot top-left corner."""
    heat = np.zeros((size, size), np.float32)
    heat[: size // 2, : size // 2] = 1.0
    image = np.full((size, size, 1), 128, np.uint8)
    return {
        "path": path,
        "label": label,
        "probability": 0.9,
        "heatmap": heat,
        "peak": (size // 4, size // 4),
        "image": image,
    }


def rows_with_thumbnails(files: list[str]) -> list[dict]:
    thumb = np.full((96, 96, 3), 128, np.uint8)
    return [
        {
            "path": f,
            "predictions": [{"label": "a", "probability": 0.9}, {"label": "b", "probability": 0.1}],
            "thumbnail": thumb,
        }
        for f in files
    ]


def thumbnail_image(tab: ClassifyTab, row: int) -> QImage:
    """The preview the table paints in ``row``'s first cell now."""
    return tab.table.results.pixmap(row).toImage()


def cell_centre(table, row: int, column: int):
    return table.visualRect(table.model().index(row, column)).center()


def double_click(qtbot, widget, pos) -> None:
    """A user's double-click: press and release, then the double-click press and release
    (QTest's mouseDClick alone skips the first click, which item views need)."""
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(widget, Qt.MouseButton.LeftButton, pos=pos)


@pytest.fixture
def classify_tab(qtbot, engine) -> ClassifyTab:
    tab = ClassifyTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    engine.set_state(model=model_view(["a", "b"], saved_path="/m/x.cnnmodel", origin="opened"))
    engine.classified.emit(rows_with_thumbnails(["/x/one.png", "/x/two.png"]), [])
    return tab


def test_the_toggle_asks_for_maps_and_colours_the_thumbnails(qtbot, engine, classify_tab):
    tab = classify_tab
    plain = [thumbnail_image(tab, r) for r in range(2)]
    assert tab.where_button.isEnabled() and not engine.called("explain")
    qtbot.mouseClick(tab.where_button, Qt.MouseButton.LeftButton)
    assert tab.where_button.isChecked()
    assert engine.called("explain") == [("explain", ["/x/one.png", "/x/two.png"], "classify")]
    engine.explained.emit("results", [explanation("/x/one.png")], [])  # another requester's
    assert thumbnail_image(tab, 0) == plain[0]
    engine.explained.emit(
        "classify", [explanation("/x/one.png")], [("/x/two.png", "the file is gone")]
    )
    coloured = thumbnail_image(tab, 0)
    assert coloured != plain[0]
    # The heat is in the top-left quarter: hot there, the image's grey elsewhere.
    hot, cold = coloured.pixelColor(5, 5), coloured.pixelColor(coloured.width() - 5, 90)
    # Half the palette's pale yellow (252, 255, 164) or black (0, 0, 4) over grey 128.
    assert (hot.red(), hot.green(), hot.blue()) == (190, 192, 146)
    assert (cold.red(), cold.green(), cold.blue()) == (64, 64, 66)
    assert thumbnail_image(tab, 1) == plain[1]  # no map for it, and why is said
    assert "two.png: the file is gone" in tab.message.text()
    # New results while the toggle is on are asked for; the failed file is not asked again.
    engine.classified.emit(rows_with_thumbnails(["/x/three.png"]), [])
    assert engine.called("explain")[-1] == ("explain", ["/x/three.png"], "classify")
    qtbot.mouseClick(tab.where_button, Qt.MouseButton.LeftButton)
    assert not tab.where_button.isChecked()
    assert thumbnail_image(tab, 0) == plain[0]  # off: the plain picture again


def test_ctrl_g_toggles_the_maps(qtbot, engine, classify_tab):
    classify_tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is classify_tab)
    qtbot.keyClick(classify_tab, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(classify_tab.where_button.isChecked)  # a button's key clicks it animated
    assert engine.called("explain")


def test_double_click_and_enter_open_the_enlarged_view(qtbot, engine, classify_tab):
    tab = classify_tab
    double_click(qtbot, tab.table.viewport(), cell_centre(tab.table, 1, 1))
    view = tab.maps.view
    assert isinstance(view, HeatmapView) and view.isVisible()
    assert "two.png" in view.title.text() and "'a', 90% sure" in view.answer.text()
    # Not explained yet: it is asked for, though the toggle is off.
    assert engine.called("explain") == [("explain", ["/x/two.png"], "classify")]
    assert "Finding where" in view.heat.text()
    engine.explained.emit("classify", [explanation("/x/two.png")], [])
    assert not view.heat.pixmap().isNull()
    assert "counted most for the answer 'a'" in view.meaning.text()
    QApplication.processEvents()  # the captions stay below the pictures, the text below them
    for picture, caption in ((view.image, view.image_caption), (view.heat, view.heat_caption)):
        assert caption.geometry().top() >= picture.geometry().bottom()
    assert view.meaning.geometry().top() >= view.image_caption.geometry().bottom()
    half = view.heat.pixmap().toImage()
    view.opacity.setValue(0)  # the image alone
    alone = view.heat.pixmap().toImage()
    assert alone != half and alone == view.image.pixmap().toImage()
    view.opacity.setValue(100)
    assert view.heat.pixmap().toImage() not in (half, alone)
    view.close()
    tab.table.setFocus()
    tab.table.setCurrentCell(0, 1)
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    assert view.isVisible() and "one.png" in view.title.text()
    assert engine.called("explain")[-1] == ("explain", ["/x/one.png"], "classify")
    tab.clear()  # results gone: the view and the request go too
    assert not view.isVisible() and engine.called("cancel_explaining")


def test_a_model_that_cannot_be_explained_turns_the_toggle_off(qtbot, engine, classify_tab):
    qtbot.mouseClick(classify_tab.where_button, Qt.MouseButton.LeftButton)
    engine.explanation_failed.emit("classify", "cannot explain x: it has no convolutional layer")
    assert not classify_tab.where_button.isChecked()
    assert "no convolutional layer" in classify_tab.message.text()


def test_the_view_says_when_the_map_is_empty():
    assert "dark all over" in meaning("coat", np.zeros((4, 4), np.float32))
    assert "counted most for the answer 'coat'" in meaning("coat", np.ones((4, 4), np.float32))


def shown_view(qtbot, image: np.ndarray, parent=None) -> HeatmapView:
    """The enlarged view showing a map over ``image`` (the model's input, square)."""
    size = image.shape[0]
    row = explanation("/x/photo.png", size=size)
    row["image"] = image
    view = HeatmapView(parent)
    if parent is None:
        qtbot.addWidget(view)
    view.show_result("/x/photo.png", "a", 0.9, explanation=row)
    qtbot.waitExposed(view)
    return view


def laid_out(view: HeatmapView, width: int, height: int) -> None:
    view.resize(width, height)
    view.layout().activate()


def test_the_enlarged_view_scales_a_224_px_picture_smoothly_to_fill_its_room(qtbot):
    view = shown_view(qtbot, np.full((224, 224, 3), 90, np.uint8))
    laid_out(view, 1000, 700)
    for picture in (view.image, view.heat):
        drawn, box = picture.drawn_rect(), picture.contentsRect()
        assert drawn.width() == drawn.height()
        # As large as its box allows along its limiting side, not its own 224 px...
        assert min(box.width(), box.height()) - 1 <= drawn.width() <= min(box.width(), box.height())
        assert not picture.drawn_sharp()
    # ...and the boxes take the room: the two pictures span the width, most of the height.
    drawn = view.image.drawn_rect().width()
    assert 2 * drawn >= 0.9 * view.width() and drawn >= 0.6 * view.height()
    laid_out(view, 700, 520)  # a smaller window: smaller pictures, still filling it
    smaller = view.image.drawn_rect().width()
    box = view.image.contentsRect()
    assert smaller < drawn and smaller >= min(box.width(), box.height()) - 1


def test_the_enlarged_view_enlarges_a_28_px_picture_in_whole_pixels(qtbot):
    digit = np.zeros((28, 28, 1), np.uint8)
    digit[::2, ::2] = 255  # a checkerboard: any smoothing would blend it to grey
    view = shown_view(qtbot, digit)
    laid_out(view, 1000, 700)
    picture = view.image
    drawn, box = picture.drawn_rect(), picture.contentsRect()
    assert picture.drawn_sharp() and drawn.width() % 28 == 0 and drawn.height() % 28 == 0
    assert drawn.width() > min(box.width(), box.height()) - 28  # the largest whole factor
    shown = picture.grab().toImage()
    ratio = shown.width() / picture.width()  # device pixels per widget pixel
    values = {
        shown.pixelColor(int((drawn.left() + x) * ratio), int((drawn.top() + y) * ratio)).red()
        for x in range(0, drawn.width(), 3)
        for y in range(0, drawn.height(), 7)
    }
    assert values == {0, 255}, "the enlarged digit was smoothed"


def test_the_enlarged_view_opens_sized_to_the_main_window(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(700, 560)
    window.show()
    qtbot.waitExposed(window)
    view = shown_view(qtbot, np.full((224, 224, 3), 90, np.uint8), parent=window)
    view.layout().activate()
    # Within the window, and the pictures larger than the photo's own 224 px.
    assert view.width() <= window.width() and view.height() <= window.height()
    assert view.image.drawn_rect().width() >= 260
    view.close()


# --- the Results page -------------------------------------------------------------------------


def results_tab(qtbot, engine, pattern_dataset, evaluation: dict) -> TrainTab:
    tab = TrainTab(engine, lambda: 0.2)
    qtbot.addWidget(tab)
    tab.show()
    view = engine.load(pattern_dataset)
    finished(engine, view, list(pattern_dataset.class_names))
    model = model_view(
        list(view.class_names), view.spec, source_root=view.root, evaluation=evaluation
    )
    engine.set_state(model=model, activity=None, queued=())
    qtbot.waitUntil(lambda: tab.results.isVisible())
    return tab


def three_class_evaluation(names: list[str], paths: list[str]) -> dict:
    """Row 0 answered as class 1 three times (two listed), row 2 as class 0 once (listed)."""
    evaluation = evaluation_for(names)
    evaluation["confusion_matrix"] = [[3, 3, 0], [0, 4, 0], [1, 0, 2]]

    def case(path: str, true: int, predicted: int) -> dict:
        return {
            "path": path,
            "true": names[true],
            "predicted": names[predicted],
            "probability": 0.8,
            "probabilities": dict.fromkeys(names, 0.1),
        }

    evaluation["misclassified"] = [case(paths[0], 0, 1), case(paths[1], 0, 1), case(paths[2], 2, 0)]
    return evaluation


def three_mistakes_tab(qtbot, engine, pattern_dataset) -> tuple[TrainTab, list[str], list[str]]:
    """The Train tab showing :func:`three_class_evaluation` of the first three images: the
    tab, the class names and those three paths."""
    names = list(pattern_dataset.class_names)
    paths = list(pattern_dataset.paths[:3])
    tab = results_tab(qtbot, engine, pattern_dataset, three_class_evaluation(names, paths))
    return tab, names, paths


def test_the_page_says_how_many_were_misclassified_and_a_cells_count(
    qtbot, engine, pattern_dataset
):
    tab, _names, _paths = three_mistakes_tab(qtbot, engine, pattern_dataset)
    page = tab.results
    assert page.mistakes_total.text() == "4 of 13 validation images were misclassified."
    page.confusion.cellClicked.emit(0, 1)  # three images, two kept in the file
    assert page.mistakes.count() == 2
    assert "showing 2 of 3 image(s)" in page.mistakes_title.text()
    page.confusion.cellClicked.emit(2, 0)  # one image, listed
    assert page.mistakes.count() == 1
    assert page.mistakes_title.text().endswith(": 1 image(s)")


def test_an_edit_of_the_folder_keeps_the_chosen_cell_and_goes_on(qtbot, engine, pattern_dataset):
    """Fixing one listed image (moved or excluded: it leaves the dataset) keeps the cell's list
    on show, marks that image, and moves on to the next one, on the tab the user is on."""
    import dataclasses

    from core.state import next_generation

    tab, _names, _paths = three_mistakes_tab(qtbot, engine, pattern_dataset)
    page = tab.results
    page.set_choice.setCurrentIndex(0)
    page.confusion.cellClicked.emit(0, 1)
    page.mistakes.setCurrentRow(0)
    view = engine.state.dataset
    keep = np.arange(1, len(view.paths))  # paths[0] was moved away
    edited = dataclasses.replace(
        view,
        generation=next_generation(),
        paths=tuple(view.paths[k] for k in keep),
        images=view.images[keep],
        labels=view.labels[keep],
        edits=view.edits + 1,
    )
    engine.set_state(dataset=edited)
    assert page.mistakes.count() == 2 and "showing 2 of 3" in page.mistakes_title.text()
    assert "no longer in the dataset" in page.mistakes.item(0).text()
    assert "no longer" not in page.mistakes.item(1).text()
    assert page.mistakes.currentRow() == 1  # on to the next image still there


def test_show_larger_in_the_menu_opens_the_view_with_the_map(qtbot, engine, pattern_dataset):
    tab, _names, paths = three_mistakes_tab(qtbot, engine, pattern_dataset)
    page = tab.results
    page.confusion.cellClicked.emit(0, 1)
    page.mistakes.setCurrentRow(1)
    menu = page.image_actions.menu()
    next(a for a in menu.actions() if a.text() == "Show larger").trigger()
    view = page.maps.view
    assert isinstance(view, HeatmapView) and view.isVisible()
    assert Path(paths[1]).name in view.title.text() and "really" in view.answer.text()
    menu.deleteLater()
    view.close()


def test_the_misclassified_list_shows_the_maps_and_the_enlarged_view(
    qtbot, engine, pattern_dataset
):
    tab, names, paths = three_mistakes_tab(qtbot, engine, pattern_dataset)
    page = tab.results
    page.confusion.cellClicked.emit(0, 1)
    plain = page.mistakes.item(0).icon().pixmap(48, 48).toImage()
    qtbot.mouseClick(page.where_button, Qt.MouseButton.LeftButton)
    root = pattern_dataset.root
    files = [str(root / p) for p in paths[:2]]  # the files, not the names relative to the root
    assert engine.called("explain") == [("explain", files, "results")]
    engine.explained.emit("results", [explanation(files[0], names[1])], [])
    coloured = page.mistakes.item(0).icon().pixmap(48, 48).toImage()
    assert coloured != plain
    item = page.mistakes.item(0)
    centre = page.mistakes.visualItemRect(item).center()
    double_click(qtbot, page.mistakes.viewport(), centre)
    view = page.maps.view
    assert view is not None and view.isVisible()
    assert f"really '{names[0]}'" in view.answer.text()
    assert not view.heat.pixmap().isNull()  # the map it already had
    # Another model: its maps are forgotten.
    engine.set_state(
        model=model_view(names, pattern_dataset.spec, evaluation=evaluation_for(names))
    )
    assert not page.maps.explanations and engine.called("cancel_explaining")


# --- keeping the mistakes (core) ---------------------------------------------------------------


def test_every_cell_keeps_mistakes_when_there_are_too_many_to_keep():
    names = ["a", "b", "c"]
    labels = np.array([0] * 50 + [2] * 2)
    probabilities = np.zeros((52, 3))
    probabilities[:50, 1] = np.linspace(0.99, 0.6, 50)  # fifty confident 'a as b'
    probabilities[:50, 0] = 1 - probabilities[:50, 1]
    probabilities[50:, 0] = [0.55, 0.51]  # two unsure 'c as a'
    probabilities[50:, 2] = 1 - probabilities[50:, 0]
    evaluation = evaluate_predictions(labels, probabilities, names, max_mistakes=10)
    kept = [(m["true"], m["predicted"]) for m in evaluation.misclassified]
    assert len(kept) == 10 and kept.count(("c", "a")) == 2  # not crowded out by 'a as b'
    assert evaluation.confusion[0][1] == 50  # the matrix still counts them all
    confidence = [m["probability"] for m in evaluation.misclassified]
    assert confidence == sorted(confidence, reverse=True)  # most confident first
    assert list(pick_mistakes(np.array([1, 1]), np.array([0.2, 0.9]), 5)) == [1, 0]


# --- the real engine ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_toggle_colours_real_results_end_to_end(qtbot, saved_model, pattern_dir):
    from gui.engine_adapter import Engine

    engine = Engine()
    tab = ClassifyTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    try:
        with qtbot.waitSignal(engine.ready, timeout=120_000):
            engine.start()
        with qtbot.waitSignal(engine.model_opened, timeout=60_000):
            engine.open_model(str(saved_model))
        images = [sorted((pattern_dir / c).glob("*.png"))[0] for c in ("blob", "vertical")]
        with qtbot.waitSignal(engine.classified, timeout=60_000):
            tab.classify([str(p) for p in images])
        qtbot.waitUntil(lambda: tab.table.rowCount() == 2, timeout=10_000)
        plain = [thumbnail_image(tab, r) for r in range(2)]
        with qtbot.waitSignal(engine.explained, timeout=60_000) as explained:
            qtbot.mouseClick(tab.where_button, Qt.MouseButton.LeftButton)
        requester, rows, failures = explained.args
        assert requester == "classify" and not failures
        assert [r["path"] for r in rows] == [str(p) for p in images]
        for row in rows:
            heat = row["heatmap"]
            assert heat.shape == (16, 16) and heat.min() >= 0
            assert heat.max() in (0, pytest.approx(1))  # normalised, or empty (nothing found)
            assert row["image"].shape == (16, 16, 1) and row["image"].dtype == np.uint8
        assert [thumbnail_image(tab, r) != plain[r] for r in range(2)] == [True, True]
    finally:
        engine.shutdown()
