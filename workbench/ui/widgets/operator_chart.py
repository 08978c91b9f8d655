"""The base of the per-operator bar charts: white, scrolls sideways only, operator # along x."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


class OperatorChart(pg.PlotWidget):
    def __init__(self, left_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=True, y=False)
        self.showGrid(y=True, alpha=0.25)
        self.setLabel("left", left_label)
        self.setLabel("bottom", "operator #")
