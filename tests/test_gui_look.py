"""The look and its accessibility: names, tooltips and keyboard reach for every control; themes;
the drop highlight; sharp previews; aligned bars; a readable confusion matrix (fake engine)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QAccessible, QDragEnterEvent, QDragLeaveEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSlider,
    QTabBar,
    QWidget,
)

from gui import style
from gui.main_window import MainWindow
from gui.settings import MemoryStore, Preferences
from gui.widgets.images import preview
from tests.fake_engine import FakeEngine, model_view
from tests.test_gui_widgets import evaluation_for, finished, prediction_rows

INTERACTIVE = (QAbstractButton, QAbstractSpinBox, QComboBox, QAbstractItemView, QSlider, QLineEdit)


@pytest.fixture
def engine(qtbot) -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def full_window(qtbot, engine, dialogs, pattern_dataset, pattern_dir) -> MainWindow:
    """The window with a dataset, a trained model, its results and classified images."""
    window = MainWindow(engine, Preferences(MemoryStore()))
    qtbot.addWidget(window)
    window.show()
    view = engine.load(pattern_dataset)
    finished(engine, view, list(view.class_names))
    files = sorted(str(p) for p in (pattern_dir / "blob").glob("*.png"))[:2]
    window.classify_tab._on_classified(prediction_rows(files), [])
    return window


def _controls(window: MainWindow) -> list[QWidget]:
    """Every control a user can operate, in all three tabs (not the parts Qt builds inside
    composite widgets, such as a spin box's line edit or a scroll bar's arrows)."""
    found = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or widget.objectName().startswith("qt_"):
            continue
        parent = widget.parentWidget()
        if isinstance(parent, (QAbstractSpinBox, QComboBox, QTabBar)):
            continue  # internals of a composite control
        if isinstance(widget, QHeaderView):
            continue  # a table's headers: the table is the control
        if isinstance(widget, QAbstractItemView) and isinstance(parent, QComboBox):
            continue
        if parent is not None and type(parent).__name__ in ("QComboBoxPrivateContainer",):
            continue
        if not _shown(window, widget):
            continue
        found.append(widget)
    return found


def _shown(window: MainWindow, widget: QWidget) -> bool:
    """Visible, or would be on its tab page (the pages not in front are hidden)."""
    for page in (window.data_tab, window.train_tab, window.classify_tab):
        if page.isAncestorOf(widget):
            return widget.isVisibleTo(page)
    return widget.isVisibleTo(window)


def test_every_control_has_an_accessible_name_a_tooltip_and_keyboard_focus(full_window):
    controls = _controls(full_window)
    assert len(controls) >= 30  # the walk really found the tabs' controls
    nameless, tipless, unreachable = [], [], []
    for widget in controls:
        text = widget.text() if isinstance(widget, QAbstractButton) else ""
        label = f"{type(widget).__name__} {text}"
        accessible = QAccessible.queryAccessibleInterface(widget)
        name = accessible.text(QAccessible.Text.Name) if accessible is not None else ""
        if not (name or widget.accessibleName()):
            nameless.append(label)
        if not widget.toolTip():
            tipless.append(label)
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            unreachable.append(label)
    assert not nameless, f"no accessible name: {nameless}"
    assert not tipless, f"no tooltip: {tipless}"
    assert not unreachable, f"not reachable with Tab: {unreachable}"


def test_settings_in_forms_are_named_by_their_labels(full_window):
    """Screen readers read a field's label: the form rows are the fields' buddies."""
    tab = full_window.train_tab
    accessible = QAccessible.queryAccessibleInterface(tab.epochs_spin)
    assert "Epochs" in accessible.text(QAccessible.Text.Name)


def test_presets_have_plain_names_and_say_when_to_choose_them(full_window):
    combo = full_window.train_tab.preset_combo
    shown = [combo.itemText(i) for i in range(combo.count())]
    assert "Photos (pretrained, most accurate)" in shown
    assert "Photos, smallest and fastest (pretrained)" in shown
    assert not any(text in ("article", "deeper-bn", "article-dropout") for text in shown)
    assert all(combo.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(combo.count()))
    assert combo.currentData() == "article"  # the id still reaches the engine


def test_results_say_the_accuracy_in_words_and_the_matrix_names_its_axes(full_window):
    tab = full_window.train_tab
    text = tab.metrics_label.text()
    assert "about 8 in 10 right on images it never saw; guessing would get 1 in 3" in text
    panel = tab.confusion.parentWidget()
    words = " ".join(label.text() for label in panel.findChildren(QLabel))
    assert "Predicted class" in words
    assert any(getattr(child, "text", "") == "← Actual class" for child in panel.children())


CLOTHES = ["dress", "hat", "longsleeve", "outwear", "pants", "shirt", "shoes", "shorts"]


def show_results_at_1024x640(qtbot, engine, tmp_path, names: list[str]) -> MainWindow:
    """The window at 1024x640 on the Results page of a model with ``names`` as classes."""
    from core.data.dataset import load_dataset
    from core.data.images import InputSpec
    from tests.conftest import make_dataset

    names = sorted(names)  # as the scanner orders the class folders
    root = make_dataset(tmp_path / "data", dict.fromkeys(names, 2))
    window = MainWindow(engine, Preferences(MemoryStore()))
    qtbot.addWidget(window)
    window.show()
    view = engine.load(load_dataset(root, InputSpec(16, False)))
    count = len(names)
    evaluation = evaluation_for(names)
    evaluation["confusion_matrix"] = [
        [15 if i == j else 1 for j in range(count)] for i in range(count)
    ]
    evaluation["per_class"] = {
        n: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 14} for n in names
    }
    model = model_view(names, view.spec, source_root=view.root, evaluation=evaluation)
    engine.set_state(model=model, activity=None, queued=())
    window.resize(1024, 640)
    window.tabs.setCurrentWidget(window.train_tab)
    qtbot.waitUntil(lambda: window.train_tab.results.isVisible())
    QApplication.processEvents()
    return window


def test_ten_classes_fit_the_results_page_at_1024x640(qtbot, engine, dialogs, tmp_path):
    """Before, the matrix scrolled both ways at 1280x800 and showed 4x4 at 1024x640."""
    window = show_results_at_1024x640(qtbot, engine, tmp_path, [*CLOTHES, "skirt", "t-shirt"])
    assert window.width() <= 1024 and window.height() <= 640  # nothing forces it wider
    matrix = window.train_tab.confusion
    assert matrix.rowCount() == 10
    viewport = matrix.viewport()
    assert not matrix.horizontalScrollBar().isVisible(), "the matrix scrolls sideways"
    assert not matrix.verticalScrollBar().isVisible(), "the matrix scrolls up and down"
    last = matrix.visualItemRect(matrix.item(9, 9))
    assert viewport.rect().contains(last), "the last cell is cut off"


@pytest.mark.parametrize(
    "names",
    [
        [f"a rather long class name {i:02d}" for i in range(16)],
        [f"class{i}" for i in range(30)],
        ["x" * 200, "y"],  # one name with no space to break at
    ],
)
def test_many_or_long_class_names_never_push_the_window_past_1024x640(
    qtbot, engine, dialogs, tmp_path, names
):
    """The matrix scrolls, names are shortened with "…": the window keeps its size."""
    window = show_results_at_1024x640(qtbot, engine, tmp_path, names)
    tab = window.train_tab
    tab.confusion.cellClicked.emit(1, 0)
    QApplication.processEvents()
    for page in (window.train_tab, window.data_tab):
        window.tabs.setCurrentWidget(page)
        QApplication.processEvents()
        assert window.width() <= 1024 and window.height() <= 640, page


@pytest.fixture
def light_again():
    """Themes are application-wide: every test after this one gets the light look back."""
    yield
    style.apply(QApplication.instance(), "light")


def test_themes_switch_and_are_remembered(full_window, light_again):
    full_window.set_theme("dark")
    palette = QApplication.instance().palette()
    assert style.current().name == "dark"
    assert palette.color(palette.ColorRole.Window).lightness() < 80
    assert palette.color(palette.ColorRole.Light).lightness() < 120  # frames drawn dark too
    assert full_window.preferences.theme() == "dark"
    # Messages that carry their colour are drawn again in the new one.
    assert style.DARK.warning in full_window.classify_tab.message.styleSheet()
    full_window.set_theme("light")
    assert QApplication.instance().palette().color(palette.ColorRole.Window).lightness() > 200
    assert style.LIGHT.warning in full_window.classify_tab.message.styleSheet()


def test_the_system_turning_dark_is_followed(full_window, monkeypatch, light_again):
    from PySide6.QtGui import QGuiApplication

    full_window.set_theme("system")
    assert full_window.theme_actions["system"].isChecked() and style.current().name == "light"
    monkeypatch.setattr(style, "system_prefers_dark", lambda: True)
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert style.current().name == "dark"
    QApplication.processEvents()  # Qt tells the widgets of a new palette by a posted event
    assert style.DARK.warning in full_window.classify_tab.message.styleSheet()
    full_window.set_theme("light")  # a chosen theme no longer follows the system
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert style.current().name == "light"


def test_rich_messages_escape_and_shorten_what_they_quote():
    text = style.rich("warning", "Warning", "class '<b>&' and " + "x" * 300)
    assert "&lt;b&gt;&amp;" in text and "<b>&" not in text.replace("<b>Warning:</b>", "")
    assert "x" * (style.LONGEST_WORD + 1) not in text and "…" in text


def test_the_whole_window_is_highlighted_while_files_are_dragged_over_it(full_window, pattern_dir):
    mime = QMimeData()
    mime.setUrls(
        [QUrl.fromLocalFile(str(p)) for p in sorted((pattern_dir / "blob").glob("*.png"))[:3]]
    )
    enter = QDragEnterEvent(
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(full_window, enter)
    overlay = full_window.drop_overlay
    assert overlay.isVisible() and overlay.geometry() == full_window.rect()
    assert overlay.text == "Drop to classify 3 images"
    QApplication.sendEvent(full_window, QDragLeaveEvent())
    assert not overlay.isVisible()
    folder = QMimeData()
    folder.setUrls([QUrl.fromLocalFile(str(pattern_dir))])
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        folder,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(full_window, enter)
    assert overlay.text == f"Drop to open the dataset folder '{pattern_dir.name}'"


def test_small_previews_are_enlarged_sharp_and_large_ones_shrunk(qtbot):
    digit = np.zeros((28, 28, 3), np.uint8)
    digit[::2, ::2] = 255  # a checkerboard: any smoothing would blend it to gray
    big = preview(digit, 96)
    assert (big.width(), big.height()) == (84, 84)  # three whole pixels per pixel
    image = big.toImage()
    values = {image.pixelColor(x, y).red() for x in range(0, 84, 1) for y in (0, 1, 2)}
    assert values <= {0, 255}, "the enlarged preview was smoothed"
    photo = np.zeros((400, 300, 3), np.uint8)
    small = preview(photo, 96)
    assert max(small.width(), small.height()) == 96


def test_probability_bars_start_at_the_same_x_in_every_row(qtbot, full_window, pattern_dir):
    tab = full_window.classify_tab
    tab.clear()
    files = sorted(str(p) for p in (pattern_dir / "blob").glob("*.png"))[:2]
    long_name = "a much longer class name than the others"
    rows = [
        {"path": files[0], "predictions": [{"label": "blob", "probability": 0.9}]},
        {"path": files[1], "predictions": [{"label": long_name, "probability": 0.6}]},
    ]
    tab._on_classified(rows, [])
    assert tab.table.rowCount() == 2  # every row's bars start name_width pixels in
    needed = tab.table.fontMetrics().horizontalAdvance("vertical")  # the model's longest class
    assert tab.table.results.name_width >= needed  # ... fits, though row 0 names only "blob"


def test_the_matrix_cells_can_be_chosen_with_the_keyboard(qtbot, full_window):
    tab = full_window.train_tab
    full_window.tabs.setCurrentWidget(tab)
    matrix = tab.confusion
    matrix.setFocus()
    matrix.setCurrentCell(0, 0)
    qtbot.keyClick(matrix, Qt.Key.Key_Right)  # to row 0, column 1: one mistake
    assert "image(s)" in tab.mistakes_title.text() and tab.mistakes.count() == 1


def test_ctrl_t_and_ctrl_i_work_from_every_tab(qtbot, full_window, engine, dialogs, monkeypatch):
    """Before, they were the buttons' keys and did nothing unless their tab was in front."""
    from PySide6.QtWidgets import QFileDialog

    full_window.activateWindow()
    full_window.tabs.setCurrentWidget(full_window.data_tab)
    qtbot.keyClick(full_window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert engine.called("train") and full_window.tabs.currentWidget() is full_window.train_tab
    asked: list[str] = []
    monkeypatch.setattr(
        QFileDialog, "getOpenFileNames", lambda *a, **k: (asked.append("images"), ([], ""))[1]
    )
    full_window.tabs.setCurrentWidget(full_window.data_tab)
    qtbot.keyClick(full_window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["images"] and full_window.tabs.currentWidget() is full_window.classify_tab
    engine.set_state(model=None)
    assert not full_window.classify_action.isEnabled()  # nothing to classify with
