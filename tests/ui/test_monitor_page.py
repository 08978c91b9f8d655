"""The Monitor page driven as a person would: the virtual board (the real `simulate` child) and a
pseudo-terminal the test writes `label:value` lines to, as a board would; records reach the plots
and the big label, Pause stops drawing while the buffer grows, recording writes rows, demo mode
comes and goes with F11 / Esc and reconnects to the last port, and a port that does not exist
gives one sentence in the error dialog while the page keeps what it had."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox
from pytestqt.exceptions import TimeoutError as WaitTimedOut

from workbench.monitor.buffer import SampleBuffer
from workbench.monitor.parse import Batch
from workbench.monitor.recorder import read_recording
from workbench.ui.main_window import MainWindow, settings
from workbench.ui.pages.monitor import DEMO_KEY, MonitorPage
from workbench.ui.widgets.monitor_link import LAST_PORT_KEY
from workbench.ui.widgets.monitor_plots import CLASSES_GROUP, OTHER_GROUP, channel_groups
from workbench.ui.widgets.monitor_ports import VIRTUAL

CLASSES = ("cat", "dog", "bird")


class Board:
    """A pseudo-terminal standing in for a board: the page opens `port`, the test writes lines."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.lines = 0

    def predict(self, *probabilities: float, count: int = 1) -> None:
        """Print `count` prediction lines as an exported sketch does: `cat:0.1 dog:0.8 bird:0.1`."""
        line = " ".join(f"{name}:{p:.3f}" for name, p in zip(CLASSES, probabilities, strict=True)) + "\n"
        os.write(self.master, line.encode() * count)
        self.lines += count

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def board() -> Iterator[Board]:
    pty = Board()
    yield pty
    pty.close()


@pytest.fixture
def page(window: MainWindow) -> Iterator[MonitorPage]:
    window.steps.setCurrentWidget(window.monitor)
    yield window.monitor
    window.monitor.shutdown()


def _curve_length(page: MonitorPage, channel: str) -> int:
    curve = page.plots.curves.get(channel)
    if curve is None or curve.xData is None:
        return 0
    return len(curve.xData)


def _dialog(window: MainWindow) -> QMessageBox | None:
    box = window.findChild(QMessageBox, "errorDialog")
    return box if box is not None and box.isVisible() else None


def _connected(qtbot: Any, page: MonitorPage, board: Board) -> None:
    page.connect_to(board.port)
    qtbot.waitUntil(lambda: page.connected, timeout=10000)  # the port opens off the GUI thread


# -- with a stand-in board on a pseudo-terminal ----------------------------------------------------


def test_records_reach_the_plot_and_the_big_label_shows_the_top_class_of_the_last_line(
    qtbot: Any, page: MonitorPage, board: Board
) -> None:
    _connected(qtbot, page, board)
    board.predict(0.7, 0.2, 0.1, count=30)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 30, timeout=10000)
    assert [title for title, _ in page.plots.groups] == [CLASSES_GROUP]
    assert page.classes == list(CLASSES)
    assert page.class_panel.big.name.text() == "cat"
    assert page.class_panel.big.confidence.text() == "70.0%"
    board.predict(0.1, 0.15, 0.75)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 31, timeout=10000)
    assert page.class_panel.big.name.text() == "bird"
    assert list(page.class_panel.bars.heights) == pytest.approx([0.1, 0.15, 0.75])
    assert "Connected to " + board.port in page.status.text()
    assert "31 records" not in page.status.text()  # rates, not totals
    assert "0 malformed" in page.status.text()


def test_below_the_threshold_the_label_is_dimmed_and_the_timeline_has_no_band(
    qtbot: Any, page: MonitorPage, board: Board
) -> None:
    _connected(qtbot, page, board)
    page.class_panel.set_threshold(0.8)
    board.predict(0.5, 0.3, 0.2, count=5)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 5, timeout=10000)
    assert page.class_panel.big.name.text() == "cat"
    assert "below threshold" in page.class_panel.big.confidence.text()
    assert page.class_panel.bars.threshold.value() == pytest.approx(0.8)
    assert settings().value("monitor/threshold") in (0.8, "0.8")
    page.class_panel.bars.threshold.setValue(0.4)  # dragging the line moves the spin box
    assert page.class_panel.value() == pytest.approx(0.4)
    assert "below threshold" not in page.class_panel.big.confidence.text()


