"""Help → Getting started and Help → Keyboard shortcuts: two non-modal dialogs, fully offline.

The guide's text is bundled here (no asset file to ship, nothing fetched) and is shown in a
:class:`QTextBrowser` that never follows a link. The shortcut list is not written down
anywhere: it is read from the live window (its actions, menu mnemonics, buttons and
:class:`QShortcut` objects) each time it is shown, so it cannot drift from the real keys.

Everything here runs on the GUI thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import getCppPointer

from core.nets import presets

#: Shortcut of Help → Keyboard shortcuts (Help → Getting started uses the platform's
#: HelpContents key: F1 on Windows and Linux, Cmd+? on macOS).
SHORTCUTS_KEY = "Ctrl+/"

NATIVE = QKeySequence.SequenceFormat.NativeText
PORTABLE = QKeySequence.SequenceFormat.PortableText


# --- the shortcut list --------------------------------------------------------------------


@dataclass(frozen=True)
class ShortcutEntry:
    """One row of the shortcut list: where it works, what it does, and its keys."""

    group: str  # "Menus", "File menu", "Train tab", …: where the shortcut lives
    action: str  # display name: no mnemonic '&', no trailing '…'
    keys: tuple[QKeySequence, ...]
    order: tuple[int, int]  # (group rank, position in the group): the order on screen

    def native(self) -> str:
        """The keys as the platform writes them (Ctrl+T here, ⌘T on macOS)."""
        return ", ".join(key.toString(NATIVE) for key in self.keys)

    def portable(self) -> list[str]:
        """The keys in Qt's portable form ("Ctrl+T" everywhere): for comparing, not showing."""
        return [key.toString(PORTABLE) for key in self.keys]


def display_name(text: str) -> str:
    """``text`` as a label for people: mnemonic '&' removed ('&&' kept as '&'), no '…'."""
    text = re.sub(r"&(.)", r"\1", text)
    return text.rstrip().removesuffix("…").removesuffix("...").strip()


def _tab_name(text: str) -> str:
    """A tab's title without its step number: "2  Train" → "Train"."""
    return re.sub(r"^\d+\s+", "", display_name(text))


def _in_dialog(obj: QObject) -> bool:
    """Whether ``obj`` lives in a dialog (such as these help dialogs), not the window itself."""
    while obj is not None:
        if isinstance(obj, QDialog):
            return True
        obj = obj.parent()
    return False


def _identity(obj: QObject) -> int:
    """The address of ``obj``'s C++ object: stable, unlike ``id()`` of a Python wrapper that
    PySide may drop and re-create between two calls."""
    return getCppPointer(obj)[0]


def _keys(sequences: list[QKeySequence]) -> tuple[QKeySequence, ...]:
    return tuple(key for key in sequences if not key.isEmpty())


def collect_shortcuts(window: QMainWindow) -> list[ShortcutEntry]:
    """Every keyboard shortcut of ``window``, read from its widgets now, in on-screen order.

    Order: menu-bar mnemonics (Alt+F…), then each menu's actions in menu order, then each
    tab's buttons and shortcuts in tab order, then anything else by name. Widget shortcuts
    (a button's key) work only while their tab is shown, hence the tab as their group.
    """
    entries: list[ShortcutEntry] = []
    menus = [a.menu() for a in window.menuBar().actions() if a.menu() is not None]

    # Menu titles: Alt+letter opens the menu (empty on macOS, which has no mnemonics).
    for position, menu in enumerate(menus):
        keys = _keys([QKeySequence.mnemonic(menu.title())])
        if keys:
            name = f"Open the {display_name(menu.title())} menu"
            entries.append(ShortcutEntry("Menus", name, keys, (0, position)))

    # Tabs: the page each widget is on decides its group and rank.
    pages: dict[int, tuple[str, int]] = {}
    tab_widgets = [t for t in window.findChildren(QTabWidget) if not _in_dialog(t)]
    for tabs in tab_widgets:
        for index in range(tabs.count()):
            rank = len(menus) + 1 + len(pages)
            pages[_identity(tabs.widget(index))] = (f"{_tab_name(tabs.tabText(index))} tab", rank)
    other_rank = len(menus) + 1 + len(pages)

    def place(widget: QWidget | None) -> tuple[str, int]:
        """The group of ``widget``: its outermost tab (tabs may hold tabs), else "Window"."""
        found = ("Window", other_rank)
        while widget is not None:
            found = pages.get(_identity(widget), found)
            widget = widget.parentWidget()
        return found

    # Where each menu action sits: its top menu, and its place in the menus read top down
    # (a submenu's actions where the submenu is).
    in_menus: dict[int, tuple[str, int, int]] = {}
    for rank, menu in enumerate(menus, start=1):
        group = f"{display_name(menu.title())} menu"
        pending, seen = list(reversed(menu.actions())), {_identity(menu)}
        while pending:
            action = pending.pop()
            in_menus.setdefault(_identity(action), (group, rank, len(in_menus)))
            sub = action.menu()
            if sub is not None and _identity(sub) not in seen:
                seen.add(_identity(sub))
                pending.extend(reversed(sub.actions()))

    for position, action in enumerate(window.findChildren(QAction)):
        keys = _keys(action.shortcuts())
        if not keys or _in_dialog(action):
            continue
        found = in_menus.get(_identity(action))
        if found is not None:
            group, rank, position_in_menu = found
            order = (rank, position_in_menu)
        else:
            parent = action.parent()
            group, rank = place(parent if isinstance(parent, QWidget) else None)
            order = (rank, position)
        entries.append(ShortcutEntry(group, display_name(action.text()), keys, order))

    for position, button in enumerate(window.findChildren(QAbstractButton)):
        keys = _keys([button.shortcut()])
        if not keys or _in_dialog(button):
            continue
        group, rank = place(button)
        name = display_name(button.text() or button.toolTip() or button.objectName())
        entries.append(ShortcutEntry(group, name, keys, (rank, position)))

    for position, shortcut in enumerate(window.findChildren(QShortcut)):
        keys = _keys(shortcut.keys())
        if not keys or _in_dialog(shortcut):
            continue
        parent = shortcut.parent()
        group, rank = place(parent if isinstance(parent, QWidget) else None)
        name = display_name(shortcut.whatsThis() or shortcut.objectName() or "Shortcut")
        entries.append(ShortcutEntry(group, name, keys, (rank, 10_000 + position)))

    # Stable: within "Window" (actions and shortcuts outside menus and tabs) sort by name.
    return sorted(
        entries,
        key=lambda e: (e.order[0], e.action.lower() if e.group == "Window" else "", e.order[1]),
    )


class ShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: a two-column table (action, keys) grouped by place.

    Non-modal; :meth:`refresh` re-reads the window, and runs each time the dialog is shown.
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.entries: list[ShortcutEntry] = []
        self.setWindowTitle("Keyboard shortcuts")
        self.setModal(False)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # A list to read, not to pick from: no selection, and the Close button has the focus.
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.note = QLabel("Shortcuts listed under a tab work while that tab is shown.")
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.close)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the table from the window's current shortcuts."""
        self.entries = collect_shortcuts(self._window)
        self.table.setRowCount(0)
        bold = self.table.font()
        bold.setBold(True)
        group = None
        for entry in self.entries:
            if entry.group != group:
                group = entry.group
                row = self.table.rowCount()
                self.table.insertRow(row)
                heading = QTableWidgetItem(group)
                heading.setFont(bold)
                heading.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.table.setItem(row, 0, heading)
                self.table.setSpan(row, 0, 1, 2)
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem("    " + entry.action))
            self.table.setItem(row, 1, QTableWidgetItem(entry.native()))
        # The note is about tab shortcuts: said only when there are some.
        self.note.setVisible(any(e.group.endswith(" tab") for e in self.entries))
        self.table.resizeRowsToContents()
        self.table.resizeColumnToContents(1)
        self.table.setColumnWidth(1, self.table.columnWidth(1) + 16)  # not flush with the edge
        # Tall enough for every row up to 560 px; the table scrolls past that.
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        margins = self.layout().contentsMargins()
        chrome = (
            self.table.horizontalHeader().sizeHint().height()
            + 2 * self.table.frameWidth()
            + (self.note.sizeHint().height() if self.note.isVisibleTo(self) else 0)
            + self.buttons.sizeHint().height()
            + 2 * self.layout().spacing()
            + margins.top()
            + margins.bottom()
        )
        self.resize(max(self.width(), 440), min(560, rows + chrome))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setFocus()

    def rows(self) -> list[tuple[str, str]]:
        """The table as shown: (action, keys) per row; group headings have empty keys."""
        out = []
        for row in range(self.table.rowCount()):
            keys = self.table.item(row, 1)
            out.append((self.table.item(row, 0).text().strip(), keys.text() if keys else ""))
        return out


# --- the guide ----------------------------------------------------------------------------


