"""Help → Getting started and Help → Keyboard shortcuts, with real Qt, offscreen, offline.

The window is built on the fake engine (no TensorFlow). Sockets are blocked for the whole
suite (see test_architecture.py), so opening the dialogs here also proves they need no network.
"""

from __future__ import annotations

import sys
from collections import defaultdict

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QPushButton

from gui.dialogs import help as help_dialog
from gui.dialogs.help import (
    GettingStartedDialog,
    ShortcutsDialog,
    collect_shortcuts,
    display_name,
    guide_html,
)
from gui.main_window import MainWindow
from gui.settings import MemoryStore, Preferences
from tests.fake_engine import FakeEngine

NATIVE = QKeySequence.SequenceFormat.NativeText


def native(key: str | QKeySequence.StandardKey) -> str:
    return QKeySequence(key).toString(NATIVE)


@pytest.fixture
def window(qtbot, dialogs) -> MainWindow:
    win = MainWindow(FakeEngine(), Preferences(MemoryStore()))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    return win


def help_actions(window: MainWindow) -> list[QAction]:
    menu = next(
        a.menu() for a in window.menuBar().actions() if a.menu() and "Help" in a.menu().title()
    )
    return [a for a in menu.actions() if not a.isSeparator()]


def help_action(window: MainWindow, text: str) -> QAction:
    return next(a for a in help_actions(window) if a.text() == text)


def shown(window: MainWindow, kind: type) -> list:
    return [d for d in window.findChildren(kind) if type(d) is kind and d.isVisible()]


def clashes(window: MainWindow) -> dict[str, list[str]]:
    """Keys bound to two actions that can be in force at once: two in one group, or one of
    the menus' or the window's and any other. A tab's keys work only while it is shown, so
    two tabs may bind one key (the Data tab's grid and the Train tab's list both take M)."""
    actions: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for entry in collect_shortcuts(window):
        for key in entry.portable():
            actions[key].add((entry.group, entry.action))
    found = {}
    for key, entries in actions.items():
        for group, action in entries:
            rivals = {
                (g, a)
                for g, a in entries
                if a != action
                and (g == group or not g.endswith(" tab") or not group.endswith(" tab"))
            }
            if rivals:
                found[key] = sorted(f"{g}: {a}" for g, a in entries)
    return found


def test_help_menu_lists_the_guide_and_the_shortcuts_before_about(window):
    assert [a.text() for a in help_actions(window)] == [
        "Getting started",
        "Keyboard shortcuts",
        "About CNN Studio",
    ]
    guide = help_action(window, "Getting started")
    assert guide.shortcut() == QKeySequence(QKeySequence.StandardKey.HelpContents)
    if sys.platform != "darwin":
        assert guide.shortcut().toString() == "F1"
    assert help_action(window, "Keyboard shortcuts").shortcut() == QKeySequence("Ctrl+/")


def test_getting_started_opens_non_modal_and_once(qtbot, window):
    help_action(window, "Getting started").trigger()
    dialogs = shown(window, GettingStartedDialog)
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert not dialog.isModal()
    assert dialog.windowTitle() == "Getting started"
    # Fits a 1024x640 screen (the text scrolls inside it at most).
    assert dialog.width() <= 1024 and dialog.height() <= 620
    dialog.close()
    help_action(window, "Getting started").trigger()
    assert shown(window, GettingStartedDialog) == [dialog]  # reused, not stacked


def test_f1_and_ctrl_slash_open_the_dialogs_from_the_keyboard(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: len(shown(window, GettingStartedDialog)) == 1)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(shown(window, ShortcutsDialog)) == 1)


def test_shortcuts_table_lists_the_window_keys(window):
    help_action(window, "Keyboard shortcuts").trigger()
    (dialog,) = shown(window, ShortcutsDialog)
    assert not dialog.isModal()
    rows = dict(dialog.rows())
    assert rows["Start training"] == native("Ctrl+T")
    assert rows["Open dataset folder"] == native(QKeySequence.StandardKey.Open)
    assert rows["Classify images"] == native("Ctrl+I")
    assert rows["Getting started"] == native(QKeySequence.StandardKey.HelpContents)
    assert rows["Keyboard shortcuts"] == native("Ctrl+/")
    if sys.platform != "darwin":
        assert rows["Getting started"] == "F1"
        assert rows["Open dataset folder"] == "Ctrl+O"
    # Display names: no mnemonic '&', no trailing '…'.
    assert not any("&" in name or name.endswith(("…", "...")) for name in rows)
    # Grouped: menus first in menu order, then the tabs in tab order.
    groups = [e.group for e in dialog.entries]
    assert groups.index("File menu") < groups.index("Model menu") < groups.index("Help menu")
    # Ctrl+T and Ctrl+I are window-wide (Model menu), not a tab's button keys.
    assert [e.group for e in dialog.entries if e.action == "Start training"] == ["Model menu"]


