"""The Monitor's class view: the big top-1 label, live bars with a threshold, and the label
timeline (events and top-1 changes over time). Which channels are classes, and the top-1 runs,
are decided by workbench.monitor.classes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from workbench.monitor.classes import latest_probabilities, top_runs
from workbench.units import probability

MAX_TIMELINE_EVENTS = 200  # markers drawn; older events scroll away
MAX_EVENT_TEXTS = 12  # the newest events also get their name written beside the marker

# Colours a class keeps in bars and timeline (Tableau 10: tells apart well, also for colour-blind eyes).
CLASS_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
TOP_COLOR, CONFIDENT_COLOR, QUIET_COLOR = "#1d4ed8", "#60a5fa", "#cbd5e1"


class BigLabel(QWidget):
    """The top-1 class in letters as large as the space allows, its confidence underneath."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bigLabelBox")
        self.name = QLabel("–")
        self.name.setObjectName("bigLabel")
        self.confidence = QLabel("")
        self.confidence.setObjectName("bigConfidence")
        for label in (self.name, self.confidence):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.name, 3)
        layout.addWidget(self.confidence, 1)
        self.setMinimumHeight(120)

    def show_top(self, name: str, confidence: float | None, confident: bool = True) -> None:
        """Show `name` with its confidence; dimmed when it is below the threshold."""
        self.name.setText(name)
        self.confidence.setText(
            "" if confidence is None else f"{probability(confidence)}" + ("" if confident else "  (below threshold)")
        )
        for label in (self.name, self.confidence):
            label.setProperty("quiet", not confident)
            label.style().unpolish(label)
            label.style().polish(label)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Letters as tall as the box allows, narrowed for a long name (the style sheet cannot size
        to the box; the pixel size set here wins over it)."""
        width, height = max(self.width(), 1), max(self.height(), 1)
        text = self.name.text() or "-"
        name_px = int(min(height * 0.62, width * 1.6 / max(len(text), 1)))
        confidence_px = int(max(min(height * 0.16, width / 12), 10))
        for label, pixels in ((self.name, max(name_px, 12)), (self.confidence, confidence_px)):
            font = QFont(label.font())
            font.setPixelSize(pixels)
            font.setBold(True)
            label.setFont(font)


class ClassBars(pg.PlotWidget):
    """One bar a class (0..1), the top-1 bar highlighted; a dashed threshold line one can drag."""

    threshold_moved = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setYRange(0, 1.05, padding=0)
        self.showGrid(y=True, alpha=0.2)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brushes=[], pen=None)
        self.addItem(self.bars)
        self.threshold = pg.InfiniteLine(
            pos=0.5,
            angle=0,
            movable=True,
            bounds=(0.0, 1.0),
            pen=pg.mkPen("#c53030", width=2, style=Qt.PenStyle.DashLine),
            hoverPen=pg.mkPen("#c53030", width=4),
            label="threshold {value:.2f}",
            labelOpts={"position": 0.93, "color": "#c53030", "anchors": [(1, 1), (1, 1)]},
        )
        self.threshold.setToolTip("Drag to change the threshold")
        self.threshold.sigPositionChanged.connect(lambda line: self.threshold_moved.emit(float(line.value())))
        self.addItem(self.threshold)
        self._names: list[str] = []
        self.heights = np.zeros(0)

    def set_threshold(self, value: float) -> None:
        if abs(self.threshold.value() - value) > 1e-9:
            self.threshold.setValue(value)

    def set_classes(self, names: Sequence[str]) -> None:
        if list(names) == self._names:
            return
        self._names = list(names)
        self.getAxis("bottom").setTicks([list(enumerate(self._names))])
        self.setXRange(-0.6, max(len(self._names) - 0.4, 0.4), padding=0)

    def show_probabilities(self, probabilities: np.ndarray, threshold: float) -> None:
        """Bars at these heights: the top one strong, the others above the threshold lighter."""
        self.heights = probabilities
        top = int(np.argmax(probabilities)) if probabilities.size else -1
        brushes = [
            TOP_COLOR if i == top and p >= threshold else CONFIDENT_COLOR if p >= threshold else QUIET_COLOR
            for i, p in enumerate(probabilities)
        ]
        self.bars.setOpts(x=np.arange(probabilities.size), height=probabilities, brushes=brushes)

    def set_dark(self, dark: bool) -> None:
        self.setBackground("#0b1020" if dark else "w")
        color = "#e5e7eb" if dark else "#374151"
        for side in ("left", "bottom"):
            axis = self.getAxis(side)
            axis.setTextPen(color)
            axis.setPen(color)
            font = QFont()
            font.setPixelSize(28 if dark else 12)
            axis.setStyle(tickFont=font, tickTextOffset=10 if dark else 4)
        self.getAxis("bottom").setHeight(60 if dark else None)
        label_font = QFont()
        label_font.setPixelSize(22 if dark else 11)
        self.threshold.label.setFont(label_font)


class LabelTimeline(pg.PlotWidget):
    """Top-1 class over time (a band per stretch, in its class colour) and events as markers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=True, y=False)
        self.setLabel("bottom", "time", units="s")
        self.showGrid(x=True, alpha=0.2)
        self._bands: list[pg.PlotDataItem] = []
        self.events = pg.ScatterPlotItem(size=11, symbol="t1", brush=pg.mkBrush("#111827"), pen=None)
        self.addItem(self.events)
        self._texts: list[pg.TextItem] = []
        self._names: list[str] = []

    def set_classes(self, names: Sequence[str]) -> None:
        if list(names) == self._names:
            return
        self._names = list(names)
        for band in self._bands:
            self.removeItem(band)
        self._bands = []
        for index in range(len(names)):
            color = CLASS_COLORS[index % len(CLASS_COLORS)]
            band = pg.PlotDataItem(pen=pg.mkPen(color, width=9), connect="pairs")
            self.addItem(band)
            self._bands.append(band)
        ticks = [(-1, "events"), *enumerate(self._names)]
        self.getAxis("left").setTicks([ticks])
        self.setYRange(-1.6, len(names) - 0.4, padding=0)

    def show_timeline(
        self, runs: Sequence[tuple[float, float, int]], events: Sequence[tuple[float, str]], origin: float
    ) -> None:
        """Draw `runs` (start, end, class index) and `events` (time, name); times minus `origin`."""
        by_class: list[list[float]] = [[] for _ in self._bands]
        for start, end, index in runs:
            if index < len(by_class):
                by_class[index] += [start - origin, end - origin]
        for band, xs in zip(self._bands, by_class, strict=True):
            x = np.asarray(xs, dtype=float)
            band.setData(x=x, y=np.full(x.size, float(self._bands.index(band))))
        shown = list(events)[-MAX_TIMELINE_EVENTS:]
        self.events.setData(x=[t - origin for t, _ in shown], y=[-1.0] * len(shown))
        for text in self._texts:
            self.removeItem(text)
        self._texts = []
        for time, name in shown[-MAX_EVENT_TEXTS:]:
            text = pg.TextItem(name, color="#111827", anchor=(0, 1.1))
            text.setPos(time - origin, -1.0)
            self.addItem(text)
            self._texts.append(text)