def guide_html(keys: dict[str, str] | None = None) -> str:
    """The Getting started guide as HTML, in plain words, with no links.

    ``keys`` maps action names (as in the shortcut list) to their keys in native text, so the
    guide names the keys this platform really uses; an action missing from it is mentioned
    without keys.
    """
    keys = keys or {}

    def key(action: str, before: str = " (") -> str:
        """`` (Ctrl+T)`` for ``action`` (or with another lead-in), or nothing without keys."""
        if not keys.get(action):
            return ""
        return f"{before}{keys[action]}" + (")" if before.endswith("(") else "")

    pretrained = presets.TITLES[presets.PRETRAINED_PRESET]  # as the Train tab names them
    dropout = presets.TITLES["article-dropout"]
    return f"""
<h2>Getting started</h2>
<p>CNN Studio teaches a small neural network (a program that learns to recognise pictures
from examples) to sort images into your own <b>classes</b>, such as <i>cat</i> and
<i>dog</i>. Everything runs on this computer; nothing is sent anywhere.</p>

<h3>Three steps</h3>
<ol>
<li><b>Data</b>: choose a folder that holds one subfolder per class (<i>Choose
folder</i> on the Data tab{key("Open dataset folder", ", or ")}), or drop the folder on the
window, or try the demo (<i>Use demo dataset</i>{key("Open demo dataset", ", or ")}).</li>
<li><b>Train</b>: on the Train tab press <i>Start training</i>{key("Start training")} and
watch the loss fall. Save the model when it is done{key("Save model")}.</li>
<li><b>Classify</b>: drop images on the window, or press <i>Classify images</i> on the
Classify tab{key("Classify images")}. Each image gets its most likely classes;
<i>Show where it looked</i> colours the part of the image that decided the answer.</li>
</ol>
<p>To see what the network computes, layer by layer, open the <b>Inside the network</b> tab:
the 3x3 filters it learnt, the feature maps each convolution makes and what max pooling keeps.
</p>

<h3>What a good dataset looks like</h3>
<ul>
<li>One subfolder per class, named after it; no image in two classes.</li>
<li>At least 20–50 images per class, and about as many in each class (balanced): the model
otherwise learns to favour the big class.</li>
<li>The same kind of pictures as you will classify later (camera, lighting, background).</li>
<li>Photos of real things: choose the architecture <i>{pretrained}</i> on the Train tab. It
reuses a network that has already learnt to see.</li>
</ul>

<h3>What the chart shows</h3>
<p>The <b>loss</b> measures how wrong the model still is: lower is better. The
<b>training</b> line is measured on the images the model learns from; the <b>validation</b>
line on images held back from it (the Validation share on the Data tab), so it shows how the
model does on pictures it has never seen. <b>Accuracy</b> is the share classified right.
</p>

<h3>When accuracy is low</h3>
<ul>
<li>Add more images, and more varied ones (angles, lighting, backgrounds).</li>
<li>Check the confusion matrix on the Train tab (which classes get mixed up) and click its
cells to see the misclassified images: a picture in the wrong folder is a common cause.
Right-click one to move it to the right class or exclude it (Ctrl+Z undoes), then
<i>Retrain</i> on the Data tab. <i>Most surprising first</i> there lists the images the model
finds least likely first.</li>
<li>Few images? Tick <i>Augment</i>: the model also learns from flipped, rotated and
zoomed copies.</li>
<li>Photos? Use the <i>{pretrained}</i> architecture.</li>
<li>Validation loss still falling at the end? Train more epochs (an epoch is one pass
over all training images): <i>Continue</i>.</li>
<li>Training accuracy far above validation accuracy? The model memorises its images rather
than learning the classes: choose <i>{dropout}</i>.</li>
</ul>
<p style="margin-top: 8px">All keys: Help → Keyboard shortcuts{key("Keyboard shortcuts")}.</p>
"""


#: Spacing for the guide (Qt's rich-text subset of CSS).
GUIDE_CSS = """
h2 { font-size: large; margin-top: 0; margin-bottom: 6px; }
h3 { font-size: medium; margin-top: 12px; margin-bottom: 4px; }
p { margin-top: 0; margin-bottom: 4px; }
ol, ul { margin-top: 0; margin-bottom: 0; }
li { margin-bottom: 2px; }
"""


class GettingStartedDialog(QDialog):
    """Help → Getting started: the bundled guide in a browser that opens no links. Non-modal."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Getting started")
        self.setModal(False)
        self.browser = QTextBrowser()
        # There is no network and no other page: never follow a link, in or out of the app.
        self.browser.setOpenLinks(False)
        self.browser.setOpenExternalLinks(False)
        document = self.browser.document()
        document.setDocumentMargin(12)
        # Tighter than Qt's defaults (big headings, wide list gaps): most of it fits unscrolled.
        document.setDefaultStyleSheet(GUIDE_CSS)
        keys = {e.action: e.native() for e in collect_shortcuts(window)}
        self.browser.setHtml(guide_html(keys))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.resize(680, 600)


def _show(window: QMainWindow, kind: type[QDialog]) -> QDialog:
    """Show the window's dialog of ``kind``, made on first use and reused after (GUI thread)."""
    dialog = next((d for d in window.findChildren(kind) if type(d) is kind), None)
    if dialog is None:
        dialog = kind(window)
    elif isinstance(dialog, ShortcutsDialog):
        dialog.refresh()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def show_getting_started(window: QMainWindow) -> GettingStartedDialog:
    """Help → Getting started: show the guide beside the window (non-modal)."""
    return _show(window, GettingStartedDialog)


def show_shortcuts(window: QMainWindow) -> ShortcutsDialog:
    """Help → Keyboard shortcuts: show the window's shortcut list, read afresh (non-modal)."""
    return _show(window, ShortcutsDialog)
