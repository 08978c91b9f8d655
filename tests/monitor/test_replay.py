"""replay(): a recording served as a serial port, read back with pyserial (workbench/monitor/replay.py)."""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import serial

from tests.monitor.conftest import wait_for
from workbench.core.errors import Cancelled, WorkbenchError
from workbench.monitor import replay as replay_module
from workbench.monitor.parse import Record
from workbench.monitor.recorder import CsvRecorder, read_recording
from workbench.monitor.replay import record_lines, replay
from workbench.plugins import discover
from workbench.tasks import Task

DEADLINE_S = 10.0  # generous: the machine is shared; tests wait for conditions, never for durations

pytestmark = pytest.mark.skipif(os.name != "posix", reason="ptys, and the socket tests share their helpers")


class Replaying:
    """replay() in a thread; `opener` (called with the port's name as on_ready) may open the port."""

    def __init__(self, recording: Path, opener: Callable[[str], Any] | None = None, **options: Any) -> None:
        self.task = Task()
        self.name = ""
        self.port: Any = None
        self.ready_at = 0.0
        self.error: BaseException | None = None

        def ready(name: str) -> None:
            self.ready_at = time.monotonic()
            if opener is not None:
                self.port = opener(name)
            self.name = name  # last: the test goes on once it is set

        def run() -> None:
            try:
                replay(recording, task=self.task, on_ready=ready, **options)
            except BaseException as error:  # noqa: BLE001 - handed to the test's thread
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        wait_for(lambda: bool(self.name) or not self.thread.is_alive(), "the port")

    def join(self) -> float:
        """Wait for the replay to end; the seconds from on_ready to its end."""
        self.thread.join(DEADLINE_S)
        assert not self.thread.is_alive(), "the replay did not end"
        ended = time.monotonic()
        if self.port is not None:
            self.port.close()
        return ended - self.ready_at


def read_lines(port: Any, count: int) -> list[str]:
    """`count` lines from a pyserial port, waiting for them with a deadline."""
    lines: list[str] = []
    end = time.monotonic() + DEADLINE_S
    while len(lines) < count:
        line = port.readline()
        if line:
            assert line.endswith(b"\n"), line
            lines.append(line.decode().rstrip("\n"))
        elif time.monotonic() > end:
            pytest.fail(f"got {len(lines)} lines of {count}: {lines[-3:]}")
    return lines


def open_pty(name: str) -> serial.Serial:
    return serial.Serial(name, timeout=0.2)


def open_url(name: str) -> Any:
    return serial.serial_for_url(name, timeout=0.2)


def parsed(lines: list[str]) -> list[tuple[dict[str, float], tuple[str, ...]]]:
    """(values, events) of each line, as the Monitor's parsers read them: event lines by the
    events parser, the others by the Arduino plotter parser."""
    catalog = discover(kinds=("parser",))
    events, plotter = catalog.parser("events"), catalog.parser("arduino")
    found = []
    for line in lines:
        records = events.feed(line, 0.0) or plotter.feed(line, 0.0)
        assert len(records) == 1, f"{line!r} is one record"
        found.append((records[0].values, records[0].events))
    return found


def values_in(lines: list[str]) -> list[dict[str, float]]:
    """The values of the plotter lines, as the Monitor's Arduino plotter parser reads them."""
    parser = discover(kinds=("parser",)).parser("arduino")
    return [record.values for line in lines for record in parser.feed(line, 0.0)]


RECORDS = [
    Record(0.0, {"a": 1.5, "b": -2.0, "temp C": 21.25}),
    Record(0.25, {"a": math.inf, "b": 1e-7}, ("yes",)),
    Record(0.5, {}, ("no", "yes")),
    Record(0.6, {"score": 201.0, "device_time_ms": 4800.0}, ("up",)),  # what micro_speech's line gives
    Record(1000.0, {"temp C": 0.1, "a": 3.0}),  # far later: only a replay that does not wait ends soon
    Record(1000.5, {"a": 4.0}),
]
READ_BACK = [  # each line as the parsers read it; names with a space cannot be plotter labels
    ({"a": 1.5, "b": -2.0, "temp_C": 21.25}, ()),
    ({"a": math.inf, "b": 1e-7}, ()),
    ({}, ("yes",)),
    ({}, ("no",)),
    ({}, ("yes",)),
    ({"score": 201.0, "device_time_ms": 4800.0}, ("up",)),
    ({"temp_C": 0.1, "a": 3.0}, ()),
    ({"a": 4.0}, ()),
]
LINE_COUNT = len(READ_BACK)  # the gap prints nothing


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "session.csv"
    with CsvRecorder(path) as recorder:
        recorder.write(RECORDS[:4])
        recorder.gap(0.75)
        recorder.write(RECORDS[4:])
    return path