class ClassPanel(QWidget):
    """Big label, bars with a threshold (line or spin box) and the label timeline."""

    threshold_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classPanel")
        self.big = BigLabel()
        self.bars = ClassBars()
        self.timeline = LabelTimeline()
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("A class counts as recognised at or above this probability (or drag the red line)")
        self.threshold_row = QWidget()
        row = QHBoxLayout(self.threshold_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.threshold_caption = QLabel("Threshold")
        row.addWidget(self.threshold_caption)
        row.addWidget(self.threshold)
        row.addStretch(1)
        self.timeline_caption = QLabel("Label timeline: top-1 class above the threshold, and events")
        self.timeline_caption.setObjectName("cardDetail")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.big, 3)
        layout.addWidget(self.bars, 3)
        layout.addWidget(self.threshold_row)
        layout.addWidget(self.timeline_caption)
        layout.addWidget(self.timeline, 2)
        self.threshold.valueChanged.connect(self._spun)
        self.bars.threshold_moved.connect(self._dragged)

    def value(self) -> float:
        return float(self.threshold.value())

    def set_threshold(self, value: float) -> None:
        self.threshold.setValue(value)

    def _spun(self, value: float) -> None:
        self.bars.set_threshold(value)
        self.threshold_changed.emit(value)

    def _dragged(self, value: float) -> None:
        rounded = round(value, 2)
        if abs(self.threshold.value() - rounded) > 1e-9:
            self.threshold.blockSignals(True)
            self.threshold.setValue(rounded)
            self.threshold.blockSignals(False)
            self.threshold_changed.emit(rounded)

    def show_classes(
        self,
        times: np.ndarray,
        classes: Sequence[str],
        values: dict[str, np.ndarray],
        events: Sequence[tuple[float, str]],
        origin: float,
    ) -> None:
        """Fill the label, the bars and the timeline from the class channels in view."""
        threshold = self.value()
        self.bars.set_classes(classes)
        self.timeline.set_classes(classes)
        latest = latest_probabilities(classes, values)
        if latest is None:
            self.big.show_top("…", None)
        else:
            top = int(np.argmax(latest))
            confidence = float(latest[top])
            self.big.show_top(classes[top], confidence, confidence >= threshold)
            self.bars.show_probabilities(latest, threshold)
        if self.timeline.isVisible():
            self.timeline.show_timeline(top_runs(times, classes, values, threshold), events, origin)

    def show_waiting(self, text: str) -> None:
        self.big.show_top(text, None)

    def set_demo(self, demo: bool) -> None:
        """Demo mode: only the label and the bars, light on dark."""
        self.timeline.setVisible(not demo)
        self.timeline_caption.setVisible(not demo)
        self.threshold_row.setVisible(not demo)
        self.bars.set_dark(demo)
        layout = self.layout()
        layout.setStretchFactor(self.big, 5 if demo else 3)
