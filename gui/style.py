"""The look of the app in one place: light and dark palettes, spacing, semantic colours, icons.

The app follows the system's colour scheme (Qt reports it, and a change while running is
followed too) unless the user picks Light or Dark under *View → Theme*. Everything that paints
its own colours (the loss chart, probability bars, confusion matrix, warnings) asks
:func:`current` at paint time, so a theme switch needs no restart. Fonts are left at the
system's size (accessibility settings apply); only headings are derived from it. All functions
run on the GUI thread.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QWidget

from core.names import readable, short_name

#: Space between related controls, and around groups (pixels at 1x; Qt scales for high DPI).
SPACING = 8
MARGIN = 12
#: Longer words in a message (a path, a class name) are shortened in the middle with "…".
LONGEST_WORD = 48
#: Theme choices the user can make; "system" follows the operating system.
THEMES = ("system", "light", "dark")


@dataclass(frozen=True)
class Theme:
    """Colours of one theme, as ``#rrggbb`` strings (usable in Qt and in rich text)."""

    name: str
    window: str
    base: str
    alternate: str
    text: str
    muted: str
    accent: str
    accent_text: str
    warning: str
    error: str
    success: str
    batch_curve: str
    train_curve: str
    val_curve: str

    def color(self, role: str) -> QColor:
        """One of the colours above as a :class:`QColor`."""
        return QColor(getattr(self, role))


LIGHT = Theme(
    name="light",
    window="#f4f5f7",
    base="#ffffff",
    alternate="#eceef2",
    text="#1d2330",
    muted="#5f6878",
    accent="#2f6fd0",
    accent_text="#ffffff",
    warning="#8a5a00",
    error="#b00020",
    success="#2e7d32",
    batch_curve="#9bb8e6",
    train_curve="#1e50aa",
    val_curve="#d86c0c",
)
DARK = Theme(
    name="dark",
    window="#1f2228",
    base="#272b33",
    alternate="#30353f",
    text="#e6e8ec",
    muted="#a3abb8",
    accent="#5b9cf0",
    accent_text="#0b1220",
    warning="#f0b45a",
    error="#ff6b7d",
    success="#6fcf75",
    batch_curve="#4b6a99",
    train_curve="#8fb8ff",
    val_curve="#ffa04d",
)

_current = LIGHT
_choice = "system"
_following: set[int] = set()  # the applications already listening for system changes


def current() -> Theme:
    """The theme in use now."""
    return _current


def system_prefers_dark() -> bool:
    """Whether the operating system asks for a dark look (unknown counts as light)."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def _palette(theme: Theme) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: theme.window,
        role.WindowText: theme.text,
        role.Base: theme.base,
        role.AlternateBase: theme.alternate,
        role.Text: theme.text,
        role.Button: theme.alternate,
        role.ButtonText: theme.text,
        role.ToolTipBase: theme.base,
        role.ToolTipText: theme.text,
        role.Highlight: theme.accent,
        role.HighlightedText: theme.accent_text,
        role.Link: theme.accent,
        role.PlaceholderText: theme.muted,
        role.BrightText: theme.error,
    }
    for color_role, value in pairs.items():
        palette.setColor(color_role, QColor(value))
    # The shades Fusion draws frames, bevels and grid lines with, from the window colour.
    window = QColor(theme.window)
    dark = theme.name == "dark"
    shades = {
        role.Light: window.lighter(150 if dark else 120),
        role.Midlight: window.lighter(125 if dark else 110),
        role.Mid: window.lighter(160) if dark else window.darker(130),
        role.Dark: window.darker(150) if dark else window.darker(160),
        role.Shadow: window.darker(250),
    }
    for color_role, value in shades.items():
        palette.setColor(color_role, value)
    disabled = QPalette.ColorGroup.Disabled
    for color_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, color_role, QColor(theme.muted))
    return palette


def _stylesheet(theme: Theme) -> str:
    return f"""
QGroupBox {{ font-weight: bold; margin-top: {SPACING + 6}px; padding-top: {SPACING}px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: {SPACING}px; padding: 0 4px; }}
QPushButton {{ padding: 5px 12px; }}
QPushButton[primary="true"] {{ background: {theme.accent}; color: {theme.accent_text};
    border: 1px solid {theme.accent}; border-radius: 4px; font-weight: bold; }}
QPushButton[primary="true"]:disabled {{ background: {theme.alternate}; color: {theme.muted};
    border-color: {theme.alternate}; }}
QTabBar::tab {{ padding: 7px 18px; }}
QToolTip {{ color: {theme.text}; background: {theme.base}; border: 1px solid {theme.muted}; }}
"""


def apply(app: QApplication, choice: str = "system") -> Theme:
    """Give ``app`` the look for ``choice`` ("system", "light" or "dark"); returns the theme.

    "system" re-applies itself when the system's colour scheme changes while the app runs.
    """
    global _current, _choice
    if choice not in THEMES:
        choice = "system"
    _choice = choice
    dark = choice == "dark" or (choice == "system" and system_prefers_dark())
    _current = DARK if dark else LIGHT
    app.setStyle("Fusion")  # the same widgets on every platform, and palettes apply fully
    app.setPalette(_palette(_current))
    app.setStyleSheet(_stylesheet(_current))
    if id(app) not in _following:
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _: _follow(app))
        _following.add(id(app))
    for widget in app.allWidgets():
        widget.update()  # self-painted widgets take the new colours
    return _current


def _follow(app: QApplication) -> None:
    if _choice == "system":
        apply(app, "system")


def choice() -> str:
    """The theme the user chose ("system", "light" or "dark")."""
    return _choice


def rich(kind: str, label: str, text: str) -> str:
    """Rich text for a message of ``kind`` ("warning", "error", "success"), e.g.
    ``<b>Warning:</b> …`` in the theme's colour for it."""
    colour = getattr(_current, kind)
    # Class names and paths may hold < or &, or run on with no space to wrap at.
    words = (short_name(word, LONGEST_WORD) for word in readable(text).split(" "))
    shown = html.escape(" ".join(words))
    return f"<span style='color:{colour}'><b>{label}:</b> {shown}</span>"


#: Main actions -> the standard icon drawn for them (shipped with Qt: works offline, follows
#: the style).
_ICONS = {
    "open": QStyle.StandardPixmap.SP_DirOpenIcon,
    "demo": QStyle.StandardPixmap.SP_FileDialogDetailedView,
    "model": QStyle.StandardPixmap.SP_FileIcon,
    "train": QStyle.StandardPixmap.SP_MediaPlay,
    "stop": QStyle.StandardPixmap.SP_MediaStop,
    "cancel": QStyle.StandardPixmap.SP_DialogCancelButton,
    "continue": QStyle.StandardPixmap.SP_MediaSeekForward,
    "save": QStyle.StandardPixmap.SP_DialogSaveButton,
    "export": QStyle.StandardPixmap.SP_ArrowUp,
    "classify": QStyle.StandardPixmap.SP_FileDialogContentsView,
    "clear": QStyle.StandardPixmap.SP_DialogResetButton,
    "help": QStyle.StandardPixmap.SP_DialogHelpButton,
}


def icon(name: str, widget: QWidget | None = None) -> QIcon:
    """The icon for a main action (see ``_ICONS``)."""
    style = widget.style() if widget is not None else QApplication.style()
    return style.standardIcon(_ICONS[name])


def primary(button: QWidget) -> None:
    """Mark the one action a panel is for (Start training, Classify images…) to stand out."""
    button.setProperty("primary", True)