def test_pause_stops_drawing_while_the_buffer_goes_on_growing(qtbot: Any, page: MonitorPage, board: Board) -> None:
    _connected(qtbot, page, board)
    board.predict(0.7, 0.2, 0.1, count=10)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 10, timeout=10000)
    page.controls.pause.click()
    assert page.paused and page.controls.pause.text() == "Resume"
    board.predict(0.1, 0.1, 0.8, count=15)
    qtbot.waitUntil(lambda: page.stream is not None and page.stream.buffer.total == 25, timeout=10000)
    qtbot.wait(150)  # several timer ticks
    assert _curve_length(page, "cat") == 10
    assert page.class_panel.big.name.text() == "cat"
    page.controls.pause.click()
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 25, timeout=10000)
    assert page.class_panel.big.name.text() == "bird"


def test_clear_empties_the_plots_and_new_lines_start_them_again(qtbot: Any, page: MonitorPage, board: Board) -> None:
    _connected(qtbot, page, board)
    board.predict(0.7, 0.2, 0.1, count=10)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 10, timeout=10000)
    page.controls.clear.click()
    assert _curve_length(page, "cat") == 0
    board.predict(0.2, 0.7, 0.1, count=3)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 3, timeout=10000)
    assert page.class_panel.big.name.text() == "dog"


def test_events_the_board_reports_are_marked_on_the_label_timeline(qtbot: Any, page: MonitorPage, board: Board) -> None:
    _connected(qtbot, page, board)
    frames = [f"Frame #{i}: [0.0000, 0.9000, 0.0500, 0.0500]\n" for i in range(8)]
    lines = [*frames, "Heard yes (201) @4800ms\n", "Frame #9: [0.0000, 0.1000, 0.8500, 0.0500]\n"]
    os.write(board.master, "".join(lines).encode())
    timeline = page.class_panel.timeline
    qtbot.waitUntil(lambda: len(timeline.events.data) == 1, timeout=10000)
    assert page.classes == ["class0", "class1", "class2", "class3"]
    assert [text.toPlainText() for text in timeline._texts] == ["yes"]
    assert page.class_panel.big.name.text() == "class2"
    assert "format events" in page.status.text()


def test_recording_to_a_file_writes_the_rows_read_meanwhile(
    qtbot: Any, page: MonitorPage, board: Board, tmp_path: Path
) -> None:
    _connected(qtbot, page, board)
    board.predict(0.7, 0.2, 0.1, count=5)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 5, timeout=10000)
    path = tmp_path / "recordings" / "booth.csv"
    page.start_recording(path)
    assert page.controls.record.isChecked() and page.controls.record.text() == "Stop recording"
    board.predict(0.1, 0.8, 0.1, count=12)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 17, timeout=10000)
    qtbot.waitUntil(lambda: "recording " + str(path) in page.status.text(), timeout=5000)
    page.controls.record.click()  # Stop recording
    assert not page.controls.record.isChecked()
    records = read_recording(path)
    assert len(records) == 12
    assert all(r.values == pytest.approx({"cat": 0.1, "dog": 0.8, "bird": 0.1}) for r in records)


def test_a_port_that_does_not_exist_gives_one_sentence_and_the_page_keeps_what_it_had(
    qtbot: Any, window: MainWindow, page: MonitorPage, board: Board, tmp_path: Path
) -> None:
    _connected(qtbot, page, board)
    board.predict(0.7, 0.2, 0.1, count=8)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 8, timeout=10000)
    page.connect_to(str(tmp_path / "ttyNOTHERE"))
    qtbot.waitUntil(lambda: _dialog(window) is not None, timeout=5000)
    box = _dialog(window)
    assert box is not None
    message = box.text()
    assert str(tmp_path / "ttyNOTHERE") in message
    assert "\n" not in message and message.count(". ") == 0, message  # one sentence
    assert not page.connected and page.controls.connect_button.text() == "Connect"
    assert _curve_length(page, "cat") == 8 and page.class_panel.big.name.text() == "cat"
    box.close()


def test_the_baud_rate_is_remembered_for_each_port(qtbot: Any, page: MonitorPage, board: Board) -> None:
    page.controls.select_port(board.port)
    page.controls.set_baud(9600)
    page.connect_to()
    qtbot.waitUntil(lambda: page.connected, timeout=10000)
    page.disconnect()
    page.controls.select_port("/dev/some-other-port")
    page._port_chosen("/dev/some-other-port")
    assert page.controls.baud_rate() == 115200
    page.connect_to(board.port)
    qtbot.waitUntil(lambda: page.connected, timeout=10000)
    assert page.controls.baud_rate() == 9600


