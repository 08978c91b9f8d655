"""What the Monitor page shows of a sample buffer: the time plots, the XY view and the class view
(big label, bars, timeline), drawn from the buffer at the page's timer.

Drawing cost does not grow with the history: the time plots get the buffer's `overview()` for the
stretch in view, reduced by its min/max pyramid to about two points a pixel column; the class
view and the XY view read the newest rows only (CHECK_ROWS, XY_POINTS, TIMELINE_ROWS). The crosshair asks the buffer for
the row under the mouse, and the CSV export reads every sample in view from the buffer.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from workbench.core.errors import WorkbenchError
from workbench.monitor.buffer import SampleBuffer
from workbench.monitor.classes import CHECK_ROWS, TIMELINE_ROWS, class_channels
from workbench.ui.widgets.monitor_classes import ClassPanel
from workbench.ui.widgets.monitor_plots import XY_POINTS, TimePlots, XYView, channel_groups

DEMO_WINDOW_S = 30.0  # demo mode shows the label and bars only: the newest records are enough


class MonitorView(QWidget):
    """The plots and the class view side by side; `draw()` fills them from a buffer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = TimePlots()
        self.xy = XYView()
        self.views = QTabWidget()
        self.views.addTab(self.plots, "Time")
        self.views.addTab(self.xy, "XY")
        self.class_panel = ClassPanel()
        self.class_panel.hide()
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.views)
        self.split.addWidget(self.class_panel)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.split)
        self.labels: list[str] = []  # the open model's labels: class channels named after them
        self.classes: list[str] = []
        self.origin: float | None = None  # the time axis starts at the first record seen
        self.demo = False
        self.buffer: SampleBuffer | None = None
        self.until: float | None = None  # paused: the newest time drawn, where every read stops
        self._newest_drawn: float | None = None
        self.plots.lookup = self._row_at  # the crosshair reads the recorded row, not a reduced point

    def reset(self) -> None:
        """A new connection or a cleared buffer: the time axis starts again at its first record."""
        self.origin = None
        self.classes = []
        self._newest_drawn = None
        if self.until is not None:
            self.until = math.inf  # paused on an empty view: what comes is shown once resumed

    def freeze(self, paused: bool) -> None:
        """Paused: what is drawn, zoomed into, exported and read by the crosshair stops at the
        newest record drawn, while the buffer goes on filling; resumed: the newest again."""
        self.until = (self._newest_drawn if self._newest_drawn is not None else math.inf) if paused else None

    def _rows(self, last_s: float | None) -> dict[str, Any]:
        """What selects the rows to read: the newest `last_s` seconds, or, paused, those up to
        the newest drawn."""
        if self.until is None:
            return {"last_s": last_s}
        return {"between": (-math.inf if last_s is None else self.until - last_s, self.until)}

    def _in_view(self, last_s: float | None) -> dict[str, Any]:
        """What selects the rows the plots show: while they follow the data, the newest `last_s`
        seconds (`_rows`); zoomed or panned, the visible range's times, no later than the newest
        drawn when paused."""
        view = self.plots.visible_range()
        if self.plots.following() or view is None or self.origin is None:
            return self._rows(last_s)
        end = view[1] + self.origin
        return {"between": (view[0] + self.origin, end if self.until is None else min(end, self.until))}

    def draw(self, buffer: SampleBuffer, window_s: float | None) -> None:
        """Read what is in view from `buffer` (the newest `window_s` seconds while the plots
        follow the data, else the stretch zoomed or panned to) and show it."""
        self.buffer = buffer
        last_s = DEMO_WINDOW_S if self.demo else window_s
        # Whether there are classes is judged on the newest rows; their timeline needs more.
        times, values = buffer.view(None, last_rows=max(CHECK_ROWS, XY_POINTS), **self._rows(last_s))
        if times.size and self.until is None:
            self._newest_drawn = float(times[-1])
        channels = [c for c in buffer.channels if c in values]
        self.classes = class_channels(channels, values, self.labels)
        if self.classes:
            times, values = buffer.view(None, last_rows=TIMELINE_ROWS, **self._rows(last_s))
        if self.demo:
            if self.origin is None and times.size:
                self.origin = float(times[0])
        else:
            self._draw_plots(buffer, last_s)
            self.xy.set_channels(channels)
            if self.views.currentWidget() is self.xy:
                self.xy.show_data(values)
        if self.classes:
            self.class_panel.show()
            events = buffer.events(last_s) if not self.demo else []
            self.class_panel.show_classes(times, self.classes, values, events, self.origin or 0.0)
        elif not self.demo:
            self.class_panel.hide()

    def _draw_plots(self, buffer: SampleBuffer, last_s: float | None) -> None:
        plots = self.plots
        times, values, _ = buffer.overview(max(plots.width_px(), 1), **self._in_view(last_s))
        if self.origin is None and times.size:
            self.origin = float(times[0])
        plots.set_groups(channel_groups(list(values), self.classes))
        plots.show_data(times, values, self.origin or 0.0)

    def _row_at(self, time: float) -> tuple[float, dict[str, float]] | None:
        if self.buffer is None:
            return None
        if self.until is None:
            return self.buffer.row_near(time)
        row = self.buffer.row_near(min(time, self.until))
        return row if row is not None and row[0] <= self.until else None

    def data_in_view(self, window_s: float | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every sample in the plots' visible range (times as recorded), read from the buffer."""
        if self.buffer is None:
            return np.zeros(0), {}
        return self.buffer.view(None, **self._in_view(window_s))

    def export_png(self, path: Path) -> None:
        """Save the plots and the class view as they are on screen."""
        pixmap = self.split.grab()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WorkbenchError(f"Cannot save {path}: {error.strerror or error}.") from error
        if not pixmap.save(str(path), "PNG"):
            raise WorkbenchError(f"Cannot save the image to {path}.")

    def set_demo(self, demo: bool) -> None:
        """Demo mode: the big label and the bars only."""
        self.demo = demo
        self.views.setVisible(not demo)
        self.class_panel.set_demo(demo)
        self.class_panel.setVisible(demo or bool(self.classes))
        if not demo:
            self.plots.follow()
