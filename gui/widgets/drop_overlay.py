"""The whole window highlighted while something is dragged over it, saying what a drop does.

Shown by the main window on drag-enter and hidden on leave or drop (GUI thread). It lets mouse
events through, so the drop itself still reaches the window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from core.names import readable
from gui import style
from gui.drops import DropAction


def drop_text(action: DropAction) -> str:
    """What dropping now would do, in a few words."""
    if action.kind == "dataset":
        return f"Drop to open the dataset folder '{readable(Path(action.paths[0]).name)}'"
    if action.kind == "model":
        return f"Drop to open the model '{readable(Path(action.paths[0]).name)}'"
    if action.kind == "images":
        count = len(action.paths)
        return f"Drop to classify {count} image{'s' if count != 1 else ''}"
    return action.message


class DropOverlay(QWidget):
    """A translucent accent frame over its parent with one line of text in the middle."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.text = ""
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAccessibleName("Drop here")
        self.hide()

    def show_for(self, text: str) -> None:
        """Cover the parent and say ``text``."""
        self.text = text
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        theme = style.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # The window shows through only faintly, so its own text cannot mix with the message.
        veil = theme.color("window")
        veil.setAlphaF(0.88)
        painter.fillRect(self.rect(), veil)
        fill = theme.color("accent")
        fill.setAlphaF(0.12)
        frame = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        painter.setPen(QPen(theme.color("accent"), 3, Qt.PenStyle.DashLine))
        painter.setBrush(fill)
        painter.drawRoundedRect(frame, 12, 12)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        painter.setFont(font)
        box = QRectF(self.rect()).adjusted(40, 0, -40, 0)
        painter.setPen(theme.color("text"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.text)