def test_export_saves_the_view_as_png_and_the_data_in_view_as_csv(
    qtbot: Any, page: MonitorPage, board: Board, tmp_path: Path
) -> None:
    _connected(qtbot, page, board)
    board.predict(0.7, 0.2, 0.1, count=20)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 20, timeout=10000)
    page.export_png(tmp_path / "view.png")
    image = QImage(str(tmp_path / "view.png"))
    assert not image.isNull() and image.width() > 100
    rows = page.export_csv(tmp_path / "view.csv")
    lines = (tmp_path / "view.csv").read_text().splitlines()
    assert rows == 20 and len(lines) == 21
    assert lines[0] == "time,cat,dog,bird,events"  # the recording's own format: the replay reads it
    records = read_recording(tmp_path / "view.csv")
    times, values = page.data_in_view()
    assert [r.time for r in records] == list(times)
    assert [r.values["cat"] for r in records] == list(values["cat"])  # float32, as buffered
    assert list(tmp_path.glob(".*")) == []  # nothing half-written beside it


def test_sensor_channels_get_a_plot_per_family_and_the_xy_view_plots_two_chosen_ones(
    qtbot: Any, page: MonitorPage, board: Board
) -> None:
    _connected(qtbot, page, board)
    lines = "".join(f"acc_x:{i} acc_y:{i * 2} acc_z:{-i} temp:21.5\n" for i in range(10))
    os.write(board.master, lines.encode())
    qtbot.waitUntil(lambda: _curve_length(page, "acc_x") == 10, timeout=10000)
    assert page.plots.groups == [("acc", ["acc_x", "acc_y", "acc_z"]), (OTHER_GROUP, ["temp"])]
    assert page.classes == [] and page.class_panel.isHidden()
    page.views.setCurrentWidget(page.xy)
    page.xy.y_channel.setCurrentText("acc_z")
    assert page.xy.x_channel.currentText() == "acc_x"
    assert list(page.xy.curve.xData) == list(range(10)) and list(page.xy.curve.yData) == [-i for i in range(10)]


def test_the_crosshair_names_the_values_under_the_mouse(qtbot: Any, page: MonitorPage, board: Board) -> None:
    _connected(qtbot, page, board)
    board.predict(0.7, 0.2, 0.1, count=3)
    qtbot.waitUntil(lambda: _curve_length(page, "cat") == 3, timeout=10000)
    text = page.plots.show_crosshair(0.0)
    assert "cat: 0.7" in text and "dog: 0.2" in text and "bird: 0.1" in text


def test_demo_mode_comes_with_f11_leaves_with_esc_and_connects_to_the_last_port(
    qtbot: Any, window: MainWindow, page: MonitorPage, board: Board
) -> None:
    settings().setValue(LAST_PORT_KEY, board.port)
    window.demo_action.trigger()  # F11, nothing connected: the last port
    assert page.demo and window.isFullScreen()
    qtbot.waitUntil(lambda: page.connected, timeout=10000)
    assert page.port == board.port
    assert not window.menuBar().isVisible() and not window.steps.tabBar().isVisible()
    assert not page.controls.isVisible() and not page.views.isVisible()
    board.predict(0.1, 0.85, 0.05, count=4)
    qtbot.waitUntil(lambda: page.class_panel.big.name.text() == "dog", timeout=10000)
    assert page.class_panel.big.isVisible() and page.class_panel.bars.isVisible()
    assert not page.class_panel.timeline.isVisible()
    assert page.class_panel.big.name.font().pixelSize() >= 100  # readable from across the booth
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not page.demo and not window.isFullScreen()
    assert window.menuBar().isVisible() and page.controls.isVisible() and page.class_panel.timeline.isVisible()
    assert page.connected, "leaving demo mode keeps the board connected"
    window.demo_action.trigger()
    assert page.demo
    window.demo_action.trigger()  # F11 leaves too
    assert not page.demo


def test_quitting_in_demo_mode_starts_the_next_time_in_demo_mode_on_the_last_port(qtbot: Any, board: Board) -> None:
    settings().setValue(LAST_PORT_KEY, board.port)
    settings().setValue(DEMO_KEY, True)
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main._monitor is not None and main.monitor.demo, timeout=30000)
    try:
        assert main.isFullScreen()
        qtbot.waitUntil(lambda: main.monitor.connected, timeout=10000)
        board.predict(0.9, 0.05, 0.05, count=5)
        qtbot.waitUntil(lambda: main.monitor.class_panel.big.name.text() == "cat", timeout=10000)
    finally:
        main._closing_confirmed = True
        main.close()
    assert main.monitor.stream is not None and not main.monitor.connected


