"""The Monitor's plots: a time plot per channel group (legend, autoscale, zoom and pan, crosshair
with values) and an XY view of two chosen channels.

Drawing cost stays bounded whatever the history: the plots are handed what is in view already
reduced to about two points a pixel column (the sample buffer's min/max pyramid, see
monitor/buffer.py `overview()`); whatever they hold is cut to the visible x range and, if still
more than DECIMATE_ABOVE points a pixel column, reduced the same way (`peak_decimate`). So the
curves do without pyqtgraph's own clip-to-view and downsampling, which would redo that work for
every change of the x range (each frame, while following the newest data). Zooming or panning by
hand re-cuts what is held at once and says `range_moved` once it settles, so the owner can hand
the samples of the new range. The crosshair shows the recorded row under the mouse (`lookup`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.monitor.pyramid import peak_decimate
from workbench.ui.widgets.monitor_classes import CLASS_COLORS

CLASSES_GROUP = "Class probabilities"
OTHER_GROUP = "Values"
MAX_GROUPS = 4  # beyond this, small groups are merged into OTHER_GROUP
XY_POINTS = 2000  # the XY view shows the newest points only
DECIMATE_ABOVE = 4  # samples per pixel column beyond which the samples are reduced to min and max
_SUFFIX = re.compile(r"^(.+?)[ _.\-]?([xyzXYZ]|\d+)$")


def channel_prefix(name: str) -> str:
    """The family a channel belongs to: 'acc' for acc_x / acc_y, 'value' for 'value 1'; else the name."""
    match = _SUFFIX.match(name)
    return match.group(1) if match else name


def channel_groups(channels: Sequence[str], classes: Sequence[str] = ()) -> list[tuple[str, list[str]]]:
    """(title, channels) for each time plot: the class probabilities together, channels sharing a
    prefix together (acc_x, acc_y, acc_z), the rest in one 'Values' plot."""
    groups: dict[str, list[str]] = {}
    if classes:
        groups[CLASSES_GROUP] = list(classes)
    for name in channels:
        if name not in classes:
            groups.setdefault(channel_prefix(name), []).append(name)
    merged: dict[str, list[str]] = {}
    singles: list[str] = []
    for title, members in groups.items():
        if title == CLASSES_GROUP or len(members) > 1:
            merged[title] = members
        else:
            singles += members
    while len(merged) + (1 if singles else 0) > MAX_GROUPS:
        title = min((t for t in merged if t != CLASSES_GROUP), key=lambda t: len(merged[t]), default=None)
        if title is None:
            break
        singles += merged.pop(title)
    if singles:
        merged[OTHER_GROUP] = [c for c in channels if c in singles]
    return list(merged.items())


def color_for(index: int) -> str:
    return CLASS_COLORS[index % len(CLASS_COLORS)]


def new_curve(name: str, color: str) -> pg.PlotDataItem:
    """A curve built for streaming: handed what is in view, already reduced; NaN rows break the line."""
    # A 1-pixel (cosmetic) pen: Qt's raster engine draws wider lines many times slower.
    return pg.PlotDataItem(name=name, pen=pg.mkPen(color, width=1), connect="finite")


class TimePlots(pg.GraphicsLayoutWidget):
    """One plot a channel group, stacked, x linked; a crosshair shows the values under the mouse."""

    followed = Signal(bool)  # True while the x range follows the newest data
    range_moved = Signal()  # zoomed or panned by hand, and settled: hand the samples of the new range

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.plots: list[pg.PlotItem] = []
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.groups: list[tuple[str, list[str]]] = []
        self._lines: list[pg.InfiniteLine] = []
        self.readout = self._new_readout()
        self._times = np.zeros(0)
        self._values: dict[str, np.ndarray] = {}
        self._origin = 0.0
        # The row nearest a time (as recorded): its time and values; None reads what is held.
        self.lookup: Callable[[float], tuple[float, dict[str, float]] | None] | None = None
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self._reduce_again = QTimer(self)  # zoom and pan by hand: reduce again, once it settles
        self._reduce_again.setSingleShot(True)
        self._reduce_again.setInterval(40)
        self._reduce_again.timeout.connect(self.range_moved)

    # -- layout ----------------------------------------------------------------------------
    def set_groups(self, groups: list[tuple[str, list[str]]]) -> None:
        """Rebuild the plots when the groups change (a new channel appeared); keeps the x range."""
        if groups == self.groups:
            return
        x_range = self.plots[0].viewRange()[0] if self.plots else None
        following = self.following()
        self.clear()  # deletes the plots and what they hold
        self.readout = self._new_readout()
        self.groups = groups
        self.plots, self.curves, self._lines = [], {}, []
        color_index = 0
        for row, (title, names) in enumerate(groups):
            plot = self.addPlot(row=row, col=0)
            plot.setTitle(title, size="10pt")
            # No grid: redrawn at every frame it costs more than the curves (the crosshair reads values).
            plot.addLegend(offset=(-8, 8), labelTextSize="9pt")
            plot.setMenuEnabled(True)
            plot.hideButtons()
            if row < len(groups) - 1:
                plot.hideAxis("bottom")  # x is linked: the lowest plot's time axis serves all
            if self.plots:
                plot.setXLink(self.plots[0])
            for name in names:
                curve = new_curve(name, color_for(color_index))
                color_index += 1
                plot.addItem(curve)
                self.curves[name] = curve
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#6b7280", width=1, style=Qt.PenStyle.DotLine))
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self._lines.append(line)
            plot.sigXRangeChanged.connect(self._range_changed)
            self.plots.append(plot)
        if self.plots:
            self.plots[-1].setLabel("bottom", "time", units="s")
            self.plots[0].addItem(self.readout, ignoreBounds=True)
            self.readout.hide()
            if x_range is not None and not following:
                self.plots[0].setXRange(*x_range, padding=0)
                self.plots[0].enableAutoRange(x=False)

    @staticmethod
    def _new_readout() -> pg.TextItem:
        readout = pg.TextItem(color="#111827", fill=pg.mkBrush(255, 255, 255, 220), anchor=(0, 0))
        readout.setZValue(100)
        return readout

    def show_placeholder(self, text: str) -> None:
        """No data to plot: say so (and what to do) where the plots go; the next data replaces it."""
        self.set_groups([])
        self.clear()
        self.groups = []
        self.addLabel(text, size="12pt", color="#6b7280")

    def following(self) -> bool:
        """True when the x axis follows the data (autoscale), False once someone zoomed or panned."""
        return not self.plots or bool(self.plots[0].getViewBox().autoRangeEnabled()[0])

    def follow(self) -> None:
        """Autoscale again: x follows the newest data, y fits what is in view."""
        for plot in self.plots:
            plot.enableAutoRange()
        self.followed.emit(True)

    def visible_range(self) -> tuple[float, float] | None:
        """The x range in view, in the plot's seconds (time minus the origin)."""
        if not self.plots:
            return None
        low, high = self.plots[0].viewRange()[0]
        return float(low), float(high)

    def width_px(self) -> int:
        """The plots' width in pixels: how many columns a curve can show."""
        return int(self.plots[0].getViewBox().width()) if self.plots else max(self.width(), 0)

    def _range_changed(self, *_args: object) -> None:
        following = self.following()
        self.followed.emit(following)
        if not following:
            self._hand_curves()
            self._reduce_again.start()

    # -- data ------------------------------------------------------------------------------
    def show_data(self, times: np.ndarray, values: dict[str, np.ndarray], origin: float) -> None:
        """Hand each curve its samples; `origin` (seconds) is where the time axis starts."""
        self._origin = origin
        self._times = times - origin
        self._values = values
        self._hand_curves()

    def _hand_curves(self) -> None:
        """Give each curve the samples in the visible x range (all of them while following),
        reduced to about two points a pixel column."""
        times = self._times
        start, stop = 0, times.size
        view = None if self.following() else self.visible_range()
        if view is not None:  # one sample beyond each edge, so lines reach the border
            start = max(int(np.searchsorted(times, view[0], "left")) - 1, 0)
            stop = min(int(np.searchsorted(times, view[1], "right")) + 1, times.size)
        names = [n for n in self.curves if n in self._values and self._values[n].size == times.size]
        x, columns = times[start:stop], [self._values[n][start:stop] for n in names]
        width = self.width_px() if self.plots else 0
        if width > 0 and x.size > DECIMATE_ABOVE * width:
            x, columns = peak_decimate(x, columns, width)
        for name, curve in self.curves.items():
            if name in names:
                y = columns[names.index(name)]
                # A line without gaps is drawn as one polyline, unchecked: much cheaper to paint.
                whole = bool(np.isfinite(y).all())
                curve.setData(x=x, y=y, connect="all" if whole else "finite", skipFiniteCheck=whole)
            else:
                curve.setData(x=np.zeros(0), y=np.zeros(0))

    # -- crosshair -------------------------------------------------------------------------
    def _mouse_moved(self, position: QPointF) -> None:
        inside = [p for p in self.plots if p.sceneBoundingRect().contains(position)]
        if not inside or self._times.size == 0:
            for line in self._lines:
                line.hide()
            self.readout.hide()
            return
        x = inside[0].getViewBox().mapSceneToView(position).x()
        self.show_crosshair(x)

    def _held_row(self, time: float) -> tuple[float, dict[str, float]] | None:
        """The row held nearest `time` (as recorded), when no lookup was given."""
        if self._times.size == 0:
            return None
        x = time - self._origin
        index = int(np.clip(np.searchsorted(self._times, x), 0, self._times.size - 1))
        if index > 0 and abs(self._times[index - 1] - x) <= abs(self._times[index] - x):
            index -= 1
        values = {
            name: float(data[index])
            for name, data in self._values.items()
            if data.size == self._times.size and np.isfinite(data[index])
        }
        return float(self._times[index]) + self._origin, values

    def show_crosshair(self, x: float) -> str:
        """Put the crosshair at time `x` (plot seconds) and write the values of the recorded row
        nearest it; returns the text."""
        row = (self.lookup or self._held_row)(x + self._origin)
        if row is None:
            return ""
        at = row[0] - self._origin
        for line in self._lines:
            line.setValue(at)
            line.show()
        parts = [f"t = {at:.3f} s"]
        parts += [f"{name}: {row[1][name]:.4g}" for name in self.curves if name in row[1]]
        text = "\n".join(parts)
        self.readout.setText(text)
        low, high = self.plots[0].viewRange()[1]
        left, right = self.plots[0].viewRange()[0]
        self.readout.setPos(at if at < (left + right) / 2 else left + (right - left) * 0.02, high)
        self.readout.show()
        return text


