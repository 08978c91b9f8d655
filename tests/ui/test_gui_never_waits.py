"""The GUI thread never waits: a port that takes 2 s to open, a board that ignores SIGTERM.

A timer on the GUI thread counts the frames it gets to run while the slow thing happens. A thread
that waited would let at most one through; the tests ask for many (a count, not a time).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from PySide6.QtCore import QTimer

from workbench.ui.main_window import MainWindow
from workbench.ui.widgets import monitor_ports
from workbench.ui.widgets.monitor_ports import STOP_TIMEOUT_MS, VirtualBoard

SLOW_PORT = "uartsim://115200?open_s=2&line=cat:0.75%20dog:0.25"
FRAME_MS = 10
ENOUGH_FRAMES = 20  # of about 200 in 2 s: a blocked GUI thread gives at most one

# A virtual board that never ends on SIGTERM: it makes its link, then sleeps through the signal.
DEAF_BOARD = (
    "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "pathlib.Path(sys.argv[sys.argv.index('--link') + 1]).write_text(''); time.sleep(120)"
)


@pytest.fixture(autouse=True)
def uartsim() -> Iterator[None]:
    serial.protocol_handler_packages.append("tests.monitor.uartsim")
    yield
    serial.protocol_handler_packages.remove("tests.monitor.uartsim")


class Frames:
    """Counts the turns of the GUI thread's event loop a timer gets."""

    def __init__(self) -> None:
        self.count = 0
        self.timer = QTimer()
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.count += 1

    def since(self, start: int) -> int:
        return self.count - start


def test_a_port_that_takes_2_s_to_open_leaves_the_window_painting(qtbot: Any, window: MainWindow) -> None:
    page = window.monitor
    frames = Frames()
    page.connect_to(SLOW_PORT)
    before = frames.count
    assert "Opening" in page.status.text()
    qtbot.waitUntil(lambda: page.connected, timeout=20000)
    assert frames.since(before) >= ENOUGH_FRAMES
    qtbot.waitUntil(lambda: "cat" in page.classes, timeout=10000)
    page.disconnect()
    qtbot.waitUntil(lambda: not window.session.jobs.busy, timeout=10000)


def test_disconnecting_while_a_port_opens_stops_it_once_open(qtbot: Any, window: MainWindow) -> None:
    page = window.monitor
    page.connect_to(SLOW_PORT)
    opening = page._opening
    assert opening is not None
    qtbot.waitUntil(opening._life.locked, timeout=10000)  # the job's thread is in the 2 s open
    frames = Frames()
    page.disconnect()  # before the open has finished: the GUI does not wait for it
    before = frames.count
    qtbot.waitUntil(lambda: opening._stopping.is_set() and opening._life.acquire(blocking=False), timeout=20000)
    opening._life.release()
    assert frames.since(before) >= ENOUGH_FRAMES
    assert not opening.running and not page.connected and page.stream is not opening
    reader = opening._reader
    assert reader is None or not reader.alive  # nothing left reading the port


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX's")
def test_a_virtual_board_that_ignores_sigterm_is_killed_later_and_the_window_paints_meanwhile(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        monitor_ports,
        "simulate_command",
        lambda model, link, inputs=None: (sys.executable, ["-c", DEAF_BOARD, "--link", str(link)]),
    )
    board = VirtualBoard()
    with qtbot.waitSignal(board.ready, timeout=30000):
        board.start(tmp_path / "model.tflite")
    process, folder = board.process, board.folder
    assert process is not None and folder is not None
    pid = process.processId()
    frames = Frames()
    started = time.monotonic()
    board.stop()  # returns at once; SIGTERM is ignored, so the kill comes STOP_TIMEOUT_MS later
    before = frames.count
    assert not board.running()
    qtbot.waitUntil(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), timeout=STOP_TIMEOUT_MS + 10000)
    assert time.monotonic() - started >= STOP_TIMEOUT_MS / 1000 * 0.9  # it ignored SIGTERM: the kill ended it
    assert frames.since(before) >= ENOUGH_FRAMES
    qtbot.waitUntil(lambda: not folder.exists(), timeout=5000)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
