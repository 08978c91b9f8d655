"""Summary cards and fit gauges: one big number with a title and a line of context."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from workbench.core import fit

GOOD, WARN, BAD, MUTED = "#1b873f", "#b7791f", "#c53030", "#6b7280"
LEVEL_COLORS = {fit.GOOD: GOOD, fit.TIGHT: WARN, fit.BAD: BAD, fit.UNKNOWN: MUTED}


class Card(QFrame):
    def __init__(self, title: str, tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setToolTip(tooltip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        self.title = QLabel(title.upper())
        self.title.setObjectName("cardTitle")
        self.title.setWordWrap(True)  # a long title takes two lines rather than widening the row
        self.value = QLabel("-")
        self.value.setObjectName("cardValue")
        self.detail = QLabel("")
        self.detail.setObjectName("cardDetail")
        self.detail.setWordWrap(True)
        for label in (self.title, self.value, self.detail):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        layout.addStretch(1)

    def set(self, value: str, detail: str = "", color: str | None = None) -> None:
        self.value.setText(value)
        self.value.setStyleSheet(f"color: {color};" if color else "")
        self.detail.setText(detail)


class Gauge(QWidget):
    """A labelled bar: 'Flash 28.7% - 293.5 KB of 1024.0 KB', coloured by headroom."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(title)
        self.text = QLabel("-")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(12)
        self.percent = QLabel("")
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.text.setObjectName("cardDetail")
        layout.addWidget(self.title, 0, 0)
        layout.addWidget(self.percent, 0, 1)
        layout.addWidget(self.bar, 1, 0, 1, 2)
        layout.addWidget(self.text, 2, 0, 1, 2)

    def set(self, percent: float | None, text: str) -> None:
        """Show `percent` of the capacity used and a line like '293.5 KB of 1024 KB'."""
        self.text.setText(text)
        self.percent.setText("" if percent is None else f"{percent:.1f}%")
        if percent is None:
            self.bar.setValue(0)
            return
        self.bar.setValue(int(min(percent, 100.0) * 10))
        color = LEVEL_COLORS[fit.usage_level(percent)]
        self.bar.setStyleSheet(f"QProgressBar::chunk {{ background: {color}; border-radius: 5px; }}")