@pytest.mark.parametrize("speed", [0.0, math.inf])
def test_a_pty_replay_read_with_pyserial_gives_the_recordings_records(
    recording: Path, tmp_path: Path, speed: float
) -> None:
    link = tmp_path / "ttyREPLAY"
    replaying = Replaying(recording, open_pty, speed=speed, link=link)
    assert replaying.name == str(link)
    assert os.readlink(link).startswith("/dev/")
    lines = read_lines(replaying.port, LINE_COUNT)
    replaying.join()
    assert replaying.error is None
    assert parsed(lines) == READ_BACK
    assert not link.is_symlink(), "the link is removed at the end"


def test_a_socket_replay_read_with_serial_for_url_gives_the_recordings_records(recording: Path, tmp_path: Path) -> None:
    """A link asked for with a socket is not made (a socket has no path): the replay goes on without it."""
    replaying = Replaying(recording, open_url, speed=0, transport="socket", link=tmp_path / "ttyREPLAY")
    assert re.fullmatch(r"socket://127\.0\.0\.1:\d+", replaying.name)
    assert not (tmp_path / "ttyREPLAY").exists()
    lines = read_lines(replaying.port, LINE_COUNT)
    replaying.join()
    assert replaying.error is None
    assert parsed(lines) == READ_BACK


def test_the_replay_waits_for_a_reader_before_its_first_line(recording: Path) -> None:
    replaying = Replaying(recording, speed=0)
    time.sleep(0.3)  # a reader that comes late (not a measurement: the first line must be there anyway)
    port = open_pty(replaying.name)
    try:
        lines = read_lines(port, LINE_COUNT)
    finally:
        replaying.join()
        port.close()
    assert parsed(lines)[0] == READ_BACK[0]


def paced_recording(path: Path, times: list[float]) -> Path:
    with CsvRecorder(path) as recorder:
        recorder.write([Record(t, {"t": t}) for t in times])
    return path


def test_lines_come_no_sooner_than_their_recorded_time_divided_by_speed(tmp_path: Path) -> None:
    path = paced_recording(tmp_path / "paced.csv", [0.0, 0.2, 0.4, 0.6, 0.8])
    replaying = Replaying(path, open_pty, speed=2.0)
    lines = read_lines(replaying.port, 5)
    took = replaying.join()
    assert values_in(lines) == [{"t": t} for t in (0.0, 0.2, 0.4, 0.6, 0.8)]
    assert took >= 0.8 / 2.0


def test_speed_divides_the_recorded_time(tmp_path: Path) -> None:
    """Ten minutes of recording at speed 3000 end (in 0.2 s; at its own pace it would not end here)."""
    path = paced_recording(tmp_path / "long.csv", [0.0, 300.0, 600.0])
    replaying = Replaying(path, open_url, speed=3000.0, transport="socket")
    lines = read_lines(replaying.port, 3)
    replaying.join()
    assert replaying.error is None
    assert values_in(lines) == [{"t": 0.0}, {"t": 300.0}, {"t": 600.0}]


def test_cancel_ends_a_replay_and_removes_its_link(tmp_path: Path) -> None:
    path = paced_recording(tmp_path / "endless.csv", [0.0, 0.01, 10_000.0])
    link = tmp_path / "ttyREPLAY"
    replaying = Replaying(path, open_pty, speed=1.0, link=link)
    assert values_in(read_lines(replaying.port, 2)) == [{"t": 0.0}, {"t": 0.01}]
    replaying.task.cancel()
    replaying.join()
    assert isinstance(replaying.error, Cancelled)
    assert not link.is_symlink()


def test_cancel_ends_a_replay_that_nobody_opened(recording: Path) -> None:
    replaying = Replaying(recording, speed=1.0, transport="socket")
    replaying.task.cancel()
    replaying.join()
    assert isinstance(replaying.error, Cancelled)


