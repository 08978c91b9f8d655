"""The Monitor page: live plots of what a board prints, the big top-1 label, recording and demo mode.

Streaming is its own mechanism: a `MonitorStream` (workbench/monitor/stream.py) reads the port in
its own threads into a ring buffer; this page only READS the buffer and the stream's stats on a
~30 Hz timer, and its MonitorView (ui/widgets/monitor_view.py) draws what is in view at a cost
that does not grow with the history.
The stream stays after a disconnect, so what was seen stays on screen (and exportable) until the
next connection succeeds. Errors (no such port, busy, permission denied...) go to the one error
place (the session's `error` signal) and leave the page as it was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFileDialog, QLabel, QVBoxLayout, QWidget

from workbench.core.errors import WorkbenchError
from workbench.core.inference import labels_for, samples_for
from workbench.monitor.recorder import write_view
from workbench.plugins import registry
from workbench.tasks import null_task
from workbench.ui.session import Session
from workbench.ui.settings import settings
from workbench.ui.widgets.monitor_controls import DEFAULT_BAUD, MonitorControls
from workbench.ui.widgets.monitor_link import (
    FORMAT_KEY,
    Stream,
    baud_for,
    default_recordings_folder,
    last_port,
    open_stream,
    remember,
    start_stream,
    status_text,
    stop_stream,
)
from workbench.ui.widgets.monitor_ports import VIRTUAL, VirtualBoard, port_choices
from workbench.ui.widgets.monitor_view import MonitorView

FRAME_MS = 33  # ~30 Hz: the page reads the buffer this often, never once a line
THRESHOLD_KEY = "monitor/threshold"
WINDOW_KEY = "monitor/window"
DEMO_KEY = "monitor/demo"  # quit in demo mode: the next start is in demo mode too
CONNECT_JOB = "connect"
STOP_JOB = "disconnect"


class MonitorPage(QWidget):
    demo_requested = Signal(bool)  # the page asks the window to enter or leave demo mode

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("monitorPage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # the dark demo background
        self.session = session
        self.open_stream: Callable[[str, int, str], Stream] = open_stream
        self.stream: Stream | None = None  # the live stream, or the last one (its data stays on screen)
        self._opening: Stream | None = None  # a stream whose port is being opened
        self.connected = False
        self.port = ""  # the port connected (VIRTUAL for the virtual board)
        self.port_text = ""  # how the status line names it
        self.paused = False
        self.demo = False
        self._drawn_total = -1
        self._status = ""
        self._listed = False
        self.virtual = VirtualBoard(self)
        self.virtual.ready.connect(self._virtual_ready)
        self.virtual.failed.connect(self._virtual_failed)

        self.title = QLabel("Monitor")
        self.title.setObjectName("pageTitle")
        self.subtitle = QLabel(
            "Live plots of what the board prints. Choose its port (or the virtual board, which runs the "
            "model here) and Connect; F11 shows the label and bars alone, full screen."
        )
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setWordWrap(True)
        self.controls = MonitorControls()
        self.controls.set_formats([plugin.name for plugin in registry().catalog().of_kind("parser")])
        self.view = MonitorView()
        self.plots, self.xy, self.views = self.view.plots, self.view.xy, self.view.views
        self.class_panel, self.split = self.view.class_panel, self.view.split
        self.plots.show_placeholder("Choose the board's port, or the virtual board, and Connect.")
        self.status = QLabel("Not connected.")
        self.status.setObjectName("monitorStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._timer_fired)
        self._skip_ticks = 0

        stored = settings()
        self.restore_layout(
            {
                "threshold": float(stored.value(THRESHOLD_KEY, 0.5) or 0.5),
                "window": str(stored.value(WINDOW_KEY, "") or ""),
                "format": str(stored.value(FORMAT_KEY, "auto") or "auto"),
            }
        )

        self.controls.connect_requested.connect(lambda: self.connect_to())
        self.controls.disconnect_requested.connect(self.disconnect)
        self.controls.refresh_requested.connect(self.list_ports)
        self.controls.port_chosen.connect(self._port_chosen)
        self.controls.record_requested.connect(self._record_clicked)
        self.controls.pause_toggled.connect(self.set_paused)
        self.controls.clear_requested.connect(self.clear)
        self.controls.follow_requested.connect(self.plots.follow)
        self.controls.window.currentTextChanged.connect(self._window_changed)
        self.controls.export_png_requested.connect(self._export_png_clicked)
        self.controls.export_csv_requested.connect(self._export_csv_clicked)
        self.plots.followed.connect(self.controls.set_following)
        self.plots.range_moved.connect(self.redraw)
        self.class_panel.threshold_changed.connect(self._threshold_changed)
        self.views.currentChanged.connect(lambda _index: self.redraw())
        self.xy.x_channel.currentTextChanged.connect(lambda _text: self.redraw())
        self.xy.y_channel.currentTextChanged.connect(lambda _text: self.redraw())
        session.model_changed.connect(self._model_changed)
        if session.model is not None:
            self._model_changed(session.model)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._listed:  # list the ports the first time the page is seen, not at start-up
            self.list_ports()

    def plugins_reloaded(self) -> None:
        """Offer the parsers of the reloaded registry, keeping the format chosen while it exists,
        and list the ports again against the new boards (File > Reload Plugins)."""
        chosen = self.controls.format_name()
        self.controls.set_formats([plugin.name for plugin in registry().catalog().of_kind("parser")])
        self.controls.format.setCurrentIndex(max(self.controls.format.findData(chosen), 0))
        if self._listed:
            self.list_ports()

    # -- ports ------------------------------------------------------------------------------
    def list_ports(self) -> None:
        """Offer the serial ports (recognised boards first) and the virtual board; keep the port
        chosen, else the last one used, else the first recognised board, else the virtual board."""
        self._listed = True
        choices = port_choices(list(self.session.catalog.boards.values()))
        keep = self.controls.port_id() or last_port()
        if not keep:
            keep = next((choice.port for choice in choices if choice.board), VIRTUAL)
        self.controls.set_ports(choices, keep)
        self._port_chosen(self.controls.port_id())

    def _port_chosen(self, port: str) -> None:
        self.controls.set_baud(baud_for(port))

    # -- connecting -------------------------------------------------------------------------
    def connect_to(self, port: str | None = None) -> None:
        """Connect to `port` (default: the one chosen); the virtual board starts its child first."""
        if not self._listed:
            self.list_ports()
        if port:
            self.controls.select_port(port)
            self.controls.set_baud(baud_for(port))
        port = self.controls.port_id()
        if self.connected or self._opening is not None or self.virtual.running():
            self.disconnect()
        if not port:
            self._fail(WorkbenchError("Choose the board's port first, or the virtual board."))
            return
        baud = self.controls.baud_rate()
        if baud is None:
            self._fail(WorkbenchError(f"The baud rate '{self.controls.baud.currentText()}' is not a whole number."))
            return
        remember(port, baud, self.controls.format_name())
        if port == VIRTUAL:
            self._start_virtual()
            return
        self._open(port, port, baud)

    def _start_virtual(self) -> None:
        from workbench.shipped import sample_model

        model = self.session.model
        if model is None:  # no model open: the bundled sample, as the board would run it
            path = sample_model().with_name("digits_int8.tflite")
            self.virtual.start(path, inputs=samples_for(path))
        elif model.path.suffix.lower() == ".tflite":
            self.virtual.start(model.path, inputs=samples_for(model.path))
        else:  # a Keras model: the board runs its conversion, as a deployed one would
            path = model.path
            self.virtual.start(path, tflite=model.tflite, labels=labels_for(path), inputs=samples_for(path))
        self.controls.set_connected(False, connecting=True)
        self.plots.show_placeholder("Starting the virtual board…")
        self.status.setText(f"Starting the virtual board on {self.virtual.model.name if self.virtual.model else ''}…")

    def _virtual_ready(self, device: str) -> None:
        self._open(device, VIRTUAL, self.controls.baud_rate() or DEFAULT_BAUD)

    def _virtual_failed(self, error: WorkbenchError) -> None:
        """The child ended on its own, starting or streaming: stop reading it and say why."""
        if self.connected and self.port == VIRTUAL:
            self.disconnect()
        self.controls.set_connected(False)
        self.status.setText(error.message)
        self._fail(error)

    def _open(self, device: str, shown: str, baud: int) -> None:
        """Start a stream on `device`, opened off the GUI thread (an adapter's open can take
        seconds); on failure the page keeps what it had."""
        try:
            stream = self.open_stream(device, baud, self.controls.format_name())
        except WorkbenchError as error:
            self._open_failed(shown, error)
            return
        self._opening = stream
        self.controls.set_connected(False, connecting=True)
        self.status.setText(f"Opening {shown}…")
        self.session.jobs.start(
            CONNECT_JOB,
            start_stream,
            stream,
            on_success=lambda started: self._opened(started, device, shown, baud),
            on_error=lambda error: self._open_failed(shown, error),
        )

    def _open_failed(self, shown: str, error: WorkbenchError) -> None:
        self._opening = None
        self.controls.set_connected(False)
        if shown == VIRTUAL:
            self.virtual.stop()
        self._fail(error)

    def _opened(self, stream: Stream, device: str, shown: str, baud: int) -> None:
        self._opening = None
        self.stream = stream
        self.connected = True
        self.port = shown
        model = self.virtual.model
        self.port_text = f"the virtual board ({model.name})" if shown == VIRTUAL and model else shown
        self.view.reset()
        self._drawn_total = -1
        self.controls.set_connected(True)
        self.plots.show_placeholder(f"Connected to {self.port_text}: waiting for what it prints…")
        if self.paused:
            self.controls.pause.setChecked(False)
        self.timer.start()
        self.tick()
        self.session.state.set_monitor(
            port=shown if shown != VIRTUAL else device,
            baud=baud,
            format=self.controls.format_name(),
            board="virtual" if shown == VIRTUAL else "",
            connected=True,
        )

    def disconnect(self, wait: bool = False) -> None:
        """Stop reading (and recording); what was read stays on screen. The port closes and the
        recording is finished off the GUI thread (the page draws the last records then), unless
        `wait` (the window is closing)."""
        self.timer.stop()
        opening, self._opening = self._opening, None
        if opening is not None:  # still opening: it stops as soon as it is open
            self.session.jobs.cancel(CONNECT_JOB)
            threading.Thread(target=opening.stop, name="monitor stop", daemon=True).start()
        stream = self.stream if self.connected else None
        self.connected = False
        if stream is not None:
            if wait:
                self._stopped(stream, stop_stream(stream, null_task()))
            else:
                self.session.jobs.start(
                    f"{STOP_JOB} {id(stream)}",
                    stop_stream,
                    stream,
                    on_success=lambda error: self._stopped(stream, error),
                    on_error=self._fail,
                )
        self.virtual.stop(wait=wait)
        self.controls.set_connected(False)
        self.session.state.set_monitor(connected=False, recording="")

    def _stopped(self, stream: Stream, error: WorkbenchError | None) -> None:
        if error is not None:
            self._fail(error)
        if stream is self.stream:
            self.tick(force=True)

    def shutdown(self) -> None:
        """End the stream and the virtual board (the window is closing)."""
        self.disconnect(wait=True)

    def _fail(self, error: WorkbenchError) -> None:
        self.session.error.emit(error)

    # -- recording, pause, clear ------------------------------------------------------------
    def _record_clicked(self, start: bool) -> None:
        if not start:
            self.stop_recording()
            return
        folder = default_recordings_folder()
        name = time.strftime("%Y-%m-%d %H-%M-%S") + ".csv"
        path, _ = QFileDialog.getSaveFileName(self, "Record to which file?", str(folder / name), "CSV (*.csv)")
        if path:
            self.start_recording(Path(path))
        else:
            self.controls.set_recording(False)

    def start_recording(self, path: Path) -> None:
        """Write every record from now on to `path` (a CSV) while the stream runs."""
        if self.stream is None or not self.connected:
            self.controls.set_recording(False)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.stream.start_recording(path)
        except OSError as error:
            self.controls.set_recording(False)
            self._fail(WorkbenchError(f"Cannot record to {path}: {error.strerror or error}."))
            return
        except WorkbenchError as error:
            self.controls.set_recording(False)
            self._fail(error)
            return
        self.controls.set_recording(True)
        self.session.state.set_monitor(recording=str(path))

    def stop_recording(self) -> None:
        if self.stream is not None:
            self.stream.stop_recording()
        self.controls.set_recording(False)
        self.session.state.set_monitor(recording="")

    def set_paused(self, paused: bool) -> None:
        """Stop (or restart) drawing; the buffer and any recording go on."""
        self.paused = paused
        self.view.freeze(paused)
        self.controls.pause.blockSignals(True)
        self.controls.pause.setChecked(paused)
        self.controls.pause.blockSignals(False)
        self.controls.pause.setText("Resume" if paused else "Pause")
        if not paused:
            self.redraw()

    def clear(self) -> None:
        """Empty the buffer and the plots (a recording goes on)."""
        if self.stream is not None:
            self.stream.clear()
        self.view.reset()
        self._drawn_total = -1
        self.redraw()

    # -- drawing ----------------------------------------------------------------------------
    def _timer_fired(self) -> None:
        """Run `tick`; a frame that took longer than the timer's period (a whole long history in
        view on a slow machine) skips as many ticks, so drawing never takes the whole GUI thread."""
        if self._skip_ticks > 0:
            self._skip_ticks -= 1
            return
        start = time.perf_counter()
        self.tick()
        self._skip_ticks = int((time.perf_counter() - start) * 1000 / FRAME_MS)

    def tick(self, force: bool = False) -> None:
        """The timer's work: the status line, then (unless paused) the new data, if any."""
        stream = self.stream
        if stream is None:
            return
        stats = stream.stats()
        text = status_text(stats, self.port_text)
        if text != self._status:
            self._status = text
            self.status.setText(text)
        if self.paused and not force:
            return
        if force or stream.buffer.total != self._drawn_total:
            self.redraw()

    @property
    def classes(self) -> list[str]:
        """The channels drawn as class probabilities."""
        return self.view.classes

    def redraw(self) -> None:
        """Have the view read what is in view from the buffer and draw it."""
        stream = self.stream
        if stream is None:
            return
        self._drawn_total = stream.buffer.total
        self.view.draw(stream.buffer, self.controls.window_s())
        if self.demo and not self.classes:
            self.class_panel.show_waiting("Waiting…" if self.connected else "Not connected")

    def layout_state(self) -> dict[str, object]:
        """What a project keeps of this page's layout: the time window, threshold and format (the
        port and baud rate are the session's, `restore_layout` takes them too)."""
        return {
            "window": self.controls.window.currentText(),
            "threshold": self.class_panel.value(),
            "format": self.controls.format.currentData(),
        }

    def restore_layout(self, state: dict[str, object]) -> None:
        window = str(state.get("window", "") or "")
        if window and self.controls.window.findText(window) >= 0:
            self.controls.window.setCurrentText(window)
        threshold = state.get("threshold")
        if isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0:
            self.class_panel.set_threshold(float(threshold))
        index = self.controls.format.findData(state.get("format", "auto"))
        if index >= 0:
            self.controls.format.setCurrentIndex(index)
        self.controls.select_port(str(state.get("port", "") or ""))
        baud = state.get("baud")
        if isinstance(baud, int) and baud > 0:
            self.controls.set_baud(baud)

    def _window_changed(self, text: str) -> None:
        settings().setValue(WINDOW_KEY, text)
        self.plots.follow()
        self.redraw()

    def _threshold_changed(self, value: float) -> None:
        settings().setValue(THRESHOLD_KEY, value)
        self.redraw()

    def _model_changed(self, model: Any) -> None:
        self.view.labels = labels_for(Path(model.path))

    # -- demo mode --------------------------------------------------------------------------
    def set_demo(self, demo: bool) -> None:
        """Demo mode: the big label and the bars only, light on dark; entering it with nothing
        connected connects to the last port. The window goes full screen (MainWindow.set_demo)."""
        self.demo = demo
        settings().setValue(DEMO_KEY, demo)
        for widget in (self.title, self.subtitle, self.controls, self.status):
            widget.setVisible(not demo)
        self.view.set_demo(demo)
        self.setProperty("demo", demo)
        self.style().unpolish(self)
        self.style().polish(self)
        for child in self.class_panel.findChildren(QLabel):
            child.style().unpolish(child)
            child.style().polish(child)
        if demo and not self.connected and not self.virtual.running():
            last = last_port()
            if last:
                self.connect_to(last)
        self.redraw()
        if demo and self.stream is None:
            self.class_panel.show_waiting("Connecting…" if self.virtual.running() else "Not connected")

    # -- export -----------------------------------------------------------------------------
    def _export_png_clicked(self) -> None:
        name = time.strftime("monitor %Y-%m-%d %H-%M-%S.png")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the plots as", str(default_recordings_folder() / name), "PNG image (*.png)"
        )
        if path:
            self.export_png(Path(path))

    def export_png(self, path: Path) -> None:
        """Save the plots and the class view as they are on screen."""
        try:
            self.view.export_png(path)
        except WorkbenchError as error:
            self._fail(error)

    def _export_csv_clicked(self) -> None:
        name = time.strftime("monitor %Y-%m-%d %H-%M-%S.csv")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the data in view as", str(default_recordings_folder() / name), "CSV (*.csv)"
        )
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> int:
        """Write the samples in the plots' visible range as a recording (monitor.recorder's
        format, which the replay reads); returns the number of rows."""
        times, values = self.data_in_view()
        try:
            return write_view(path, times, values)
        except WorkbenchError as error:
            self._fail(error)
            return 0

    def data_in_view(self) -> tuple[Any, dict[str, Any]]:
        """Every sample in the plots' visible range, read from the buffer (times as recorded)."""
        return self.view.data_in_view(self.controls.window_s())