def test_show_monitor_after_a_flash_selects_the_tab_and_connects(qtbot: Any, window: MainWindow, board: Board) -> None:
    window.show_monitor(board.port)
    try:
        assert window.steps.currentWidget() is window.monitor
        qtbot.waitUntil(lambda: window.monitor.connected, timeout=10000)
        assert window.monitor.controls.port_id() == board.port
    finally:
        window.monitor.shutdown()


# -- with the virtual board ------------------------------------------------------------------------


def test_the_virtual_board_runs_the_sample_and_its_predictions_reach_the_label(
    qtbot: Any, window: MainWindow, page: MonitorPage
) -> None:
    page.list_ports()
    assert page.controls.port.itemData(page.controls.port.count() - 1) == VIRTUAL
    page.connect_to(VIRTUAL)
    qtbot.waitUntil(lambda: page.connected, timeout=60000)
    connection = window.session.state.monitor  # the page keeps the session's connection current
    assert connection.connected and connection.board == "virtual" and Path(connection.port).name == "port"
    qtbot.waitUntil(lambda: _curve_length(page, "0") >= 5, timeout=30000)
    assert page.classes == [str(digit) for digit in range(10)]
    child = page.virtual.process
    assert child is not None and child.processId() > 0
    page.controls.connect_button.click()  # Disconnect: the stream stops and the child ends
    assert not page.connected and not page.virtual.running()  # at once: the rest ends off the GUI thread
    assert not window.session.state.monitor.connected
    qtbot.waitUntil(lambda: not window.session.jobs.busy, timeout=10000)  # then the last records are drawn
    last = page.stream.recent(1)[-1] if page.stream is not None else None
    assert last is not None
    top = max(last.values, key=lambda name: last.values[name])
    assert page.class_panel.big.name.text() == top
    assert _curve_length(page, "0") == page.stream.buffer.size

    page.connect_to(VIRTUAL)  # again; then the child dies: the page stops reading it and says so
    qtbot.waitUntil(lambda: page.connected, timeout=60000)
    child = page.virtual.process
    assert child is not None
    os.kill(child.processId(), signal.SIGKILL)
    qtbot.waitUntil(lambda: _dialog(window) is not None, timeout=10000)
    box = _dialog(window)
    assert box is not None and box.text() == "The virtual board stopped: its process crashed or was killed"
    assert not page.connected and page.controls.connect_button.text() == "Connect"
    box.close()