def test_a_reader_that_never_reads_does_not_block_the_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Far more than a pty holds, to a reader that opened the port and reads nothing: the replay
    drops what does not fit and ends."""
    monkeypatch.setattr(replay_module, "WRITE_WAIT_S", 0.2)
    monkeypatch.setattr(replay_module, "DRAIN_STALL_S", 0.2)
    path = tmp_path / "big.csv"
    names = [f"channel_{k}" for k in range(8)]
    with CsvRecorder(path) as recorder:
        recorder.write([Record(i * 0.001, {name: i / 7 for name in names}) for i in range(5000)])
    replaying = Replaying(path, open_pty, speed=0)
    replaying.join()
    assert replaying.error is None
    assert path.stat().st_size > 100 * 4096  # the recording's lines are longer still


def test_a_file_in_the_way_of_the_link_is_kept_and_said_in_one_sentence(recording: Path, tmp_path: Path) -> None:
    link = tmp_path / "notes.txt"
    link.write_text("mine")
    with pytest.raises(WorkbenchError) as caught:
        replay(recording, link=link, on_ready=lambda name: pytest.fail("no port should be served"))
    assert str(link) in caught.value.message and "\n" not in caught.value.message
    assert link.read_text() == "mine"


@pytest.mark.parametrize("speed", [-1.0, math.nan])
def test_a_speed_below_zero_is_refused(recording: Path, speed: float) -> None:
    with pytest.raises(WorkbenchError):
        replay(recording, speed=speed, on_ready=lambda name: pytest.fail("no port should be served"))


def test_a_file_that_is_not_a_recording_is_refused_before_any_port(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("hello,world\n")
    with pytest.raises(WorkbenchError) as caught:
        replay(path, on_ready=lambda name: pytest.fail("no port should be served"))
    assert str(path) in caught.value.message


def test_a_recording_with_no_records_ends_once_read(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    CsvRecorder(path).close()
    assert read_recording(path) == []
    replaying = Replaying(path, open_pty, speed=1.0)
    replaying.join()
    assert replaying.error is None


def test_a_reader_that_pauses_misses_whole_lines_never_parts_of_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines that do not fit while the reader pauses are dropped whole: what it reads afterwards
    is the recording's lines, in order, each complete."""
    monkeypatch.setattr(replay_module, "WRITE_WAIT_S", 0.1)
    monkeypatch.setattr(replay_module, "DRAIN_STALL_S", DEADLINE_S / 2)  # the reader comes back well before
    path = tmp_path / "big.csv"
    count = 5000
    with CsvRecorder(path) as recorder:
        recorder.write([Record(float(i), {"row": float(i), "pad": 123456.789 * i}) for i in range(count)])
    replaying = Replaying(path, open_pty, speed=0)
    time.sleep(0.5)  # the pause (not a measurement): long past WRITE_WAIT_S
    data = b""
    while True:
        try:
            chunk = replaying.port.read(max(1, replaying.port.in_waiting))  # as the Monitor reads
        except serial.SerialException:  # the replay closed the port
            break
        data += chunk
        if not chunk and not replaying.thread.is_alive():
            break
    replaying.join()
    assert replaying.error is None
    lines = data.decode().split("\n")
    assert lines.pop() == "", "the last line is whole"
    rows = [values["row"] for values in values_in(lines)]
    assert len(rows) == len(lines), "every line read is a whole plotter line"
    assert rows == sorted(set(rows)) and rows[0] == 0.0
    assert len(rows) < count, "lines were dropped while the reader paused"


def test_a_recording_replayed_into_the_monitor_records_the_same_values(tmp_path: Path) -> None:
    """replay -> MonitorStream (port, parser detection, buffer, recorder) -> a new recording: the
    values come back as recorded, in order (the times are the monitor's own)."""
    from workbench.monitor.headless import run_monitor

    source = tmp_path / "source.csv"
    records = [Record(i * 0.001, {"a": float(i), "b": i / 3, "temp C": -i * 1e-3}) for i in range(300)]
    with CsvRecorder(source) as recorder:
        recorder.write(records)
    link = tmp_path / "ttyREPLAY"
    replaying = Replaying(source, speed=0, link=link)
    task = Task()
    received: list[Record] = []

    def stop_once_all_came() -> None:
        wait_for(lambda: len(received) >= len(records) or not replaying.thread.is_alive(), "the records")
        replaying.join()
        task.cancel()

    stopper = threading.Thread(target=stop_once_all_came, daemon=True)
    stopper.start()
    copy = tmp_path / "copy.csv"
    run_monitor(
        str(link), parsers=discover(kinds=("parser",)).parsers(), record=copy, task=task, on_record=received.append
    )
    stopper.join(DEADLINE_S)
    assert replaying.error is None
    again = [record.values for record in read_recording(copy) if record.values]
    assert again == [{"a": r.values["a"], "b": r.values["b"], "temp_C": r.values["temp C"]} for r in records]


def test_what_an_event_line_cannot_carry_goes_on_a_plotter_line() -> None:
    """An event line carries a finite score and a whole board time in ms; anything else stays a
    plotter value; a label's spaces become `_`; only the first event carries the values."""
    record = Record(1.0, {"score": math.nan, "device_time_ms": 12.5, "x": 2.0}, ("go now", "stop"))
    lines = record_lines(record).splitlines()
    assert parsed(lines) == [
        ({"score": pytest.approx(math.nan, nan_ok=True), "device_time_ms": 12.5, "x": 2.0}, ()),
        ({}, ("go_now",)),
        ({}, ("stop",)),
    ]
    record = Record(1.0, {"score": 0.5, "x": 2.0}, ("go",))
    assert parsed(record_lines(record).splitlines()) == [({"x": 2.0}, ()), ({"score": 0.5}, ("go",))]
    assert record_lines(Record(2.0, {}, ("disconnected",))) == ""