def test_no_key_is_bound_to_two_actions(window):
    assert clashes(window) == {}


def test_the_clash_check_would_catch_a_clash(window):
    extra = QPushButton("Train again", window.data_tab)
    extra.setShortcut("Ctrl+T")  # the Model menu's key
    assert list(clashes(window)) == ["Ctrl+T"]
    extra.setShortcut("M")  # the Data tab's "move" key
    assert list(clashes(window)) == ["M"]
    extra.setShortcut("Ctrl+T")
    assert list(clashes(window)) == ["Ctrl+T"]


def test_the_image_lists_share_their_keys_on_two_tabs(window):
    train_keys = {
        e.action: e.portable() for e in collect_shortcuts(window) if e.group == "Train tab"
    }
    data_keys = {e.action: e.portable() for e in collect_shortcuts(window) if e.group == "Data tab"}
    for action in (
        "Move the image to another class",
        "Exclude the image from training",
        "Undo the last change to the files",
    ):
        assert train_keys[action] == data_keys[action]


def test_the_list_is_read_from_the_live_window(qtbot, window):
    help_action(window, "Keyboard shortcuts").trigger()
    (dialog,) = shown(window, ShortcutsDialog)
    assert "Reload dataset" not in dict(dialog.rows())
    action = QAction("&Reload dataset…", window)
    action.setShortcut("Ctrl+R")
    window.menuBar().actions()[0].menu().addAction(action)
    help_action(window, "Keyboard shortcuts").trigger()  # shown again: read afresh
    assert shown(window, ShortcutsDialog) == [dialog]
    assert dict(dialog.rows())["Reload dataset"] == native("Ctrl+R")
    # The dialogs' own buttons and actions are not the window's shortcuts.
    dialog.buttons.addButton(QPushButton("&Zap"), dialog.buttons.ButtonRole.ActionRole)
    dialog.refresh()
    assert "Zap" not in dict(dialog.rows())


def test_submenu_and_menu_title_shortcuts_are_listed(window):
    sub = QMenu("&Tools", window)
    inner = QAction("Tidy up…", sub)
    inner.setShortcut("Ctrl+Shift+Y")
    sub.addAction(inner)
    window.menuBar().actions()[0].menu().addMenu(sub)
    entries = {e.action: e for e in collect_shortcuts(window)}
    assert entries["Tidy up"].group == "File menu"
    if sys.platform != "darwin":  # macOS has no menu mnemonics
        assert entries["Open the Help menu"].native() == native("Alt+H")


@pytest.mark.parametrize(
    ("text", "shown_as"),
    [
        ("&Open dataset folder…", "Open dataset folder"),
        ("Save && load...", "Save & load"),
        ("About CNN Studio", "About CNN Studio"),
    ],
)
def test_display_name(text, shown_as):
    assert display_name(text) == shown_as


def test_guide_covers_the_steps_in_plain_words_with_no_links(window):
    help_action(window, "Getting started").trigger()
    (dialog,) = shown(window, GettingStartedDialog)
    browser = dialog.browser
    assert not browser.openLinks() and not browser.openExternalLinks()
    text = browser.toPlainText()
    for step in ("Data:", "Train:", "Classify:"):
        assert step in text
    for topic in (
        "one subfolder per class",
        "20–50 images per class",
        "balanced",
        "confusion matrix",
        "misclassified",
        "Augment",
        "more epochs",
        "validation",
        "loss",
    ):
        assert topic in text, topic
    # The keys named are this platform's, read from the window.
    for key in ("Ctrl+T", "Ctrl+I", QKeySequence.StandardKey.Open):
        assert native(key) in text
    html = guide_html({})
    assert "http" not in html.lower() and "<a " not in html and "<img" not in html
    assert "()" not in guide_html({})  # no empty brackets where a key would go


def test_guide_names_the_presets_as_the_train_tab_does(window):
    from core.nets import presets

    html = guide_html({})
    combo = window.train_tab.preset_combo
    for name in (presets.PRETRAINED_PRESET, "article-dropout"):
        shown = combo.itemText(combo.findData(name))
        assert shown and shown != name and shown in html
    assert help_dialog.SHORTCUTS_KEY == "Ctrl+/"