CRASHING_APP = """
import os
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(["crashing"])
from workbench.ui.pages.monitor import MonitorPage
from workbench.ui.session import Session
from workbench.ui.widgets.monitor_ports import VIRTUAL
page = MonitorPage(Session())
page.connect_to(VIRTUAL)
def crash_once_connected():
    if page.connected:
        print(page.virtual.process.processId(), page.virtual.folder, flush=True)
        os._exit(1)  # no closeEvent, no cleanup: as if killed
    QTimer.singleShot(50, crash_once_connected)
crash_once_connected()
app.exec()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_virtual_board_does_not_outlive_an_app_that_dies_without_closing(qtbot: Any) -> None:
    app = subprocess.run(
        [sys.executable, "-c", CRASHING_APP], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    pid, folder = app.stdout.split()[-2:]
    child = int(pid)

    def ended() -> bool:  # gone, or a zombie its new parent has not reaped yet
        try:
            return Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (FileNotFoundError, ProcessLookupError):
            return True

    try:
        qtbot.waitUntil(ended, timeout=30000)  # generous: a loaded machine delays the signal's handling
    except WaitTimedOut:
        state = Path(f"/proc/{child}/status").read_text().splitlines()[:3] if Path(f"/proc/{child}").exists() else []
        raise AssertionError(
            f"the virtual board {child} outlived its app: {state}, it printed {app.stderr[-2000:]!r}"
        ) from None
    finally:
        if not ended():
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)  # the app that died could not remove it


# -- the decisions behind the views --------------------------------------------------------------


def test_channel_groups_put_classes_together_and_families_by_prefix() -> None:
    channels = ["acc_x", "acc_y", "acc_z", "temp", "cat", "dog", "gyro x", "gyro y", "battery"]
    assert channel_groups(channels, ["cat", "dog"]) == [
        (CLASSES_GROUP, ["cat", "dog"]),
        ("acc", ["acc_x", "acc_y", "acc_z"]),
        ("gyro", ["gyro x", "gyro y"]),
        (OTHER_GROUP, ["temp", "battery"]),
    ]


class HeldStream:
    """What the page reads of a stream, holding a buffer filled by the test (no port)."""

    def __init__(self, buffer: SampleBuffer) -> None:
        self.buffer = buffer

    def stats(self) -> Any:
        from workbench.monitor.stream import StreamStats

        return StreamStats(connected=True, port="held", parser="arduino", channels=self.buffer.channels)

    def stop(self) -> None:
        pass


def test_a_long_history_reaches_a_curve_reduced_to_the_pixels_and_zooming_in_brings_the_samples(
    qtbot: Any, page: MonitorPage
) -> None:
    """200,000 samples held: the curve gets about two points a pixel column (the spike kept), the
    CSV export and the crosshair read the samples themselves, and zooming in by hand brings every
    sample of the new range (one more on each side, so the line reaches the edges)."""
    times = np.arange(200_000) / 100.0 + 50.0
    wave = np.sin(times)
    wave[123_456] = 9.0  # one spike: the pyramid must keep it
    buffer = SampleBuffer()
    buffer.append_batch(Batch.of_columns(times, {"wave": wave}))
    page.stream = HeldStream(buffer)  # type: ignore[assignment]
    page.connected = True
    page.controls.window.setCurrentText("all")
    page.redraw()
    plots = page.plots
    curve = plots.curves["wave"]
    assert len(curve.xData) <= 2 * plots.width_px() + 4
    assert float(np.nanmax(curve.yData)) == 9.0
    assert page.data_in_view()[0].size == 200_000, "the export reads every sample"
    assert plots.show_crosshair(1234.561) == "t = 1234.560 s\nwave: 9", "the crosshair reads the sample itself"
    plots.plots[0].setXRange(100.0, 110.0, padding=0)  # zoom in by hand: 1,001 samples in view
    assert not plots.following()
    qtbot.waitUntil(lambda: len(curve.xData) == 1003, timeout=5000)
    assert curve.xData[1] == pytest.approx(100.0)
    assert page.data_in_view()[0].size == 1001
    plots.follow()
    assert plots.following()
    page.stream = None


def test_paused_the_export_the_crosshair_and_a_zoom_stay_with_what_is_drawn(
    qtbot: Any, page: MonitorPage, tmp_path: Path
) -> None:
    """Pause, then 850 more rows arrive (the buffer goes on filling): the CSV export holds the
    rows on screen, the crosshair reads the row drawn there, and zooming out by hand brings no
    row that came after the pause; resumed, the newest rows are drawn again."""
    buffer = SampleBuffer(1000)
    times = np.arange(100, dtype=np.float64)
    buffer.append_batch(Batch.of_columns(times, {"a": times.copy()}))
    page.stream = HeldStream(buffer)  # type: ignore[assignment]
    page.connected = True
    page.controls.window.setCurrentText("10 s")
    page.redraw()
    page.set_paused(True)
    later = np.arange(100, 950, dtype=np.float64)  # the rows on screen are still held
    buffer.append_batch(Batch.of_columns(later, {"a": later.copy()}))
    assert page.export_csv(tmp_path / "paused.csv") == 11
    assert [r.time for r in read_recording(tmp_path / "paused.csv")] == [float(t) for t in range(89, 100)]
    assert page.plots.show_crosshair(95.0 - page.view.origin).endswith("a: 95")  # type: ignore[operator]
    page.plots.plots[0].setXRange(90.0 - page.view.origin, 200.0 - page.view.origin, padding=0)  # type: ignore[operator]
    qtbot.waitUntil(lambda: not page.plots.following(), timeout=5000)
    qtbot.wait(200)  # the zoom settles and is fetched again
    curve = page.plots.curves["a"]
    assert float(np.nanmax(curve.yData)) <= 100.0, "one row beyond the edge at most, never the rows after the pause"
    assert page.data_in_view()[0].max() == 99.0
    page.set_paused(False)
    page.plots.follow()
    page.redraw()
    assert float(np.nanmax(curve.yData)) == 949.0
    page.stream = None
