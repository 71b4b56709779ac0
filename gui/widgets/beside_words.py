"""A chart with its words beside it where there is room, above it where there is not.

The Results page's Confidence and More photos? tabs both show a drawn chart and a paragraph on
it; at 1024x640 with ten classes the page leaves a narrow column, where side by side would
squeeze both. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QFrame, QLabel, QScrollArea, QSizePolicy, QWidget

#: From this width on the words sit beside the chart; below it, above it.
SIDE_BY_SIDE_WIDTH = 420


class ChartBesideWords(QScrollArea):
    """``chart`` beside :attr:`words` when at least :data:`SIDE_BY_SIDE_WIDTH` wide, else the
    words above it; scrolls when even that does not fit, rather than drawing one over the
    other. The subclass fills :attr:`words`."""

    def __init__(self, chart: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.words = QLabel()
        self.words.setWordWrap(True)
        self.words.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.words.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        inner = QWidget()
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, inner)
        self.box.addWidget(chart, 1)
        self.box.addWidget(self.words, 1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    @property
    def side_by_side(self) -> bool:
        """Whether the words are beside the chart (else above it)."""
        return self.box.direction() == QBoxLayout.Direction.LeftToRight

    def resizeEvent(self, event: QResizeEvent) -> None:
        # Bottom to top: the words (the second item) above the chart.
        wide = event.size().width() >= SIDE_BY_SIDE_WIDTH
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.BottomToTop
        if self.box.direction() != direction:
            self.box.setDirection(direction)
            # Stacked, the words take only the height they need and the chart the rest.
            self.box.setStretch(1, 1 if wide else 0)
        super().resizeEvent(event)