class XYView(QWidget):
    """One chosen channel against another, the newest XY_POINTS points, the newest one marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.x_channel = QComboBox()
        self.y_channel = QComboBox()
        for combo, what in ((self.x_channel, "across"), (self.y_channel, "up")):
            combo.setToolTip(f"The channel plotted {what}")
            combo.setMinimumContentsLength(10)
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#4e79a7", width=1.2), connect="finite")
        self.head = pg.ScatterPlotItem(size=10, brush=pg.mkBrush("#e15759"), pen=None)
        self.plot.addItem(self.curve)
        self.plot.addItem(self.head)
        row = QHBoxLayout()
        row.addWidget(QLabel("X"))
        row.addWidget(self.x_channel)
        row.addWidget(QLabel("Y"))
        row.addWidget(self.y_channel)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        self._channels: list[str] = []

    def set_channels(self, channels: Sequence[str]) -> None:
        """Offer these channels; the first two are chosen until someone picks others."""
        if list(channels) == self._channels:
            return
        self._channels = list(channels)
        for combo, default in ((self.x_channel, 0), (self.y_channel, 1)):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(self._channels)
            index = combo.findText(current) if current else -1
            combo.setCurrentIndex(index if index >= 0 else min(default, len(self._channels) - 1))
            combo.blockSignals(False)

    def show_data(self, values: dict[str, np.ndarray]) -> None:
        x, y = values.get(self.x_channel.currentText()), values.get(self.y_channel.currentText())
        if x is None or y is None or x.size != y.size:
            self.curve.setData(x=np.zeros(0), y=np.zeros(0))
            self.head.setData(x=[], y=[])
            return
        x, y = x[-XY_POINTS:], y[-XY_POINTS:]
        self.curve.setData(x=x, y=y)
        both = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        self.head.setData(x=x[both[-1:]], y=y[both[-1:]])
        self.plot.setLabel("bottom", self.x_channel.currentText())
        self.plot.setLabel("left", self.y_channel.currentText())
